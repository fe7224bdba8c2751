"""The staff page's own tables, with their own metadata: created next to the consultation requests
(DATABASE_URL) without touching `bot.consultations.models`. A request is referred to by its
reference (a plain column, no foreign key), so the status history can later move into the
requests table, and a request deleted elsewhere (the retention purge, the CLI) leaves rows that
`store.forget_orphans` removes."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Column, DateTime, Index, Integer, String, Text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import declarative_base

from bot.notices.outbox import create_missing_tables

# SQLAlchemy 1.4 has no types: the declarative base is Any, which mypy accepts as a base class.
StaffPageModel: Any = declarative_base()

MAX_NOTE_LENGTH = 1000
MAX_DETAIL_LENGTH = 200


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; every one written here is UTC."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class StaffUser(StaffPageModel):
    """A staff account; `password_hash` is an argon2id PHC string (salt and parameters inside)."""

    __tablename__ = "staff_page_users"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    password_hash = Column(String(255), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utc_now)


class StaffSession(StaffPageModel):
    """A signed-in browser. `key` is an HMAC of the cookie's token under STAFF_SECRET: the table
    alone (a backup, a leaked dump) cannot be turned back into a working cookie."""

    __tablename__ = "staff_page_sessions"

    key = Column(String(64), primary_key=True)
    username = Column(String(64), nullable=False, index=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utc_now)
    last_seen_at = Column(DateTime(timezone=True), nullable=False, default=utc_now)


class StatusChange(StaffPageModel):
    """One status change of a request, with the staff member's note; the latest is the status."""

    __tablename__ = "staff_page_status_changes"
    __table_args__ = (Index("ix_staff_page_status_changes_reference", "reference", "id"),)

    id = Column(Integer, primary_key=True)
    reference = Column(String(16), nullable=False)
    status = Column(String(16), nullable=False)
    note = Column(Text, nullable=True)  # may name the patient: deleted with the request
    changed_by = Column(String(64), nullable=False)
    changed_at = Column(DateTime(timezone=True), nullable=False, default=utc_now)


class AuditEntry(StaffPageModel):
    """Who did what, when: references, counts and statuses only, never names, contacts, notes or
    message text, so the log can outlive the data it describes."""

    __tablename__ = "staff_page_audit_log"

    id = Column(Integer, primary_key=True)
    at = Column(DateTime(timezone=True), nullable=False, default=utc_now, index=True)
    actor = Column(String(64), nullable=False)
    action = Column(String(32), nullable=False)
    reference = Column(String(40), nullable=True, index=True)  # a request reference or a conversation key
    detail = Column(String(MAX_DETAIL_LENGTH), nullable=True)


def create_tables(engine: Engine) -> None:
    """Through the outbox's creator: the staff page, its account command and the action servers
    may all start at once on a new database."""
    create_missing_tables(StaffPageModel.metadata, engine)
