"""Compares treatments side by side, overall or on one aspect ("which has the least downtime?")."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge_access import apologise_if_unavailable, bullet_list, format_facts, repository
from actions.treatment_choice import mentioned_treatments

# Aspects shown, one headline fact each, when no aspect was asked for.
OVERALL_ASPECTS = ("who_performs", "recovery", "side_effects", "at_home")


def side_by_side(aspect: str, keys: List[str], names: Dict[str, str]) -> str:
    """One aspect of several treatments, one line each."""
    knowledge = repository()
    facts = knowledge.facts_by_treatment(aspect, keys)
    label = knowledge.aspect_labels()[aspect]
    lines = [f"{names[key]}: {format_facts(facts[key])}" for key in keys]
    return f"{label}, side by side:\n{bullet_list(lines)}"


class ActionCompareTreatments(Action):
    def name(self) -> Text:
        return "action_compare_treatments"

    @apologise_if_unavailable
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        knowledge = repository()
        names = {item.key: item.name for item in knowledge.treatments()}
        named = mentioned_treatments(tracker)
        keys = named if len(named) >= 2 else list(names)
        aspect = self._asked_aspect(tracker, knowledge.aspect_labels())
        if aspect:
            text = side_by_side(aspect, keys, names)
        else:
            text = self._overall(keys, names)
        dispatcher.utter_message(text=text)
        dispatcher.utter_message(response="utter_not_medical_advice")
        return [SlotSet("aspect", aspect)] if aspect else []

    @staticmethod
    def _asked_aspect(tracker: Tracker, labels: Dict[str, str]) -> Optional[str]:
        for value in tracker.get_latest_entity_values("aspect"):
            if value in labels:
                return str(value)
        return None

    @staticmethod
    def _overall(keys: List[str], names: Dict[str, str]) -> str:
        knowledge = repository()
        by_aspect = {aspect: knowledge.facts_by_treatment(aspect, keys) for aspect in OVERALL_ASPECTS}
        lines = [
            f"{names[key]}: " + " ".join(format_facts(by_aspect[aspect][key][:1]) for aspect in OVERALL_ASPECTS)
            for key in keys
        ]
        return f"How the treatments compare:\n{bullet_list(lines)}"
