"""Every message a person sends gets a clear reply, whatever happens behind the channel.

Rasa 3.6 answers nothing when the action server is down or processing raises (it logs and
moves on), and it passes empty or huge texts to the NLU. Each PoreGuide channel wraps Rasa's
message handler with `guarded`: unusable input is answered here without reaching the assistant,
and a turn that ends without a single reply gets the clinic's "technical problem" message."""
from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Optional

import yaml
from rasa.core.channels.channel import OutputChannel, UserMessage

from bot import settings
from bot.knowledge.schema import KnowledgeError, load_knowledge

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 2000
MESSAGES_FILE = Path(__file__).with_name("messages.yml")
FALLBACK_CONTACT = {"clinic_name": "the clinic", "clinic_phone": "by phone", "clinic_email": "by email"}

MessageHandler = Callable[[UserMessage], Awaitable[Any]]


@functools.lru_cache(maxsize=1)
def channel_messages() -> Dict[str, str]:
    with open(MESSAGES_FILE, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@functools.lru_cache(maxsize=1)
def clinic_contact() -> Dict[str, str]:
    """The clinic's contact from the knowledge FILE: it must be given even when the database is down."""
    try:
        clinic = load_knowledge(settings.knowledge_file()).clinic
    except (KnowledgeError, OSError) as error:
        logger.error("Knowledge file unreadable; the problem message names no contact: %s", error)
        return dict(FALLBACK_CONTACT)
    return clinic.template_values()


def problem_reply(key: str, **values: Any) -> str:
    """The text of channel message `key` (see messages.yml), placeholders filled in."""
    return channel_messages()[key].format(**clinic_contact(), **values)


class UnusableInput(str):
    """An empty text that stands for a message a channel could not read (broken JSON, a number
    instead of text, ...): `reason` names its reply in messages.yml. Being an empty `str`, it
    passes through Rasa's `UserMessage` unchanged and reaches `guarded`, which answers it."""

    reason: str

    def __new__(cls, reason: str) -> "UnusableInput":
        instance = super().__new__(cls, "")
        instance.reason = reason
        return instance


def input_problem(text: Optional[object]) -> Optional[str]:
    """Why `text` cannot go to the assistant (a reply for the person), or None if it can."""
    if isinstance(text, UnusableInput):
        return problem_reply(text.reason)
    if not isinstance(text, str):
        return problem_reply("unsupported_content")
    if not text.strip():
        return problem_reply("empty_message")
    if len(text) > MAX_MESSAGE_CHARS:
        return problem_reply("message_too_long", length=f"{len(text):,}", limit=f"{MAX_MESSAGE_CHARS:,}")
    return None


class _ReplyCounter:
    """Counts what the assistant sends through one turn's output channel (wrapping the instance's
    `send_response`, so the channel keeps its class and Rasa treats it as before)."""

    def __init__(self, channel: OutputChannel) -> None:
        self.sent = 0
        original = channel.send_response

        async def counting_send_response(recipient_id: str, message: Dict[str, Any]) -> None:
            self.sent += 1
            await original(recipient_id, message)

        channel.send_response = counting_send_response  # type: ignore[assignment]


def guarded(on_new_message: MessageHandler) -> MessageHandler:
    """Rasa's `on_new_message`, plus input checks and the guarantee of at least one reply."""

    async def handle(message: UserMessage) -> None:
        channel = message.output_channel
        problem = input_problem(message.text)
        if problem is not None:
            logger.info("Message on %s not passed to the assistant: %s", message.input_channel, problem[:40])
            await channel.send_response(message.sender_id, {"text": problem})
            return
        counter = _ReplyCounter(channel)
        try:
            await on_new_message(message)
        except Exception as error:  # noqa: BLE001 - the person must get an answer whatever failed
            logger.error("Processing a message failed (%s); sent the technical-problem reply", type(error).__name__)
        if counter.sent == 0:
            logger.error("The assistant produced no reply (action server or database down?); "
                         "sent the technical-problem reply")
            await channel.send_response(message.sender_id, {"text": problem_reply("technical_problem")})

    return handle
