"""NLU quality: the held-out scores of bot.evaluation (intent macro-F1, entity F1 averaged over the
entity labels, and per label), Rasa's cross-validation, and the plots `rasa test nlu` draws."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Dict, List, Optional

from bot.benchmarks.processes import BenchmarkError, timed_rasa
from bot.benchmarks.projects import Project
from bot.evaluation import HeldOutScores

RASA_PLOTS = {"intent_confusion_matrix.png": "confusion_matrix", "intent_histogram.png": "confidence_histogram"}


def held_out_figures(scores: HeldOutScores) -> Dict[str, Any]:
    labels = scores.entity_f1
    return {
        "intent_macro_f1": round(scores.intent_macro_f1, 4),
        "entity_f1": round(sum(labels.values()) / len(labels), 4) if labels else None,
        "entity_f1_by_label": {label: round(value, 4) for label, value in sorted(labels.items())},
    }


def cross_validation(project: Project, folds: int, out: Path, logs: Path) -> float:
    """`rasa test nlu --cross-validation` on `project`'s training data; intent macro-F1 over the
    test folds combined (Rasa's intent_report.json)."""
    timed_rasa(["test", "nlu", "--nlu", str(project.data), "--config", str(project.config), "--cross-validation",
                "--folds", str(folds), "--out", str(out)], project.root, logs / f"cv-{project.name}.log")
    return _macro_f1(out / "intent_report.json")


def rasa_test_plots(project: Project, model: Path, nlu_file: Path, out: Path, logs: Path) -> Path:
    """`rasa test nlu` of `model` on `nlu_file` (for its confusion matrix and histogram)."""
    timed_rasa(["test", "nlu", "--model", str(model), "--nlu", str(nlu_file), "--out", str(out)], project.root,
               logs / f"test-nlu-{project.name}.log")
    return out


def copy_plots(results: Path, destination: Path, prefix: str) -> List[str]:
    """Rasa's intent plots from `results` into `destination` as `prefix`_<plot>.png; their names."""
    copied = []
    for source, name in RASA_PLOTS.items():
        if (results / source).exists():
            target = destination / f"{prefix}_{name}.png"
            shutil.copyfile(results / source, target)
            copied.append(target.name)
    if not copied:
        raise BenchmarkError(f"`rasa test nlu` drew no plots in {results}")
    return copied


def _macro_f1(report: Path) -> Optional[float]:
    if not report.exists():
        raise BenchmarkError(f"no {report} after cross-validation")
    return round(json.loads(report.read_text())["macro avg"]["f1-score"], 4)
