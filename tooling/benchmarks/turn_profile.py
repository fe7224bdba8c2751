"""Where a turn's time goes inside the Rasa process (issue 18, item 4): PoreGuide's model loaded in
this process with its own endpoints (SQL tracker store, action server, Rasa overrides installed as
`bot.rasa_run` installs them), a few conversations run through `MessageProcessor.handle_message`
under cProfile, and the CPU time split into the steps of a turn. Waiting for the action server is
not CPU time of this process: the wall time per turn is recorded beside it."""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import os
import pstats
import time
from pathlib import Path
from typing import Dict, List, Mapping, Sequence, Tuple
from unittest import mock

from rasa.core.agent import Agent, load_agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.utils import AvailableEndpoints
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.events import Event
from rasa.utils.tensorflow.models import RasaModel

from bot import rasa_run
from tooling.benchmarks.profiling import cumulative

# step -> (file suffix, function) whose cumulative time is that step; `turn` is the whole.
STEPS: Dict[str, Tuple[str, str]] = {
    "turn": ("rasa/core/processor.py", "handle_message"),
    "tracker_load": ("rasa/core/processor.py", "get_tracker"),
    "nlu": ("rasa/core/processor.py", "parse_message"),
    "slot_extraction": ("rasa/core/processor.py", "run_action_extract_slots"),
    "policy_prediction": ("rasa/core/processor.py", "_predict_next_with_tracker"),
    "actions": ("rasa/core/processor.py", "_run_action"),
    "action_reply_validation": ("bot/rasa_overrides/action_reply_validation.py", "validate_action_result"),
    "tracker_save": ("rasa/core/processor.py", "save_tracker"),
}
TURNS_PER_CONVERSATION = 10
# Rasa's own code that comes back after the profile: the default bot's NLU profile, taken later in this
# process, must load, parse and predict without PoreGuide's overrides (bot.rasa_overrides).
RESTORED_AFTERWARDS: Tuple[Tuple[type, str], ...] = (
    (RasaModel, "load"),
    (DaskGraphRunner, "run"),
    (RulePolicy, "_get_possible_keys"),
    (Event, "resolve_by_type"),
)


def split(stats: pstats.Stats, turns: int) -> Dict[str, float]:
    """Mean CPU milliseconds per turn of each step in STEPS (action_reply_validation is part of
    actions), and `other`: the turn's time outside the steps."""
    per_turn = 1000.0 / max(turns, 1)
    figures = {step: round(cumulative(stats, suffix, name) * per_turn, 2) for step, (suffix, name) in STEPS.items()}
    inside = sum(value for step, value in figures.items() if step not in ("turn", "action_reply_validation"))
    figures["other"] = round(max(figures["turn"] - inside, 0.0), 2)
    return figures


async def _profile(model: Path, endpoints: Path, messages: Sequence[str], turns: int) -> Dict[str, float]:
    rasa_run.install_overrides()
    agent = await load_agent(model_path=str(model), endpoints=AvailableEndpoints.read_endpoints(str(endpoints)))
    await _turns(agent, messages[:2], 2, "warm-up")  # first-call costs are cold start, not a turn
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    await _turns(agent, messages, turns, "profiled")
    profile.disable()
    wall_ms = (time.perf_counter() - started) * 1000.0 / turns
    figures = split(pstats.Stats(profile), turns)
    figures["wall_per_turn"] = round(wall_ms, 2)
    return figures


async def _turns(agent: Agent, messages: Sequence[str], turns: int, prefix: str) -> None:
    for index in range(turns):
        sender = f"{prefix}-{index // TURNS_PER_CONVERSATION}"
        text = messages[index % len(messages)]
        await agent.handle_message(UserMessage(text, CollectingOutputChannel(), sender))


def turn_profile(
    model: Path, endpoints: Path, messages: List[str], turns: int, env: Mapping[str, str]
) -> Dict[str, float]:
    """Milliseconds per turn: CPU of each step (see STEPS and `split`) and wall time. `env` is the
    served bot's environment (tracker store URL, action token), set in this process meanwhile."""
    with contextlib.ExitStack() as restored:
        restored.enter_context(mock.patch.dict(os.environ, env))
        for owner, name in RESTORED_AFTERWARDS:
            restored.enter_context(mock.patch.object(owner, name, owner.__dict__[name]))
        return asyncio.run(_profile(model, endpoints, messages, turns))
