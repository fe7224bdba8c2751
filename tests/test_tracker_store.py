"""PoreGuide's tracker store on real databases: trackers saved and read back on SQLite and
PostgreSQL (Rasa's `events` table), where the URL comes from, and failures that are reported
(ERROR log, health "degraded") instead of being hidden, then cleared when the database is back."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any, List, Tuple

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from sqlalchemy import create_engine, inspect, text
from sqlalchemy import event as sa_event

from bot import settings
from bot.persistence import config
from bot.persistence.errors import TrackerStoreUnavailable
from bot.persistence.health import HealthRegistry
from bot.rasa_overrides.sql_tracker_store import PoreGuideTrackerStore
from tests.persistence_fixtures import (  # noqa: F401 - fixtures
    TcpForwarder,
    postgres_target,
    stored_events,
    tracker_postgres_url,
)

DOMAIN = Domain.load(str(settings.PROJECT_ROOT / "domain.yml"))
DEAD_POSTGRES = "postgresql+psycopg2://postgres@127.0.0.1:1/poreguide"


def run(coroutine):  # type: ignore[no-untyped-def]
    return asyncio.run(coroutine)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'var' / 'tracker.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "tracker_postgres_url")


def a_conversation(store: PoreGuideTrackerStore, sender: str) -> None:
    tracker = run(store.get_or_create_tracker(sender))
    tracker.update(UserUttered("tell me about microneedling", {"name": "ask_treatment_info"}))
    tracker.update(SlotSet("treatment", "microneedling"))
    tracker.update(ActionExecuted("action_treatment_fact"))
    tracker.update(BotUttered("Microneedling – what it is: ..."))
    run(store.save(tracker))


# --------------------------------------------------------------------------- saving and reading


def test_saved_tracker_comes_back_in_a_new_store_instance(store_url: str) -> None:
    """A new instance stands for a restarted Rasa server: slots and events survive it."""
    health = HealthRegistry()
    a_conversation(PoreGuideTrackerStore(DOMAIN, host=store_url, health=health), "restart-me")

    reopened = PoreGuideTrackerStore(DOMAIN, host=store_url, health=health)
    tracker = run(reopened.retrieve("restart-me"))
    assert tracker is not None, "the conversation was not found after reopening the store"
    assert tracker.get_slot("treatment") == "microneedling"
    assert [event.text for event in tracker.events if isinstance(event, UserUttered)] == ["tell me about microneedling"]
    assert run(reopened.retrieve("someone-else")) is None
    assert "restart-me" in run(reopened.keys())
    assert health.report()["status"] == "ok"


def test_events_go_to_rasas_events_table_once(store_url: str) -> None:
    """Saving a tracker again adds only its new events (the `events` table is what reports read)."""
    store = PoreGuideTrackerStore(DOMAIN, host=store_url, health=HealthRegistry())
    a_conversation(store, "twice")
    tracker = run(store.retrieve("twice"))
    tracker.update(UserUttered("how long is the recovery?", {"name": "ask_recovery"}))
    run(store.save(tracker))
    run(store.save(tracker))

    engine = create_engine(store_url, future=True)
    assert "events" in inspect(engine).get_table_names()
    engine.dispose()
    users = [event["text"] for kind, event in stored_events(store_url, "twice") if kind == "user"]
    assert users == ["tell me about microneedling", "how long is the recovery?"]


def _turns_on(store: SQLTrackerStore, statements: List[str], at: float) -> None:
    """The same four saves on any store: a new conversation, a turn, a turn that starts a new
    session, and a turn saved twice. `statements` collects the SQL of the saves after a retrieve."""
    first = run(store.get_or_create_tracker("turns"))
    first.update(UserUttered("hi", {"name": "greet"}, timestamp=at))
    run(store.save(first))
    turns = [
        [
            UserUttered("tell me about peels", {"name": "ask_treatment_info"}, timestamp=at + 2),
            ActionExecuted("utter_x", timestamp=at + 2.1),
        ],
        [
            SessionStarted(timestamp=at + 3),
            UserUttered("and lasers?", {"name": "ask_treatment_info"}, timestamp=at + 3.1),
        ],
        [SlotSet("treatment", "laser_resurfacing", timestamp=at + 4)],
    ]
    for events in turns:
        tracker = run(store.retrieve("turns"))
        for event in events:
            tracker.update(event)
        statements.clear()
        run(store.save(tracker))
    run(store.save(tracker))  # saved again: nothing new, counted as Rasa does


def _rows(url: str) -> List[Tuple[Any, ...]]:
    """The stored rows, without the first row's time (`get_or_create_tracker` stamps it "now")."""
    engine = create_engine(url, future=True)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT sender_id, type_name, timestamp, intent_name, action_name, data FROM events ORDER BY id")
        ).all()
    engine.dispose()
    return [(*row[:2], *row[3:5], json.loads(row[5])["event"]) for row in rows[:1]] + [tuple(row) for row in rows[1:]]


def test_a_turn_saves_what_rasas_store_saves_without_counting_again(tmp_path: Path) -> None:
    """Issue 18: the save of a retrieved tracker skips Rasa's COUNT query and writes the new events
    in one statement, yet leaves the `events` table exactly as Rasa's own SQLTrackerStore does,
    across a new session (fails if Rasa's rows or the session query change under us)."""
    rasa_store = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "rasa.db"))
    at = time.time() + 60  # after the action_listen that get_or_create_tracker stamps now
    _turns_on(rasa_store, [], at)
    ours_url = f"sqlite:///{tmp_path / 'ours.db'}"
    ours = PoreGuideTrackerStore(DOMAIN, host=ours_url, health=HealthRegistry())
    statements: List[str] = []
    sa_event.listen(ours.engine, "before_cursor_execute", lambda *args: statements.append(args[2].lower()))
    _turns_on(ours, statements, at)
    assert _rows(ours_url) == _rows(f"sqlite:///{tmp_path / 'rasa.db'}")
    assert len(_rows(ours_url)) > 6
    # the last save (a second save of one tracker) counted; the one before it did not
    assert any("count(" in statement for statement in statements)
    ours_last_turn: List[str] = []
    sa_event.listen(ours.engine, "before_cursor_execute", lambda *args: ours_last_turn.append(args[2].lower()))
    tracker = run(ours.retrieve("turns"))
    tracker.update(UserUttered("thanks", {"name": "thank"}, timestamp=at + 5))
    ours_last_turn.clear()
    run(ours.save(tracker))
    assert not any("count(" in statement for statement in ours_last_turn), ours_last_turn
    assert sum(statement.startswith("insert") for statement in ours_last_turn) == 1
    assert run(ours.retrieve("turns")).events[-1].text == "thanks"


def test_sqlite_file_directory_is_created(sqlite_url: str) -> None:
    PoreGuideTrackerStore(DOMAIN, host=sqlite_url, health=HealthRegistry())
    assert Path(sqlite_url[len("sqlite:///") :]).is_file()


# --------------------------------------------------------------------------- which database


def test_url_resolution_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKER_STORE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert config.tracker_store_url() == f"sqlite:///{settings.VAR_DIR / 'poreguide.db'}"
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg2://u@db:5432/kb")
    assert config.tracker_store_url() == "postgresql+psycopg2://u@db:5432/kb"
    monkeypatch.setenv("TRACKER_STORE_URL", "postgres://u@tracker:5432/conversations")
    assert config.tracker_store_url() == "postgresql+psycopg2://u@tracker:5432/conversations"
    monkeypatch.setenv("TRACKER_STORE_URL", "  ")
    assert config.tracker_store_url() == "postgresql+psycopg2://u@db:5432/kb"


def test_store_without_url_uses_the_environment(monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> None:
    monkeypatch.setenv("TRACKER_STORE_URL", sqlite_url)
    store = PoreGuideTrackerStore(DOMAIN, health=HealthRegistry())
    assert store.engine.url.render_as_string() == sqlite_url


# --------------------------------------------------------------------------- failures are reported


def test_unreachable_database_is_logged_and_degrades_health(caplog: pytest.LogCaptureFixture) -> None:
    health = HealthRegistry()
    with caplog.at_level(logging.ERROR):
        store = PoreGuideTrackerStore(DOMAIN, host=DEAD_POSTGRES, health=health)  # starts, does not hang
        with pytest.raises(TrackerStoreUnavailable) as raised:
            run(store.retrieve("someone"))
    report = health.report()
    assert report["status"] == "degraded", report
    assert any(problem.startswith("tracker_store unavailable") for problem in report["problems"]), report
    assert "OperationalError" in str(raised.value) and "SELECT" not in str(raised.value)
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert any("tracker_store failed" in record.getMessage() for record in errors), caplog.text


def test_failed_save_keeps_message_texts_out_of_logs_and_errors(
    caplog: pytest.LogCaptureFixture,
    tracker_postgres_url: str,  # noqa: F811
) -> None:
    """PostgreSQL rejects a 300-character sender id; SQLAlchemy's error would quote the INSERT's
    parameters (the message text): neither the log nor the raised error may contain them."""
    health = HealthRegistry()
    store = PoreGuideTrackerStore(DOMAIN, host=tracker_postgres_url, health=health)
    tracker = store.init_tracker("x" * 300)
    tracker.update(UserUttered("my name is Jane Doe, jane@example.com"))
    with caplog.at_level(logging.ERROR), pytest.raises(TrackerStoreUnavailable) as raised:
        run(store.save(tracker))
    assert health.report()["status"] == "degraded"
    assert "DataError" in str(raised.value)
    assert "jane" not in str(raised.value).lower() and "jane" not in caplog.text.lower(), caplog.text
    assert "tracker_store failed: save: DataError" in caplog.text


def test_database_that_goes_down_and_comes_back(tracker_postgres_url: str, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    """Through a forwarder that we stop and start: degraded while down, ok again once it is back."""
    forwarder = TcpForwarder(postgres_target())
    forwarder.start()
    url = tracker_postgres_url.replace(f":{postgres_target()[1]}/", f":{forwarder.port}/")
    health = HealthRegistry()
    try:
        store = PoreGuideTrackerStore(DOMAIN, host=url, health=health)
        a_conversation(store, "flaky")
        assert health.report()["status"] == "ok"

        forwarder.stop()
        with caplog.at_level(logging.ERROR), pytest.raises(TrackerStoreUnavailable):
            run(store.retrieve("flaky"))
        assert health.report()["status"] == "degraded"
        health.probe("tracker_store")
        assert health.report()["status"] == "degraded", "the probe must not clear a failure while still down"
        assert "tracker_store failed" in caplog.text

        forwarder.start()
        health.probe("tracker_store")
        assert health.report() == {"status": "ok", "checks": {"tracker_store": "ok"}}
        tracker = run(store.retrieve("flaky"))
        assert tracker is not None and tracker.get_slot("treatment") == "microneedling"
    finally:
        forwarder.stop()
