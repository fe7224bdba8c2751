"""What the staff page reads and changes about consultation requests, on top of
`bot.consultations.repository`: each request's status (new, contacted, booked, closed) with a
note, kept in the staff page's own table keyed by reference; one request by its reference; and
the deletion of one person's data through `bot.staff.erasure` (the CLI's `delete` path).

Why a table of its own: the requests table belongs to the booking code, which another change is
editing; a reference is stable and unique, so the status can later become columns of
`consultation_requests` without the page changing its questions."""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Dict, List, Optional

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.consultations.models import ConsultationRequest
from bot.consultations.references import normalise_reference
from bot.consultations.repository import ConsultationRepository
from bot.consultations.submission import ConsultationRecord, NewConsultation
from bot.staff.erasure import ErasureReport, Person, erase
from bot.staff_page.models import MAX_NOTE_LENGTH, StatusChange, as_utc, create_tables, utc_now

NEW, CONTACTED, BOOKED, CLOSED = "new", "contacted", "booked", "closed"
STATUSES = (NEW, CONTACTED, BOOKED, CLOSED)
PER_PAGE = 50


class InvalidChange(ValueError):
    """A status change the page refuses; the message is shown to the staff member."""


@dataclass(frozen=True)
class StatusInfo:
    status: str
    note: Optional[str]
    changed_by: Optional[str]
    changed_at: Optional[datetime]


UNTOUCHED = StatusInfo(NEW, None, None, None)


@dataclass(frozen=True)
class Row:
    record: ConsultationRecord
    status: StatusInfo


@dataclass(frozen=True)
class Listing:
    rows: List[Row]
    total: int  # matching the filter, all pages
    page: int
    pages: int


class StaffStore:
    """`engine` holds the requests and the staff page's tables (DATABASE_URL); `tracker_engine`
    the conversations (the tracker store's URL)."""

    def __init__(self, engine: Engine, tracker_engine: Engine) -> None:
        self.engine = engine
        self.tracker_engine = tracker_engine
        self.requests = ConsultationRepository(engine)

    def create_tables(self) -> None:
        self.requests.create_tables()
        create_tables(self.engine)

    # ------------------------------------------------------------------ reading

    def listing(
        self, status: Optional[str] = None, search: str = "", page: int = 1, per_page: int = PER_PAGE
    ) -> Listing:
        """Requests newest first, optionally only those with `status` and those whose reference
        contains `search` (as staff type it: any case, with or without "PG-")."""
        statuses = self.statuses()
        wanted = normalise_reference(search)
        rows = [Row(record, statuses.get(record.reference, UNTOUCHED)) for record in self.requests.list_requests()]
        rows = [
            row for row in rows if (status is None or row.status.status == status) and wanted in row.record.reference
        ]
        pages = max(1, math.ceil(len(rows) / per_page))
        page = min(max(1, page), pages)
        return Listing(rows[(page - 1) * per_page : page * per_page], len(rows), page, pages)

    def find(self, reference: str) -> Optional[ConsultationRecord]:
        """One request by its reference, or None."""
        self.requests.create_tables()
        statement = select(ConsultationRequest).where(ConsultationRequest.reference == normalise_reference(reference))
        with Session(self.engine, future=True) as session:
            row = session.execute(statement).scalar_one_or_none()
            if row is None:
                return None
            details = NewConsultation(**{field.name: getattr(row, field.name) for field in fields(NewConsultation)})
            return ConsultationRecord(row.reference, as_utc(row.created_at), details)

    def statuses(self) -> Dict[str, StatusInfo]:
        """Every request's latest status change, by reference (a request without one is new)."""
        latest = select(func.max(StatusChange.id)).group_by(StatusChange.reference).scalar_subquery()
        statement = select(StatusChange).where(StatusChange.id.in_(latest))
        with Session(self.engine, future=True) as session:
            return {row.reference: _info(row) for row in session.execute(statement).scalars()}

    def history(self, reference: str) -> List[StatusInfo]:
        """The request's status changes, newest first."""
        statement = (
            select(StatusChange)
            .where(StatusChange.reference == normalise_reference(reference))
            .order_by(StatusChange.id.desc())
        )
        with Session(self.engine, future=True) as session:
            return [_info(row) for row in session.execute(statement).scalars()]

    # ------------------------------------------------------------------ changing

    def change_status(self, reference: str, status: str, note: str, by: str) -> str:
        """Record a status (the same one again adds a note); returns the previous status."""
        if status not in STATUSES:
            raise InvalidChange(f"a status is one of {', '.join(STATUSES)}")
        clean_note = clean_text(note)
        if len(clean_note) > MAX_NOTE_LENGTH:
            raise InvalidChange(f"a note can be at most {MAX_NOTE_LENGTH} characters long")
        record = self.find(reference)
        if record is None:
            raise InvalidChange("that request no longer exists")
        previous = (self.history(record.reference) or [UNTOUCHED])[0].status
        with Session(self.engine, future=True) as session, session.begin():
            session.add(
                StatusChange(
                    reference=record.reference,
                    status=status,
                    note=clean_note or None,
                    changed_by=by,
                    changed_at=utc_now(),
                )
            )
        return previous

    def erase_person(self, reference: str) -> ErasureReport:
        """Delete the request, the conversation it came from and the staff notices about them
        (`bot.staff.erasure`, as `python -m bot.consultations delete --reference`), then its statuses and notes."""
        code = normalise_reference(reference)
        report = erase(self.engine, self.tracker_engine, Person(reference=code))
        with Session(self.engine, future=True) as session, session.begin():
            session.execute(delete(StatusChange).where(StatusChange.reference == code))
        return report

    def forget_orphans(self) -> int:
        """Delete statuses and notes of requests deleted elsewhere (the retention purge, the CLI)."""
        self.create_tables()
        existing = select(ConsultationRequest.reference)
        with Session(self.engine, future=True) as session, session.begin():
            return session.execute(
                delete(StatusChange)
                .where(StatusChange.reference.not_in(existing))
                .execution_options(synchronize_session=False)
            ).rowcount


def clean_text(text: str) -> str:
    """A note as typed, without control characters other than line breaks and tabs (a NUL would
    make PostgreSQL refuse the row), with Windows line breaks made plain."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(
        character for character in text if character in "\n\t" or unicodedata.category(character) != "Cc"
    ).strip()


def _info(row: StatusChange) -> StatusInfo:
    return StatusInfo(row.status, row.note, row.changed_by, as_utc(row.changed_at))
