"""Evaluates the trained model on the held-out NLU file (never used for training) and enforces
the quality bar: intent macro-F1 and treatment-entity F1 of at least 0.95.

The model itself parses every held-out message, so the entity score covers the project's
SpacyEntityExtractor too (`rasa test nlu` skips pretrained extractors such as that one).
`python -m bot.evaluation` prints both numbers, writes var/results/heldout/scores.json and
exits 1 below the bar."""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

from bot import settings

HELD_OUT_FILE = settings.PROJECT_ROOT / "tests" / "nlu_heldout.yml"
RESULTS_DIR = settings.VAR_DIR / "results" / "heldout"
DEFAULT_MODEL = settings.PROJECT_ROOT / "models" / "poreguide.tar.gz"
MIN_INTENT_MACRO_F1 = 0.95
MIN_TREATMENT_F1 = 0.95

Span = Tuple[int, int, str]


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    entities: Tuple[Span, ...]


@dataclass(frozen=True)
class Prediction:
    intent: str
    entities: Tuple[Span, ...]


@dataclass
class HeldOutScores:
    intent_macro_f1: float
    entity_f1: Dict[str, float]
    errors: List[Dict[str, Any]] = field(default_factory=list)

    @property
    def treatment_f1(self) -> float:
        return self.entity_f1.get("treatment", 0.0)

    def failures(self) -> List[str]:
        problems = []
        if self.intent_macro_f1 < MIN_INTENT_MACRO_F1:
            problems.append(f"intent macro-F1 {self.intent_macro_f1:.3f} < {MIN_INTENT_MACRO_F1}")
        if self.treatment_f1 < MIN_TREATMENT_F1:
            problems.append(f"treatment entity F1 {self.treatment_f1:.3f} < {MIN_TREATMENT_F1}")
        return problems


def f1(true_positives: int, false_positives: int, false_negatives: int) -> float:
    denominator = 2 * true_positives + false_positives + false_negatives
    return 1.0 if denominator == 0 else 2 * true_positives / denominator


def intent_macro_f1(gold: List[str], predicted: List[str]) -> float:
    """Macro average over the intents of the gold set (as scikit-learn's report does)."""
    scores = []
    for intent in sorted(set(gold)):
        tp = sum(g == p == intent for g, p in zip(gold, predicted))
        fp = sum(p == intent != g for g, p in zip(gold, predicted))
        fn = sum(g == intent != p for g, p in zip(gold, predicted))
        scores.append(f1(tp, fp, fn))
    return sum(scores) / len(scores)


def entity_f1_by_label(gold: Iterable[Tuple[Span, ...]], predicted: Iterable[Tuple[Span, ...]], labels: Set[str]) -> Dict[str, float]:
    """Exact-span F1 per entity label."""
    counts: Dict[str, Counter] = {label: Counter() for label in labels}
    for gold_spans, predicted_spans in zip(gold, predicted):
        gold_set = {span for span in gold_spans if span[2] in labels}
        predicted_set = {span for span in predicted_spans if span[2] in labels}
        for span in gold_set & predicted_set:
            counts[span[2]]["tp"] += 1
        for span in predicted_set - gold_set:
            counts[span[2]]["fp"] += 1
        for span in gold_set - predicted_set:
            counts[span[2]]["fn"] += 1
    return {label: f1(c["tp"], c["fp"], c["fn"]) for label, c in counts.items()}


def load_examples(path: Path) -> List[Example]:
    from rasa.shared.nlu.training_data.loading import load_data

    examples = []
    for message in load_data(str(path)).intent_examples:
        spans = tuple((e["start"], e["end"], e["entity"]) for e in message.get("entities") or [])
        examples.append(Example(message.get("text"), message.get("intent"), spans))
    return examples


async def _predict(model: Path, texts: List[str]) -> List[Prediction]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    predictions = []
    for text in texts:
        parsed = await agent.parse_message(text)
        spans = tuple((e["start"], e["end"], e["entity"]) for e in parsed.get("entities", []))
        predictions.append(Prediction(parsed["intent"]["name"], spans))
    return predictions


def score(examples: List[Example], predictions: List[Prediction]) -> HeldOutScores:
    labels = {span[2] for example in examples for span in example.entities}
    errors = [
        {"text": ex.text, "intent": ex.intent, "predicted": pr.intent}
        for ex, pr in zip(examples, predictions) if ex.intent != pr.intent
    ]
    return HeldOutScores(
        intent_macro_f1=intent_macro_f1([e.intent for e in examples], [p.intent for p in predictions]),
        entity_f1=entity_f1_by_label([e.entities for e in examples], [p.entities for p in predictions], labels),
        errors=errors,
    )


def evaluate(model: Path = DEFAULT_MODEL, held_out: Path = HELD_OUT_FILE) -> HeldOutScores:
    examples = load_examples(held_out)
    predictions = asyncio.run(_predict(model, [example.text for example in examples]))
    return score(examples, predictions)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.evaluation", description=__doc__)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--nlu", type=Path, default=HELD_OUT_FILE)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    scores = evaluate(args.model, args.nlu)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scores.json").write_text(json.dumps(asdict(scores), indent=2))
    print(f"Held-out NLU ({args.nlu.name}): intent macro-F1 {scores.intent_macro_f1:.3f}, "
          f"treatment entity F1 {scores.treatment_f1:.3f}, entity F1 by label "
          + ", ".join(f"{label} {value:.3f}" for label, value in sorted(scores.entity_f1.items())))
    for problem in scores.failures():
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if scores.failures() else 0


if __name__ == "__main__":
    sys.exit(main())
