"""The conversation behind a request, read from Rasa's `events` table (the tracker store: the
same database as the requests unless TRACKER_STORE_URL says otherwise), without importing Rasa.

Only what was said is shown: the patient's messages, PoreGuide's replies with their buttons, and
where a new session began. Slots, intents and actions stay out: staff need the conversation, not
the bot's internals. Rendering is the template's job, which escapes every text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Optional, Tuple

from sqlalchemy import distinct, inspect, select
from sqlalchemy.engine import Engine

from bot.analytics.events import EVENTS
from bot.staff.links import KEY_LENGTH, conversation_key

MAX_LINES = 2000  # a conversation longer than this is shown up to here (the page says so)
PATIENT, BOT, SESSION = "patient", "bot", "session"


@dataclass(frozen=True)
class Line:
    speaker: str  # PATIENT, BOT or SESSION (a new session began)
    text: str
    at: datetime
    buttons: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Transcript:
    lines: List[Line]
    truncated: bool

    @property
    def empty(self) -> bool:
        return not any(line.speaker != SESSION for line in self.lines)


def read_transcript(engine: Engine, sender_id: str, limit: int = MAX_LINES) -> Transcript:
    """The conversation's messages in the order they were stored."""
    if not inspect(engine).has_table(EVENTS.name):
        return Transcript([], False)
    statement = (
        select(EVENTS.c.type_name, EVENTS.c.timestamp, EVENTS.c.data)
        .where(EVENTS.c.sender_id == sender_id, EVENTS.c.type_name.in_(("user", "bot", "session_started")))
        .order_by(EVENTS.c.id)
        .limit(limit + 1)
    )
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    lines = [
        line
        for line in (_line(type_name, timestamp, data) for type_name, timestamp, data in rows[:limit])
        if line is not None
    ]
    return Transcript(lines, len(rows) > limit)


def is_key(key: str) -> bool:
    return len(key) == KEY_LENGTH and all(character in "0123456789abcdef" for character in key)


def find_sender(engine: Engine, key: str, known: Iterable[str] = ()) -> Optional[str]:
    """The sender id whose `conversation_key` is `key` (the link in a staff notice): first among
    `known` ids (the requests' conversations), then among every conversation in the events table."""
    if not is_key(key):
        return None
    for sender_id in known:
        if conversation_key(sender_id) == key:
            return sender_id
    if not inspect(engine).has_table(EVENTS.name):
        return None
    with engine.connect() as connection:
        for (sender_id,) in connection.execute(select(distinct(EVENTS.c.sender_id))):
            if sender_id and conversation_key(sender_id) == key:
                return str(sender_id)
    return None


def _line(type_name: str, timestamp: Optional[float], data: Optional[str]) -> Optional[Line]:
    at = datetime.fromtimestamp(timestamp or 0.0, tz=timezone.utc)
    if type_name == "session_started":
        return Line(SESSION, "", at)
    event = _json(data)
    text = event.get("text")
    if type_name == "user":
        return Line(PATIENT, text if isinstance(text, str) else "", at)
    extra = event.get("data")
    listed = extra.get("buttons") if isinstance(extra, dict) else None
    buttons = tuple(
        str(button.get("title", ""))
        for button in (listed if isinstance(listed, list) else ())
        if isinstance(button, dict)
    )
    if not isinstance(text, str) and not buttons:
        return None  # a reply with only a custom payload: nothing a person read
    return Line(BOT, text if isinstance(text, str) else "", at, buttons)


def _json(data: Optional[str]) -> Dict[str, Any]:
    try:
        parsed = json.loads(data or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
