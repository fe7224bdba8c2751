"""Seeded cross-validation folds of a project's NLU data, written as Rasa YAML files.

`rasa test nlu --cross-validation` draws its folds without a seed, so two pipelines cross-validated
one after the other were scored on different splits (PoreGuide's own figure moved by 0.015 between
runs). Here the folds depend only on the seed and the example texts: the same across runs, and the
same for PoreGuide's pipeline and Rasa's default one on PoreGuide's data.

- Every NLU file the project trains on is read (for PoreGuide data/nlu*.yml and the generated
  data/vocabulary.yml). Its intent examples are split; everything else in the files (synonyms,
  lookup tables, regexes: the vocabulary) goes, as written, into EVERY training fold and never into
  a test fold. Implicit synonyms (annotated examples) travel with their example only, because
  PoreGuide's TextNormalizer learns from the training data's synonyms: a test example's spelling
  must not reach its own fold's model.
- Examples with the same text are one unit (one fold), so a text is never both trained and tested.
- Stratified by intent: scikit-learn's StratifiedKFold(shuffle=True, random_state=seed) over the
  distinct texts, sorted so that file order does not matter.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Sequence, Tuple

from tooling.benchmarks.processes import BenchmarkError

CV_SEED = 42
YAML_VERSION = "3.1"


@dataclass(frozen=True)
class Fold:
    index: int  # 1-based, as in the model names fold1 … foldk
    train: Path
    test: Path
    train_examples: int
    test_examples: int


@dataclass(frozen=True)
class FoldSplit:
    seed: int
    folds: Tuple[Fold, ...]
    sources: Tuple[str, ...]  # the NLU files split, relative to the data folder
    shared_items: int  # synonym/lookup/regex entries copied into every training fold
    digest: str  # identifies the assignment: equal digests mean the same folds

    @property
    def k(self) -> int:
        return len(self.folds)

    def describe(self) -> Dict[str, Any]:
        """What results.json records, so a figure says which folds it was measured on."""
        return {
            "seed": self.seed,
            "folds": self.k,
            "method": "StratifiedKFold by intent over distinct texts",
            "test_sizes": [fold.test_examples for fold in self.folds],
            "train_sizes": [fold.train_examples for fold in self.folds],
            "files": list(self.sources),
            "shared_items_in_every_training_fold": self.shared_items,
            "digest": self.digest,
        }


def nlu_files(data: Path) -> List[Path]:
    """The NLU files Rasa trains on in `data` (a folder or one file), as `rasa train nlu --nlu` finds them."""
    import rasa.shared.data

    files = sorted(Path(path) for path in rasa.shared.data.get_data_files([str(data)], rasa.shared.data.is_nlu_file))
    if not files:
        raise BenchmarkError(f"no NLU training data in {data}")
    return files


def assign_folds(examples: Iterable[Tuple[str, str]], k: int, seed: int) -> Dict[str, int]:
    """Test fold (0 … k-1) of every distinct text among (text, intent) pairs; depends only on the
    pairs and the seed, never on their order."""
    intent_of: Dict[str, str] = {}
    for text, intent in sorted(set(examples)):
        intent_of.setdefault(text, intent)  # a text under two intents is stratified by the first
    if len(intent_of) < k:
        raise BenchmarkError(f"{len(intent_of)} distinct examples cannot fill {k} folds")
    counts = Counter(intent_of.values())
    common = [text for text in sorted(intent_of) if counts[intent_of[text]] >= k]
    fold_of: Dict[str, int] = {}
    if common:
        from sklearn.model_selection import StratifiedKFold

        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        labels = [intent_of[text] for text in common]
        for index, (_, test) in enumerate(splitter.split(common, labels)):
            for position in test:
                fold_of[common[position]] = index
    # Intents with fewer distinct examples than k cannot be in every test fold (StratifiedKFold would
    # only warn and place them anyhow), so their examples are dealt round-robin, in a seeded order,
    # to the test folds: each is still tested exactly once and is in the training folds of the others.
    rare = sorted(intent for intent, count in counts.items() if count < k)
    shuffler, turn = random.Random(seed), 0
    for intent in rare:
        texts = sorted(text for text, label in intent_of.items() if label == intent)
        shuffler.shuffle(texts)
        for text in texts:
            fold_of[text] = turn % k
            turn += 1
    return fold_of


def _shared_items(files: Sequence[Path]) -> List[Dict[str, Any]]:
    """The entries of the files' `nlu:` lists that are not intents (synonyms, lookups, regexes)."""
    import rasa.shared.utils.io
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    items: List[Dict[str, Any]] = []
    for path in files:
        if not RasaYAMLReader.is_yaml_nlu_file(path):
            raise BenchmarkError(f"{path}: only Rasa YAML NLU files can be split into folds")
        content = rasa.shared.utils.io.read_yaml_file(path) or {}
        items.extend(dict(item) for item in content.get("nlu") or [] if "intent" not in item)
    return items


def _digest(seed: int, tests: Sequence[Sequence[str]]) -> str:
    payload = json.dumps({"seed": seed, "test_texts": [sorted(texts) for texts in tests]}, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def split_nlu_data(data: Path, k: int, seed: int, directory: Path) -> FoldSplit:
    """Write fold<i>/train.yml and fold<i>/test.yml for i = 1 … k into `directory`."""
    import rasa.shared.utils.io
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    if k < 2:
        raise BenchmarkError(f"cross-validation needs at least 2 folds, not {k}")
    files = nlu_files(data)
    examples = [message for path in files for message in load_data(str(path)).intent_examples]
    examples.sort(key=lambda message: (message.get("intent"), message.get("text")))
    fold_of = assign_folds(((message.get("text"), message.get("intent")) for message in examples), k, seed)
    shared_items = _shared_items(files)
    shared = RasaYAMLReader().reads(
        rasa.shared.utils.io.dump_obj_as_yaml_to_string({"version": YAML_VERSION, "nlu": shared_items})
    )
    folds, tests = [], []
    for index in range(k):
        test = [message for message in examples if fold_of[message.get("text")] == index]
        train = [message for message in examples if fold_of[message.get("text")] != index]
        folder = directory / f"fold{index + 1}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "train.yml").write_text(TrainingData(train).merge(shared).nlu_as_yaml(), encoding="utf-8")
        (folder / "test.yml").write_text(TrainingData(test).nlu_as_yaml(), encoding="utf-8")
        folds.append(Fold(index + 1, folder / "train.yml", folder / "test.yml", len(train), len(test)))
        tests.append([message.get("text") for message in test])
    root = data if data.is_dir() else data.parent
    return FoldSplit(
        seed,
        tuple(folds),
        tuple(str(path.relative_to(root)) for path in files),
        len(shared_items),
        _digest(seed, tests),
    )
