"""Remembering webhook deliveries: Telegram and Slack retry, and with several Rasa processes the
retry may reach another one, so the memory is shared through the lock store's Redis (real Redis
here, two memories standing for two processes: their only shared state is in Redis)."""

from __future__ import annotations

import logging
from typing import Dict

import pytest
import redis

from bot.channels.webhook_tools import SHARED_SEEN_TTL_SECONDS, SeenIds, SharedSeenIds, seen_ids
from tests.persistence_fixtures import REDIS_URL, redis_lock_env  # noqa: F401 - fixture
from tooling.ports import free_ports


def test_two_processes_recognise_each_others_deliveries(
    monkeypatch: pytest.MonkeyPatch, redis_lock_env: Dict[str, str]
) -> None:  # noqa: F811
    for name, value in redis_lock_env.items():
        monkeypatch.setenv(name, value)
    first_process, second_process = seen_ids("telegram"), seen_ids("telegram")
    assert isinstance(first_process, SharedSeenIds)
    assert first_process.first_time(1001) and not second_process.first_time(1001)
    assert second_process.first_time(("event", "Ev42")) and not first_process.first_time(("event", "Ev42"))
    assert seen_ids("slack").first_time(1001), "each channel has its own ids"
    key = f"{redis_lock_env['LOCK_STORE_KEY_PREFIX']}:seen:telegram:1001"
    assert 0 < redis.Redis.from_url(REDIS_URL).ttl(key) <= SHARED_SEEN_TTL_SECONDS, "ids expire"


def test_without_a_lock_store_each_process_remembers_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCK_STORE_URL", raising=False)
    first_process, second_process = seen_ids("telegram"), seen_ids("telegram")
    assert isinstance(first_process, SeenIds)
    assert first_process.first_time(7) and not first_process.first_time(7) and second_process.first_time(7)


def test_redis_down_still_recognises_repeats_in_this_process(caplog: pytest.LogCaptureFixture) -> None:
    (closed_port,) = free_ports(1)
    memory = SharedSeenIds(f"redis://127.0.0.1:{closed_port}/0", "poreguide:seen:telegram")
    with caplog.at_level(logging.ERROR):
        assert memory.first_time(5) and not memory.first_time(5) and memory.first_time(6)
    assert "Redis unreachable (ConnectionError)" in caplog.text
    assert caplog.text.count("Redis unreachable") == 1, "one log line per outage, not one per delivery"


def test_the_end_of_an_outage_is_logged_and_ids_are_shared_again(
    caplog: pytest.LogCaptureFixture, redis_lock_env: Dict[str, str]
) -> None:  # noqa: F811
    prefix = f"{redis_lock_env['LOCK_STORE_KEY_PREFIX']}:seen:slack"
    memory, other_process = SharedSeenIds(REDIS_URL, prefix), SharedSeenIds(REDIS_URL, prefix)
    (closed_port,) = free_ports(1)
    working_redis, memory._redis = memory._redis, redis.Redis.from_url(f"redis://127.0.0.1:{closed_port}/0")
    with caplog.at_level(logging.WARNING):
        assert memory.first_time(1) and not memory.first_time(1)
        memory._redis = working_redis
        assert memory.first_time(2) and not other_process.first_time(2)
    assert caplog.text.count("Redis unreachable") == 1 and "Redis reachable again" in caplog.text


def test_the_memory_of_one_process_is_bounded() -> None:
    memory = SeenIds(capacity=3)
    assert all(memory.first_time(delivery) for delivery in range(5))
    assert memory.first_time(0), "the oldest ids are forgotten"
    assert not memory.first_time(4)
