"""Where the time goes, from cProfile: loading a model (per component) and parsing a message (per
NLU component). Used to explain a missed target, not to judge it."""

from __future__ import annotations

import cProfile
import pstats
from pathlib import Path
from typing import Any, Callable, Dict, Tuple, TypeVar

T = TypeVar("T")
COMPONENT_DIRS = ("rasa/nlu/", "rasa/core/policies/", "bot/nlu/", "spacy/")
TOP = 8


def profiled(function: Callable[..., T], *args: Any) -> Tuple[T, pstats.Stats]:
    profile = cProfile.Profile()
    result = profile.runcall(function, *args)
    return result, pstats.Stats(profile)


def _component(filename: str) -> str:
    path = filename.replace("\\", "/")
    package = next((d for d in COMPONENT_DIRS if d in path), "")
    return f"{package.split('/')[0]}.{Path(path).stem}" if package else ""


def _top(stats: pstats.Stats, function_names: Tuple[str, ...], scale: float) -> Dict[str, float]:
    """Cumulative time of `function_names` in component modules, per component, largest first."""
    totals: Dict[str, float] = {}
    for (filename, _, function), (_, _, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        component = _component(filename)
        if component and function in function_names:
            totals[component] = max(totals.get(component, 0.0), cumulative)
    ordered = sorted(totals.items(), key=lambda item: -item[1])[:TOP]
    return {name: round(seconds * scale, 3) for name, seconds in ordered}


def cumulative(stats: pstats.Stats, file_suffix: str, function: str) -> float:
    """Seconds spent in `function` of the file ending in `file_suffix`, callees included (the
    largest figure, for a function that shows up under several call paths)."""
    return max(
        (
            row[3]
            for (filename, _, name), row in stats.stats.items()  # type: ignore[attr-defined]
            if name == function and filename.replace("\\", "/").endswith(file_suffix)
        ),
        default=0.0,
    )


def summarise(stats: pstats.Stats, messages: int) -> Dict[str, Any]:
    """Model load seconds (total and per component) and mean NLU milliseconds per message (total
    and per component) of a profiled `tooling.evaluation.evaluate` run over `messages` messages."""
    per_message_ms = 1000.0 / max(messages, 1)
    return {
        "model_load_s": round(cumulative(stats, "rasa/core/agent.py", "load"), 2),
        "component_load_s": _top(stats, ("load", "create"), 1.0),
        "nlu_parse_ms": round(cumulative(stats, "rasa/core/agent.py", "parse_message") * per_message_ms, 1),
        "component_parse_ms": _top(stats, ("process",), per_message_ms),
    }
