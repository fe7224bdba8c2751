"""`SQLTrackerStore.session_scope` without `sys.exit`: no input can end the Rasa process.

Rasa changed: `rasa.core.tracker_store.SQLTrackerStore.session_scope` (3.6.21) wraps every use of
the conversation database in `try: ensure_schema_exists(session); yield session; except
ValueError: print_error_and_exit(...)`. It means "the PostgreSQL schema named in POSTGRESQL_SCHEMA
is missing", but it catches every ValueError raised while the session is in use, and those come
from the data too: a sender id or text with a lone surrogate ("\\ud800" in JSON) makes SQLite's
and psycopg2's encoders raise UnicodeEncodeError, a NUL character makes psycopg2 raise ValueError.
One such request stopped the whole server (issue 13). `sys.exit` raises SystemExit, which no
`except Exception` (Rasa's FailSafeTrackerStore, our own guards) catches.

Here the schema check keeps its meaning, reported as `MissingSchema` (an ordinary exception:
/health shows the database failing, the turn falls back to memory as for any database outage),
and a ValueError from the work inside the session propagates as what it is, for the tracker store
to report without ending anything."""

from __future__ import annotations

import contextlib
from typing import Iterator

from rasa.core.constants import POSTGRESQL_SCHEMA
from rasa.core.tracker_store import SQLTrackerStore, ensure_schema_exists
from sqlalchemy.orm import Session


class MissingSchema(RuntimeError):
    """The PostgreSQL schema named in POSTGRESQL_SCHEMA does not exist (Rasa exits here)."""


@contextlib.contextmanager
def session_scope(store: SQLTrackerStore) -> Iterator[Session]:
    """A session of `store`'s database, closed afterwards; Rasa's scope minus the exit."""
    session = store.sessionmaker()
    try:
        try:
            ensure_schema_exists(session)
        except ValueError:
            raise MissingSchema(f"the PostgreSQL schema named in {POSTGRESQL_SCHEMA} does not exist") from None
        yield session
    finally:
        session.close()
