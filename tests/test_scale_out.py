"""Several Rasa processes, one conversation: they share the PostgreSQL tracker store and the Redis
lock store. First the lock store itself (real Redis): tickets issued by two "processes" at once
are all distinct, and a dead Redis is reported. Then two REAL Rasa servers (+ one action server):
a conversation alternating between them keeps its context, and 10 messages fired at once across
both are each stored exactly once, each followed by its reply, turns never interleaved."""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Dict, Iterator, List, Tuple

import pytest
import redis
from rasa.core.lock_store import LockError

from bot.persistence.health import HealthRegistry
from bot.rasa_overrides.lock_store import PoreGuideLockStore
from tests.e2e import Conversation, assert_contains, send
from tests.persistence_fixtures import (  # noqa: F401 - fixtures
    REDIS_URL,
    RasaServer,
    ServerFarm,
    redis_lock_env,
    stored_events,
    tracker_postgres_url,
)

CONCURRENT_MESSAGES = 10
REQUEST_DEADLINE_SECONDS = 240  # bound for the whole burst (each turn waits for the ones before it)


# --------------------------------------------------------------------------- the lock store, real Redis


def test_tickets_issued_at_once_by_two_processes_are_distinct(
    monkeypatch: pytest.MonkeyPatch,
    redis_lock_env: Dict[str, str],  # noqa: F811
) -> None:
    """Rasa's RedisLockStore reads, adds and writes back a ticket: two processes racing get the
    same number and handle two messages at once. Ours must hand out every number once."""
    for name, value in redis_lock_env.items():
        monkeypatch.setenv(name, value)
    stores = [PoreGuideLockStore(health=HealthRegistry()) for _ in range(2)]
    conversation = "race-conversation"

    def issue(store: PoreGuideLockStore) -> List[int]:
        return [store.issue_ticket(conversation) for _ in range(40)]

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        tickets = [number for batch in pool.map(issue, stores * 2) for number in batch]
    assert sorted(tickets) == list(range(len(tickets))), "some ticket was issued twice"

    for number in tickets:
        stores[number % 2].cleanup(conversation, number)
    assert stores[0].get_lock(conversation) is None, "the lock outlived its last ticket"
    client = redis.Redis.from_url(REDIS_URL)
    assert not list(client.scan_iter(f"{redis_lock_env['LOCK_STORE_KEY_PREFIX']}:lock:{conversation}"))


def test_messages_wait_their_turn_in_ticket_order(
    monkeypatch: pytest.MonkeyPatch,
    redis_lock_env: Dict[str, str],  # noqa: F811
) -> None:
    for name, value in redis_lock_env.items():
        monkeypatch.setenv(name, value)
    stores = [PoreGuideLockStore(health=HealthRegistry()) for _ in range(2)]
    order: List[int] = []

    async def turn(index: int) -> None:
        async with stores[index % 2].lock("ordered-conversation"):
            order.append(index)
            await asyncio.sleep(0.05)  # another turn would sneak in here without the lock
            order.append(index)

    async def all_turns() -> None:
        tasks = []
        for index in range(6):
            tasks.append(asyncio.create_task(turn(index)))
            await asyncio.sleep(0.01)  # tickets are issued in this order
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)

    asyncio.run(all_turns())
    assert order == [index for index in range(6) for _ in range(2)]


def test_a_killed_holders_ticket_blocks_its_conversation_for_seconds_not_a_minute(
    monkeypatch: pytest.MonkeyPatch,
    redis_lock_env: Dict[str, str],  # noqa: F811
) -> None:
    """A replica SIGKILLed mid-turn never cleans up its ticket. Rasa's tickets live 60 s, so the
    person's next message waited a minute on every other replica (the chaos run); ours are leases
    that only a living holder renews, so the next turn starts within about LEASE_SECONDS."""
    from bot.rasa_overrides import lock_store

    for name, value in redis_lock_env.items():
        monkeypatch.setenv(name, value)
    killed, survivor = (PoreGuideLockStore(health=HealthRegistry()) for _ in range(2))
    conversation = "killed-holder-conversation"
    killed.issue_ticket(conversation, lock_store.LEASE_SECONDS)  # its holder dies: no renewal, no cleanup

    async def next_turn() -> float:
        started = asyncio.get_running_loop().time()
        async with survivor.lock(conversation):
            return asyncio.get_running_loop().time() - started

    waited = asyncio.run(asyncio.wait_for(next_turn(), timeout=30))
    assert lock_store.LEASE_SECONDS * 0.5 <= waited <= lock_store.LEASE_SECONDS + 3


def test_a_living_holder_keeps_its_lease_through_a_long_turn(
    monkeypatch: pytest.MonkeyPatch,
    redis_lock_env: Dict[str, str],  # noqa: F811
) -> None:
    """The lease is renewed while the turn runs, even when the turn blocks the event loop."""
    import time

    from bot.rasa_overrides import lock_store

    for name, value in redis_lock_env.items():
        monkeypatch.setenv(name, value)
    holder, other = (PoreGuideLockStore(health=HealthRegistry()) for _ in range(2))
    conversation = "long-turn-conversation"
    order: List[str] = []

    async def long_turn() -> None:
        async with holder.lock(conversation):
            order.append("long starts")
            time.sleep(lock_store.LEASE_SECONDS * 2)  # blocks the loop, as Rasa's busy turns do
            order.append("long ends")

    async def next_turn() -> None:
        await asyncio.sleep(0.2)
        async with other.lock(conversation):
            order.append("next")

    async def both() -> None:
        await asyncio.wait_for(asyncio.gather(long_turn(), asyncio.to_thread(asyncio.run, next_turn())), timeout=30)

    asyncio.run(both())
    assert order == ["long starts", "long ends", "next"]


def test_unreachable_redis_is_reported() -> None:
    health = HealthRegistry()
    store = PoreGuideLockStore(url="redis://127.0.0.1:1/0", health=health)
    with pytest.raises(LockError):
        store.issue_ticket("anyone")
    report = health.report()
    assert report["status"] == "degraded" and report["checks"] == {"lock_store": "failing"}, report


def test_without_lock_store_url_locks_stay_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCK_STORE_URL", raising=False)
    store = PoreGuideLockStore(health=HealthRegistry())
    first, second = store.issue_ticket("c"), store.issue_ticket("c")
    assert (first, second) == (0, 1) and store.get_lock("c").is_locked(second)
    store.cleanup("c", first)
    store.cleanup("c", second)
    assert store.get_lock("c") is None


# --------------------------------------------------------------------------- two real Rasa servers


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory,
    e2e_database_url: str,
    tracker_postgres_url: str,
    redis_lock_env: Dict[str, str],  # noqa: F811
) -> Iterator[Tuple[RasaServer, RasaServer]]:
    farm = ServerFarm(tmp_path_factory, e2e_database_url)
    try:
        env = {"TRACKER_STORE_URL": tracker_postgres_url, **redis_lock_env}
        first, second = farm.start_many([env, env])
        yield first, second
    finally:
        farm.close()


@pytest.mark.slow
def test_conversation_alternating_between_servers_keeps_its_context(
    servers: Tuple[RasaServer, RasaServer],
    tracker_postgres_url: str,  # noqa: F811
) -> None:
    first, second = servers
    chat = Conversation(first.url)
    steps = [
        (first, "tell me about microneedling", ["Microneedling"]),
        (second, "how long is the recovery?", ["Microneedling – recovery:", "couple of days"]),
        (first, "and laser?", ["Laser resurfacing – recovery:", "a day or two off work"]),
    ]
    for server, message, expected in steps:
        chat.base_url = server.url
        answer, _ = chat.say(message)
        assert_contains(message, answer, expected)
    users = [data["text"] for kind, data in stored_events(tracker_postgres_url, chat.sender) if kind == "user"]
    assert users == [message for _, message, _ in steps]


@pytest.mark.slow
def test_concurrent_messages_across_servers_are_each_handled_once_in_turn(
    servers: Tuple[RasaServer, RasaServer],
    tracker_postgres_url: str,  # noqa: F811
) -> None:
    sender = Conversation(servers[0].url).sender
    messages = [f"hello there, number {index}" for index in range(CONCURRENT_MESSAGES)]
    with concurrent.futures.ThreadPoolExecutor(CONCURRENT_MESSAGES) as pool:
        futures = [pool.submit(send, servers[index % 2].url, sender, message) for index, message in enumerate(messages)]
        done, pending = concurrent.futures.wait(futures, timeout=REQUEST_DEADLINE_SECONDS)
    assert not pending, f"{len(pending)} messages got no answer within {REQUEST_DEADLINE_SECONDS} s"
    assert all(future.result() for future in futures)  # `send` also asserts a non-empty reply

    events = stored_events(tracker_postgres_url, sender)
    users = [data["text"] for kind, data in events if kind == "user"]
    assert sorted(users) == sorted(messages), f"lost or duplicated user messages: {users}"

    turns: List[List[Tuple[str, Dict[str, object]]]] = []
    for kind, data in events:
        if kind == "user":
            turns.append([])
        if turns:
            turns[-1].append((kind, data))
    assert len(turns) == CONCURRENT_MESSAGES
    for turn in turns:
        kinds = [kind for kind, _ in turn]
        assert kinds.count("user") == 1 and "bot" in kinds, f"a turn without its own reply: {kinds}"
        last_kind, last = turn[-1]
        assert last_kind == "action" and last.get("name") == "action_listen", f"turn not finished: {kinds}"
