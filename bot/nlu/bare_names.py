"""A message that is only a person's name ("Zebulon Quirkfeather") is an answer, not a command.

Unknown names share no words with the training data, so the intent classifier guesses from
character n-grams and can land on `stop` or `deny` with low confidence: at the booking form's name
step that ended the booking (rules leave the form on stop and deny). Two to four capitalised words,
none of them a word people use to stop, refuse or leave, are read as `inform` when the classifier
was unsure (`BareNameReader`, last in config.yml's pipeline). The booking form takes the name from
the text as typed."""

from __future__ import annotations

import re
from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.intent_override import override_intent
from bot.nlu.stateless_component import StatelessComponent

NAME_WORD = re.compile(r"^[A-Z][a-z]*(?:[-'][A-Z]?[a-z]+)*\.?$")
LEAVING_WORDS = frozenset(
    "no not now nope stop cancel quit exit never mind bye goodbye later thanks thank you yes yeah ok okay "
    "please help hello hi hey what why how who which when where".split()
)
UNSURE_BELOW = 0.6  # the classifier's confidence under which a bare name overrules it
ANSWER_INTENT = "inform"
# The safety guard's conclusions (and an answer already) stand, however unsure the classifier was.
NEVER_OVERRULED = frozenset({ANSWER_INTENT, "report_red_flag", "report_expected_effect", "ask_medical_advice"})


def is_a_bare_name(text: str) -> bool:
    """Two to four capitalised words and nothing else, none of them a leaving or question word."""
    words = text.strip().split()
    return (
        2 <= len(words) <= 4
        and all(NAME_WORD.match(word) for word in words)
        and not any(word.strip(".").lower() in LEAVING_WORDS for word in words)
    )


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class BareNameReader(StatelessComponent, IntentClassifier):
    """Last in the pipeline (after the safety guard and TextNormalizerRestore, so it sees the text
    as typed): an unsure classification of a bare name becomes `inform`. A safety intent is never
    touched, and a message with an entity ("Chemical Peels" names a treatment) is no name."""

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if _unsure(message) and not message.get(ENTITIES) and is_a_bare_name(message.get(TEXT) or ""):
                override_intent(message, ANSWER_INTENT)
        return messages


def _unsure(message: Message) -> bool:
    intent = message.get(INTENT) or {}
    return intent.get("name") not in NEVER_OVERRULED and float(intent.get("confidence") or 0.0) < UNSURE_BELOW
