"""Red-flag actions: urgent-care advice first, from the database or, if it is down, the file."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from actions import knowledge_access
from actions.safety import ActionClearRedFlag, ActionHandleRedFlag
from bot.knowledge.repository import KnowledgeRepository
from tests.conftest import make_tracker, run_action, slot_events


def _red_flag(text):
    return run_action(ActionHandleRedFlag(), make_tracker("report_red_flag", text=text))


def test_emergency_advice_for_trouble_breathing(seeded_repository, knowledge):
    result = _red_flag("i can't breathe and my lips are swelling after the peel")
    assert result["messages"][0]["text"] == knowledge.red_flags.emergency.advice
    assert result["messages"][1]["response"] == "utter_red_flag_contact"
    assert slot_events(result["events"]) == {"red_flag_active": True}


@pytest.mark.parametrize("text", ["pus coming out since my microneedling", "something feels wrong after the laser"])
def test_urgent_advice_otherwise(seeded_repository, knowledge, text):
    assert _red_flag(text)["messages"][0]["text"] == knowledge.red_flags.urgent.advice


def test_advice_still_given_when_the_database_is_down(knowledge):
    engine = create_engine("postgresql+psycopg2://nobody@127.0.0.1:1/none", future=True, connect_args={"connect_timeout": 2})
    knowledge_access.use_repository(KnowledgeRepository(engine))
    try:
        result = _red_flag("my throat is closing")
    finally:
        knowledge_access.use_repository(None)
    assert result["messages"][0]["text"] == knowledge.red_flags.emergency.advice
    assert result["messages"][1]["clinic_phone"] == knowledge.clinic.phone


def test_clear_red_flag():
    result = run_action(ActionClearRedFlag(), make_tracker("confirm_fine"))
    assert result["messages"][0]["response"] == "utter_glad_you_are_fine"
    assert slot_events(result["events"]) == {"red_flag_active": False}
