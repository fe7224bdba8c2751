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

- a turn costs the database less (issue 18): Rasa's `_retrieve` builds an ORM object per stored
  event only to read its `data`, and its `save` runs the session query again (as a COUNT) to find
  which events are new, then adds them one ORM object at a time. Here the retrieve reads the `data`
  column alone and notes on the tracker how many events it read; `save` takes that number instead
  of counting (the same query, so the same number: the conversation's lock keeps other writers out
  between the two) and inserts the new rows in one executemany. A tracker that was not retrieved
  here, or is saved a second time, is counted as Rasa does.

Every Rasa process of the project builds this store, `rasa shell` included, so its constructor
also installs the log privacy filter (`bot.security.log_privacy`).

endpoints.yml: `tracker_store: {type: bot.rasa_overrides.sql_tracker_store.PoreGuideTrackerStore}`.
Rasa builds it with `host=<the url: key, if any>, domain=..., event_broker=...`."""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
from typing import Any, Dict, Iterable, Iterator, Optional, Text

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
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
# Set on a tracker by `_retrieve`: how many of its events the events table already holds.
STORED_EVENTS = "_poreguide_stored_events"


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
        """Rasa's `_retrieve`, reading only the `data` column (see module doc)."""
        with self._reported("retrieve"):
            with self.session_scope() as session:
                query = self._event_query(session, sender_id, fetch_events_from_all_sessions)
                rows = query.with_entities(self.SQLEvent.data).all()
        if not (self.domain and rows):
            return None
        events = [json.loads(data) for (data,) in rows]
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        if not fetch_events_from_all_sessions:
            setattr(tracker, STORED_EVENTS, len(rows))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's `save` without its COUNT query when the tracker says what is stored (module doc)."""
        stored: Optional[int] = tracker.__dict__.pop(STORED_EVENTS, None)
        with self._reported("save"):
            await self.stream_events(tracker)
            with self.session_scope() as session:
                if stored is None:
                    stored = self._event_query(session, tracker.sender_id, False).count()
                rows = [
                    _event_row(tracker.sender_id, event) for event in itertools.islice(tracker.events, stored, None)
                ]
                if rows:
                    session.execute(sa.insert(self.SQLEvent.__table__), rows)
                session.commit()


def _event_row(sender_id: Text, event: Event) -> Dict[str, Any]:
    """The columns Rasa's `save` writes for one event."""
    data = event.as_dict()
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }
