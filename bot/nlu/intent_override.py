"""How a rule-based NLU component overrules the classifier, the same way in each of them."""

from __future__ import annotations

from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message


def override_intent(message: Message, intent: str) -> None:
    """`intent` with full confidence (so the FallbackClassifier keeps it), the rest ranked after it."""
    override = {"name": intent, "confidence": 1.0}
    ranking = [entry for entry in message.get(INTENT_RANKING_KEY) or [] if entry.get("name") != intent]
    message.set(INTENT, override, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [override, *ranking], add_to_output=True)
