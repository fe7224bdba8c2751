"""The staff outbox: one row per notice and channel, written in the same transaction as what it
is about (a consultation request) or on its own (a red-flag report), and sent afterwards by the
worker. A notice leaves the table only when sent (then after RETENTION_OUTBOX_DAYS), purged, or
erased with its person: a dead mail server delays it, never loses it.

A row holds no contact details or message text: a request's notice points at the request, which
is read when the notice is sent (so a request erased before then is never mailed). Delivery is
at least once: a row is claimed for a lease (so two action servers never send it at the same
time), and a process that dies while sending sends it again after the lease."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Sequence

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, declarative_base

from bot.notices.config import SlackNoticeSettings
from bot.persistence.database import UsesDatabase

logger = logging.getLogger(__name__)

# SQLAlchemy 1.4 has no types: the declarative base is Any, which mypy accepts as a base class.
StaffModel: Any = declarative_base()

REQUEST = "consultation_request"
RED_FLAG = "red_flag"
EMAIL = "email"
SLACK = "slack"
# One alert per conversation and level in this window: a person repeating "I have a fever" in
# three messages is one emergency for the staff, not three.
RED_FLAG_REPEAT_WINDOW = timedelta(hours=1)
MAX_ERROR_LENGTH = 200
# PostgreSQL advisory lock key (any bigint, shared by every PoreGuide process on the database)
# under which tables are created: "PoreGuid" in ASCII.
CREATE_TABLES_LOCK = 0x506F726547756964

# Rung after a notice is written, so a sender in this process starts at once instead of at its
# next poll (one in another process, e.g. a Sanic worker's, finds the row at its next poll).
DOORBELL = threading.Event()


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; every one this module writes is UTC."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class OutboxNotice(StaffModel):
    """A notice to send to the staff on one channel; `request_id` and `conversation_id` are plain
    columns (no foreign key: the tracker store may be another database), deleted explicitly by
    `bot.staff.retention` and `bot.staff.erasure`."""

    __tablename__ = "staff_outbox"
    __table_args__ = (Index("ix_staff_outbox_due", "sent_at", "next_attempt_at"),)

    id = Column(Integer, primary_key=True)
    kind = Column(String(32), nullable=False)  # REQUEST or RED_FLAG
    channel = Column(String(16), nullable=False)  # EMAIL or SLACK
    request_id = Column(Integer, nullable=True, index=True)
    conversation_id = Column(String(255), nullable=True, index=True)
    level = Column(String(16), nullable=True)  # a red flag's: emergency or urgent
    created_at = Column(DateTime(timezone=True), nullable=False, default=utc_now, index=True)
    next_attempt_at = Column(DateTime(timezone=True), nullable=False, default=utc_now)
    attempts = Column(Integer, nullable=False, default=0)
    sent_at = Column(DateTime(timezone=True), nullable=True)
    last_error = Column(String(MAX_ERROR_LENGTH), nullable=True)  # an error class and code, never data


@dataclass(frozen=True)
class Notice:
    """A due row, detached from its session."""

    id: int
    kind: str
    channel: str
    request_id: Optional[int]
    conversation_id: Optional[str]
    level: Optional[str]
    created_at: datetime
    attempts: int


def channels_now() -> List[str]:
    """The channels a new notice goes to: email always (it waits for SMTP_URL if need be, as the
    clinic's record of every request), Slack when its staff channel is configured."""
    return [EMAIL, SLACK] if SlackNoticeSettings.from_env() is not None else [EMAIL]


def add_request_notices(
    session: Session, request_id: int, conversation_id: str, channels: Optional[Sequence[str]] = None
) -> None:
    """Add the notices of a new request to `session`, i.e. to the transaction that stores it."""
    _add_notices(session, utc_now(), channels, kind=REQUEST, request_id=request_id, conversation_id=conversation_id)


def _add_notices(session: Session, now: datetime, channels: Optional[Sequence[str]], **columns: Any) -> None:
    """One notice per channel (`channels`, else those configured now), due at once."""
    for channel in channels if channels is not None else channels_now():
        session.add(OutboxNotice(channel=channel, created_at=now, next_attempt_at=now, **columns))


def create_missing_tables(metadata: MetaData, engine: Engine) -> None:
    """`create_all`, safe when another thread or process creates the same tables at the same moment
    (two action servers starting together, the sender starting while the first request is stored).

    On PostgreSQL the creators take turns under a transaction-scoped advisory lock: two CREATE
    TABLEs racing would otherwise make the loser fail with a unique violation in the catalogue,
    an ERROR in the server's log. The lock is released at commit, so the next creator finds the
    tables and creates nothing. SQLite serialises writers itself but says "already exists" to the
    loser of a race; a second look finds the tables."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(select(func.pg_advisory_xact_lock(CREATE_TABLES_LOCK)))
            metadata.create_all(connection)
        return
    try:
        metadata.create_all(engine)
    except (IntegrityError, OperationalError, ProgrammingError):
        metadata.create_all(engine)


def create_tables(engine: Engine) -> None:
    create_missing_tables(StaffModel.metadata, engine)


class Outbox(UsesDatabase):
    """Reads and updates the outbox; errors propagate (callers decide what a failure means)."""

    def __init__(self, engine: Optional[Engine] = None) -> None:
        super().__init__(engine)
        self._tables_ready = False

    def ensure_tables(self) -> None:
        if not self._tables_ready:
            create_tables(self.engine)
            self._tables_ready = True

    def record_red_flag(self, conversation_id: str, level: str, channels: Optional[Sequence[str]] = None) -> bool:
        """Queue a red-flag alert; False when the same conversation reported the same level
        within RED_FLAG_REPEAT_WINDOW (already queued)."""
        self.ensure_tables()
        now = utc_now()
        with Session(self.engine, future=True) as session, session.begin():
            repeated = session.execute(
                select(OutboxNotice.id)
                .where(
                    OutboxNotice.kind == RED_FLAG,
                    OutboxNotice.conversation_id == conversation_id,
                    OutboxNotice.level == level,
                    OutboxNotice.created_at >= now - RED_FLAG_REPEAT_WINDOW,
                )
                .limit(1)
            ).first()
            if repeated is not None:
                return False
            _add_notices(session, now, channels, kind=RED_FLAG, conversation_id=conversation_id, level=level)
        DOORBELL.set()
        logger.info("Red-flag staff alert queued (%s).", level)
        return True

    def due(self, channels: Sequence[str], now: datetime, limit: int = 50) -> List[Notice]:
        """Unsent notices of `channels` whose next attempt has come, oldest first."""
        self.ensure_tables()
        statement = (
            select(OutboxNotice)
            .where(
                OutboxNotice.sent_at.is_(None),
                OutboxNotice.channel.in_(list(channels)),
                OutboxNotice.next_attempt_at <= now,
            )
            .order_by(OutboxNotice.next_attempt_at, OutboxNotice.id)
            .limit(limit)
        )
        with Session(self.engine, future=True) as session:
            return [
                Notice(
                    row.id,
                    row.kind,
                    row.channel,
                    row.request_id,
                    row.conversation_id,
                    row.level,
                    as_utc(row.created_at),
                    row.attempts,
                )
                for row in session.execute(statement).scalars()
            ]

    def claim(self, notice_id: int, now: datetime, lease: timedelta) -> bool:
        """Take a due notice for `lease` (one attempt more); False when another sender took it."""
        with self.engine.begin() as connection:
            claimed = connection.execute(
                update(OutboxNotice)
                .where(
                    OutboxNotice.id == notice_id, OutboxNotice.sent_at.is_(None), OutboxNotice.next_attempt_at <= now
                )
                .values(next_attempt_at=now + lease, attempts=OutboxNotice.attempts + 1)
            ).rowcount
        return claimed == 1

    def mark_sent(self, notice_id: int, now: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(OutboxNotice).where(OutboxNotice.id == notice_id).values(sent_at=now, last_error=None)
            )

    def mark_failed(self, notice_id: int, retry_at: datetime, error: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(OutboxNotice)
                .where(OutboxNotice.id == notice_id)
                .values(next_attempt_at=retry_at, last_error=error[:MAX_ERROR_LENGTH])
            )

    def drop(self, notice_id: int) -> None:
        """Remove a notice that can never be sent (its request was erased meanwhile)."""
        with self.engine.begin() as connection:
            connection.execute(OutboxNotice.__table__.delete().where(OutboxNotice.id == notice_id))

    def waiting(self) -> Dict[str, int]:
        """Unsent notices per channel."""
        self.ensure_tables()
        statement = (
            select(OutboxNotice.channel, func.count())
            .where(OutboxNotice.sent_at.is_(None))
            .group_by(OutboxNotice.channel)
        )
        with Session(self.engine, future=True) as session:
            return {channel: count for channel, count in session.execute(statement).all()}
