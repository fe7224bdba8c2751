"""bot.rasa_overrides.rule_lookup: the trained RulePolicy finds exactly the rules Rasa's own search
finds, at every prediction of every story, rule and conversation test, while testing far fewer."""

from __future__ import annotations

import json
from typing import Iterator, List, Tuple

import pytest
from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RulePolicy
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.shared.core.domain import State

from bot.rasa_overrides import rule_lookup
from tests.rasa_component_fixtures import MODEL, conversation_trackers, require_trained_model

pytestmark = pytest.mark.slow  # unpacks the trained model
RASA_GET_POSSIBLE_KEYS = RulePolicy._get_possible_keys


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> RulePolicy:
    require_trained_model()
    storage, metadata = LocalModelStorage.from_model_archive(tmp_path_factory.mktemp("model"), MODEL)
    node = next(node for node in metadata.predict_schema.nodes.values() if issubclass(node.uses, RulePolicy))
    return RulePolicy.load(
        {**RulePolicy.get_default_config(), **node.config},
        storage,
        node.resource,
        ExecutionContext(metadata.predict_schema, metadata.model_id),
    )


@pytest.fixture(scope="module")
def prediction_states(policy: RulePolicy) -> List[List[State]]:
    """The states the RulePolicy sees at every prediction of the training stories and rules and of
    both conversation-test files, from the text and from the intent of the last message."""
    domain, trackers = conversation_trackers()
    rule_only_data = policy._get_rule_only_data()
    return [
        policy._prediction_states(tracker, domain, use_text, rule_only_data=rule_only_data)
        for tracker in trackers
        for use_text in (True, False)
    ]


def _searches(policy: RulePolicy, states: List[List[State]]) -> Iterator[Tuple[str, List[State]]]:
    for lookup_name in (RULES, RULES_FOR_LOOP_UNHAPPY_PATH):
        for conversation_states in states:
            yield lookup_name, conversation_states


def test_the_rules_found_are_exactly_those_rasa_finds(policy: RulePolicy, prediction_states: List[List[State]]) -> None:
    found_any = 0
    for lookup_name, states in _searches(policy, prediction_states):
        lookup = policy.lookup[lookup_name]
        rasas = RASA_GET_POSSIBLE_KEYS(policy, lookup, states)
        assert rule_lookup.possible_keys(policy, lookup, states) == rasas, (lookup_name, states[-3:])
        found_any += bool(rasas)
    assert len(prediction_states) > 1000 and found_any > 500  # the comparison covered real matches


def test_rasa_tests_every_rule_and_the_index_a_few(
    policy: RulePolicy, prediction_states: List[List[State]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why `rule_lookup` exists: Rasa tests all rules against the latest state. If Rasa's count
    drops, Rasa indexes its rules itself and the override can go."""
    tested: List[str] = []
    rasas_test = RulePolicy._is_rule_applicable
    monkeypatch.setattr(
        RulePolicy,
        "_is_rule_applicable",
        lambda self, key, *args: (tested.append(key), rasas_test(self, key, *args))[1],
    )
    lookup = policy.lookup[RULES]
    states = prediction_states[-1]
    RASA_GET_POSSIBLE_KEYS(policy, lookup, states)
    by_rasa = len(tested)
    tested.clear()
    rule_lookup.possible_keys(policy, lookup, states)
    assert by_rasa >= len(lookup) > 200
    assert len(tested) < len(lookup) / 4


def test_an_index_follows_its_lookup_when_rules_change(policy: RulePolicy) -> None:
    lookup = dict(policy.lookup[RULES])
    first = rule_lookup._index(policy, lookup)
    assert rule_lookup._index(policy, lookup) is first
    del lookup[next(iter(lookup))]
    assert rule_lookup._index(policy, lookup).keys == frozenset(lookup)


def test_no_states_means_every_rule_as_in_rasa(policy: RulePolicy) -> None:
    lookup = policy.lookup[RULES]
    assert rule_lookup.possible_keys(policy, lookup, []) == RASA_GET_POSSIBLE_KEYS(policy, lookup, []) == set(lookup)


# Rule shapes the project's data does not have, each against conversation states of every shape:
# a rule that starts a conversation (no previous action) with an intent, a previous action given by
# its text (end-to-end), a "should not be set" intent, an active loop, and a conversation's start.
SYNTHETIC_RULE_STATES: List[List[State]] = [
    [{"user": {"intent": "greet"}}],
    [{"user": {"intent": "greet"}}, {"prev_action": {"action_name": "utter_greet"}, "user": {"intent": "greet"}}],
    [{"prev_action": {"action_text": "Hi!"}, "user": {"intent": "greet"}}],
    [{"prev_action": {"action_name": "action_listen"}, "user": {"intent": "should_not_be_set"}}],
    [{"prev_action": {"action_name": "action_listen"}, "user": {"text": "hello"}}],
    [{"prev_action": {"action_name": "action_listen"}, "active_loop": {"name": "booking_form"}}],
    [{"prev_action": {"action_name": "action_listen"}, "user": {"intent": "greet"}}],
    [{}, {"prev_action": {"action_name": "action_listen"}, "user": {"intent": "greet"}}],
]
CONVERSATION_STATES: List[State] = [
    {},
    {"user": {"intent": "greet"}},
    {"user": {"intent": "stop"}},
    {"prev_action": {"action_name": "action_listen"}, "user": {"intent": "greet"}},
    {"prev_action": {"action_name": "action_listen"}, "user": {"text": "hello"}},
    {"prev_action": {"action_text": "Hi!"}, "user": {"intent": "greet"}},
    {"prev_action": {"action_name": "utter_greet"}, "user": {"intent": "greet"}},
    {
        "prev_action": {"action_name": "action_listen"},
        "user": {"intent": "greet"},
        "active_loop": {"name": "booking_form"},
    },
]


def test_rules_of_every_shape_are_found_as_rasa_finds_them(policy: RulePolicy) -> None:
    lookup = {json.dumps(states, sort_keys=True): "utter_greet" for states in SYNTHETIC_RULE_STATES}
    histories = [[first, second] for first in CONVERSATION_STATES for second in CONVERSATION_STATES]
    found = 0
    for states in [[state] for state in CONVERSATION_STATES] + histories:
        rasas = RASA_GET_POSSIBLE_KEYS(policy, lookup, states)
        assert rule_lookup.possible_keys(policy, lookup, states) == rasas, states
        found += len(rasas)
    assert found > len(histories)
