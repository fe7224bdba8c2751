"""Staff accounts and their passwords: argon2id through argon2-cffi (the reference implementation's
binding), with its RFC 9106 parameters, a random salt per password, and a rehash at sign-in when
the parameters have been raised since the password was set.

An unknown account name is checked against a dummy hash, so a refusal takes as long for a name
that does not exist as for a wrong password: the timing does not tell which names are accounts."""

from __future__ import annotations

import re
import threading
from typing import List, Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.staff_page.models import StaffSession, StaffUser, create_tables, utc_now

USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # argon2 takes any length; this only bounds the work one request can ask for


class AccountError(ValueError):
    """An account name or password that cannot be used; the message is for the person at the terminal."""


def normalise_username(name: str) -> str:
    """Lower case, so "Ana" and "ana" are one account."""
    username = name.strip().lower()
    if not USERNAME.fullmatch(username):
        raise AccountError("an account name is 1 to 64 letters, digits or . _ @ -, starting with a letter or digit")
    return username


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"a password can be at most {MAX_PASSWORD_LENGTH} characters")


class Accounts:
    """The staff_page_users table. `hasher` is argon2-cffi's default (argon2id, RFC 9106 low-memory
    profile) unless a test passes a cheaper one."""

    def __init__(self, engine: Engine, hasher: Optional[PasswordHasher] = None) -> None:
        self.engine = engine
        self.hasher = hasher or PasswordHasher()
        self._dummy_hash: Optional[str] = None
        self._dummy_lock = threading.Lock()
        create_tables(engine)

    def add(self, name: str, password: str) -> str:
        """Create an account; returns its normalised name. AccountError if it exists."""
        username = normalise_username(name)
        check_password(password)
        hashed = self.hasher.hash(password)
        try:
            with Session(self.engine, future=True) as session, session.begin():
                session.add(StaffUser(username=username, password_hash=hashed, created_at=utc_now()))
        except IntegrityError:
            raise AccountError(f"there is already an account named {username!r}") from None
        return username

    def set_password(self, name: str, password: str) -> bool:
        """Replace a password and sign the account out everywhere; False if there is no such account."""
        username = normalise_username(name)
        check_password(password)
        hashed = self.hasher.hash(password)
        with Session(self.engine, future=True) as session, session.begin():
            user = session.execute(select(StaffUser).where(StaffUser.username == username)).scalar_one_or_none()
            if user is None:
                return False
            user.password_hash = hashed
            session.execute(delete(StaffSession).where(StaffSession.username == username))
        return True

    def remove(self, name: str) -> bool:
        """Delete an account and its sessions; False if there was none."""
        username = normalise_username(name)
        with Session(self.engine, future=True) as session, session.begin():
            session.execute(delete(StaffSession).where(StaffSession.username == username))
            removed = session.execute(delete(StaffUser).where(StaffUser.username == username)).rowcount
        return removed == 1

    def names(self) -> List[str]:
        with Session(self.engine, future=True) as session:
            return list(session.execute(select(StaffUser.username).order_by(StaffUser.username)).scalars())

    def exists(self, username: str) -> bool:
        with Session(self.engine, future=True) as session:
            return session.execute(select(StaffUser.id).where(StaffUser.username == username)).first() is not None

    def verify(self, name: str, password: str) -> Optional[str]:
        """The account name when `password` is its password, else None (same work either way)."""
        try:
            username = normalise_username(name)
        except AccountError:
            username = ""
        if len(password) > MAX_PASSWORD_LENGTH:
            return None
        stored = None
        if username:
            with Session(self.engine, future=True) as session:
                stored = session.execute(
                    select(StaffUser.password_hash).where(StaffUser.username == username)
                ).scalar_one_or_none()
        try:
            self.hasher.verify(stored or self._dummy(), password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if stored is None:
            return None  # the dummy's password matched: still no account
        if self.hasher.check_needs_rehash(stored):
            self._rehash(username, stored, password)
        return username

    def _rehash(self, username: str, old_hash: str, password: str) -> None:
        """Store the password under the current parameters, unless it was changed meanwhile."""
        with Session(self.engine, future=True) as session, session.begin():
            user = session.execute(select(StaffUser).where(StaffUser.username == username)).scalar_one_or_none()
            if user is not None and user.password_hash == old_hash:
                user.password_hash = self.hasher.hash(password)

    def _dummy(self) -> str:
        with self._dummy_lock:
            if self._dummy_hash is None:
                self._dummy_hash = self.hasher.hash("not a password of any account")
            return self._dummy_hash
