"""Shared fixtures: the real knowledge file, seeded SQLite/PostgreSQL databases, and an action runner."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from actions import knowledge_access
from bot import settings
from bot.knowledge.repository import KnowledgeRepository
from bot.knowledge.schema import KnowledgeBase, load_knowledge
from bot.knowledge.seed import seed_database

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"

# `make check` runs the tests marked neither `slow` nor `server`. A test is marked `server` here when it
# talks to PostgreSQL, Redis or an SMTP server, or serves a page over HTTP, through one of these fixtures,
# is parametrised over PostgreSQL, or sits in a module that runs a server throughout; a test that starts
# one another way (a process of the bot's, a peer that hangs to test a timeout) carries
# `@pytest.mark.server` itself. In-process stubs that answer at once do not count.
SERVER_FIXTURES = frozenset(
    {
        "postgres_engine",
        "tracker_postgres_url",
        "redis_lock_env",
        "mail_server",
        "tiny_server",
        "sqlite_page",
        "any_page",
        "databases",
        "bot_url",
        "web_bot_url",
        "partner_site",
        "other_site",
        "browser",
        "messaging",
        "hardened",
    }
)
SERVER_MODULES = frozenset({"test_deploy_nginx.py"})


def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and any("postgres" in str(value) for value in callspec.params.values())
        uses_server = not SERVER_FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))
        if on_postgres or uses_server or item.get_closest_marker("postgres") or item.path.name in SERVER_MODULES:
            item.add_marker(pytest.mark.server)


def require_service(reason: str) -> None:
    """Skip locally when a service is absent, but fail under CI, where it must be there."""
    if IN_CI:
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def knowledge() -> KnowledgeBase:
    return load_knowledge(settings.DEFAULT_KNOWLEDGE_FILE)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'kb.db'}", future=True)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_engine() -> Iterator[Engine]:
    """A fresh schema in the local PostgreSQL server, dropped afterwards."""
    schema = f"poreguide_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL, future=True, connect_args={"connect_timeout": 3})
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as error:  # noqa: BLE001 - any failure means the server is not usable
        admin.dispose()
        require_service(f"PostgreSQL not reachable at {POSTGRES_URL}: {type(error).__name__}")
    engine = create_engine(POSTGRES_URL, future=True, connect_args={"options": f"-csearch_path={schema}"})
    yield engine
    engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def any_engine(request: pytest.FixtureRequest) -> Engine:
    return request.getfixturevalue(f"{request.param}_engine")


@pytest.fixture
def seeded_repository(sqlite_engine: Engine, knowledge: KnowledgeBase) -> Iterator[KnowledgeRepository]:
    """The actions read this real, seeded SQLite database for the duration of a test."""
    seed_database(sqlite_engine, knowledge)
    repository = KnowledgeRepository(sqlite_engine)
    knowledge_access.use_repository(repository)
    yield repository
    knowledge_access.use_repository(None)


def make_tracker(
    intent: str,
    entities: Sequence[Tuple[str, str]] = (),
    slots: Optional[Dict[str, Any]] = None,
    text: str = "",
) -> Tracker:
    """A tracker whose latest message has `intent` and `entities` (as Rasa sends it to actions)."""
    latest = {
        "intent": {"name": intent, "confidence": 1.0},
        "entities": [{"entity": name, "value": value} for name, value in entities],
        "text": text,
    }
    return Tracker("test-user", dict(slots or {}), latest, [], False, None, {}, "action_listen")


def run_action(action: Action, tracker: Tracker) -> Dict[str, Any]:
    """Run an action as the action server would; returns its messages and events."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, {}))
    return {"messages": dispatcher.messages, "events": events}


def slot_events(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {event["name"]: event["value"] for event in events if event.get("event") == "slot"}


@pytest.fixture(scope="session")
def e2e_database_url(tmp_path_factory: pytest.TempPathFactory, knowledge: KnowledgeBase) -> str:
    """A seeded SQLite database of the end-to-end tests' own, so they never touch var/."""
    url = f"sqlite:///{tmp_path_factory.mktemp('e2e_database') / 'poreguide.db'}"
    engine = create_engine(url, future=True)
    seed_database(engine, knowledge)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def bot_url(tmp_path_factory: pytest.TempPathFactory, e2e_database_url: str) -> Iterator[str]:
    """The REAL action and Rasa servers, started once for every end-to-end test module."""
    from tests.e2e import start_servers

    yield from start_servers(tmp_path_factory, e2e_database_url)
