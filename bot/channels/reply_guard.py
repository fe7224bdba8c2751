"""Every message a person sends gets a clear reply, whatever happens behind the channel.

Rasa 3.6 answers nothing when the action server is down or processing raises (it logs and
moves on), and it passes empty or huge texts to the NLU. Each PoreGuide channel wraps Rasa's
message handler with `guarded`: unusable input is answered here without reaching the assistant,
and a turn that ends without a single reply gets the clinic's "technical problem" message.

`guarded` is also the last line of the edge checks (`bot.channels.edge`) for every channel: the
text is normalised (a lone surrogate is "unreadable"), metadata checked, a sender id that could
not name a conversation never reaches Rasa, and while the turn runs its text is withheld from
every log line (`bot.security.log_privacy`)."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Optional

import yaml
from rasa.core.channels.channel import OutputChannel, UserMessage

from bot import settings
from bot.channels.edge import (  # noqa: F401 - UnusableInput and MAX_MESSAGE_CHARS are used from here too
    MAX_MESSAGE_CHARS,
    BadInput,
    UnusableInput,
    clean_channel_name,
    clean_metadata,
    clean_text,
    valid_sender,
)
from bot.knowledge.schema import KnowledgeError, clinic_template_values, load_knowledge
from bot.security.log_privacy import withheld

logger = logging.getLogger(__name__)

MESSAGES_FILE = Path(__file__).with_name("messages.yml")

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
        return clinic_template_values(None)
    return clinic_template_values(clinic)


def problem_reply(key: str, **values: Any) -> str:
    """The text of channel message `key` (see messages.yml), placeholders filled in."""
    return channel_messages()[key].format(**clinic_contact(), **values)


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

        channel.send_response = counting_send_response


def checked(message: UserMessage) -> Optional[str]:
    """Normalise `message` in place (text, metadata, channel name) as `bot.channels.edge` says;
    the reply for the person when it must not reach the assistant, else None."""
    message.input_channel = clean_channel_name(message.input_channel, "unknown")
    message.text = clean_text(message.text)
    try:
        message.metadata = clean_metadata(message.metadata)
    except BadInput:
        return problem_reply("unreadable_message")
    return input_problem(message.text)


def guarded(on_new_message: MessageHandler) -> MessageHandler:
    """Rasa's `on_new_message`, plus input checks and the guarantee of at least one reply."""

    async def handle(message: UserMessage) -> None:
        if valid_sender(message.sender_id) is None:
            # Each channel refuses such a request itself (HTTP 400); nothing can be answered here.
            logger.warning(
                "A message on %s without a usable conversation id was dropped",
                clean_channel_name(message.input_channel, "unknown"),
            )
            return
        channel = message.output_channel
        problem = checked(message)
        if problem is not None:
            logger.info("Message on %s not passed to the assistant: %s", message.input_channel, problem[:40])
            await channel.send_response(message.sender_id, {"text": problem})
            return
        counter = _ReplyCounter(channel)
        with withheld(message.text):
            try:
                await on_new_message(message)
            except Exception as error:  # noqa: BLE001 - the person must get an answer whatever failed
                logger.error("Processing a message failed (%s); sent the technical-problem reply", type(error).__name__)
        if counter.sent == 0:
            logger.error(
                "The assistant produced no reply (action server or database down?); sent the technical-problem reply"
            )
            await channel.send_response(message.sender_id, {"text": problem_reply("technical_problem")})

    return handle
