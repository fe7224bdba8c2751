"""Answers one aspect (what, how, who, recovery, ...) of one treatment from the knowledge base."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.comparison import side_by_side
from actions.knowledge_access import apologise_if_unavailable, format_facts, repository
from actions.treatment_choice import ask_which_treatment, asks_about_every_treatment, current_treatment

# Which aspect of a treatment each question intent asks about.
ASPECT_OF_INTENT: Dict[str, str] = {
    "ask_treatment_info": "what",
    "ask_how_it_works": "how_it_works",
    "ask_who_performs": "who_performs",
    "ask_recovery": "recovery",
    "ask_side_effects": "side_effects",
    "ask_at_home": "at_home",
    "ask_precautions": "precautions",
}
DEFAULT_ASPECT = "what"
# Follow-up questions offered as buttons after an overview.
FOLLOW_UP_INTENTS = ("ask_how_it_works", "ask_recovery", "ask_side_effects", "ask_at_home")


class ActionAnswerTreatmentFact(Action):
    """ "How long is recovery after microneedling?" and the follow-up "and laser?"."""

    def name(self) -> Text:
        return "action_answer_treatment_fact"

    @apologise_if_unavailable
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        aspect = self._aspect(tracker)
        treatment = current_treatment(tracker)
        if treatment is None and asks_about_every_treatment(tracker):
            names = {item.key: item.name for item in repository().treatments()}
            dispatcher.utter_message(text=side_by_side(aspect, list(names), names))
            return [SlotSet("aspect", aspect)]
        if treatment is None:
            ask_which_treatment(dispatcher)
            return [SlotSet("aspect", aspect), SlotSet("treatment", None)]
        dispatcher.utter_message(text=self._answer(treatment, aspect), buttons=self._follow_ups(treatment, aspect))
        return [SlotSet("aspect", aspect), SlotSet("treatment", treatment)]

    @staticmethod
    def _aspect(tracker: Tracker) -> str:
        # The intent as classified (or given by a button payload), not the ranking after fallback.
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent in ASPECT_OF_INTENT:
            return ASPECT_OF_INTENT[intent]
        return tracker.get_slot("aspect") or DEFAULT_ASPECT

    @staticmethod
    def _answer(treatment: str, aspect: str) -> str:
        knowledge = repository()
        name = {item.key: item.name for item in knowledge.treatments()}[treatment]
        label = knowledge.aspect_labels()[aspect]
        facts = knowledge.facts(aspect, treatment)
        if aspect == "precautions":
            facts += knowledge.facts("general_precautions")
        return f"{name} – {label.lower()}: {format_facts(facts)}"

    @staticmethod
    def _follow_ups(treatment: str, aspect: str) -> List[Dict[str, str]]:
        if aspect != DEFAULT_ASPECT:
            return []
        labels = repository().aspect_labels()
        return [
            {"title": labels[ASPECT_OF_INTENT[intent]], "payload": "/" + intent + json.dumps({"treatment": treatment})}
            for intent in FOLLOW_UP_INTENTS
        ]
