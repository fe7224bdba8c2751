"""Rasa components that correct typos before spaCy and the featurizers see a message, and give the
patient's own text back afterwards.

`TextNormalizer` (first in the pipeline) rewrites the message text with
`bot.nlu.spelling.SpellingCorrector`, in training (`process_training_data`) and at inference
(`process`), so the EntityRuler finds "micro neddling" and DIET counts the words it was trained
on. It is trainable: `train()` takes the vocabulary from the training data itself (the lookup
tables and synonyms of data/vocabulary.yml, generated from the knowledge base, and the words of the
examples) and persists it in the model, so a trained model never reads the knowledge file.

`TextNormalizerRestore` (last in the pipeline) puts the original text back and maps every entity's
start/end onto it; entity values stay canonical. It has to be a second component: a Rasa component
runs at one place in the graph, and the text must stay corrected for everything in between. The
safety guard (RedFlagGuard) runs before it, on the corrected text: on the 341 messages of
tests/safety/cases.yml its screening gives the same answers either way, and only the corrected
text catches "blistring", "alergic" or "spreding".
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Text, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.spelling import FUZZY_CUTOFF, Correction, Replacement, SpellingCorrector, canonical_pairs, normalise_phrase
from bot.nlu.stateless_component import StatelessComponent

logger = logging.getLogger(__name__)

NORMALIZATION = "text_normalization"  # message property (not in the parse result): original text + replacements
VOCABULARY_FILE = "text_normalizer.json"
_WORD = re.compile(r"[a-z]+")
_SOURCES = (Path(__file__), Path(__file__).with_name("spelling.py"))


def vocabulary_groups(training_data: TrainingData) -> Dict[str, Set[str]]:
    """Entity value -> its phrases, from the synonyms and lookup tables of the training data."""
    synonyms = {normalise_phrase(phrase): value for phrase, value in training_data.entity_synonyms.items()}
    groups: Dict[str, Set[str]] = defaultdict(set)
    for phrase, value in synonyms.items():
        groups[value].add(phrase)
    for table in training_data.lookup_tables:
        elements = table.get("elements")
        for element in elements if isinstance(elements, list) else []:
            phrase = normalise_phrase(str(element))
            if phrase:
                groups[synonyms.get(phrase, phrase)].add(phrase)
    return dict(groups)


def training_words(training_data: TrainingData) -> Set[str]:
    """Every word of the training examples: the spell checker must leave them as they are."""
    words: Set[str] = set()
    for example in training_data.training_examples:
        text = example.get(TEXT)
        if text:
            words.update(_WORD.findall(text.lower()))
    return words


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class TextNormalizer(GraphComponent):
    """Corrects typos in the message text; listed before SpacyNLP (see the module docstring)."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"fuzzy_cutoff": FUZZY_CUTOFF}

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        corrector: Optional[SpellingCorrector] = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._corrector = corrector

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "TextNormalizer":
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "TextNormalizer":
        config = {**cls.get_default_config(), **config}
        try:
            with model_storage.read_from(resource) as directory:
                stored = json.loads((directory / VOCABULARY_FILE).read_text(encoding="utf-8"))
        except (ValueError, OSError) as error:
            logger.warning("TextNormalizer has no trained vocabulary (%s); messages are left as they are.", error)
            return cls(config, model_storage, resource)
        corrector = SpellingCorrector(
            [tuple(pair) for pair in stored["vocabulary"]],
            stored["known_words"],
            fuzzy_cutoff=float(config["fuzzy_cutoff"]),
        )
        return cls(config, model_storage, resource, corrector)

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        """Retrain (not reuse a cached vocabulary) when this code changes."""
        return hashlib.sha256(b"".join(path.read_bytes() for path in _SOURCES)).hexdigest()

    def train(self, training_data: TrainingData) -> Resource:
        groups = vocabulary_groups(training_data)
        stored = {
            "vocabulary": [list(pair) for pair in canonical_pairs(groups, float(self._config["fuzzy_cutoff"]))],
            "known_words": sorted(training_words(training_data)),
        }
        with self._model_storage.write_to(self._resource) as directory:
            (directory / VOCABULARY_FILE).write_text(json.dumps(stored, indent=0, sort_keys=True), encoding="utf-8")
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training examples get the same corrections as messages, and their entity annotations follow."""
        for example in training_data.training_examples:
            correction = self._correct(example)
            if correction is None:
                continue
            if example.get(ENTITIES):
                example.set(ENTITIES, [_annotation(entity, correction) for entity in example.get(ENTITIES)])
            example.set(TEXT, correction.text)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            correction = self._correct(message)
            if correction is None:
                continue
            logger.debug(
                "TextNormalizer corrected %d span(s).", len(correction.replacements)
            )  # no patient text in logs
            message.set(TEXT, correction.text)
            message.set(NORMALIZATION, correction_to_dict(correction))
        return messages

    def _correct(self, message: Message) -> Optional[Correction]:
        text = message.get(TEXT)
        if self._corrector is None or not isinstance(text, str) or not text.strip() or text.startswith("/"):
            return None  # "/intent{...}" button payloads are parsed by Rasa itself
        try:
            correction = self._corrector.correct(text)
        except Exception:  # noqa: BLE001 - a spelling bug must never cost the patient an answer
            logger.exception("TextNormalizer failed; the message is used as typed.")
            return None
        return correction if correction.changed else None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class TextNormalizerRestore(StatelessComponent):
    """Puts back the text TextNormalizer corrected and maps entity offsets onto it."""

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            stored = message.get(NORMALIZATION)
            if not stored:
                continue
            correction = correction_from_dict(stored, message.get(TEXT))
            entities = message.get(ENTITIES) or []
            message.set(ENTITIES, [_moved(entity, correction.to_original) for entity in entities], add_to_output=True)
            message.set(TEXT, correction.original)
        return messages


def _moved(entity: Dict[Text, Any], mapping: Callable[[int, int], Tuple[int, int]]) -> Dict[Text, Any]:
    if not isinstance(entity.get(ENTITY_ATTRIBUTE_START), int) or not isinstance(entity.get(ENTITY_ATTRIBUTE_END), int):
        return entity
    start, end = mapping(entity[ENTITY_ATTRIBUTE_START], entity[ENTITY_ATTRIBUTE_END])
    return {**entity, ENTITY_ATTRIBUTE_START: start, ENTITY_ATTRIBUTE_END: end}


def _annotation(entity: Dict[Text, Any], correction: Correction) -> Dict[Text, Any]:
    """A training annotation on the corrected text. Its value follows the text when it was the
    text ("[exfoliaton](treatment)"): EntitySynonymMapper would otherwise learn "exfoliation" ->
    "exfoliaton" as a synonym. An explicit value ("[lazer](treatment:laser_resurfacing)") stays."""
    moved = _moved(entity, correction.to_corrected)
    if moved is entity:
        return entity
    typed = correction.original[entity[ENTITY_ATTRIBUTE_START] : entity[ENTITY_ATTRIBUTE_END]]
    if entity.get(ENTITY_ATTRIBUTE_VALUE) == typed:
        moved[ENTITY_ATTRIBUTE_VALUE] = correction.text[moved[ENTITY_ATTRIBUTE_START] : moved[ENTITY_ATTRIBUTE_END]]
    return moved


def correction_to_dict(correction: Correction) -> Dict[str, Any]:
    """Plain data, so the message stays serialisable."""
    return {
        "original": correction.original,
        "replacements": [
            [r.original_start, r.original_end, r.start, r.end, r.original, r.text] for r in correction.replacements
        ],
    }


def correction_from_dict(stored: Dict[str, Any], text: Optional[str]) -> Correction:
    replacements: Iterable[Tuple[Any, ...]] = stored.get("replacements") or []
    return Correction(stored["original"], text or "", tuple(Replacement(*item) for item in replacements))
