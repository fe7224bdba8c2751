"""What every webhook channel (Telegram, Slack) needs besides its own API: remembering which
deliveries it has already seen (both services retry), running work after the HTTP answer has
gone out (both want a quick 200), and switching itself off cleanly when unconfigured."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Coroutine, Hashable, List, Set, Union

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.api_client import JsonApi
from bot.persistence.config import lock_key_prefix, lock_store_url
from bot.persistence.health import describe_error

logger = logging.getLogger(__name__)

SEEN_IDS_KEPT = 10_000
SHARED_SEEN_TTL_SECONDS = 24 * 3600  # Telegram keeps retrying an update for up to a day
REDIS_TIMEOUT_SECONDS = 2


class SeenIds:
    """The last `capacity` delivery ids (Telegram update_id, Slack event_id): a retried delivery
    is recognised and dropped, so no message is answered twice. Bounded, so memory stays flat."""

    def __init__(self, capacity: int = SEEN_IDS_KEPT) -> None:
        self.capacity = capacity
        self._ids: "OrderedDict[Hashable, None]" = OrderedDict()

    def first_time(self, delivery_id: Hashable) -> bool:
        """True the first time `delivery_id` is seen (and remembers it), False for a repeat."""
        if delivery_id in self._ids:
            self._ids.move_to_end(delivery_id)
            return False
        self._ids[delivery_id] = None
        if len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
        return True


class SharedSeenIds:
    """Delivery ids remembered in Redis for `ttl` seconds, so that with several Rasa processes
    behind a load balancer a retry reaching another process is still recognised. One atomic
    SET NX per delivery. While Redis is unreachable each process falls back to its own memory:
    a retry may then be answered twice, but no message is lost. An outage is logged once when it
    starts and once when it ends, not at every delivery."""

    def __init__(self, url: str, key_prefix: str, ttl: int = SHARED_SEEN_TTL_SECONDS) -> None:
        import redis

        self.key_prefix, self.ttl = key_prefix, ttl
        self._redis = redis.Redis.from_url(
            url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
        )
        self._local = SeenIds()
        self._redis_down = False

    def first_time(self, delivery_id: Hashable) -> bool:
        from redis.exceptions import RedisError

        parts = delivery_id if isinstance(delivery_id, tuple) else (delivery_id,)
        key = ":".join([self.key_prefix, *map(str, parts)])
        try:
            first = bool(self._redis.set(key, 1, nx=True, ex=self.ttl))
        except RedisError as error:
            if not self._redis_down:
                logger.error(
                    "%s: Redis unreachable (%s); repeated deliveries are recognised by this process "
                    "only until it is back",
                    self.key_prefix,
                    describe_error(error),
                )
            self._redis_down = True
            return self._local.first_time(delivery_id)
        if self._redis_down:
            logger.warning("%s: Redis reachable again; delivery ids are shared again", self.key_prefix)
            self._redis_down = False
        return first


def seen_ids(channel: str) -> Union[SeenIds, SharedSeenIds]:
    """The delivery memory of `channel`: in the Redis of the lock store when LOCK_STORE_URL is set
    (the deployment then runs several Rasa processes), in this process otherwise."""
    url = lock_store_url()
    return SharedSeenIds(url, f"{lock_key_prefix()}:seen:{channel}") if url else SeenIds()


class BackgroundTasks:
    """Runs coroutines after the webhook has answered; keeps a reference to each (asyncio only
    keeps weak ones) and logs a failure instead of losing it silently."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self._tasks: Set["asyncio.Task[None]"] = set()

    def spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: "asyncio.Task[None]") -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("%s: background work failed (%s)", self.channel, type(task.exception()).__name__)


def switched_off(channel: str, missing: List[str]) -> Blueprint:
    """The blueprint of an unconfigured channel: no routes, and one log line saying how to turn it on."""
    logger.warning("%s channel off: set %s to turn it on.", channel, ", ".join(missing))
    return Blueprint(f"{channel.lower()}_webhook_off")


def webhook_blueprint(
    name: str, api: JsonApi, receive: Callable[[Request], Coroutine[Any, Any, HTTPResponse]]
) -> Blueprint:
    """A switched-on channel's routes: GET / (health) and POST /webhook (`receive`); the API
    client's connections are closed when the server stops."""
    webhook = Blueprint(f"{name}_webhook")

    @webhook.listener("before_server_stop")
    async def close(app: Any, loop: Any) -> None:
        await api.close()

    @webhook.route("/", methods=["GET"])
    async def health(request: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    webhook.add_route(receive, "/webhook", methods=["POST"], name="receive")
    return webhook
