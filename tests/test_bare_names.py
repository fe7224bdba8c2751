"""A bare name typed at the booking form is an answer (bot/nlu/bare_names.py, last in the pipeline)."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.bare_names import BareNameReader, is_a_bare_name


@pytest.mark.parametrize("text", ["Zebulon Quirkfeather", "Ottoline Vexworth", "Mary-Jane O'Neil", "Anne Marie Lee"])
def test_names_are_bare_names(text):
    assert is_a_bare_name(text)


@pytest.mark.parametrize(
    "text", ["Stop", "No Thanks", "Not Now", "Cancel Please", "zebulon quirkfeather", "What Is Microneedling", "Jane"]
)
def test_commands_questions_and_single_words_are_not(text):
    assert not is_a_bare_name(text)


def _classified(text, intent, confidence):
    message = Message(data={"text": text})
    message.set("intent", {"name": intent, "confidence": confidence})
    message.set("intent_ranking", [{"name": intent, "confidence": confidence}])
    return message


@pytest.mark.parametrize("intent, confidence", [("stop", 0.36), ("nlu_fallback", 0.3), ("deny", 0.5)])
def test_an_unsure_bare_name_is_read_as_an_answer(intent, confidence):
    [message] = BareNameReader().process([_classified("Zebulon Quirkfeather", intent, confidence)])
    assert message.get("intent")["name"] == "inform"


def test_a_confident_classification_stands():
    [message] = BareNameReader().process([_classified("Zebulon Quirkfeather", "stop", 0.9)])
    assert message.get("intent")["name"] == "stop"


@pytest.mark.parametrize("intent", ["report_red_flag", "report_expected_effect", "ask_medical_advice"])
def test_a_safety_intent_is_never_overruled(intent):
    [message] = BareNameReader().process([_classified("Zebulon Quirkfeather", intent, 0.35)])
    assert message.get("intent")["name"] == intent


def test_a_message_naming_a_treatment_is_no_name():
    message = _classified("Chemical Peels", "stop", 0.4)
    message.set("entities", [{"entity": "treatment", "value": "chemical_peel", "start": 0, "end": 14}])
    [message] = BareNameReader().process([message])
    assert message.get("intent")["name"] == "stop"
