"""Reads Rasa's SQLTrackerStore `events` table (any SQLAlchemy URL: SQLite, PostgreSQL) as a
stream of light records, one conversation after another, in the order the events happened."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.persistence.database import create_sql_engine
from bot.persistence.errors import TrackerStoreUnavailable

EVENTS = sa.Table(
    "events",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255)),
    sa.Column("type_name", sa.String(255)),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)
BATCH = 1000


@dataclass(frozen=True)
class StoredEvent:
    conversation: str  # the sender id: used only to group events, never reported
    type_name: str
    timestamp: float
    data: Dict[str, Any]


def open_engine(url: str) -> Engine:
    try:
        return create_sql_engine(url)
    except (sa.exc.ArgumentError, ImportError) as error:
        raise TrackerStoreUnavailable(f"not a usable database URL ({type(error).__name__})") from error


def read_events(engine: Engine) -> Iterator[StoredEvent]:
    """Every stored event, grouped by conversation and in order within one."""
    try:
        if not sa.inspect(engine).has_table("events"):
            raise TrackerStoreUnavailable("the database has no 'events' table: no conversation was stored yet")
        query = sa.select(EVENTS.c.sender_id, EVENTS.c.type_name, EVENTS.c.timestamp, EVENTS.c.data).order_by(
            EVENTS.c.sender_id, EVENTS.c.id
        )
        with engine.connect() as connection:
            result = connection.execution_options(stream_results=True).execute(query)
            for rows in result.partitions(BATCH):
                for sender, type_name, timestamp, data in rows:
                    yield StoredEvent(sender, type_name, timestamp or 0.0, _json(data))
    except sa.exc.SQLAlchemyError as error:
        raise TrackerStoreUnavailable(f"cannot read the tracker store ({type(error).__name__})") from error


def _json(data: str) -> Dict[str, Any]:
    try:
        parsed = json.loads(data or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
