"""Works out which treatment a message is about, and asks with buttons when nobody said."""

from __future__ import annotations

import json
import re
from typing import List, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge_access import repository

# "Side effects of each?", "which of them...", "all three", "which one can I do at home?": a question
# about every treatment at once (asked when no treatment is known yet, so "which one" picks among all).
_EVERY_TREATMENT = re.compile(
    r"\b(?:each|every|all|both|them|they|these|those|three|side by side|which (?:ones?|options?|treatments?))\b",
    re.IGNORECASE,
)


def asks_about_every_treatment(tracker: Tracker) -> bool:
    return bool(_EVERY_TREATMENT.search(tracker.latest_message.get("text") or ""))


def mentioned_treatments(tracker: Tracker) -> List[str]:
    """Treatment keys named in the latest message, in order, without repeats or unknown words."""
    keys: List[str] = []
    for value in tracker.get_latest_entity_values("treatment"):
        key = repository().resolve_treatment(str(value))
        if key and key not in keys:
            keys.append(key)
    return keys


def current_treatment(tracker: Tracker) -> Optional[str]:
    """The treatment just named, else the one the conversation was about."""
    named = mentioned_treatments(tracker)
    if named:
        return named[0]
    return repository().resolve_treatment(tracker.get_slot("treatment"))


def ask_which_treatment(dispatcher: CollectingDispatcher) -> None:
    buttons = [
        {"title": treatment.name, "payload": "/inform_treatment" + json.dumps({"treatment": treatment.key})}
        for treatment in repository().treatments()
    ]
    dispatcher.utter_message(response="utter_ask_which_treatment", buttons=buttons)
