"""The guided recommendation actions against a real, seeded SQLite knowledge base."""

from __future__ import annotations

import asyncio
import json

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.recommendation import (
    ActionRecommendTreatments,
    AskSafety,
    ValidateRecommendationForm,
    answer_buttons,
    match_answer,
)
from tests.conftest import make_tracker, run_action, slot_events


@pytest.fixture(scope="module")
def questions(knowledge):
    return knowledge.recommendation.questions


@pytest.mark.parametrize(
    "question,text,value",
    [
        ("skin_type", "my skin is pretty OILY", "oily"),
        ("skin_type", "combo", "combination"),
        ("skin_type", "Combination", "combination"),
        ("skin_type", "normal skin i guess", "normal"),
        ("concern", "mostly blackheads", "blackheads"),
        ("concern", "my skin lost its firmness", "texture"),
        ("concern", "Texture or firmness", "texture"),
        ("downtime", "I can't take time off", "none"),
        ("downtime", "a couple of days is ok", "few_days"),
        ("setting", "at home please", "home"),
        ("setting", "doesn't matter", "either"),
        ("safety", "None of these", "none"),
        ("safety", "i was on accutane", "isotretinoin"),
        ("safety", "no cold sores", "cold_sores"),
        ("safety", "im pregnant", "pregnant"),
        ("downtime", "purple", None),
        ("downtime", "", None),
    ],
)
def test_match_answer(questions, question, text, value):
    assert match_answer(questions[question], text) == value


def test_answer_buttons_set_the_slot(questions):
    buttons = answer_buttons(questions["downtime"])
    assert buttons[0] == {"title": "None at all", "payload": "/inform" + json.dumps({"downtime": "none"})}


def _validate(slot, value, requested, entities=()):
    tracker = make_tracker("inform", entities, slots={"requested_slot": requested, slot: value})
    dispatcher = CollectingDispatcher()
    method = getattr(ValidateRecommendationForm(), f"validate_{slot}")
    return asyncio.run(method(value, dispatcher, tracker, {})), dispatcher.messages


def test_valid_typed_answer_is_normalised(seeded_repository):
    result, messages = _validate("downtime", "no downtime please", "downtime")
    assert result == {"downtime": "none"} and messages == []


def test_invalid_answer_is_re_asked(seeded_repository):
    result, messages = _validate("setting", "on the moon", "setting")
    assert result == {"setting": None}
    assert messages[0]["response"] == "utter_pick_an_answer"


def test_changing_an_earlier_answer_is_acknowledged_not_rejected(seeded_repository):
    result, messages = _validate("downtime", "actually my skin is dry", "downtime", [("skin_type", "dry")])
    assert result == {"downtime": None}
    assert messages[0]["response"] == "utter_answer_updated"


def test_changed_earlier_answer_is_accepted(seeded_repository):
    result, _ = _validate("skin_type", "dry", "downtime", [("skin_type", "dry")])
    assert result == {"skin_type": "dry"}


def test_question_is_asked_with_the_knowledge_base_wording_and_buttons(seeded_repository, knowledge):
    [message] = run_action(AskSafety(), make_tracker("inform"))["messages"]
    assert message["text"] == knowledge.recommendation.questions["safety"].prompt
    assert [b["title"] for b in message["buttons"]][0] == "None of these"


def _recommend(**answers):
    return run_action(ActionRecommendTreatments(), make_tracker("inform", slots=answers))


def test_recommendation_ranks_with_reasons_and_avoids(seeded_repository):
    result = _recommend(skin_type="oily", concern="blackheads", downtime="none", setting="home", safety="none")
    text = result["messages"][0]["text"]
    assert text.startswith("Based on your answers")
    assert "1. Exfoliation and peels:" in text and "Why:" in text
    assert "Better to avoid for now:" in text and "Microneedling: It takes a couple of days to heal." in text
    assert result["messages"][1]["response"] == "utter_confirm_with_dermatologist"
    assert slot_events(result["events"]) == {"recommended_treatment": "exfoliation"}


def test_texture_at_the_clinic_ranks_procedures_first(seeded_repository):
    text = _recommend(skin_type="dry", concern="texture", downtime="few_days", setting="clinic", safety="none")[
        "messages"
    ][0]["text"]
    assert text.index("1. Microneedling") < text.index("3. Exfoliation and peels")


@pytest.mark.parametrize("safety", ["pregnant", "active_infection", "isotretinoin"])
def test_safety_answers_lead_to_a_dermatologist_first(seeded_repository, safety):
    result = _recommend(skin_type="oily", concern="acne", downtime="few_days", setting="either", safety=safety)
    assert "1." not in result["messages"][0]["text"]
    assert result["messages"][1]["response"] == "utter_see_dermatologist_first"
    assert slot_events(result["events"]) == {"recommended_treatment": None}


@pytest.mark.parametrize(
    "question,text,value",
    [
        ("downtime", "i cant take any time off work", "none"),
        ("downtime", "I can’t take time off", "none"),
        ("setting", "i would rather do it on my own", "home"),
        ("skin_type", "kind of oilyish", None),
    ],
)
def test_match_answer_tolerates_small_gaps_and_apostrophes(questions, question, text, value):
    assert match_answer(questions[question], text) == value


def _extract(slot, text, intent="inform", requested=None):
    tracker = make_tracker(intent, slots={"requested_slot": requested or slot}, text=text)
    method = getattr(ValidateRecommendationForm(), f"extract_{slot}")
    return asyncio.run(method(CollectingDispatcher(), tracker, {}))


def test_typed_answer_is_extracted_whatever_the_intent(seeded_repository):
    assert _extract("setting", "at home", intent="ask_at_home") == {"setting": "home"}


def test_question_that_answers_nothing_is_left_for_its_rule(seeded_repository):
    assert _extract("skin_type", "wait, what is microneedling?", intent="ask_treatment_info") == {}


def test_red_flag_and_stop_never_fill_an_answer(seeded_repository):
    assert _extract("safety", "i get cold sores and my lip is swollen since the laser", intent="report_red_flag") == {}
    assert _extract("setting", "stop, at home or not i'm done", intent="stop") == {}


def test_only_the_question_being_asked_is_extracted_from_text(seeded_repository):
    assert _extract("setting", "at home", requested="downtime") == {}


def test_an_unknown_value_from_a_crafted_payload_never_stays(seeded_repository):
    result, messages = _validate("skin_type", "<script>", "concern")
    assert result == {"skin_type": None} and messages == []
