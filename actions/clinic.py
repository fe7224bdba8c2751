"""Sends people to a dermatologist and tells them how to reach the clinic."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge_access import apologise_if_unavailable, format_facts, clinic_from_database_or_file, repository


class ActionSuggestDermatologist(Action):
    def name(self) -> Text:
        return "action_suggest_dermatologist"

    @apologise_if_unavailable
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        knowledge = repository()
        dispatcher.utter_message(text=format_facts(knowledge.facts("dermatologist")))
        dispatcher.utter_message(response="utter_clinic_contact", **knowledge.clinic().template_values())
        return []


class ActionShowClinicContact(Action):
    def name(self) -> Text:
        return "action_show_clinic_contact"

    @apologise_if_unavailable
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(response="utter_clinic_contact", **repository().clinic().template_values())
        return []


class ActionOfferHuman(Action):
    """"Can I talk to a person?": the clinic's phone, email and hours, and a call-back request
    (the booking form) offered as a button."""

    def name(self) -> Text:
        return "action_offer_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        clinic = clinic_from_database_or_file()
        if clinic is None:
            dispatcher.utter_message(response="utter_knowledge_unavailable_no_contact")
            return []
        dispatcher.utter_message(response="utter_human_handoff", **clinic.template_values())
        return []
