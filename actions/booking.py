"""Consultation requests: collects name, email or phone, preferred treatment and time and explicit
consent (booking_form), then stores the request before confirming it with a reference code.
A call back ("can I talk to a person?", actions/clinic.py) is the same form with the slot
`request_kind` set to "callback": name, a phone number and consent only, stored with that kind."""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Optional, Sequence, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.knowledge_access import apologise_if_unavailable, clinic_from_database_or_file, repository
from actions.shared import Shared
from bot.consultations.models import CALLBACK, CONSULTATION
from bot.consultations.repository import ConsultationRepository, ConsultationStoreUnavailable
from bot.consultations.sentences import contact_in, name_in
from bot.consultations.submission import NewConsultation
from bot.consultations.validation import (
    InvalidContact,
    contact_kind,
    validate_email,
    validate_free_text,
    validate_name,
    validate_phone,
)
from bot.knowledge.schema import clinic_template_values

logger = logging.getLogger(__name__)

BOOKING_SLOTS = ("contact_name", "contact_detail", "preferred_treatment", "preferred_time", "consent")
CALL_BACK_SLOTS = ("contact_name", "contact_detail", "consent")
REQUEST_KIND = "request_kind"
UNDECIDED = "undecided"
NO_PREFERENCE = "no preference"

_consultations: Shared[ConsultationRepository] = Shared(ConsultationRepository)


def consultations() -> ConsultationRepository:
    """The shared consultation store; its engine is created on first use, not at import."""
    return _consultations.get()


def use_consultations(replacement: Optional[ConsultationRepository]) -> None:
    """Point the booking actions at another store (tests)."""
    _consultations.use(replacement)


def _reask(dispatcher: CollectingDispatcher, slot: str, reason: str) -> Dict[Text, Any]:
    dispatcher.utter_message(response="utter_invalid_contact", reason=reason)
    return {slot: None}


class ActionPrepareBooking(Action):
    """Makes the booking form a consultation request (also when it was a call back until now) and
    pre-fills the preferred treatment from the conversation."""

    def name(self) -> Text:
        return "action_prepare_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        events: List[EventType] = [SlotSet(REQUEST_KIND, CONSULTATION)]
        treatment = _latest_slot_value(tracker, ("treatment", "recommended_treatment"))
        if treatment:
            events.append(SlotSet("preferred_treatment", treatment))
        return events


class ActionPrepareCallback(Action):
    """Makes the booking form a call-back request: name, phone and consent only."""

    def name(self) -> Text:
        return "action_prepare_callback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(response="utter_start_callback")
        return [SlotSet(REQUEST_KIND, CALLBACK)]


def is_call_back(tracker: Tracker) -> bool:
    return tracker.get_slot(REQUEST_KIND) == CALLBACK


def _latest_slot_value(tracker: Tracker, slots: Sequence[str]) -> Optional[str]:
    """The most recently set non-empty value among `slots`: the treatment last talked about,
    or the top recommendation if that came later."""
    for event in reversed(tracker.events):
        if event.get("event") == "slot" and event.get("name") in slots and event.get("value"):
            return str(event["value"])
    return next((tracker.get_slot(slot) for slot in slots if tracker.get_slot(slot)), None)


class ValidateBookingForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_booking_form"

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        """A call back skips the treatment and the preferred time."""
        if is_call_back(tracker):
            return [slot for slot in domain_slots if slot in CALL_BACK_SLOTS]
        return domain_slots

    async def validate_contact_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        try:
            return {"contact_name": validate_name(name_in(str(value)))}
        except InvalidContact as invalid:
            return _reask(dispatcher, "contact_name", invalid.reason)

    async def validate_contact_detail(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        text = contact_in(str(value))
        is_email = contact_kind(text) == "email"
        if is_email and is_call_back(tracker):
            return _reask(dispatcher, "contact_detail", "the clinic needs a phone number to call you back")
        validator = validate_email if is_email else validate_phone
        try:
            return {"contact_detail": validator(text)}
        except InvalidContact as invalid:
            return _reask(dispatcher, "contact_detail", invalid.reason)

    async def validate_preferred_treatment(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        key = repository().resolve_treatment(str(value))
        if key is None and UNDECIDED not in str(value).lower() and "not sure" not in str(value).lower():
            dispatcher.utter_message(response="utter_pick_an_answer")
            return {"preferred_treatment": None}
        return {"preferred_treatment": key or UNDECIDED}

    async def validate_preferred_time(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        try:
            return {"preferred_time": validate_free_text(str(value), "a preferred time") or NO_PREFERENCE}
        except InvalidContact as invalid:
            return _reask(dispatcher, "preferred_time", invalid.reason)


class AskPreferredTreatment(Action):
    def name(self) -> Text:
        return "action_ask_preferred_treatment"

    @apologise_if_unavailable
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        buttons = [
            {"title": item.name, "payload": "/inform" + json.dumps({"treatment": item.key})}
            for item in repository().treatments()
        ]
        buttons.append({"title": "Not sure yet", "payload": UNDECIDED})
        dispatcher.utter_message(response="utter_ask_preferred_treatment", buttons=buttons)
        return []


class ActionSubmitConsultation(Action):
    """Stores the request, then confirms with its reference; never confirms what was not stored."""

    def name(self) -> Text:
        return "action_submit_consultation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        reset = [SlotSet(slot, None) for slot in (*BOOKING_SLOTS, REQUEST_KIND)]
        contact = _clinic_contact()
        call_back = is_call_back(tracker)
        if tracker.get_slot("consent") is not True:
            response = "utter_callback_declined" if call_back else "utter_consent_declined"
            dispatcher.utter_message(response=response, **contact)
            return reset
        detail = tracker.get_slot("contact_detail") or ""
        is_email = contact_kind(detail) == "email"
        treatment = None if call_back else tracker.get_slot("preferred_treatment")
        preferred_time = None if call_back else tracker.get_slot("preferred_time")
        request = NewConsultation(
            name=tracker.get_slot("contact_name") or "",
            conversation_id=tracker.sender_id,
            consent_given=True,
            email=detail if is_email else None,
            phone=None if is_email else detail,
            preferred_treatment=None if treatment in (None, UNDECIDED) else treatment,
            preferred_time=None if preferred_time in (None, NO_PREFERENCE) else preferred_time,
            kind=CALLBACK if call_back else CONSULTATION,
        )
        try:
            result = consultations().submit(request)
        except (ConsultationStoreUnavailable, InvalidContact) as error:
            logger.error("Consultation request not stored: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_consultation_not_saved", **contact)
            return reset
        if call_back:
            response = "utter_callback_confirmed" if result.created else "utter_callback_already_stored"
        else:
            response = "utter_consultation_confirmed" if result.created else "utter_consultation_already_stored"
        dispatcher.utter_message(response=response, reference=result.reference, **contact)
        return reset


def _clinic_contact() -> Dict[str, str]:
    """The clinic's contact, from the database or, when it is down, from the knowledge file."""
    return clinic_template_values(clinic_from_database_or_file())
