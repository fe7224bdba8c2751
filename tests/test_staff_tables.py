"""Tables created by several processes at once on a new database: two or more action-server
replicas (and the staff page) start together and each creates the consultation, outbox and staff
page tables (`bot.notices.outbox.create_missing_tables`).

On PostgreSQL the creators take turns under an advisory lock, so no statement fails at all: the
race used to end one CREATE TABLE with a duplicate key in PostgreSQL's catalogue, retried by the
loser but logged by the server as an ERROR. Every error PostgreSQL logs for a statement is sent
to the session that ran it, so the test listens to the creators' own connections (SQLAlchemy's
`handle_error` event fires even for an error the code then retries). On SQLite a loser is told
"already exists" and looks again; there the test checks that every creator succeeds."""

from __future__ import annotations

import threading
from typing import Any, List

import pytest
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine

from bot.consultations.repository import ConsultationRepository
from bot.notices.outbox import Outbox
from bot.staff_page.models import create_tables as create_staff_page_tables
from tests.staff_fixtures import database_url  # noqa: F401 - fixture

CREATORS = 6  # replicas starting at once; more creators make the old race near certain
ROUNDS = 3
TABLES = {"consultation_requests", "staff_outbox", "staff_page_users", "staff_page_audit_log"}


def start_replica(engine: Engine) -> None:
    """What a starting action server and staff page create: requests and notices, the page's tables."""
    Outbox(engine).ensure_tables()
    ConsultationRepository(engine).create_tables()
    create_staff_page_tables(engine)


def create_at_once(url: str) -> List[str]:
    """Start CREATORS replicas at the same instant, each on its own connection; the database
    errors their connections saw (retried ones included) plus any error that escaped."""
    engines = [create_engine(url, future=True) for _ in range(CREATORS)]
    seen: List[str] = []
    for engine in engines:
        event.listen(engine, "handle_error", lambda context: seen.append(type(context.original_exception).__name__))
        engine.connect().close()  # connected before the start signal, like replicas already up
    barrier = threading.Barrier(CREATORS)

    def run(engine: Engine) -> None:
        barrier.wait()
        try:
            start_replica(engine)
        except Exception as error:  # noqa: BLE001 - reported to the test
            seen.append(f"escaped: {type(error).__name__}")

    threads = [threading.Thread(target=run, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for engine in engines:
        engine.dispose()
    assert not any(thread.is_alive() for thread in threads), "a creator hung"
    return seen


def drop_tables(url: str) -> None:
    engine = create_engine(url, future=True)
    with engine.begin() as connection:
        for table in TABLES:
            connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
    engine.dispose()


def tables_in(url: str) -> Any:
    engine = create_engine(url, future=True)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_replicas_starting_at_once_create_the_tables_without_an_error(database_url: str) -> None:  # noqa: F811
    postgres = database_url.startswith("postgresql")
    for round_number in range(ROUNDS):
        seen = create_at_once(database_url)
        assert TABLES <= tables_in(database_url)
        assert not [error for error in seen if error.startswith("escaped")], seen
        if postgres:
            assert seen == [], f"round {round_number}: PostgreSQL refused statements (logged as ERROR): {seen}"
        drop_tables(database_url)
