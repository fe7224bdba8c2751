"""Applies the knowledge base's ranking rules to one person's answers. Pure logic: every medical
judgement lives in the rules (data), none in branches here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from bot.knowledge.schema import RankingRule

SEE_DOCTOR_FIRST = "see_doctor_first"
AVOID = "avoid"
PREFER = "prefer"


@dataclass(frozen=True)
class RankedOption:
    treatment: str
    score: int
    reasons: Tuple[str, ...]


@dataclass(frozen=True)
class AvoidedOption:
    treatment: str
    reasons: Tuple[str, ...]


@dataclass(frozen=True)
class RankingResult:
    see_doctor_first: Tuple[str, ...]
    ranked: Tuple[RankedOption, ...]
    avoided: Tuple[AvoidedOption, ...]
    applied_rules: Tuple[str, ...]


def rank(
    answers: Mapping[str, Optional[str]], rules: Sequence[RankingRule], treatments: Sequence[str]
) -> RankingResult:
    """Rank `treatments` (in knowledge-file order, which breaks ties) for `answers`."""
    matching = [rule for rule in rules if rule.matches(answers)]
    stops = tuple(rule.reason for rule in matching if rule.effect == SEE_DOCTOR_FIRST)
    applied = tuple(rule.id for rule in matching)
    if stops:
        return RankingResult(stops, (), (), applied)
    scores: Dict[str, int] = {key: 0 for key in treatments}
    reasons: Dict[str, List[str]] = {key: [] for key in treatments}
    avoided: Dict[str, List[str]] = {}
    for rule in matching:
        for key in rule.treatments:
            if rule.effect == AVOID:
                avoided.setdefault(key, []).append(rule.reason)
            elif rule.effect == PREFER:
                scores[key] += rule.weight
                reasons[key].append(rule.reason)
    order = {key: position for position, key in enumerate(treatments)}
    ranked = sorted((key for key in treatments if key not in avoided), key=lambda key: (-scores[key], order[key]))
    return RankingResult(
        see_doctor_first=(),
        ranked=tuple(RankedOption(key, scores[key], tuple(reasons[key])) for key in ranked),
        avoided=tuple(AvoidedOption(key, tuple(avoided[key])) for key in treatments if key in avoided),
        applied_rules=applied,
    )
