"""A bare name typed at the booking form is an answer (bot/nlu/bare_names.py, applied by the guard)."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.bare_names import is_a_bare_name
from bot.nlu.red_flag_guard import RedFlagGuard


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
def test_the_guard_reads_an_unsure_bare_name_as_an_answer(intent, confidence):
    [message] = RedFlagGuard({}).process([_classified("Zebulon Quirkfeather", intent, confidence)])
    assert message.get("intent")["name"] == "inform"


def test_a_confident_classification_stands():
    [message] = RedFlagGuard({}).process([_classified("Zebulon Quirkfeather", "stop", 0.9)])
    assert message.get("intent")["name"] == "stop"
