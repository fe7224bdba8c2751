"""Server-side sessions and CSRF tokens.

The cookie holds a random token; the table holds only HMAC(STAFF_SECRET, token), so signing out,
removing an account or changing its password ends its sessions at once, and a copy of the table
is no key to the page. A session ends after IDLE without a request, or ABSOLUTE after sign-in.

CSRF: every form carries HMAC(secret, "csrf", token) of its session (a synchronizer token that
needs no storage); the sign-in form, before any session, carries one bound to a short-lived
random cookie of its own (double submit, signed). SameSite=Strict cookies are a second fence."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Callable, Optional

from sqlalchemy import delete, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.staff_page.models import StaffSession, as_utc, create_tables, utc_now

SESSION_COOKIE = "poreguide_staff"
LOGIN_COOKIE = "poreguide_staff_login"
IDLE = timedelta(minutes=60)
ABSOLUTE = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often, not on every request


class Sessions:
    def __init__(self, engine: Engine, secret: bytes, clock: Callable[[], datetime] = utc_now) -> None:
        self.engine = engine
        self.secret = secret
        self.clock = clock
        create_tables(engine)

    def _mac(self, *parts: str) -> str:
        return hmac.new(self.secret, "\x00".join(parts).encode("utf-8"), hashlib.sha256).hexdigest()

    def start(self, username: str) -> str:
        """A new session (a new token at every sign-in: no fixation); the cookie's value."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with Session(self.engine, future=True) as session, session.begin():
            session.add(
                StaffSession(key=self._mac("session", token), username=username, created_at=now, last_seen_at=now)
            )
        return token

    def find(self, token: Optional[str]) -> Optional[str]:
        """The account of a live session, refreshing its idle timer; None for no, an unknown or an expired one."""
        if not token or len(token) > 100:
            return None
        key, now = self._mac("session", token), self.clock()
        with Session(self.engine, future=True) as session, session.begin():
            row = session.get(StaffSession, key)
            if row is None:
                return None
            if now - as_utc(row.last_seen_at) > IDLE or now - as_utc(row.created_at) > ABSOLUTE:
                session.delete(row)
                return None
            if now - as_utc(row.last_seen_at) > TOUCH_EVERY:
                row.last_seen_at = now
            return str(row.username)

    def end(self, token: Optional[str]) -> None:
        if token:
            with Session(self.engine, future=True) as session, session.begin():
                session.execute(delete(StaffSession).where(StaffSession.key == self._mac("session", token)))

    def purge_expired(self) -> int:
        now = self.clock()
        with Session(self.engine, future=True) as session, session.begin():
            return session.execute(
                delete(StaffSession)
                .where(
                    or_(
                        StaffSession.last_seen_at < now - IDLE,
                        StaffSession.created_at < now - ABSOLUTE,
                    )
                )
                .execution_options(synchronize_session=False)
            ).rowcount

    def count(self, username: str) -> int:
        with Session(self.engine, future=True) as session:
            return len(session.execute(select(StaffSession.key).where(StaffSession.username == username)).all())

    # ------------------------------------------------------------------ CSRF

    def csrf_token(self, session_token: str) -> str:
        return self._mac("csrf", session_token)

    def csrf_ok(self, session_token: Optional[str], submitted: Optional[str]) -> bool:
        if not session_token or not submitted:
            return False
        return hmac.compare_digest(self.csrf_token(session_token), submitted)

    def login_csrf_token(self, login_nonce: str) -> str:
        return self._mac("login", login_nonce)

    def login_csrf_ok(self, login_nonce: Optional[str], submitted: Optional[str]) -> bool:
        if not login_nonce or not submitted:
            return False
        return hmac.compare_digest(self.login_csrf_token(login_nonce), submitted)
