"""Sends people to a dermatologist, tells them how to reach the clinic and, to someone asking for a
person, whether it is open now (bot/knowledge/opening_hours.py) with a call back offered."""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge_access import (
    apologise_if_unavailable,
    clinic_from_database_or_file,
    format_facts,
    knowledge_from_file,
    repository,
)
from bot.consultations.models import CALLBACK
from bot.knowledge.opening_hours import OpeningHours, clock_time_with_zone, status_at, when

logger = logging.getLogger(__name__)

# Tests freeze "now" for the servers they start: an ISO 8601 time with its offset,
# e.g. 2026-03-07T15:00:00-06:00. Never set in production.
NOW_ENV = "POREGUIDE_NOW"
# The payload of "Request a call back": the booking form with the contact and consent steps only.
CALL_BACK_PAYLOAD = "/book_consultation" + json.dumps({"request_kind": CALLBACK})


class ActionSuggestDermatologist(Action):
    def name(self) -> Text:
        return "action_suggest_dermatologist"

    @apologise_if_unavailable
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        knowledge = repository()
        dispatcher.utter_message(text=format_facts(knowledge.facts("dermatologist")))
        dispatcher.utter_message(response="utter_clinic_contact", **knowledge.clinic().template_values())
        return []


class ActionShowClinicContact(Action):
    def name(self) -> Text:
        return "action_show_clinic_contact"

    @apologise_if_unavailable
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(response="utter_clinic_contact", **repository().clinic().template_values())
        return []


def current_time() -> datetime:
    """Now, as an aware datetime; `POREGUIDE_NOW` instead when set (end-to-end tests)."""
    frozen = os.environ.get(NOW_ENV, "").strip()
    if frozen:
        try:
            moment = datetime.fromisoformat(frozen)
            if moment.tzinfo is not None:
                return moment
        except ValueError:
            pass
        logger.warning("%s is not an ISO 8601 time with an offset; the real time is used.", NOW_ENV)
    return datetime.now(timezone.utc)


class ActionOfferHuman(Action):
    """ "Can I talk to a person?": whether the clinic is open now and until when (or when it opens
    next, in its own time zone), its phone, and a call back offered as a button (the booking
    form's contact and consent steps). Inside a form the form resumes afterwards, so the
    offer has no "No, thanks" (a "no" would answer the form's question); it has no call-back
    button while a red flag is open (bookings wait until the person is fine: they should call)
    or when the person is already leaving their number for a call back."""

    def __init__(self, clock: Callable[[], datetime] = current_time) -> None:
        self.clock = clock

    def name(self) -> Text:
        return "action_offer_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        clinic = clinic_from_database_or_file()
        if clinic is None:
            dispatcher.utter_message(response="utter_knowledge_unavailable_no_contact")
            return []
        response, times = "utter_human_handoff", {}
        hours = _opening_hours()
        if hours is not None:
            now = self.clock()
            status = status_at(hours, now)
            if status.open_now and status.closes_at is not None:
                response, times = "utter_human_handoff_open", {"closes_at": clock_time_with_zone(status.closes_at)}
            elif status.next_opening is not None:
                response, times = "utter_human_handoff_closed", {"opens_at": when(status.next_opening, now)}
        dispatcher.utter_message(response=response, buttons=_buttons(tracker), **times, **clinic.template_values())
        return []


def _opening_hours() -> Optional[OpeningHours]:
    """The structured week from the knowledge file (the database keeps only its text)."""
    knowledge = knowledge_from_file()
    return knowledge.clinic.opening_hours if knowledge else None


def _buttons(tracker: Tracker) -> List[Dict[str, str]]:
    form = tracker.active_loop_name
    if tracker.get_slot("red_flag_active") is True:
        return []
    if form == "booking_form" and tracker.get_slot("request_kind") == CALLBACK:
        return []
    buttons = [{"title": "Request a call back", "payload": CALL_BACK_PAYLOAD}]
    if form is None:
        buttons.append({"title": "No, thanks", "payload": "/deny"})
    return buttons
