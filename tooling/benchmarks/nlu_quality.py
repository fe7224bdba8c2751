"""NLU quality: the held-out scores of tooling.evaluation (intent macro-F1, entity F1 averaged over the
entity labels, and per label), a cross-validation on seeded folds (tooling.benchmarks.folds), and the
plots `rasa test nlu` draws."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

from tooling.benchmarks.folds import FoldSplit
from tooling.benchmarks.processes import BenchmarkError, rasa_environment, timed_rasa
from tooling.benchmarks.projects import Project
from tooling.evaluation import HeldOutScores, intent_macro_f1

RASA_PLOTS = {"intent_confusion_matrix.png": "confusion_matrix", "intent_histogram.png": "confidence_histogram"}


def held_out_figures(scores: HeldOutScores) -> Dict[str, Any]:
    labels = scores.entity_f1
    return {
        "intent_macro_f1": round(scores.intent_macro_f1, 4),
        "entity_f1": round(sum(labels.values()) / len(labels), 4) if labels else None,
        "entity_f1_by_label": {label: round(value, 4) for label, value in sorted(labels.items())},
    }


def cross_validation(project: Project, split: FoldSplit, out: Path, logs: Path) -> float:
    """Intent macro-F1 (tooling.evaluation's definition) over the pooled test-fold predictions of
    `project`'s pipeline, each fold trained with `rasa train nlu` on the fold's training file.

    Our own folds instead of `rasa test nlu --cross-validation`, whose unseeded folds differ between
    runs and between the two pipelines compared. Writes to `out` the pooled predictions
    (cv_predictions.json) and, from the same predictions, what `rasa test nlu` writes
    (intent_report.json, intent_errors.json, the confusion matrix and histogram)."""
    out.mkdir(parents=True, exist_ok=True)
    models, cache = out / "models", out / "cache"  # a fresh training cache: fold entries stay out of .rasa/
    rows: List[Dict[str, Any]] = []
    for fold in split.folds:
        name = f"fold{fold.index}"
        seconds = timed_rasa(
            [
                "train",
                "nlu",
                "--config",
                str(project.config),
                "--nlu",
                str(fold.train),
                "--out",
                str(models),
                "--fixed-model-name",
                name,
            ],
            project.root,
            logs / f"cv-{project.name}-{name}.log",
            rasa_environment(cache),
        )
        model = models / f"{name}.tar.gz"
        if not model.exists():
            raise BenchmarkError(f"training {project.name} {name} reported success but wrote no {model}")
        examples = _test_examples(fold.test)
        predicted = predict_intents(model, [text for text, _ in examples], project.root)
        model.unlink()  # up to tens of MB a fold; the figure is all that is kept
        rows += [
            {"fold": fold.index, "text": text, "intent": intent, "predicted": label, "confidence": confidence}
            for (text, intent), (label, confidence) in zip(examples, predicted)
        ]
        print(
            f"  {project.name}: fold {fold.index}/{split.k} trained in {seconds:.0f} s, "
            f"{len(examples)} test examples predicted",
            flush=True,
        )
    figure = round(intent_macro_f1([row["intent"] for row in rows], [row["predicted"] for row in rows]), 4)
    (out / "cv_predictions.json").write_text(
        json.dumps(
            {"intent_macro_f1": figure, "split": split.describe(), "predictions": rows}, indent=1, ensure_ascii=False
        ),
        encoding="utf-8",
    )
    _rasa_report(rows, out)
    return figure


def _test_examples(test_file: Path) -> List[Tuple[str, str]]:
    """(text, intent) of a fold's test file, read back as Rasa reads it."""
    from rasa.shared.nlu.training_data.loading import load_data

    return [(message.get("text"), message.get("intent")) for message in load_data(str(test_file)).intent_examples]


@contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    """PoreGuide's config names its spaCy pipeline relative to the project root."""
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def predict_intents(model: Path, texts: List[str], root: Path) -> List[Tuple[str, float]]:
    """(intent, confidence) the model gives each text, through Agent.parse_message as
    tooling.evaluation does (so FallbackClassifier's nlu_fallback counts as a miss, as it does there)."""
    from rasa.core.agent import Agent

    async def parse_all(agent: Agent) -> List[Tuple[str, float]]:
        parsed = [await agent.parse_message(text) for text in texts]
        return [
            ((p.get("intent") or {}).get("name") or "", float((p.get("intent") or {}).get("confidence") or 0.0))
            for p in parsed
        ]

    with _working_directory(root):
        agent = Agent.load(str(model))
        predictions = asyncio.run(parse_all(agent))
    del agent
    _release_tensorflow()  # ten fold models load in one process
    return predictions


def _release_tensorflow() -> None:
    import tensorflow as tf

    gc.collect()
    tf.keras.backend.clear_session()


def _rasa_report(rows: List[Dict[str, Any]], out: Path) -> None:
    """Rasa's intent report, errors and plots for the pooled predictions (what copy_plots takes)."""
    from rasa.nlu.test import IntentEvaluationResult, evaluate_intents

    results = [IntentEvaluationResult(row["intent"], row["predicted"], row["text"], row["confidence"]) for row in rows]
    evaluate_intents(results, str(out), successes=False, errors=True, disable_plotting=False, report_as_dict=True)


def rasa_test_plots(project: Project, model: Path, nlu_file: Path, out: Path, logs: Path) -> Path:
    """`rasa test nlu` of `model` on `nlu_file` (for its confusion matrix and histogram)."""
    timed_rasa(
        ["test", "nlu", "--model", str(model), "--nlu", str(nlu_file), "--out", str(out)],
        project.root,
        logs / f"test-nlu-{project.name}.log",
    )
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
