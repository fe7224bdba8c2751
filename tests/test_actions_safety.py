"""Safety actions: red-flag advice at the level the NLU guard found (from the database or, if it is
down, the file), reassurance for an expected effect, and the referral for medical requests."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from actions import knowledge_access
from actions.safety import ActionClearRedFlag, ActionHandleRedFlag, ActionMedicalReferral, ActionReassureExpectedEffect
from bot.knowledge.repository import KnowledgeRepository
from tests.conftest import make_tracker, run_action, slot_events


def _red_flag(level=None):
    entities = [("red_flag_level", level)] if level else []
    return run_action(ActionHandleRedFlag(), make_tracker("report_red_flag", entities))


def test_emergency_advice_at_the_emergency_level(seeded_repository, knowledge):
    result = _red_flag("emergency")
    assert result["messages"][0]["text"] == knowledge.red_flags.emergency.advice
    assert result["messages"][1]["response"] == "utter_red_flag_contact"
    assert slot_events(result["events"]) == {"red_flag_active": True, "red_flag_level": "emergency"}


@pytest.mark.parametrize("level", ["urgent", None, "nonsense"])
def test_urgent_advice_otherwise(seeded_repository, knowledge, level):
    result = _red_flag(level)
    assert result["messages"][0]["text"] == knowledge.red_flags.urgent.advice
    assert slot_events(result["events"])["red_flag_level"] == "urgent"


def _unreachable_database():
    engine = create_engine(
        "postgresql+psycopg2://nobody@127.0.0.1:1/none", future=True, connect_args={"connect_timeout": 2}
    )
    knowledge_access.use_repository(KnowledgeRepository(engine))


def test_advice_still_given_when_the_database_is_down(knowledge):
    _unreachable_database()
    try:
        result = _red_flag("emergency")
    finally:
        knowledge_access.use_repository(None)
    assert result["messages"][0]["text"] == knowledge.red_flags.emergency.advice
    assert result["messages"][1]["clinic_phone"] == knowledge.clinic.phone


def test_clear_red_flag():
    result = run_action(ActionClearRedFlag(), make_tracker("confirm_fine"))
    assert result["messages"][0]["response"] == "utter_glad_you_are_fine"
    assert slot_events(result["events"]) == {"red_flag_active": False, "red_flag_level": None}


def test_expected_effect_gets_the_treatments_side_effect_and_when_to_call(seeded_repository, knowledge):
    result = run_action(
        ActionReassureExpectedEffect(), make_tracker("report_expected_effect", [("treatment", "microneedling")])
    )
    responses = [message.get("response") for message in result["messages"]]
    assert responses[0] == "utter_expected_effect_intro" and responses[-1] == "utter_expected_effect_advice"
    assert knowledge.treatments["microneedling"].facts["side_effects"][0].text in result["messages"][1]["text"]
    assert result["messages"][-1]["clinic_phone"] == knowledge.clinic.phone
    assert slot_events(result["events"]) == {"treatment": "microneedling"}


def test_expected_effect_without_a_treatment_names_each_treatments_side_effects(seeded_repository, knowledge):
    result = run_action(ActionReassureExpectedEffect(), make_tracker("report_expected_effect"))
    for treatment in knowledge.treatments.values():
        assert treatment.name in result["messages"][1]["text"]


def test_medical_referral_names_the_clinic_and_no_medicine(seeded_repository, knowledge):
    result = run_action(
        ActionMedicalReferral(), make_tracker("ask_medical_advice", text="how much isotretinoin should i take")
    )
    assert result["messages"] == [
        {**result["messages"][0], "response": "utter_medical_referral", "clinic_name": knowledge.clinic.name}
    ]
    assert result["events"] == []


def test_medical_referral_when_the_database_is_down(knowledge):
    _unreachable_database()
    try:
        result = run_action(ActionMedicalReferral(), make_tracker("ask_medical_advice"))
    finally:
        knowledge_access.use_repository(None)
    assert result["messages"][0]["clinic_name"] == knowledge.clinic.name
