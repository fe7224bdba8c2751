"""Evaluates the trained model on the held-out NLU files (never used for training) and enforces
their quality bars:

- tests/nlu_heldout.yml: intent macro-F1 and treatment-entity F1 (exact spans) of at least 0.95;
- tests/nlu_wild.yml (`--wild`), messages written the way patients write, with typos and long
  stories: intent accuracy and treatment F1 of at least 0.95, the entity scored by its normalised
  value (a misspelling's exact span is a matter of taste, the treatment it names is not).

The model itself parses every held-out message, so the entity score covers the project's
SpacyEntityExtractor too (`rasa test nlu` skips pretrained extractors such as that one).
`python -m tooling.evaluation` prints both numbers, writes var/results/heldout/scores.json and
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
WILD_FILE = settings.PROJECT_ROOT / "tests" / "nlu_wild.yml"
RESULTS_DIR = settings.VAR_DIR / "results" / "heldout"
WILD_RESULTS_DIR = settings.VAR_DIR / "results" / "wild"
MIN_WILD_INTENT_ACCURACY = 0.95
DEFAULT_MODEL = settings.TRAINED_MODEL
MIN_INTENT_MACRO_F1 = 0.95
MIN_TREATMENT_F1 = 0.95

Span = Tuple[int, int, str]
Value = Tuple[str, str]  # (label, normalised value)


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    entities: Tuple[Span, ...]
    values: Tuple[Value, ...] = ()


@dataclass(frozen=True)
class Prediction:
    intent: str
    entities: Tuple[Span, ...]
    values: Tuple[Value, ...] = ()


@dataclass
class HeldOutScores:
    intent_macro_f1: float
    entity_f1: Dict[str, float]
    errors: List[Dict[str, Any]] = field(default_factory=list)
    intent_accuracy: float = 0.0
    entity_value_f1: Dict[str, float] = field(default_factory=dict)
    wild: bool = False

    @property
    def treatment_f1(self) -> float:
        return (self.entity_value_f1 if self.wild else self.entity_f1).get("treatment", 0.0)

    def failures(self) -> List[str]:
        problems = []
        if self.wild and self.intent_accuracy < MIN_WILD_INTENT_ACCURACY:
            problems.append(f"intent accuracy {self.intent_accuracy:.3f} < {MIN_WILD_INTENT_ACCURACY}")
        if not self.wild and self.intent_macro_f1 < MIN_INTENT_MACRO_F1:
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


def entity_f1_by_label(
    gold: Iterable[Tuple[Span, ...]], predicted: Iterable[Tuple[Span, ...]], labels: Set[str]
) -> Dict[str, float]:
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


def entity_value_f1_by_label(
    gold: Iterable[Tuple[Value, ...]], predicted: Iterable[Tuple[Value, ...]], labels: Set[str]
) -> Dict[str, float]:
    """F1 per label over the (label, value) pairs each message names, wherever they are written."""
    counts: Dict[str, Counter] = {label: Counter() for label in labels}
    for gold_values, predicted_values in zip(gold, predicted):
        gold_set = {value for value in gold_values if value[0] in labels}
        predicted_set = {value for value in predicted_values if value[0] in labels}
        for label, bucket in (
            ("tp", gold_set & predicted_set),
            ("fp", predicted_set - gold_set),
            ("fn", gold_set - predicted_set),
        ):
            for value in bucket:
                counts[value[0]][label] += 1
    return {label: f1(c["tp"], c["fp"], c["fn"]) for label, c in counts.items()}


def _values(entities: Iterable[Dict[str, Any]]) -> Tuple[Value, ...]:
    return tuple(sorted({(str(e["entity"]), str(e.get("value"))) for e in entities}))


def load_examples(path: Path) -> List[Example]:
    from rasa.shared.nlu.training_data.loading import load_data

    examples = []
    for message in load_data(str(path)).intent_examples:
        entities = message.get("entities") or []
        spans = tuple((e["start"], e["end"], e["entity"]) for e in entities)
        examples.append(Example(message.get("text"), message.get("intent"), spans, _values(entities)))
    return examples


async def _predict(model: Path, texts: List[str]) -> List[Prediction]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    predictions = []
    for text in texts:
        parsed = await agent.parse_message(text)
        spans = tuple((e["start"], e["end"], e["entity"]) for e in parsed.get("entities", []))
        predictions.append(Prediction(parsed["intent"]["name"], spans, _values(parsed.get("entities", []))))
    return predictions


def score(examples: List[Example], predictions: List[Prediction], wild: bool = False) -> HeldOutScores:
    labels = {span[2] for example in examples for span in example.entities}
    errors = [
        {"text": ex.text, "intent": ex.intent, "predicted": pr.intent}
        for ex, pr in zip(examples, predictions)
        if ex.intent != pr.intent
    ]
    entity_errors = [
        {"text": ex.text, "entities": ex.values, "predicted_entities": pr.values}
        for ex, pr in zip(examples, predictions)
        if {v for v in ex.values if v[0] in labels} != {v for v in pr.values if v[0] in labels}
    ]
    return HeldOutScores(
        intent_macro_f1=intent_macro_f1([e.intent for e in examples], [p.intent for p in predictions]),
        entity_f1=entity_f1_by_label([e.entities for e in examples], [p.entities for p in predictions], labels),
        errors=errors + (entity_errors if wild else []),
        intent_accuracy=1 - len(errors) / len(examples) if examples else 0.0,
        entity_value_f1=entity_value_f1_by_label([e.values for e in examples], [p.values for p in predictions], labels),
        wild=wild,
    )


def evaluate(model: Path = DEFAULT_MODEL, held_out: Path = HELD_OUT_FILE, wild: bool = False) -> HeldOutScores:
    examples = load_examples(held_out)
    predictions = asyncio.run(_predict(model, [example.text for example in examples]))
    return score(examples, predictions, wild)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tooling.evaluation", description=__doc__)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--wild", action="store_true", help=f"score {WILD_FILE.name} with its own bar")
    parser.add_argument("--nlu", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    nlu = args.nlu or (WILD_FILE if args.wild else HELD_OUT_FILE)
    out = args.out or (WILD_RESULTS_DIR if args.wild else RESULTS_DIR)
    scores = evaluate(args.model, nlu, args.wild)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scores.json").write_text(json.dumps(asdict(scores), indent=2))
    by_label = scores.entity_value_f1 if args.wild else scores.entity_f1
    print(
        f"Held-out NLU ({nlu.name}): intent accuracy {scores.intent_accuracy:.3f}, intent macro-F1 "
        f"{scores.intent_macro_f1:.3f}, treatment entity F1 {scores.treatment_f1:.3f}, entity F1 by label "
        + ", ".join(f"{label} {value:.3f}" for label, value in sorted(by_label.items()))
    )
    for problem in scores.failures():
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if scores.failures() else 0


if __name__ == "__main__":
    sys.exit(main())
