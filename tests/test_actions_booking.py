"""Consultation-request actions with a real SQLite store: validation, consent, storage, duplicates."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import create_engine

from actions import booking
from actions.booking import (
    ActionPrepareBooking,
    ActionPrepareCallback,
    ActionSubmitConsultation,
    AskPreferredTreatment,
    ValidateBookingForm,
)
from bot.consultations.repository import ConsultationRepository
from tests.conftest import make_tracker, run_action, slot_events


@pytest.fixture
def store(sqlite_engine, seeded_repository):
    repository = ConsultationRepository(sqlite_engine)
    booking.use_consultations(repository)
    yield repository
    booking.use_consultations(None)


def _validate(slot, value):
    dispatcher = CollectingDispatcher()
    method = getattr(ValidateBookingForm(), f"validate_{slot}")
    result = asyncio.run(method(value, dispatcher, make_tracker("inform", slots={"requested_slot": slot}), {}))
    return result, dispatcher.messages


@pytest.mark.parametrize(
    "slot,value,expected",
    [
        ("contact_name", "  Jane   Doe ", "Jane Doe"),
        ("contact_detail", "Jane.Doe@Example.COM", "jane.doe@example.com"),
        ("contact_detail", "+1 (555) 010-0199", "+15550100199"),
        ("preferred_time", "weekday mornings", "weekday mornings"),
        ("preferred_treatment", "lazer", "laser_resurfacing"),
        ("preferred_treatment", "undecided", "undecided"),
    ],
)
def test_valid_values(seeded_repository, slot, value, expected):
    result, messages = _validate(slot, value)
    assert result == {slot: expected} and messages == []


@pytest.mark.parametrize(
    "slot,value,reason",
    [
        ("contact_detail", "jane@@example.com", "more than one @"),
        ("contact_detail", "jane@localhost", "doesn't look like a domain"),
        ("contact_detail", "12345", "between 7 and 15 digits"),
        ("contact_detail", "call me maybe", "can only contain digits"),
        ("contact_name", "1234", "at least one letter"),
    ],
)
def test_invalid_values_are_re_asked_with_the_reason(seeded_repository, slot, value, reason):
    result, messages = _validate(slot, value)
    assert result == {slot: None}
    assert messages[0]["response"] == "utter_invalid_contact" and reason in messages[0]["reason"]


def test_unknown_treatment_is_re_asked(seeded_repository):
    result, messages = _validate("preferred_treatment", "botox")
    assert result == {"preferred_treatment": None} and messages[0]["response"] == "utter_pick_an_answer"


def test_the_most_recent_of_treatment_and_recommendation_is_pre_filled():
    tracker = make_tracker(
        "book_consultation", slots={"treatment": "microneedling", "recommended_treatment": "exfoliation"}
    )
    tracker.events = [
        {"event": "slot", "name": "treatment", "value": "microneedling"},
        {"event": "slot", "name": "recommended_treatment", "value": "exfoliation"},
    ]
    assert slot_events(run_action(ActionPrepareBooking(), tracker)["events"]) == {
        "request_kind": "consultation",
        "preferred_treatment": "exfoliation",
    }
    tracker.events.append({"event": "slot", "name": "treatment", "value": "laser_resurfacing"})
    assert slot_events(run_action(ActionPrepareBooking(), tracker)["events"]) == {
        "request_kind": "consultation",
        "preferred_treatment": "laser_resurfacing",
    }


def test_treatment_is_pre_filled_from_the_conversation():
    events = run_action(ActionPrepareBooking(), make_tracker("book_consultation", slots={"treatment": "exfoliation"}))[
        "events"
    ]
    assert slot_events(events) == {"request_kind": "consultation", "preferred_treatment": "exfoliation"}
    events = run_action(
        ActionPrepareBooking(), make_tracker("book_consultation", slots={"recommended_treatment": "microneedling"})
    )["events"]
    assert slot_events(events) == {"request_kind": "consultation", "preferred_treatment": "microneedling"}


def test_treatment_question_has_a_button_per_treatment_and_not_sure(seeded_repository):
    [message] = run_action(AskPreferredTreatment(), make_tracker("book_consultation"))["messages"]
    assert [b["title"] for b in message["buttons"]] == [
        "Microneedling",
        "Laser resurfacing",
        "Exfoliation and peels",
        "Not sure yet",
    ]


FILLED = {
    "contact_name": "Jane Doe",
    "contact_detail": "jane@example.com",
    "preferred_treatment": "microneedling",
    "preferred_time": "no preference",
    "consent": True,
}


def _submit(**slots):
    return run_action(ActionSubmitConsultation(), make_tracker("affirm", slots={**FILLED, **slots}))


def test_request_is_stored_before_it_is_confirmed(store):
    result = _submit()
    [message] = result["messages"]
    assert message["response"] == "utter_consultation_confirmed"
    [record] = store.list_requests()
    assert record.reference == message["reference"]
    details = record.details
    assert (details.name, details.email, details.phone, details.preferred_treatment, details.preferred_time) == (
        "Jane Doe",
        "jane@example.com",
        None,
        "microneedling",
        None,
    )
    assert all(value is None for value in slot_events(result["events"]).values())


def test_same_request_twice_is_stored_once(store):
    first = _submit()["messages"][0]
    second = _submit()["messages"][0]
    assert second["response"] == "utter_consultation_already_stored"
    assert second["reference"] == first["reference"]
    assert len(store.list_requests()) == 1


def test_phone_contact_is_stored_as_phone(store):
    _submit(contact_detail="+15550100199", preferred_treatment="undecided")
    [record] = store.list_requests()
    assert record.details.phone == "+15550100199" and record.details.email is None
    assert record.details.preferred_treatment is None


def test_declined_consent_stores_nothing_and_gives_the_phone(store, knowledge):
    [message] = _submit(consent=False)["messages"]
    assert message["response"] == "utter_consent_declined"
    assert message["clinic_phone"] == knowledge.clinic.phone
    assert store.list_requests() == []


def test_unreachable_store_is_never_confirmed(seeded_repository, knowledge):
    engine = create_engine(
        "postgresql+psycopg2://nobody@127.0.0.1:1/none", future=True, connect_args={"connect_timeout": 2}
    )
    booking.use_consultations(ConsultationRepository(engine))
    try:
        [message] = _submit()["messages"]
    finally:
        booking.use_consultations(None)
    assert message["response"] == "utter_consultation_not_saved"
    assert message["clinic_phone"] == knowledge.clinic.phone


@pytest.mark.parametrize(
    "slot,typed,stored",
    [
        ("contact_detail", "my phone is +1 212 555 0173", "+12125550173"),
        ("contact_detail", "you can email me at Jane@Example.com", "jane@example.com"),
        ("contact_name", "I'm Jane Doe", "Jane Doe"),
    ],
)
def test_answers_typed_as_sentences_are_accepted(seeded_repository, slot, typed, stored):
    result, messages = _validate(slot, typed)
    assert result == {slot: stored} and messages == []


# --------------------------------------------------------------------------- a call back


BOOKING_FORM_SLOTS = ["contact_name", "contact_detail", "preferred_treatment", "preferred_time", "consent"]
CALL_BACK = {
    "contact_name": "Sam Caller",
    "contact_detail": "+15550100177",
    "consent": True,
    "request_kind": "callback",
}


def _required(**slots):
    tracker = make_tracker("inform", slots=slots)
    return asyncio.run(ValidateBookingForm().required_slots(BOOKING_FORM_SLOTS, CollectingDispatcher(), tracker, {}))


def test_a_call_back_asks_only_the_contact_and_consent_steps():
    assert _required(request_kind="callback") == ["contact_name", "contact_detail", "consent"]
    assert _required(request_kind="consultation") == BOOKING_FORM_SLOTS
    assert _required() == BOOKING_FORM_SLOTS


def test_the_form_is_done_once_a_call_back_has_name_phone_and_consent():
    """rasa-sdk's own next-slot logic with the call-back slots: consent next, then nothing."""
    form = ValidateBookingForm()
    half_way = {"request_kind": "callback", "contact_name": "Sam", "contact_detail": "+15550100177"}
    for slots, expected in ((half_way, "consent"), (CALL_BACK, None)):
        tracker = make_tracker("inform", slots=slots)
        domain = {"forms": {"booking_form": {"required_slots": BOOKING_FORM_SLOTS}}}
        event = asyncio.run(form.next_requested_slot(CollectingDispatcher(), tracker, domain))
        assert event == {"event": "slot", "timestamp": None, "name": "requested_slot", "value": expected}


def test_preparing_a_call_back_says_so_and_sets_the_kind():
    tracker = make_tracker("book_consultation", entities=[("request_kind", "callback")])
    result = run_action(ActionPrepareCallback(), tracker)
    assert [message["response"] for message in result["messages"]] == ["utter_start_callback"]
    assert slot_events(result["events"]) == {"request_kind": "callback"}


def test_a_call_back_needs_a_phone_number():
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("inform", slots={"requested_slot": "contact_detail", "request_kind": "callback"})
    validate = ValidateBookingForm().validate_contact_detail
    assert asyncio.run(validate("jane@example.com", dispatcher, tracker, {})) == {"contact_detail": None}
    assert "phone number to call you back" in dispatcher.messages[0]["reason"]
    assert asyncio.run(validate("call me on +1 555 010 0177", CollectingDispatcher(), tracker, {})) == {
        "contact_detail": "+15550100177"
    }


def _submit_call_back(**slots):
    # a treatment and time left over from an earlier question are not part of a call back
    leftovers = {"preferred_treatment": "microneedling", "preferred_time": "mornings"}
    return run_action(ActionSubmitConsultation(), make_tracker("affirm", slots={**leftovers, **CALL_BACK, **slots}))


def test_a_call_back_is_stored_as_a_call_back_and_confirmed_with_its_reference(store, knowledge):
    result = _submit_call_back()
    [message] = result["messages"]
    assert message["response"] == "utter_callback_confirmed"
    assert message["clinic_phone"] == knowledge.clinic.phone and message["clinic_hours"] == knowledge.clinic.hours
    [record] = store.list_requests()
    assert record.reference == message["reference"]
    details = record.details
    assert (
        details.kind,
        details.name,
        details.phone,
        details.email,
        details.preferred_treatment,
        details.preferred_time,
    ) == ("callback", "Sam Caller", "+15550100177", None, None, None)
    assert slot_events(result["events"])["request_kind"] is None  # the next booking starts afresh


def test_a_call_back_twice_is_stored_once_and_apart_from_a_consultation(store):
    first = _submit_call_back()["messages"][0]
    second = _submit_call_back()["messages"][0]
    assert second["response"] == "utter_callback_already_stored" and second["reference"] == first["reference"]
    # the same person then asks for a consultation with no treatment in mind: a request of its own
    consultation = run_action(
        ActionSubmitConsultation(),
        make_tracker("affirm", slots={**CALL_BACK, "request_kind": "consultation", "preferred_treatment": "undecided"}),
    )["messages"][0]
    assert consultation["response"] == "utter_consultation_confirmed"
    assert consultation["reference"] != first["reference"]
    assert sorted(record.details.kind for record in store.list_requests()) == ["callback", "consultation"]


def test_a_declined_call_back_stores_nothing_and_gives_the_phone(store, knowledge):
    [message] = _submit_call_back(consent=False)["messages"]
    assert message["response"] == "utter_callback_declined" and message["clinic_phone"] == knowledge.clinic.phone
    assert store.list_requests() == []
