"""A Rasa NLU component, placed after DIET, that turns any message with red-flag phrases into the
`report_red_flag` intent when the phrases say so (see bot/safety/red_flags.py), so that a bad
reaction after a treatment never gets a cheerful FAQ answer, even when the classifier is unsure."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot import settings
from bot.knowledge.schema import load_knowledge
from bot.safety.red_flags import RedFlagDetector

RED_FLAG_INTENT = "report_red_flag"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class RedFlagGuard(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # Below this confidence in another intent, an urgent phrase alone makes it a red flag.
        return {"confident_threshold": 0.8}

    def __init__(self, config: Dict[Text, Any], detector: Optional[RedFlagDetector] = None) -> None:
        self._threshold = float(config["confident_threshold"])
        self._detector = detector or RedFlagDetector(load_knowledge(settings.knowledge_file()).red_flags)

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "RedFlagGuard":
        return cls({**cls.get_default_config(), **config})

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._guard(message)
        return messages

    def _guard(self, message: Message) -> None:
        text = message.get(TEXT) or ""
        intent = message.get(INTENT) or {}
        confident_elsewhere = intent.get("name") != RED_FLAG_INTENT and (intent.get("confidence") or 0.0) >= self._threshold
        if intent.get("name") == RED_FLAG_INTENT or not self._detector.must_override(text, confident_elsewhere):
            return
        override = {"name": RED_FLAG_INTENT, "confidence": 1.0}
        ranking = [entry for entry in message.get(INTENT_RANKING_KEY) or [] if entry.get("name") != RED_FLAG_INTENT]
        message.set(INTENT, override, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [override, *ranking], add_to_output=True)
