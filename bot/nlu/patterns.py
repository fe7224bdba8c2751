"""Turns the knowledge base vocabulary into entity patterns, the single list both generators use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterator, List, Tuple

from bot.knowledge.schema import KnowledgeBase

TREATMENT = "treatment"
SKIN_TYPE = "skin_type"
CONCERN = "concern"
ASPECT = "aspect"
CONCEPT = "concept"
ENTITY_LABELS = (TREATMENT, SKIN_TYPE, CONCERN, ASPECT, CONCEPT)


@dataclass(frozen=True)
class EntityTerm:
    """A phrase (lower case) that marks an entity whose normalised value is `value`."""

    label: str
    value: str
    phrase: str


def entity_terms(knowledge: KnowledgeBase) -> List[EntityTerm]:
    """Every recognisable phrase, labelled and normalised, without repeats."""
    seen: Dict[Tuple[str, str], EntityTerm] = {}
    for term in _all_terms(knowledge):
        seen.setdefault((term.label, term.phrase), term)
    return list(seen.values())


def _all_terms(knowledge: KnowledgeBase) -> Iterator[EntityTerm]:
    for treatment in knowledge.treatments.values():
        for phrase in treatment.terms:
            yield EntityTerm(TREATMENT, treatment.key, phrase)
    for label, groups in (
        (SKIN_TYPE, knowledge.skin_types),
        (CONCERN, knowledge.concerns),
        (CONCEPT, knowledge.concepts),
    ):
        for value, phrases in groups.items():
            for phrase in phrases:
                yield EntityTerm(label, value, phrase)
    for aspect in knowledge.aspects.values():
        for phrase in aspect.keywords:
            yield EntityTerm(ASPECT, aspect.key, phrase)
