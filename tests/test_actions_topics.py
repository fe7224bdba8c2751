"""Why-smaller-pores, options and cost actions against a real, seeded SQLite knowledge base."""

from __future__ import annotations

import pytest

from actions.topics import ActionAnswerConcept, ActionAnswerCost, ActionExplainWhySmallerPores, ActionListOptions
from tests.conftest import make_tracker, run_action


def test_why_smaller_pores(seeded_repository):
    [message] = run_action(ActionExplainWhySmallerPores(), make_tracker("ask_why_shrink_pores"))["messages"]
    assert message["text"].count("•") == 3
    for phrase in ("blackheads", "blotchy and red", "clear"):
        assert phrase in message["text"]


def test_options_list_three_treatments_with_buttons(seeded_repository):
    [message] = run_action(ActionListOptions(), make_tracker("ask_options"))["messages"]
    assert "microneedling, laser resurfacing and exfoliation" in message["text"]
    assert [button["title"] for button in message["buttons"]] == [
        "Microneedling",
        "Laser resurfacing",
        "Exfoliation and peels",
    ]
    assert message["buttons"][1]["payload"] == '/ask_treatment_info{"treatment": "laser_resurfacing"}'


def test_cost_is_honest_and_gives_the_contact(seeded_repository, knowledge):
    messages = run_action(ActionAnswerCost(), make_tracker("ask_cost"))["messages"]
    assert "can't quote a price" in messages[0]["text"]
    assert messages[1]["response"] == "utter_clinic_contact"
    assert messages[1]["clinic_phone"] == knowledge.clinic.phone


@pytest.mark.parametrize("concept", ["collagen", "dead_skin", "trapped_dirt", "blotchy_skin", "firmness"])
def test_each_concept_is_answered_from_its_article_facts(seeded_repository, knowledge, concept):
    result = run_action(ActionAnswerConcept(), make_tracker("ask_concept", [("concept", concept)]))
    for fact in knowledge.topics["concept_" + concept]:
        assert fact.text in result["messages"][0]["text"]


def test_a_concept_question_without_a_known_concept_gets_why_pores_matter(seeded_repository, knowledge):
    result = run_action(ActionAnswerConcept(), make_tracker("ask_concept"))
    assert knowledge.topics["why_smaller_pores"][0].text in result["messages"][0]["text"]
