"""The red-flag keyword net and the NLU guard component that applies it."""
from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.red_flag_guard import RED_FLAG_INTENT, RedFlagGuard
from bot.safety.red_flags import EMERGENCY, URGENT, RedFlagDetector


@pytest.fixture(scope="module")
def detector(knowledge):
    return RedFlagDetector(knowledge.red_flags)


@pytest.mark.parametrize(
    "text,level",
    [
        ("i can't breathe properly after the laser", EMERGENCY),
        ("my throat is swelling", EMERGENCY),
        ("Trouble Breathing since the peel", EMERGENCY),
        ("theres pus coming out where they did the microneedling", URGENT),
        ("i have a fever since the treatment", URGENT),
        ("my face is really swollen", URGENT),
        ("blisters after my peel", URGENT),
        ("how long is recovery after laser", None),
        ("does it hurt", None),
    ],
)
def test_levels(detector, text, level):
    assert detector.level(text) == level


@pytest.mark.parametrize(
    "text,confident_elsewhere,expected",
    [
        ("my face is swollen after laser", True, URGENT),  # personal: always
        ("will laser cause swelling?", True, None),  # a side-effects question, NLU confident
        ("swelling and pus after laser", False, URGENT),  # NLU unsure: the net decides
        ("cant breathe", True, EMERGENCY),  # emergency: always
        ("what is microneedling", False, None),
    ],
)
def test_override_decision(detector, text, confident_elsewhere, expected):
    assert detector.must_override(text, confident_elsewhere) == expected


def _message(text, intent, confidence):
    message = Message(data={"text": text})
    message.set("intent", {"name": intent, "confidence": confidence})
    message.set("intent_ranking", [{"name": intent, "confidence": confidence}])
    return message


def test_guard_overrides_a_confident_faq_intent_for_a_personal_report(detector):
    guard = RedFlagGuard({"confident_threshold": 0.8}, detector)
    [message] = guard.process([_message("my face is swollen and hot since my laser", "ask_side_effects", 0.97)])
    assert message.get("intent") == {"name": RED_FLAG_INTENT, "confidence": 1.0}
    assert message.get("intent_ranking")[0]["name"] == RED_FLAG_INTENT
    assert message.get("intent_ranking")[1]["name"] == "ask_side_effects"


def test_guard_leaves_a_confident_side_effect_question_alone(detector):
    guard = RedFlagGuard({"confident_threshold": 0.8}, detector)
    [message] = guard.process([_message("will laser cause swelling?", "ask_side_effects", 0.95)])
    assert message.get("intent")["name"] == "ask_side_effects"


def test_guard_catches_an_unsure_classification(detector):
    guard = RedFlagGuard({"confident_threshold": 0.8}, detector)
    [message] = guard.process([_message("blistering and oozing", "ask_recovery", 0.41)])
    assert message.get("intent")["name"] == RED_FLAG_INTENT


def test_guard_loads_phrases_from_the_knowledge_file():
    guard = RedFlagGuard({"confident_threshold": 0.8})
    [message] = guard.process([_message("I can't breathe", "greet", 0.99)])
    assert message.get("intent")["name"] == RED_FLAG_INTENT
