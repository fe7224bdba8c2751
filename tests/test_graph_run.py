"""bot.rasa_overrides.graph_run: the trained model's graph, run node after node without dask, parses
every held-out message and predicts at every point of every conversation exactly as Rasa's dask
runner does, and fails the way it fails."""

from __future__ import annotations

import copy
from typing import Any, Dict, List

import dask
import pytest
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT

from bot.rasa_overrides import graph_run
from tests.rasa_component_fixtures import MODEL, conversation_trackers, require_trained_model
from tooling.evaluation import HELD_OUT_FILE, load_examples

pytestmark = pytest.mark.slow  # loads the trained model
RASA_RUN = DaskGraphRunner.run


@pytest.fixture(scope="module")
def agent() -> Agent:
    require_trained_model()
    return Agent.load(str(MODEL))


def _parse(runner_run: Any, agent: Agent, text: str) -> List[Dict[str, Any]]:
    runner = agent.processor.graph_runner
    target = agent.processor.model_metadata.nlu_target
    inputs = {PLACEHOLDER_MESSAGE: [UserMessage(text)], PLACEHOLDER_TRACKER: DialogueStateTracker("t", [])}
    messages = runner_run(runner, inputs=inputs, targets=[target])[target]
    return [{key: message.get(key) for key in (TEXT, INTENT, ENTITIES, INTENT_RANKING_KEY)} for message in messages]


def test_every_held_out_message_is_parsed_as_rasa_parses_it(agent: Agent) -> None:
    texts = [example.text for example in load_examples(HELD_OUT_FILE)]
    assert len(texts) > 200
    for text in texts:
        assert _parse(graph_run.run, agent, text) == _parse(RASA_RUN, agent, text), text


def test_every_prediction_of_every_conversation_is_rasas(agent: Agent) -> None:
    runner = agent.processor.graph_runner
    target = agent.processor.model_metadata.core_target
    _, trackers = conversation_trackers()
    assert len(trackers) > 1000
    for tracker in trackers:
        ours = graph_run.run(runner, inputs={PLACEHOLDER_TRACKER: tracker}, targets=[target])
        rasas = RASA_RUN(runner, inputs={PLACEHOLDER_TRACKER: copy.deepcopy(tracker)}, targets=[target])
        assert ours == rasas, tracker.sender_id


def test_an_input_clashing_with_a_node_is_refused_as_rasa_refuses_it(agent: Agent) -> None:
    runner = agent.processor.graph_runner
    target = agent.processor.model_metadata.core_target
    inputs = {PLACEHOLDER_TRACKER: target}  # a string input that names a node
    for run in (RASA_RUN, graph_run.run):
        with pytest.raises(GraphRunError, match="clashes with a node name"):
            run(runner, inputs=inputs, targets=[target])


def test_only_the_nodes_a_target_needs_run(agent: Agent) -> None:
    runner = agent.processor.graph_runner
    nlu_target = agent.processor.model_metadata.nlu_target
    steps = graph_run.plan(runner, (nlu_target,), frozenset({PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER}))
    names = [name for name, _ in steps]
    assert names[-1] == nlu_target and len(names) == len(set(names))
    assert not any("Policy" in name for name in names)  # parsing runs no dialogue policy
    for index, (_, needs) in enumerate(steps):  # each node after the nodes it needs
        assert all(need not in names[index:] for need in needs)


def test_a_node_that_fails_fails_the_run_as_in_rasa(agent: Agent, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = agent.processor.graph_runner
    target = agent.processor.model_metadata.core_target
    monkeypatch.setitem(runner._instantiated_nodes, target, lambda *inputs: (_ for _ in ()).throw(RuntimeError("x")))
    for run in (RASA_RUN, graph_run.run):
        with pytest.raises(GraphRunError, match="Error running runner"):
            run(runner, inputs={PLACEHOLDER_TRACKER: DialogueStateTracker("t", [])}, targets=[target])


def test_rasa_hands_every_run_to_dask(agent: Agent, monkeypatch: pytest.MonkeyPatch) -> None:
    """Why `graph_run` exists: if Rasa stops scheduling each run through dask, the override can go."""
    calls: List[int] = []
    dask_get = dask.get
    monkeypatch.setattr(dask, "get", lambda *args, **kwargs: (calls.append(1), dask_get(*args, **kwargs))[1])
    _parse(RASA_RUN, agent, "hello")
    _parse(graph_run.run, agent, "hello")
    assert calls == [1]
