"""PoreGuide's lock store: Rasa's ticket lock (one conversation's messages are handled one at a
time, in arrival order) shared through Redis when LOCK_STORE_URL is set, in memory otherwise.

Rasa's own RedisLockStore issues a ticket by reading the lock, adding a ticket and writing it
back: two Rasa processes doing that at the same moment both get the same ticket and handle two
messages of one conversation at once (events interleaved or lost). Here every change to a lock
is one atomic step: a WATCH/MULTI transaction in Redis (retried when another process changed
the lock in between), a plain update in memory (one event loop, no await inside).

Rasa changed too: `LockStore.lock` (3.6.21) issues a ticket that lives LOCK_LIFETIME (60 s); when a
replica is killed mid-turn, its ticket blocks that conversation on every other replica for a
minute (seen in the chaos run of `make loadtest CHAOS=1`). With Redis, `lock` here issues a short
lease that a thread renews while the message is handled; tests/test_rasa_overrides.py pins the
Rasa code it re-implements.

endpoints.yml: `lock_store: {type: bot.rasa_overrides.lock_store.PoreGuideLockStore}`; Rasa
builds it with `endpoint_config=` (its `url:` is used when LOCK_STORE_URL is unset)."""

from __future__ import annotations

import json
import logging
import threading
import time
from contextlib import asynccontextmanager
from typing import AsyncGenerator, Callable, Dict, Optional, Text, Tuple, TypeVar, Union

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

from bot.persistence.config import lock_key_prefix, lock_store_url
from bot.persistence.health import HEALTH, HealthRegistry, describe_error

logger = logging.getLogger(__name__)

COMPONENT = "lock_store"
WAIT_SECONDS = 0.1  # how often a waiting message checks whether its turn has come (Rasa: 1 s)
REDIS_SOCKET_TIMEOUT_SECONDS = 5
KEY_TTL_MARGIN_SECONDS = 60  # a lock key outlives its last ticket by this much, then Redis drops it
# With Redis, a ticket is a lease: its holder renews it from a thread every RENEW_SECONDS while the
# message is handled (up to Rasa's LOCK_LIFETIME). A SIGKILLed replica stops renewing, so the other
# replicas wait at most LEASE_SECONDS for its tickets, not Rasa's 60 s.
LEASE_SECONDS = 2.0
RENEW_SECONDS = 0.5

T = TypeVar("T")
# Takes the stored lock (or None), returns the lock to store (None: delete) and a result.
LockChange = Callable[[Optional[TicketLock]], Tuple[Optional[TicketLock], T]]


def _parse(raw: Optional[str]) -> Optional[TicketLock]:
    return TicketLock.from_dict(json.loads(raw)) if raw else None


class MemoryLocks:
    """Locks of one process (the default): a dict, changed without awaiting, hence atomically."""

    def __init__(self) -> None:
        self._locks: Dict[str, str] = {}

    def get(self, conversation_id: str) -> Optional[str]:
        return self._locks.get(conversation_id)

    def change(self, conversation_id: str, change: Callable[[Optional[str]], Tuple[Optional[str], T]]) -> T:
        stored, result = change(self._locks.get(conversation_id))
        if stored is None:
            self._locks.pop(conversation_id, None)
        else:
            self._locks[conversation_id] = stored
        return result

    def ping(self) -> None:
        """Memory is always there."""


class RedisLocks:
    """Locks shared by every Rasa process through one Redis server."""

    def __init__(self, url: str, prefix: str, lifetime: float) -> None:
        import redis

        self._redis = redis.Redis.from_url(
            url, socket_timeout=REDIS_SOCKET_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_SOCKET_TIMEOUT_SECONDS
        )
        self._prefix = f"{prefix}:lock:"
        self._ttl = int(lifetime + KEY_TTL_MARGIN_SECONDS)

    def key(self, conversation_id: str) -> str:
        return self._prefix + conversation_id

    def get(self, conversation_id: str) -> Optional[str]:
        raw = self._redis.get(self.key(conversation_id))
        return raw.decode("utf-8") if raw is not None else None

    def change(self, conversation_id: str, change: Callable[[Optional[str]], Tuple[Optional[str], T]]) -> T:
        from redis.exceptions import WatchError

        key = self.key(conversation_id)
        with self._redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    stored, result = change(raw.decode("utf-8") if raw is not None else None)
                    pipe.multi()
                    if stored is None:
                        pipe.delete(key)
                    else:
                        pipe.set(key, stored, ex=self._ttl)
                    pipe.execute()
                    return result
                except WatchError:
                    continue  # another process changed this lock meanwhile: redo with its version

    def ping(self) -> None:
        self._redis.ping()


class PoreGuideLockStore(LockStore):
    """Rasa's ticket lock with atomic updates, on Redis or in memory (see module doc)."""

    def __init__(
        self,
        endpoint_config: Optional[EndpointConfig] = None,
        url: Optional[str] = None,
        health: HealthRegistry = HEALTH,
    ) -> None:
        url = url or lock_store_url() or (endpoint_config.url if endpoint_config else None)
        self.health = health
        self.locks: Union[MemoryLocks, RedisLocks]
        if url:
            self.locks = RedisLocks(url, lock_key_prefix(), LOCK_LIFETIME)
            health.register_probe(COMPONENT, self.locks.ping)
            logger.info("Lock store: Redis (conversations are shared between Rasa processes)")
        else:
            self.locks = MemoryLocks()
            logger.debug("Lock store: in memory (one Rasa process; set LOCK_STORE_URL to run more)")
        super().__init__()

    # ----------------------------------------------------------------- storage

    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        return _parse(self._reported(lambda: self.locks.get(conversation_id)))

    def save_lock(self, lock: TicketLock) -> None:
        self._change(lock.conversation_id, lambda _: (lock, None))

    def delete_lock(self, conversation_id: Text) -> None:
        self._change(conversation_id, lambda _: (None, None))

    def _change(self, conversation_id: str, change: LockChange[T]) -> T:
        def on_text(raw: Optional[str]) -> Tuple[Optional[str], T]:
            lock, result = change(_parse(raw))
            return (lock.dumps() if lock is not None and lock.is_someone_waiting() else None), result

        return self._reported(lambda: self.locks.change(conversation_id, on_text))

    def _reported(self, operation: Callable[[], T]) -> T:
        try:
            result = operation()
        except Exception as error:  # noqa: BLE001 - a lock failure stops the turn: report it
            reason = describe_error(error)
            self.health.failed(COMPONENT, reason, "messages cannot be processed")
            raise LockError(f"Lock store unavailable ({reason})") from None
        self.health.succeeded(COMPONENT)
        return result

    # ----------------------------------------------------------------- Rasa's ticket protocol, atomic

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def issue(lock: Optional[TicketLock]) -> Tuple[TicketLock, int]:
            lock = lock or TicketLock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        return self._change(conversation_id, issue)

    def update_lock(self, conversation_id: Text) -> None:
        def drop_expired(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, drop_expired)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        """Remove the ticket; the lock goes with its last ticket (one step, unlike Rasa's two)."""

        def finish(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], None]:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
            return lock, None

        self._change(conversation_id, finish)

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        self.cleanup(conversation_id, ticket_number)

    def renew(self, conversation_id: Text, ticket_number: int, lease: float) -> None:
        """Push the ticket's expiry to `lease` seconds from now."""

        def extend(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], None]:
            for ticket in lock.tickets if lock is not None else ():
                if ticket.number == ticket_number:
                    ticket.expires = max(ticket.expires, time.time() + lease)
            return lock, None

        self._change(conversation_id, extend)

    def _keep_leased(self, conversation_id: Text, ticket_number: int, until: float, done: threading.Event) -> None:
        while not done.wait(RENEW_SECONDS) and time.time() < until:
            try:
                self.renew(conversation_id, ticket_number, LEASE_SECONDS)
            except LockError:
                pass  # reported on /health; the next renewal tries again

    @asynccontextmanager
    async def lock(
        self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME, wait_time_in_seconds: float = WAIT_SECONDS
    ) -> AsyncGenerator[TicketLock, None]:
        """Rasa's `lock`, checking every WAIT_SECONDS rather than every second; on Redis the
        ticket is a lease renewed by a thread (not the event loop, which a turn may block)."""
        if not isinstance(self.locks, RedisLocks):  # in memory, the locks die with their process
            async with super().lock(conversation_id, lock_lifetime, wait_time_in_seconds) as ticket_lock:
                yield ticket_lock
            return
        ticket = self.issue_ticket(conversation_id, LEASE_SECONDS)
        done = threading.Event()
        threading.Thread(
            target=self._keep_leased,
            args=(conversation_id, ticket, time.time() + lock_lifetime, done),
            name="lock lease",
            daemon=True,
        ).start()
        try:
            yield await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        finally:
            done.set()
            self.cleanup(conversation_id, ticket)
