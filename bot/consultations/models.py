"""The table of consultation requests, with its own metadata so it is created independently of the knowledge base."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, List

from sqlalchemy import Boolean, CheckConstraint, Column, DateTime, Integer, String, delete, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import declarative_base

ConsultationModel: Any = declarative_base()  # untyped: SQLAlchemy 1.4 ships no stubs
# What the person asked for: a consultation (the whole booking form) or a call back (name,
# contact and consent only). Checked in Python (bot.consultations.submission), not by the
# database, so that a table made before the column existed needs no new constraint.
CONSULTATION = "consultation"
CALLBACK = "callback"
REQUEST_KINDS = (CONSULTATION, CALLBACK)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class ConsultationRequest(ConsultationModel):
    """One patient's request to be contacted for a consultation."""

    __tablename__ = "consultation_requests"
    __table_args__ = (
        # The database itself refuses a request stored without consent or without any way to reach the patient.
        CheckConstraint("consent_given", name="ck_consultation_requests_consent"),
        CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="ck_consultation_requests_contact"),
    )

    id = Column(Integer, primary_key=True)
    reference = Column(String(16), nullable=False, unique=True)
    name = Column(String(100), nullable=False)
    email = Column(String(254), nullable=True, index=True)
    phone = Column(String(16), nullable=True)
    preferred_treatment = Column(String(100), nullable=True)
    preferred_time = Column(String(100), nullable=True)
    consent_given = Column(Boolean, nullable=False)
    conversation_id = Column(String(255), nullable=False)
    # sha256 hex of conversation, contact and treatment: a resent request finds its first record.
    idempotency_key = Column(String(64), nullable=False, unique=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utc_now)
    # Added after the first release: `add_missing_columns` gives an older table this column.
    kind = Column(String(16), nullable=False, default=CONSULTATION, server_default=CONSULTATION)


def add_missing_columns(engine: Engine) -> None:
    """Give a `consultation_requests` table made before the `kind` column existed that column,
    with every stored request a consultation. Idempotent, and safe when two processes do it at
    once: the one that loses the race finds the column there."""
    table = ConsultationRequest.__tablename__
    if "kind" in {column["name"] for column in inspect(engine).get_columns(table)}:
        return
    if_not_exists = "IF NOT EXISTS " if engine.dialect.name == "postgresql" else ""
    statement = text(
        f"ALTER TABLE {table} ADD COLUMN {if_not_exists}kind VARCHAR(16) NOT NULL DEFAULT '{CONSULTATION}'"
    )
    try:
        with engine.begin() as connection:
            connection.execute(statement)
    except (OperationalError, ProgrammingError):
        if "kind" not in {column["name"] for column in inspect(engine).get_columns(table)}:
            raise


def delete_requests(session: Any, request_ids: List[int]) -> int:
    """Delete the requests with these ids in `session`'s transaction; how many went. One statement
    for the staff CLI, the erasure of one person and the retention purge."""
    if not request_ids:
        return 0
    statement = delete(ConsultationRequest).where(ConsultationRequest.id.in_(request_ids))
    return int(session.execute(statement.execution_options(synchronize_session=False)).rowcount)
