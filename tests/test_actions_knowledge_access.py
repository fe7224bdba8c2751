"""When the database is unreachable every knowledge action apologises with the clinic's contact."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import create_engine

from actions import knowledge_access
from actions.clinic import ActionShowClinicContact, ActionSuggestDermatologist
from actions.comparison import ActionCompareTreatments
from actions.topics import ActionAnswerCost, ActionExplainWhySmallerPores, ActionListOptions
from actions.treatment_facts import ActionAnswerTreatmentFact
from bot.knowledge.repository import KnowledgeRepository
from tests.conftest import make_tracker, run_action

ALL_ACTIONS = [
    ActionAnswerTreatmentFact(),
    ActionCompareTreatments(),
    ActionExplainWhySmallerPores(),
    ActionListOptions(),
    ActionAnswerCost(),
    ActionSuggestDermatologist(),
    ActionShowClinicContact(),
]


@pytest.fixture
def dead_database():
    engine = create_engine(
        "postgresql+psycopg2://nobody@127.0.0.1:1/none", future=True, connect_args={"connect_timeout": 2}
    )
    knowledge_access.use_repository(KnowledgeRepository(engine))
    yield
    knowledge_access.use_repository(None)


@pytest.mark.parametrize("action", ALL_ACTIONS, ids=lambda action: action.name())
def test_apology_with_contact_when_database_is_down(dead_database, knowledge, action, caplog):
    caplog.set_level(logging.ERROR)
    result = run_action(action, make_tracker("ask_recovery", [("treatment", "microneedling")]))
    [message] = result["messages"]
    assert message["response"] == "utter_knowledge_unavailable"
    assert message["clinic_phone"] == knowledge.clinic.phone
    assert result["events"] == []
    assert any(action.name() in record.getMessage() for record in caplog.records)


def test_apology_without_contact_when_the_file_is_unreadable_too(dead_database, monkeypatch, tmp_path):
    monkeypatch.setenv("POREGUIDE_KNOWLEDGE", str(tmp_path / "missing.yml"))
    knowledge_access.knowledge_from_file.cache_clear()
    try:
        [message] = run_action(ActionShowClinicContact(), make_tracker("ask_clinic_contact"))["messages"]
    finally:
        knowledge_access.knowledge_from_file.cache_clear()
    assert message["response"] == "utter_knowledge_unavailable_no_contact"
