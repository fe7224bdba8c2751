"""The purge: personal data older than its retention period (`RetentionSettings`) is deleted.

- conversations (Rasa's events table) whose latest event is older than RETENTION_CONVERSATION_DAYS;
- consultation requests created more than RETENTION_REQUEST_DAYS ago, with their notices;
- staff notices sent more than RETENTION_OUTBOX_DAYS ago, unsent ones as old as a purged request,
  and red-flag alerts as old as a purged conversation (they name it).

Run daily by the staff worker in the action server and on demand by `make purge`. Each part is
idempotent, so a purge cut short, or run by two action servers at once, is simply completed by
the next one."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional, Tuple

from sqlalchemy import delete, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.consultations.models import ConsultationModel, ConsultationRequest, delete_requests
from bot.notices.config import RetentionSettings
from bot.notices.outbox import RED_FLAG, OutboxNotice, create_missing_tables, create_tables, utc_now
from bot.staff import tracker_events

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PurgeReport:
    conversations: int
    events: int
    requests: int
    notices: int

    def summary(self, settings: RetentionSettings) -> str:
        return (
            f"Removed {self.conversations} conversation(s) ({self.events} events) idle for more than "
            f"{settings.conversation_days} days, {self.requests} consultation request(s) older than "
            f"{settings.request_days} days and {self.notices} staff notice(s)."
        )


def purge(
    engine: Engine, tracker_engine: Engine, settings: RetentionSettings, now: Optional[datetime] = None
) -> PurgeReport:
    """Delete what is past its retention period; `engine` holds requests and notices,
    `tracker_engine` the conversations (the same database unless TRACKER_STORE_URL differs)."""
    now = now or utc_now()
    conversation_cutoff = now - timedelta(days=settings.conversation_days)
    idle = tracker_events.idle_conversations(tracker_engine, conversation_cutoff.timestamp())
    conversations, events = tracker_events.delete_conversations(tracker_engine, idle)
    requests, notices = _purge_requests_and_notices(engine, settings, now)
    report = PurgeReport(conversations, events, requests, notices)
    logger.info(
        "Retention purge: %d conversation(s) (%d events), %d consultation request(s), %d staff notice(s).",
        report.conversations,
        report.events,
        report.requests,
        report.notices,
    )
    return report


def _purge_requests_and_notices(engine: Engine, settings: RetentionSettings, now: datetime) -> Tuple[int, int]:
    request_cutoff = now - timedelta(days=settings.request_days)
    conversation_cutoff = now - timedelta(days=settings.conversation_days)
    outbox_cutoff = now - timedelta(days=settings.outbox_days)
    create_missing_tables(ConsultationModel.metadata, engine)
    create_tables(engine)
    with Session(engine, future=True) as session, session.begin():
        expired = list(
            session.execute(
                select(ConsultationRequest.id).where(ConsultationRequest.created_at < request_cutoff)
            ).scalars()
        )
        notices = session.execute(
            delete(OutboxNotice)
            .where(
                or_(
                    OutboxNotice.request_id.in_(expired),
                    (OutboxNotice.sent_at.is_not(None)) & (OutboxNotice.sent_at < outbox_cutoff),
                    OutboxNotice.created_at < request_cutoff,
                    (OutboxNotice.kind == RED_FLAG) & (OutboxNotice.created_at < conversation_cutoff),
                )
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        requests = delete_requests(session, list(expired))
    return requests, notices
