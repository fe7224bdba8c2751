"""action_answer_treatment_fact against a real, seeded SQLite knowledge base."""

from __future__ import annotations

import json

import pytest

from actions.treatment_facts import ASPECT_OF_INTENT, ActionAnswerTreatmentFact
from tests.conftest import make_tracker, run_action, slot_events

ACTION = ActionAnswerTreatmentFact()


def _text(result) -> str:
    return " ".join(message.get("text") or "" for message in result["messages"])


@pytest.mark.parametrize(
    "intent,treatment,expected",
    [
        ("ask_treatment_info", "microneedling", "tiny punctures"),
        ("ask_how_it_works", "laser_resurfacing", "new skin to grow"),
        ("ask_who_performs", "exfoliation", "on your own at home"),
        ("ask_recovery", "microneedling", "couple of days"),
        ("ask_recovery", "laser_resurfacing", "a day or two off work"),
        ("ask_side_effects", "laser_resurfacing", "possibly some swelling"),
        ("ask_at_home", "exfoliation", "Yes."),
        ("ask_at_home", "laser_resurfacing", "No."),
        ("ask_precautions", "microneedling", "active skin infections"),
    ],
)
def test_answers_the_asked_aspect(seeded_repository, intent, treatment, expected):
    result = run_action(ACTION, make_tracker(intent, [("treatment", treatment)]))
    assert expected in _text(result)
    assert slot_events(result["events"]) == {"aspect": ASPECT_OF_INTENT[intent], "treatment": treatment}


def test_unnormalised_entity_value_is_resolved(seeded_repository):
    result = run_action(ACTION, make_tracker("ask_recovery", [("treatment", "Lazer")]))
    assert "a day or two off work" in _text(result)
    assert slot_events(result["events"])["treatment"] == "laser_resurfacing"


def test_precautions_include_general_guidance(seeded_repository):
    text = _text(run_action(ACTION, make_tracker("ask_precautions", [("treatment", "laser_resurfacing")])))
    assert "pregnant" in text and "(General guidance.)" in text


def test_general_guidance_is_marked(seeded_repository):
    text = _text(run_action(ACTION, make_tracker("ask_recovery", [("treatment", "exfoliation")])))
    assert text.count("(General guidance.)") == 1


def test_follow_up_keeps_the_aspect_and_switches_treatment(seeded_repository):
    tracker = make_tracker(
        "inform_treatment",
        [("treatment", "laser_resurfacing")],
        slots={"treatment": "microneedling", "aspect": "recovery"},
    )
    result = run_action(ACTION, tracker)
    assert "a day or two off work" in _text(result)


def test_question_without_treatment_uses_the_conversation_treatment(seeded_repository):
    tracker = make_tracker("ask_side_effects", slots={"treatment": "laser_resurfacing", "aspect": "what"})
    assert "swelling" in _text(run_action(ACTION, tracker))


def test_question_without_any_treatment_asks_which_with_buttons(seeded_repository):
    result = run_action(ACTION, make_tracker("ask_recovery"))
    [message] = result["messages"]
    assert message["response"] == "utter_ask_which_treatment"
    payloads = [button["payload"] for button in message["buttons"]]
    assert payloads[0] == "/inform_treatment" + json.dumps({"treatment": "microneedling"})
    assert len(payloads) == 3
    assert slot_events(result["events"]) == {"aspect": "recovery", "treatment": None}


def test_overview_offers_follow_up_buttons(seeded_repository):
    result = run_action(ACTION, make_tracker("ask_treatment_info", [("treatment", "exfoliation")]))
    payloads = [button["payload"] for button in result["messages"][0]["buttons"]]
    assert payloads[0].startswith("/ask_how_it_works") and '"exfoliation"' in payloads[0]


def test_bare_treatment_without_earlier_aspect_gives_the_overview(seeded_repository):
    text = _text(run_action(ACTION, make_tracker("inform_treatment", [("treatment", "microneedling")])))
    assert "tiny punctures" in text


def test_unknown_treatment_word_asks_which(seeded_repository):
    result = run_action(ACTION, make_tracker("ask_recovery", [("treatment", "botox")]))
    assert result["messages"][0]["response"] == "utter_ask_which_treatment"


@pytest.mark.parametrize(
    "text",
    [
        "what are the side effects of each?",
        "side effects of all three",
        "risks for them?",
        "which one can i do at home",
    ],
)
def test_a_question_about_every_treatment_is_answered_side_by_side(seeded_repository, knowledge, text):
    result = run_action(ActionAnswerTreatmentFact(), make_tracker("ask_side_effects", text=text))
    [message] = result["messages"]
    for treatment in knowledge.treatments.values():
        assert treatment.name in message["text"]
        assert treatment.facts["side_effects"][0].text in message["text"]
