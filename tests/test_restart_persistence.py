"""A Rasa server killed mid-conversation (SIGKILL: no shutdown hook runs) loses nothing: a new
server on the same tracker store (SQLite file, then PostgreSQL) continues the conversation with
its slots, here the treatment that the follow-up question depends on."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from bot import settings
from tests.e2e import Conversation, assert_contains
from tests.persistence_fixtures import ServerFarm, tracker_postgres_url, user_turns  # noqa: F401

pytestmark = pytest.mark.slow

KNOWLEDGE = yaml.safe_load(settings.DEFAULT_KNOWLEDGE_FILE.read_text(encoding="utf-8"))
MICRONEEDLING = KNOWLEDGE["treatments"]["microneedling"]["name"]
FIRST, FOLLOW_UP = "tell me about microneedling", "how long is the recovery?"


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory, e2e_database_url: str) -> Iterator[ServerFarm]:
    farm = ServerFarm(tmp_path_factory, e2e_database_url)
    yield farm
    farm.close()


def test_conversations_continue_after_the_rasa_servers_are_killed(
    farm: ServerFarm,
    tmp_path: Path,
    tracker_postgres_url: str,  # noqa: F811
) -> None:
    """One server per store, started side by side to save time: SQLite file and PostgreSQL."""
    stores = {"sqlite": f"sqlite:///{tmp_path / 'tracker.db'}", "postgres": tracker_postgres_url}
    envs = [{"TRACKER_STORE_URL": url} for url in stores.values()]
    chats = {}
    for store, server in zip(stores, farm.start_many(envs)):
        chats[store] = Conversation(server.url)
        answer, _ = chats[store].say(FIRST)
        assert_contains(f"{store}: {FIRST}", answer, [MICRONEEDLING])
        assert server.kill() == -signal.SIGKILL, f"{store}: the server was not killed"

    for (store, url), server in zip(stores.items(), farm.start_many(envs)):
        # Without the saved treatment the same question gets "Which treatment do you mean?".
        fresh, _ = Conversation(server.url).say(FOLLOW_UP)
        assert_contains(f"{store}, new conversation: {FOLLOW_UP}", fresh, ["Which treatment do you mean?"])

        chat = chats[store]
        chat.base_url = server.url
        answer, _ = chat.say(FOLLOW_UP)
        assert_contains(f"{store}: {FOLLOW_UP}", answer, [f"{MICRONEEDLING} – recovery:", "couple of days"])
        assert "Which treatment do you mean?" not in answer, f"{store}: the treatment was lost"

        turns = user_turns(url, chat.sender)
        assert [text for kind, text in turns if kind == "user"] == [FIRST, FOLLOW_UP], (store, turns)
        assert [kind for kind, _ in turns][:2] == ["user", "bot"] and turns[-1][0] == "bot", (store, turns)
