"""Stores and reads consultation requests; every database failure surfaces as ConsultationStoreUnavailable.

A new request and its staff notices (`bot.notices.outbox`) are written in one transaction: the
request is never stored without the clinic being told, whatever happens to the mail server."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import asdict, fields
from datetime import timezone
from typing import Callable, Iterator, List, Optional

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.consultations.models import ConsultationModel, ConsultationRequest, add_missing_columns, delete_requests
from bot.consultations.references import new_reference, normalise_reference
from bot.consultations.submission import (
    ConsultationRecord,
    NewConsultation,
    SubmitResult,
    idempotency_key,
    normalised,
    require_consent,
)
from bot.consultations.validation import validate_email
from bot.notices import outbox
from bot.persistence.database import UsesDatabase

logger = logging.getLogger(__name__)

# A clash is a reference collision (one in ~10**9) or the same request saved concurrently; both resolve in one retry.
MAX_ATTEMPTS = 5


class ConsultationStoreUnavailable(RuntimeError):
    """The request could not be saved or read; the bot must tell the patient it was NOT saved."""


class ConsultationRepository(UsesDatabase):
    """The one way to store, list and delete consultation requests."""

    def __init__(
        self, engine: Optional[Engine] = None, *, reference_factory: Callable[[], str] = new_reference
    ) -> None:
        """`reference_factory` exists so tests can force a reference collision."""
        super().__init__(engine)
        self._new_reference = reference_factory
        self._tables_ready = False

    def create_tables(self) -> None:
        """Create the table if it is missing, or add the columns an older table lacks (`kind`);
        also done lazily by every other method."""
        with _store_errors():
            outbox.create_missing_tables(ConsultationModel.metadata, self.engine)
            add_missing_columns(self.engine)
            outbox.create_tables(self.engine)
        self._tables_ready = True

    def submit(self, request: NewConsultation) -> SubmitResult:
        """Store a request in one transaction, or return the reference of the identical request stored earlier.

        Raises ConsentNotGiven / InvalidContact (both ValueError) before touching the database.
        """
        require_consent(request)
        clean = normalised(request)
        key = idempotency_key(clean)
        self._ensure_tables()
        with _store_errors():
            for _ in range(MAX_ATTEMPTS):
                try:
                    return self._submit_once(clean, key)
                except IntegrityError:
                    continue  # the next attempt finds the concurrent duplicate or draws a new reference
        raise ConsultationStoreUnavailable(f"the request clashed with stored ones {MAX_ATTEMPTS} times in a row")

    def list_requests(self) -> List[ConsultationRecord]:
        """All requests, newest first."""
        self._ensure_tables()
        statement = select(ConsultationRequest).order_by(
            ConsultationRequest.created_at.desc(), ConsultationRequest.id.desc()
        )
        with _store_errors(), Session(self.engine, future=True) as session:
            return [_record(row) for row in session.execute(statement).scalars()]

    def get(self, request_id: int) -> Optional[ConsultationRecord]:
        """One request by its row id (what a staff notice points at); None once it is deleted."""
        self._ensure_tables()
        with _store_errors(), Session(self.engine, future=True) as session:
            row = session.get(ConsultationRequest, request_id)
            return _record(row) if row is not None else None

    def delete_by_reference(self, code: str) -> int:
        """Delete one request by its reference; returns how many were deleted (0 or 1)."""
        return self._delete(ConsultationRequest.reference == normalise_reference(code))

    def delete_by_email(self, email: str) -> int:
        """Delete every request of one person (e.g. on an erasure request); returns how many were deleted."""
        return self._delete(ConsultationRequest.email == validate_email(email))

    def _submit_once(self, request: NewConsultation, key: str) -> SubmitResult:
        with Session(self.engine, future=True) as session, session.begin():
            existing = session.execute(
                select(ConsultationRequest.reference).where(ConsultationRequest.idempotency_key == key)
            ).scalar_one_or_none()
            if existing is not None:
                return SubmitResult(existing, created=False)
            reference = self._new_reference()
            # Every NewConsultation field is a column of the same name.
            row = ConsultationRequest(reference=reference, idempotency_key=key, **asdict(request))
            session.add(row)
            session.flush()
            outbox.add_request_notices(session, row.id, request.conversation_id)  # same transaction
        outbox.DOORBELL.set()
        logger.info("Stored consultation request %s.", reference)  # the reference only: no personal data in logs
        return SubmitResult(reference, created=True)

    def _delete(self, condition: ColumnElement) -> int:
        """Delete the matching requests and their staff notices, in one transaction."""
        self._ensure_tables()
        with _store_errors(), Session(self.engine, future=True) as session, session.begin():
            ids = list(session.execute(select(ConsultationRequest.id).where(condition)).scalars())
            if not ids:
                return 0
            session.execute(delete(outbox.OutboxNotice).where(outbox.OutboxNotice.request_id.in_(ids)))
            deleted = delete_requests(session, ids)
        logger.info("Deleted %d consultation request(s).", deleted)
        return deleted

    def _ensure_tables(self) -> None:
        if not self._tables_ready:
            self.create_tables()


@contextmanager
def _store_errors() -> Iterator[None]:
    """Translate database errors without chaining them: SQLAlchemy's messages quote the statement's
    parameters (names, emails), which must not reach the bot's logs through a traceback."""
    try:
        yield
    except SQLAlchemyError as error:
        raise ConsultationStoreUnavailable(_describe(error)) from None


def _describe(error: SQLAlchemyError) -> str:
    """The error class, plus the driver's first line for connection-level errors (never the parameters)."""
    detail = type(error).__name__
    driver_message = str(error.orig).strip() if isinstance(error, OperationalError) else ""
    if driver_message:
        detail += ": " + driver_message.splitlines()[0]  # e.g. connection refused, database is locked
    return f"consultation database unavailable ({detail})"


def _record(row: ConsultationRequest) -> ConsultationRecord:
    created_at = row.created_at
    if created_at.tzinfo is None:  # SQLite drops the zone; the value was written in UTC
        created_at = created_at.replace(tzinfo=timezone.utc)
    details = NewConsultation(**{field.name: getattr(row, field.name) for field in fields(NewConsultation)})
    return ConsultationRecord(row.reference, created_at.astimezone(timezone.utc), details)
