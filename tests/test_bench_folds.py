"""The benchmark's cross-validation folds: seeded and stratified, so PoreGuide's pipeline and Rasa's
default one are scored on the same splits in every run; the vocabulary (synonyms, lookup tables)
always trains and is never tested. One real end-to-end cross-validation on a tiny project."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from tooling.benchmarks import folds, nlu_quality
from tooling.benchmarks.projects import POREGUIDE, Project

INTENTS = {
    "greet": ["hello", "hi there", "good morning", "hey", "hiya", "good evening", "hello bot", "hi friend"],
    "goodbye": [
        "bye",
        "goodbye",
        "see you later",
        "bye bye",
        "farewell",
        "see you soon",
        "catch you later",
        "have a nice day",
    ],
    "ask_price": [
        "how much is a [peel](treatment)",
        "what does [microneedling](treatment) cost",
        "price of a [laser](treatment)",
        "how expensive is it",
        "what is the cost",
        'is [needling]{"entity": "treatment", "value": "microneedling"} expensive',
        "how much do you charge",
        "what are your prices",
    ],
}
VOCABULARY = """version: "3.1"
nlu:
- synonym: microneedling
  examples: |
    - dermaroller
    - derma pen
- lookup: treatment
  examples: |
    - microneedling
    - peel
    - laser
"""
TINY_CONFIG = """recipe: default.v1
language: en
assistant_id: tiny_bench_test
pipeline:
  - name: WhitespaceTokenizer
  - name: CountVectorsFeaturizer
  - name: DIETClassifier
    epochs: 5
    number_of_transformer_layers: 0
    entity_recognition: false
    constrain_similarities: true
    evaluate_on_number_of_examples: 0
    evaluate_every_number_of_epochs: -1
    random_seed: 1
policies: []
"""


def tiny_project(root: Path) -> Project:
    """3 intents x 8 examples in data/nlu.yml plus a generated-style data/vocabulary.yml."""
    data = root / "data"
    data.mkdir(parents=True)
    lines = ['version: "3.1"', "nlu:"]
    for intent, texts in INTENTS.items():
        lines += [f"- intent: {intent}", "  examples: |", *[f"    - {text}" for text in texts]]
    (data / "nlu.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (data / "vocabulary.yml").write_text(VOCABULARY, encoding="utf-8")
    (root / "config.yml").write_text(TINY_CONFIG, encoding="utf-8")
    return Project("tiny", root, root / "config.yml", root / "domain.yml", data)


def read(path: Path):  # -> TrainingData
    from rasa.shared.nlu.training_data.loading import load_data

    return load_data(str(path))


def pairs(path: Path) -> List[Tuple[str, str]]:
    return [(m.get("text"), m.get("intent")) for m in read(path).intent_examples]


def all_pairs(data: Path) -> List[Tuple[str, str]]:
    return [pair for path in folds.nlu_files(data) for pair in pairs(path)]


def test_the_fold_assignment_depends_only_on_the_seed_and_the_texts() -> None:
    examples = [(f"{intent} example {n}", intent) for intent in ("a", "b", "c") for n in range(13)]
    first = folds.assign_folds(examples, 5, seed=7)
    assert folds.assign_folds(list(reversed(examples)), 5, seed=7) == first
    assert folds.assign_folds(examples, 5, seed=8) != first
    assert set(first) == {text for text, _ in examples} and set(first.values()) == set(range(5))


def test_the_folds_are_stratified_and_small_intents_go_round_robin() -> None:
    examples = [(f"big {n}", "big") for n in range(23)] + [(f"small {n}", "small") for n in range(3)]
    assigned = folds.assign_folds(examples, 5, seed=42)
    big = Counter(fold for text, fold in assigned.items() if text.startswith("big"))
    assert sorted(big.values()) == [4, 4, 5, 5, 5]  # 23 over 5 folds, as even as can be
    small = [fold for text, fold in assigned.items() if text.startswith("small")]
    assert sorted(small) == [0, 1, 2]  # fewer than k: dealt one per fold


def test_the_same_text_is_never_both_trained_and_tested() -> None:
    examples = [(f"t{n}", "x") for n in range(10)] + [("t1", "y")] + [(f"u{n}", "y") for n in range(9)]
    assigned = folds.assign_folds(examples, 2, seed=1)
    assert len(assigned) == 19  # "t1" under two intents is one unit with one fold


def test_the_vocabulary_trains_in_every_fold_and_is_never_tested(tmp_path: Path) -> None:
    project = tiny_project(tmp_path / "tiny")
    split = folds.split_nlu_data(project.data, 2, folds.CV_SEED, tmp_path / "folds")
    assert split.sources == ("nlu.yml", "vocabulary.yml") and split.shared_items == 2
    everything = Counter(all_pairs(project.data))
    tested: Counter = Counter()
    for fold in split.folds:
        train, test = read(fold.train), read(fold.test)
        tested.update(pairs(fold.test))
        assert Counter(pairs(fold.train)) + Counter(pairs(fold.test)) == everything
        assert [table["name"] for table in train.lookup_tables] == ["treatment"] and not test.lookup_tables
        assert {"dermaroller": "microneedling", "derma pen": "microneedling"}.items() <= train.entity_synonyms.items()
        assert not {"dermaroller", "derma pen"} & set(test.entity_synonyms)
        assert {intent for _, intent in pairs(fold.test)} == set(INTENTS)
        assert (fold.train_examples, fold.test_examples) == (12, 12)
    assert tested == everything  # every example in exactly one test fold
    again = folds.split_nlu_data(project.data, 2, folds.CV_SEED, tmp_path / "again")
    assert again.digest == split.digest and [f.test.read_text() for f in again.folds] == [
        f.test.read_text() for f in split.folds
    ]


@pytest.mark.slow  # splits all of PoreGuide's NLU data into folds, twice: 10 s and more
def test_poreguide_data_splits_into_stratified_folds_with_every_example_tested_once(tmp_path: Path) -> None:
    split = folds.split_nlu_data(POREGUIDE.data, 5, folds.CV_SEED, tmp_path / "folds")
    assert "vocabulary.yml" in split.sources and any(name.startswith("nlu") for name in split.sources)
    everything = Counter(all_pairs(POREGUIDE.data))
    intents = Counter(intent for _, intent in everything.elements())
    tested: Counter = Counter()
    for fold in split.folds:
        test_pairs = pairs(fold.test)
        tested.update(test_pairs)
        assert not read(fold.test).lookup_tables and len(read(fold.train).lookup_tables) >= 1
        per_intent = Counter(intent for _, intent in test_pairs)
        for intent, total in intents.items():
            assert abs(per_intent[intent] - total / 5) <= 1.5, (fold.index, intent)
    assert tested == everything
    described = split.describe()
    assert described["seed"] == folds.CV_SEED and sum(described["test_sizes"]) == sum(everything.values())
    assert folds.split_nlu_data(POREGUIDE.data, 5, folds.CV_SEED, tmp_path / "again").digest == split.digest


@pytest.mark.slow
def test_a_real_cross_validation_of_a_tiny_project(tmp_path: Path) -> None:
    """Two real `rasa train nlu` folds and their predictions, as `make bench` runs them (35-50 s on
    2 cores; its speed is not judged here). A 5-epoch DIET scores what it scores: only the range
    and the files are checked."""
    project = tiny_project(tmp_path / "tiny")
    split = folds.split_nlu_data(project.data, 2, folds.CV_SEED, tmp_path / "folds")
    figure = nlu_quality.cross_validation(project, split, tmp_path / "cv", tmp_path / "logs")
    assert 0.0 <= figure <= 1.0
    written: Dict = json.loads((tmp_path / "cv" / "cv_predictions.json").read_text())
    assert written["intent_macro_f1"] == figure and written["split"]["digest"] == split.digest
    assert len(written["predictions"]) == 24 and {row["fold"] for row in written["predictions"]} == {1, 2}
    assert {name for name in nlu_quality.RASA_PLOTS} <= {path.name for path in (tmp_path / "cv").iterdir()}
    assert not list((tmp_path / "cv" / "models").glob("*.tar.gz"))  # fold models are not kept
