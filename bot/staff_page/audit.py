"""The audit log of staff actions: sign-ins (and refused ones), pages that show personal data,
status changes, exports, deletions and account changes. Each entry is its own small transaction
written before the page answers, so an action is never shown as done without its entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.staff_page.models import MAX_DETAIL_LENGTH, AuditEntry, as_utc, utc_now

# The actions, named once so the page, the tests and a reader of the table agree.
LOGIN = "login"
LOGIN_FAILED = "login_failed"
LOGIN_LIMITED = "login_rate_limited"
LOGOUT = "logout"
VIEW_LIST = "view_list"
VIEW_REQUEST = "view_request"
VIEW_CONVERSATION = "view_conversation"
VIEW_AUDIT = "view_audit"
STATUS = "status_change"
EXPORT = "export_csv"
DELETE = "delete_person"
USER_ADDED = "user_added"
USER_REMOVED = "user_removed"
PASSWORD_SET = "password_set"

UNKNOWN_ACCOUNT = "(unknown account)"  # a refused name is not stored: it may be a mistyped password


@dataclass(frozen=True)
class Entry:
    at: datetime
    actor: str
    action: str
    reference: Optional[str]
    detail: Optional[str]


def record(
    engine: Engine, actor: str, action: str, reference: Optional[str] = None, detail: Optional[str] = None
) -> None:
    """Append one entry (committed when this returns)."""
    with Session(engine, future=True) as session, session.begin():
        session.add(
            AuditEntry(
                at=utc_now(),
                actor=actor[:64],
                action=action,
                reference=reference,
                detail=detail[:MAX_DETAIL_LENGTH] if detail else None,
            )
        )


def recent(engine: Engine, limit: int = 200) -> List[Entry]:
    """The latest entries, newest first."""
    statement = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    with Session(engine, future=True) as session:
        return [
            Entry(as_utc(row.at), row.actor, row.action, row.reference, row.detail)
            for row in session.execute(statement).scalars()
        ]
