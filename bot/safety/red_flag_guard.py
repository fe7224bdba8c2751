"""A Rasa NLU component, placed last in the NLU pipeline, that lets the safety screening
(bot/safety/screening.py) overrule the classifier where safety depends on it:

- a reported complication always becomes `report_red_flag`, with its level as the entity
  `red_flag_level` (emergency or urgent), whatever the classifier said;
- an effect the article expects, reported after a treatment, becomes `report_expected_effect` when
  the classifier took it for a side-effect or recovery question, a comparison, "I'm fine" or
  nothing at all, or for a red flag while the writer calls it mild ("a little red");
- a classifier's `report_red_flag` whose red-flag words the screening read as a question, hearsay,
  the past or an idiom, or for a message that only supposes ("is it possible to be allergic to a
  peel?"), gives way to the classifier's next guess (no false alarm);
- any other classifier's `report_red_flag` (wording no phrase list has) stays a red flag, urgent;
- a request for a prescription, dose, drug, diagnosis or product pick becomes `ask_medical_advice`,
  so it is never answered with facts or the questionnaire.

The classifier stays the first layer for wordings no phrase list has; this is the floor. It runs
after the FallbackClassifier, so a screened red flag or medical request is never "please rephrase",
and screens both the spell-corrected text and the text as typed.

The phrase lists travel inside the trained model: training validates the knowledge file it is given
(the one `bot.settings.knowledge_file()` names) and stores its safety sections (sources, red flags,
screening) with the component; loading reads that copy, so a model answers the same wherever it is
loaded, whatever the environment says, and an edit elsewhere in the file (the clinic's hours) neither
retrains nor breaks it. The sections' digest is part of the component's fingerprint, so changed
phrase lists retrain the guard."""

from __future__ import annotations

import hashlib
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot import settings
from bot.knowledge.schema import KnowledgeBase, load_knowledge, parse_safety_rules, safety_sections
from bot.nlu.intent_override import override_intent
from bot.nlu.text_normalizer import NORMALIZATION
from bot.safety.screening import URGENT, Screener, Screening, either

RED_FLAG_INTENT = "report_red_flag"
EXPECTED_EFFECT_INTENT = "report_expected_effect"
MEDICAL_INTENT = "ask_medical_advice"
LEVEL_ENTITY = "red_flag_level"
SAFETY_RULES_FILE = "safety_rules.yml"  # the knowledge file's safety sections as trained, inside the model
# What the classifier takes a reported mild effect for ("bit red after needling, normal?"); never an
# answer to a form's question (`inform`), which the screening cannot tell apart.
MISTAKEN_FOR_AN_EXPECTED_EFFECT = frozenset(
    {RED_FLAG_INTENT, "ask_side_effects", "ask_recovery", "compare_treatments", "confirm_fine", "nlu_fallback"}
)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class RedFlagGuard(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    def __init__(
        self,
        config: Dict[Text, Any],
        screener: Optional[Screener] = None,
        model_storage: Optional[ModelStorage] = None,
        resource: Optional[Resource] = None,
    ) -> None:
        self._given_screener = screener
        self._model_storage = model_storage
        self._resource = resource

    @property
    def _screener(self) -> Screener:
        """The screener given, or one from the knowledge file (tests and training only)."""
        if self._given_screener is None:
            self._given_screener = screener_of(load_knowledge(settings.knowledge_file()))
        return self._given_screener

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "RedFlagGuard":
        return cls({**cls.get_default_config(), **config}, None, model_storage, resource)

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        """The safety sections' digest: Rasa reuses a cached guard only for the same phrase lists."""
        path = settings.knowledge_file()
        text = path.read_text(encoding="utf-8")
        try:
            text = safety_sections(text, where=str(path))
        except ValueError:
            pass  # a broken file: training reports it, naming the entry and field
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def train(self, training_data: Any) -> Resource:
        """Store the safety sections with the model (the whole file validated first, so a broken
        file fails training)."""
        assert self._model_storage is not None and self._resource is not None, "created without a model storage"
        knowledge = load_knowledge(settings.knowledge_file())
        self._given_screener = screener_of(knowledge)
        with self._model_storage.write_to(self._resource) as directory:
            (directory / SAFETY_RULES_FILE).write_text(safety_sections(knowledge.raw_text), encoding="utf-8")
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "RedFlagGuard":
        """The guard with the phrase lists it was trained with, read from the model alone."""
        with model_storage.read_from(resource) as directory:
            text = (directory / SAFETY_RULES_FILE).read_text(encoding="utf-8")
        red_flags, screening = parse_safety_rules(text, where=f"the safety rules stored in the model ({resource.name})")
        return cls({**cls.get_default_config(), **config}, Screener(red_flags, screening), model_storage, resource)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._guard(message)
        return messages

    def _screen(self, message: Message) -> Screening:
        """The corrected text and, when the TextNormalizer changed it, the text as typed."""
        screening = self._screener.screen(message.get(TEXT) or "")
        typed = (message.get(NORMALIZATION) or {}).get("original")
        return either(screening, self._screener.screen(typed)) if typed else screening

    def _guard(self, message: Message) -> None:
        classified = (message.get(INTENT) or {}).get("name")
        screening = self._screen(message)
        if screening.red_flag:
            override_intent(message, RED_FLAG_INTENT)
            _add_level(message, screening.red_flag)
        elif (
            screening.expected_effect
            and classified in MISTAKEN_FOR_AN_EXPECTED_EFFECT
            and (classified != RED_FLAG_INTENT or screening.said_to_be_mild)
        ):
            override_intent(message, EXPECTED_EFFECT_INTENT)
        elif classified == RED_FLAG_INTENT and (screening.mentions_symptom or screening.supposition):
            _fall_back_to_next_guess(message)
        elif classified == RED_FLAG_INTENT:
            _add_level(message, URGENT)  # the classifier alone: treated as urgent
        elif screening.medical_request:
            override_intent(message, MEDICAL_INTENT)


def screener_of(knowledge: KnowledgeBase) -> Screener:
    return Screener(knowledge.red_flags, knowledge.screening)


def _fall_back_to_next_guess(message: Message) -> None:
    """Drop `report_red_flag` from the classification; the next intent keeps its own confidence,
    so the FallbackClassifier still asks to rephrase when that one is unsure."""
    ranking = [entry for entry in message.get(INTENT_RANKING_KEY) or [] if entry.get("name") != RED_FLAG_INTENT]
    if not ranking:
        return
    message.set(INTENT, dict(ranking[0]), add_to_output=True)
    message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)


def _add_level(message: Message, level: str) -> None:
    entities = [entity for entity in message.get(ENTITIES) or [] if entity.get("entity") != LEVEL_ENTITY]
    text = message.get(TEXT) or ""
    entities.append({"entity": LEVEL_ENTITY, "value": level, "start": 0, "end": len(text), "extractor": "RedFlagGuard"})
    message.set(ENTITIES, entities, add_to_output=True)
