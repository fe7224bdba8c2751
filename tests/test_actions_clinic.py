"""Dermatologist and clinic-contact actions against a real, seeded SQLite knowledge base."""
from __future__ import annotations

from actions.clinic import ActionOfferHuman, ActionShowClinicContact, ActionSuggestDermatologist
from tests.conftest import make_tracker, run_action


def test_suggest_dermatologist(seeded_repository, knowledge):
    messages = run_action(ActionSuggestDermatologist(), make_tracker("ask_dermatologist"))["messages"]
    assert "dermatologist can guide you" in messages[0]["text"]
    assert messages[1]["response"] == "utter_clinic_contact"
    assert messages[1]["clinic_name"] == knowledge.clinic.name


def test_clinic_contact_has_every_field(seeded_repository, knowledge):
    [message] = run_action(ActionShowClinicContact(), make_tracker("ask_clinic_contact"))["messages"]
    assert message["response"] == "utter_clinic_contact"
    for field in ("name", "phone", "email", "address", "hours", "booking_url"):
        assert message[f"clinic_{field}"] == getattr(knowledge.clinic, field)


def test_a_person_to_talk_to_gets_the_clinics_contact_and_a_call_back_offer(seeded_repository, knowledge):
    result = run_action(ActionOfferHuman(), make_tracker("ask_human"))
    [message] = result["messages"]
    assert message["response"] == "utter_human_handoff"
    assert message["clinic_phone"] == knowledge.clinic.phone and message["clinic_hours"] == knowledge.clinic.hours
