"""Safety replies. A reported complication is answered first, with emergency or urgent-care
advice, and holds back recommendations and bookings until the person says they are fine; a mild
effect the article expects is answered with that fact and when to call the clinic; a request for
medical advice is referred to a dermatologist. The advice never depends on the database: if it is
down, it comes from the knowledge file, else from the domain."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge_access import (
    apologise_if_unavailable,
    clinic_from_database_or_file,
    format_facts,
    from_database_or_file,
    repository,
)
from actions.treatment_choice import current_treatment
from bot.knowledge.schema import Clinic, RedFlags, clinic_template_values
from bot.safety.screening import EMERGENCY, URGENT
from bot.staff.alerts import alert_staff

RED_FLAG_SLOT = "red_flag_active"
LEVEL_SLOT = "red_flag_level"
LEVEL_ENTITY = "red_flag_level"
# The article's side effects are the mild effects people ask about.
EXPECTED_EFFECT_ASPECT = "side_effects"


def _red_flags_and_clinic() -> Optional[Tuple[RedFlags, Clinic]]:
    return from_database_or_file(lambda db: (db.red_flags(), db.clinic()), lambda file: (file.red_flags, file.clinic))


def reported_level(tracker: Tracker) -> str:
    """The level the NLU safety guard found; a report the classifier alone caught is urgent."""
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == LEVEL_ENTITY and entity.get("value") in (EMERGENCY, URGENT):
            return str(entity["value"])
    return URGENT


class ActionHandleRedFlag(Action):
    def name(self) -> Text:
        return "action_handle_red_flag"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        level = reported_level(tracker)
        events: List[EventType] = [SlotSet(RED_FLAG_SLOT, True), SlotSet(LEVEL_SLOT, level)]
        # Issue 15: the clinic's staff are alerted through the outbox (the actions' database); the
        # advice below never waits more than a second for it, and never depends on it.
        await alert_staff(repository().engine, tracker.sender_id, level)
        found = _red_flags_and_clinic()
        if found is None:
            dispatcher.utter_message(response="utter_red_flag_fallback")
            return events
        flags, clinic = found
        dispatcher.utter_message(text=flags.emergency.advice if level == EMERGENCY else flags.urgent.advice)
        dispatcher.utter_message(response="utter_red_flag_contact", **clinic.template_values())
        return events


class ActionClearRedFlag(Action):
    def name(self) -> Text:
        return "action_clear_red_flag"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(response="utter_glad_you_are_fine")
        return [SlotSet(RED_FLAG_SLOT, False), SlotSet(LEVEL_SLOT, None)]


class ActionReassureExpectedEffect(Action):
    """ "Still a little red the day after microneedling, that's expected, right?": the article's
    side effects for that treatment (or for every treatment when none is named) and when to call."""

    def name(self) -> Text:
        return "action_reassure_expected_effect"

    @apologise_if_unavailable
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        knowledge = repository()
        treatment = current_treatment(tracker)
        names = {item.key: item.name for item in knowledge.treatments()}
        keys = [treatment] if treatment else list(names)
        lines = [f"{names[key]}: {format_facts(knowledge.facts(EXPECTED_EFFECT_ASPECT, key))}" for key in keys]
        dispatcher.utter_message(response="utter_expected_effect_intro")
        dispatcher.utter_message(text="\n".join(lines))
        dispatcher.utter_message(response="utter_expected_effect_advice", **knowledge.clinic().template_values())
        return [SlotSet("treatment", treatment)] if treatment else []


class ActionMedicalReferral(Action):
    """Prescriptions, doses, drugs, diagnoses and product picks are a dermatologist's to give:
    one fixed reply that names none of them, and the offer of a consultation."""

    def name(self) -> Text:
        return "action_medical_referral"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        values = clinic_template_values(clinic_from_database_or_file())
        dispatcher.utter_message(response="utter_medical_referral", clinic_name=values["clinic_name"])
        return []
