"""`guarded`: unusable input is answered without reaching the assistant, and a turn that ends
without a reply (or raises) gets the clinic's technical-problem message."""

from __future__ import annotations

import asyncio
from typing import List

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.channels.reply_guard import MAX_MESSAGE_CHARS, UnusableInput, guarded, input_problem, problem_reply


def _run(handler, text) -> List[str]:
    """The texts a person receives for `text` when Rasa's handler is `handler`."""
    channel = CollectingOutputChannel()
    asyncio.run(guarded(handler)(UserMessage(text, channel, "guard-test")))
    return [message["text"] for message in channel.messages]


async def _answers(message: UserMessage) -> None:
    # Rasa's processor sends every bot message through `send_response`
    await message.output_channel.send_response(message.sender_id, {"text": f"answer to {message.text}"})


async def _silent(message: UserMessage) -> None:
    return None


async def _raises(message: UserMessage) -> None:
    raise ConnectionError("action server down")


def test_good_text_reaches_the_assistant_unchanged():
    assert _run(_answers, "what is microneedling?") == ["answer to what is microneedling?"]
    assert _run(_answers, "x" * MAX_MESSAGE_CHARS) == ["answer to " + "x" * MAX_MESSAGE_CHARS]


@pytest.mark.parametrize(
    "text, key",
    [
        ("", "empty_message"),
        ("   \n", "empty_message"),
        (None, "unsupported_content"),
        (UnusableInput("unreadable_message"), "unreadable_message"),
        (UnusableInput("unsupported_content"), "unsupported_content"),
    ],
)
def test_unusable_input_is_answered_here(text, key):
    assert _run(_answers, text) == [problem_reply(key)]


def test_too_long_text_is_answered_with_its_length():
    reply = input_problem("y" * (MAX_MESSAGE_CHARS + 1))
    assert "2,001" in reply and "2,000" in reply
    assert _run(_answers, "y" * (MAX_MESSAGE_CHARS + 1)) == [reply]


@pytest.mark.parametrize("handler", [_silent, _raises])
def test_no_reply_or_a_failure_gets_the_clinic_contact(handler, knowledge):
    (reply,) = _run(handler, "what is microneedling?")
    assert "technical problem" in reply
    assert knowledge.clinic.phone in reply and knowledge.clinic.email in reply


def test_the_unusable_marker_survives_rasas_user_message():
    marker = UnusableInput("unreadable_message")
    assert UserMessage(marker, CollectingOutputChannel(), "x").text is marker
