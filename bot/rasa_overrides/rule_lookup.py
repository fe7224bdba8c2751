"""Rasa's search for the rules that fit a conversation, with the rules indexed by how they end.

Rasa changed: `rasa.core.policies.rule_policy.RulePolicy._get_possible_keys` (3.6.21) tests every
rule against the conversation's latest state, then the survivors against each earlier state, back to
the conversation's first, at every prediction (three times after each message: rules from the text,
from the intent, and the form's unhappy-path rules). With PoreGuide's 254 rules that was 800
`_is_rule_applicable` calls per turn, the largest single cost of the RulePolicy (cProfile,
2026-12-01, issue 18).

Here, for the latest state, only the rules whose last state could fit it are tested: a rule whose
last state names a previous action, or a previous action and an intent, can only fit a state with
that action and that intent (`_is_rule_applicable` compares them for equality), so the rules are
grouped once by those two values. Earlier states are tested as Rasa tests them, and the search stops
once every remaining rule is shorter than the history looked at, where Rasa's test would keep them
all anyway. The answer is the set Rasa's method gives; every test is still Rasa's own
`_is_rule_applicable`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, List, Optional, Set, Tuple

from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET, USER
from rasa.shared.core.domain import State
from rasa.shared.nlu.constants import ACTION_NAME, INTENT

ANY = "*any*"  # a rule's last state that does not constrain this value (never an action or intent name)
Signature = Tuple[str, str]  # (previous action, intent) of a state


@dataclass(frozen=True)
class RuleIndex:
    """One lookup's rules grouped by the signature of their last state, with their lengths."""

    keys: FrozenSet[str]
    by_signature: Dict[Signature, Tuple[str, ...]]
    length: Dict[str, int]

    def candidates(self, state: State) -> List[str]:
        """The rules that can fit `state` as their last state; the others cannot (see module doc)."""
        action, intent = _value(state, PREVIOUS_ACTION, ACTION_NAME), _value(state, USER, INTENT)
        signatures = {(action, intent), (action, ANY), (ANY, intent), (ANY, ANY)}
        return [key for signature in signatures for key in self.by_signature.get(signature, ())]


def _value(state: State, sub_state: str, name: str) -> str:
    value = state.get(sub_state, {}).get(name)
    return value if isinstance(value, str) and value else "*unset*"


def _constraint(rule_state: State, sub_state: str, name: str) -> str:
    """The value a rule's state requires, or ANY: an empty or "should not be set" value, or one that
    is not a name, is left to `_is_rule_applicable`."""
    value = rule_state.get(sub_state, {}).get(name)
    return value if isinstance(value, str) and value and value != SHOULD_NOT_BE_SET else ANY


def _signature(rule_last_state: State) -> Signature:
    # A rule that starts a conversation (no previous action) fits any starting state, whatever
    # its intent: `_is_rule_applicable` returns True before comparing anything else.
    if not rule_last_state.get(PREVIOUS_ACTION):
        return (ANY, ANY)
    return (
        _constraint(rule_last_state, PREVIOUS_ACTION, ACTION_NAME),
        _constraint(rule_last_state, USER, INTENT),
    )


def build_index(lookup: Dict[str, Any]) -> RuleIndex:
    grouped: Dict[Signature, List[str]] = defaultdict(list)
    length: Dict[str, int] = {}
    for key in lookup:
        rule_states = RulePolicy._rule_key_to_state(key)
        length[key] = len(rule_states)
        grouped[_signature(rule_states[-1]) if rule_states else (ANY, ANY)].append(key)
    return RuleIndex(frozenset(lookup), {signature: tuple(keys) for signature, keys in grouped.items()}, length)


def _index(policy: RulePolicy, lookup: Dict[str, Any]) -> RuleIndex:
    """The policy's index of `lookup`, rebuilt if the lookup's rules are not the ones indexed."""
    indexes: Dict[int, RuleIndex] = policy.__dict__.setdefault("_rule_indexes", {})
    index: Optional[RuleIndex] = indexes.get(id(lookup))
    if index is None or index.keys != lookup.keys():
        index = indexes[id(lookup)] = build_index(lookup)
    return index


def possible_keys(policy: RulePolicy, lookup: Dict[str, Any], states: List[State]) -> Set[str]:
    """What Rasa's `_get_possible_keys` returns: the rules applicable at every state of `states`."""
    if not states:
        return set(lookup)
    index = _index(policy, lookup)
    possible = {key for key in index.candidates(states[-1]) if policy._is_rule_applicable(key, 0, states[-1])}
    for turn_index in range(1, len(states)):
        undecided = [key for key in possible if index.length[key] > turn_index]
        if not undecided:
            break
        state = states[-1 - turn_index]
        possible.difference_update([key for key in undecided if not policy._is_rule_applicable(key, turn_index, state)])
    return possible


def install() -> None:
    """Replace Rasa's method in this process (the Rasa server's, see bot.rasa_run)."""
    RulePolicy._get_possible_keys = possible_keys
