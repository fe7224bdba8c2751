"""Timed `rasa train` runs into the benchmark's own directories: from scratch with an empty
training cache, and again after one response changed (where Rasa's cache should make it short)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from tooling.benchmarks.processes import BenchmarkError, rasa_environment, timed_rasa
from tooling.benchmarks.projects import Project, with_one_response_edited


@dataclass(frozen=True)
class Trained:
    model: Path
    seconds: float


def train(
    project: Project,
    work: Path,
    logs: Path,
    cache: Optional[Path] = None,
    nlu_only: bool = False,
    model_name: Optional[str] = None,
) -> Trained:
    """`rasa train` of `project` into `work`/models with the training cache at `cache` (default: a
    new, empty one under `work`)."""
    name = model_name or project.name
    out = work / "models"
    cache = cache or work / f"cache-{name}"
    cache.mkdir(parents=True, exist_ok=True)
    seconds = timed_rasa(
        project.train_arguments(out, name, nlu_only), project.root, logs / f"train-{name}.log", rasa_environment(cache)
    )
    model = out / f"{name}.tar.gz"
    if not model.exists():
        raise BenchmarkError(f"training {name} reported success but wrote no {model}")
    return Trained(model, round(seconds, 2))


def retrain_after_response_edit(project: Project, work: Path, logs: Path) -> Trained:
    """Retrain `project` with one response text edited, reusing the cache its first training filled."""
    edited = with_one_response_edited(project, work)
    return train(edited, work, logs, cache=work / f"cache-{project.name}", model_name=f"{project.name}-retrained")
