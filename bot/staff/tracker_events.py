"""Rasa's `events` table (the SQL tracker store: one row per event, `sender_id` naming the
conversation, `timestamp` in Unix seconds), read and deleted without importing Rasa, which the
action server's venv does not have. A database without the table (no conversation stored there
yet) has nothing to delete."""

from __future__ import annotations

import os
from typing import List, Optional, Sequence, Tuple

from sqlalchemy import column, delete, func, inspect, select, table
from sqlalchemy.engine import Engine

from bot import settings
from bot.persistence.config import TRACKER_STORE_URL_ENV, normalise_sql_url

EVENTS_TABLE = "events"
EVENTS = table(EVENTS_TABLE, column("id"), column("sender_id"), column("timestamp"))
CHUNK = 500  # sender ids per DELETE: well under every driver's parameter limit


def tracker_url(database_url: Optional[str] = None) -> str:
    """Where the conversations are, for a command given `database_url` (or none): TRACKER_STORE_URL,
    else that database, else DATABASE_URL: the tracker store's own rule (bot.persistence.config)."""
    return normalise_sql_url(
        os.environ.get(TRACKER_STORE_URL_ENV, "").strip() or database_url or settings.database_url()
    )


def has_events(engine: Engine) -> bool:
    return inspect(engine).has_table(EVENTS_TABLE)


def idle_conversations(engine: Engine, before_unix_time: float) -> List[str]:
    """Sender ids whose latest event is older than `before_unix_time`."""
    if not has_events(engine):
        return []
    statement = (
        select(EVENTS.c.sender_id).group_by(EVENTS.c.sender_id).having(func.max(EVENTS.c.timestamp) < before_unix_time)
    )
    with engine.connect() as connection:
        return [sender_id for (sender_id,) in connection.execute(statement).all()]


def delete_conversations(engine: Engine, sender_ids: Sequence[str]) -> Tuple[int, int]:
    """Delete every event of these conversations; (conversations that had events, events deleted)."""
    if not sender_ids or not has_events(engine):
        return 0, 0
    conversations = events = 0
    unique = sorted(set(sender_ids))
    with engine.begin() as connection:
        for start in range(0, len(unique), CHUNK):
            chunk = unique[start : start + CHUNK]
            conversations += connection.execute(
                select(func.count(func.distinct(EVENTS.c.sender_id))).where(EVENTS.c.sender_id.in_(chunk))
            ).scalar_one()
            events += connection.execute(delete(EVENTS).where(EVENTS.c.sender_id.in_(chunk))).rowcount
    return conversations, events
