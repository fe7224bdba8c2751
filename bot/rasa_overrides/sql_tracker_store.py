"""PoreGuide's tracker store: Rasa's SQLTrackerStore (same `events` table, so Rasa's tools and
`make report` read it) on a SQLAlchemy URL, with three changes that matter in production:

- the URL comes from TRACKER_STORE_URL, else DATABASE_URL, else the SQLite file under var/
  (`bot.persistence.config`), so endpoints.yml holds no address and `rasa shell` works as is;
- an unreachable database at start-up does not block the server forever (Rasa's store retries
  in a loop): the server starts, reports "degraded" on /health, and creates the table later;
- every failure is recorded in `bot.persistence.health` (logged at ERROR, /health degraded) and
  re-raised without the SQL parameters, before Rasa's FailSafeTrackerStore falls back to memory;
- no value can end the process: Rasa's `session_scope` calls `sys.exit` on any ValueError, which
  the driver raises for a lone surrogate or a NUL (`bot.rasa_overrides.sql_session_scope`). Such
  a refused value is logged as a warning and re-raised as unavailable for that turn only: it says
  nothing about the database, so /health stays ok (one crafted request must not flip it to 503).

Every Rasa process of the project builds this store, `rasa shell` included, so its constructor
also installs the log privacy filter (`bot.security.log_privacy`).

endpoints.yml: `tracker_store: {type: bot.rasa_overrides.sql_tracker_store.PoreGuideTrackerStore}`.
Rasa builds it with `host=<the url: key, if any>, domain=..., event_broker=...`."""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Iterable, Iterator, Optional, Text

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.exc import IntegrityError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from bot.persistence.config import normalise_sql_url, tracker_store_url
from bot.persistence.database import create_sql_engine
from bot.persistence.errors import TrackerStoreUnavailable
from bot.persistence.health import HEALTH, HealthRegistry, describe_error
from bot.rasa_overrides import sql_session_scope
from bot.security import log_privacy

logger = logging.getLogger(__name__)

COMPONENT = "tracker_store"
CONSEQUENCE = "conversations are kept in this process's memory only and may lose their context"


class PoreGuideTrackerStore(SQLTrackerStore):
    """SQLTrackerStore on a URL from the environment, reporting its failures (see module doc)."""

    def __init__(
        self,
        domain: Optional[Domain] = None,
        host: Optional[Text] = None,
        event_broker: Optional[EventBroker] = None,
        health: HealthRegistry = HEALTH,
        **kwargs: Any,
    ) -> None:
        # SQLTrackerStore.__init__ is skipped on purpose: it retries an unreachable database forever.
        log_privacy.install()
        url = normalise_sql_url(host) if host else tracker_store_url()
        self.engine = create_sql_engine(url)
        self.sessionmaker = sessionmaker(bind=self.engine, future=True)
        self._tables_ready = False
        self.health = health
        TrackerStore.__init__(self, domain, event_broker, **kwargs)
        logger.info("Tracker store: %s", self.engine.url.render_as_string(hide_password=True))
        health.register_probe(COMPONENT, self.probe)
        health.probe(COMPONENT)  # creates the table now if the database is there

    # ----------------------------------------------------------------- database access

    def _ensure_tables(self) -> None:
        if self._tables_ready:
            return
        try:
            self.Base.metadata.create_all(self.engine)
        except (ProgrammingError, IntegrityError):
            # Another Rasa process created the table at the same moment: check again.
            self.Base.metadata.create_all(self.engine)
        self._tables_ready = True

    @contextlib.contextmanager
    def session_scope(self) -> Iterator[Session]:
        """Rasa's scope without its `sys.exit` on ValueError (see `bot.rasa_overrides.sql_session_scope`)."""
        self._ensure_tables()
        with sql_session_scope.session_scope(self) as session:
            yield session

    def probe(self) -> None:
        """Raises unless the database answers and has the events table."""
        self._ensure_tables()
        with self.engine.connect() as connection:
            connection.execute(sa.select(self.SQLEvent.id).limit(1)).all()

    @contextlib.contextmanager
    def _reported(self, operation: str) -> Iterator[None]:
        """Record the outcome of `operation` in the health state; failures are re-raised for
        FailSafeTrackerStore without SQL statements or parameters (they hold message texts)."""
        try:
            yield
        except ValueError as error:
            # The driver refused a value (lone surrogate, NUL) before it reached the database.
            logger.warning(
                "tracker store %s: refused a value it cannot store (%s); this turn is kept in memory",
                operation,
                type(error).__name__,
            )
            raise TrackerStoreUnavailable(
                f"tracker store {operation} refused a value ({type(error).__name__})"
            ) from None
        except Exception as error:  # noqa: BLE001 - every failure of the store is reported
            reason = describe_error(error)
            self.health.failed(COMPONENT, f"{operation}: {reason}", CONSEQUENCE)
            raise TrackerStoreUnavailable(f"tracker store {operation} failed ({reason})") from None
        self.health.succeeded(COMPONENT)

    # ----------------------------------------------------------------- Rasa's interface

    async def keys(self) -> Iterable[Text]:
        with self._reported("keys"):
            return await super().keys()

    async def _retrieve(self, sender_id: Text, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        with self._reported("retrieve"):
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)

    async def save(self, tracker: DialogueStateTracker) -> None:
        with self._reported("save"):
            await super().save(tracker)
