"""One person's data, deleted everywhere it is stored (a right-to-erasure request): their
consultation requests, the conversations those came from (Rasa's events table), and every staff
notice about either. Found by a request reference, an email address, a phone number or a
conversation (sender) id. Another request made in one of those conversations (someone booking for
a relative) is kept: it names someone else; only its transcript goes.

The conversations go first: if the tracker database fails, nothing else is deleted yet and the
same command can simply be run again (it finds the requests, hence the conversations, again)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import List, Optional, Set

from sqlalchemy import delete, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.consultations.models import ConsultationModel, ConsultationRequest, delete_requests
from bot.consultations.references import normalise_reference
from bot.consultations.validation import validate_email, validate_phone
from bot.notices.outbox import RED_FLAG, OutboxNotice, create_missing_tables, create_tables
from bot.staff import tracker_events

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Person:
    """What identifies the person; at least one field is set. Values are normalised on use
    (InvalidContact for a malformed email or phone)."""

    reference: Optional[str] = None
    email: Optional[str] = None
    phone: Optional[str] = None
    conversation_id: Optional[str] = None


@dataclass(frozen=True)
class ErasureReport:
    requests: int
    conversations: int
    events: int
    notices: int

    def summary(self) -> str:
        return (
            f"Deleted {self.requests} consultation request(s), {self.conversations} conversation(s) "
            f"({self.events} events) and {self.notices} staff notice(s)."
        )


def erase(engine: Engine, tracker_engine: Engine, person: Person) -> ErasureReport:
    """Delete everything stored about `person`; `engine` holds requests and notices,
    `tracker_engine` the conversations."""
    create_missing_tables(ConsultationModel.metadata, engine)
    create_tables(engine)
    conversation_ids = _conversations(engine, person)
    conversations, events = tracker_events.delete_conversations(tracker_engine, sorted(conversation_ids))
    with Session(engine, future=True) as session, session.begin():
        request_ids = list(session.execute(select(ConsultationRequest.id).where(_matches(person))).scalars())
        notices = session.execute(
            delete(OutboxNotice)
            .where(
                or_(
                    OutboxNotice.request_id.in_(request_ids),
                    (OutboxNotice.kind == RED_FLAG) & OutboxNotice.conversation_id.in_(conversation_ids),
                )
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        requests = delete_requests(session, list(request_ids))
    report = ErasureReport(requests, conversations, events, notices)
    logger.info(
        "Erased one person's data: %d request(s), %d conversation(s) (%d events), %d staff notice(s).",
        report.requests,
        report.conversations,
        report.events,
        report.notices,
    )
    return report


def _matches(person: Person):
    conditions: List = []
    if person.reference:
        conditions.append(ConsultationRequest.reference == normalise_reference(person.reference))
    if person.email:
        conditions.append(ConsultationRequest.email == validate_email(person.email))
    if person.phone:
        conditions.append(ConsultationRequest.phone == validate_phone(person.phone))
    if person.conversation_id:
        conditions.append(ConsultationRequest.conversation_id == person.conversation_id)
    if not conditions:
        raise ValueError("say whose data to delete: a reference, an email, a phone or a conversation id")
    return or_(*conditions)


def _conversations(engine: Engine, person: Person) -> Set[str]:
    """The conversations of the person's requests, plus the one named directly."""
    with Session(engine, future=True) as session:
        found = set(session.execute(select(ConsultationRequest.conversation_id).where(_matches(person))).scalars())
    if person.conversation_id:
        found.add(person.conversation_id)
    return found
