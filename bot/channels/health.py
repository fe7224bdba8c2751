"""GET /health on the Rasa server: {"status": "ok"}, or {"status": "degraded", "problems": [...]}
with HTTP 503 when the tracker store (or the Redis lock store) fails, when the action server does
not answer, or when the action server's database (knowledge and consultation requests) fails, so a
load balancer or a monitor sees what Rasa's fail-safe fallback to memory and the guard's
"technical problem" reply would otherwise hide. Checks: "tracker_store" (the conversation
database), "lock_store" (Redis, when used), "action_server" (its /health), "database" (its
/health/database; "unknown" while the action server itself is down).

A channel, because channels are how Rasa lets a project add routes to its server: credentials.yml
gets `bot.channels.health.HealthInput:`. Channel routes live under /webhooks/<name>/, so the
blueprint adds the app-level /health route when it is registered (Rasa's SocketBlueprint attaches
socket.io the same way). Each request re-checks the stores with their probes, in a thread and
with a time limit, so a recovered database shows as ok again without waiting for a message."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from typing import Any, Awaitable, Callable, Dict, Mapping, Optional, Text
from urllib.parse import urlsplit, urlunsplit

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.persistence.health import HEALTH, HealthRegistry, ProbeSkipped

HEALTH_PATH = "/health"
DATABASE_HEALTH_PATH = "/health/database"  # served by the action server (bot.action_server)
PROBE_TIMEOUT_SECONDS = 5.0
ACTION_SERVER_TIMEOUT_SECONDS = 2.0
ACTION_SERVER, DATABASE = "action_server", "database"


class ActionServerUnavailable(RuntimeError):
    """The action server did not answer its /health."""


class DatabaseUnavailable(RuntimeError):
    """The action server answered that its database fails."""


class ActionServerProbes:
    """Probes of the action server at `webhook_url` (Rasa's action endpoint) and of its database."""

    def __init__(self, webhook_url: str, headers: Mapping[str, str]) -> None:
        parts = urlsplit(webhook_url)
        self.base = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
        self.headers = {str(name): str(value) for name, value in headers.items()}

    def _get(self, path: str) -> int:
        request = urllib.request.Request(self.base + path, headers=self.headers)
        try:
            with urllib.request.urlopen(request, timeout=ACTION_SERVER_TIMEOUT_SECONDS) as answer:
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code

    def action_server(self) -> None:
        try:
            status = self._get(HEALTH_PATH)
        except (OSError, ValueError) as error:
            raise ActionServerUnavailable(type(error).__name__) from None
        if status != 200:
            raise ActionServerUnavailable(f"HTTP {status}")

    def database(self) -> None:
        try:
            status = self._get(DATABASE_HEALTH_PATH)
        except (OSError, ValueError):
            raise ProbeSkipped("the action server does not answer") from None
        if status == 404:
            raise ProbeSkipped("the action server has no database check")
        if status != 200:
            raise DatabaseUnavailable(f"HTTP {status}")


def register_action_server_probes(app: Sanic, registry: HealthRegistry = HEALTH) -> None:
    """Add the action server's probes once Rasa's agent (and so its action endpoint) is loaded."""
    if ACTION_SERVER in registry.components():
        return
    endpoint = getattr(getattr(app.ctx, "agent", None), "action_endpoint", None)
    url = getattr(endpoint, "url", None)
    if not url:
        return
    probes = ActionServerProbes(url, getattr(endpoint, "headers", None) or {})
    registry.register_probe(ACTION_SERVER, probes.action_server)
    registry.register_probe(DATABASE, probes.database)


async def _probe_all() -> None:
    loop = asyncio.get_running_loop()
    for component in HEALTH.components():
        try:
            await asyncio.wait_for(loop.run_in_executor(None, HEALTH.probe, component), PROBE_TIMEOUT_SECONDS)
        except asyncio.TimeoutError:
            HEALTH.failed(component, "TimeoutError: no answer within the health check's time limit")


async def health(request: Request) -> HTTPResponse:
    register_action_server_probes(request.app)
    await _probe_all()
    report = HEALTH.report()
    return response.json(report, status=200 if report["status"] == "ok" else 503, headers={"Cache-Control": "no-store"})


class HealthBlueprint(Blueprint):
    """A blueprint that also adds the app-level `/health` route when Rasa registers it."""

    def register(self, app: Sanic, options: Dict[Text, Any]) -> None:
        app.add_route(health, HEALTH_PATH, methods=["GET"], name="poreguide_health")
        super().register(app, options)


class HealthInput(InputChannel):
    """Not a conversation channel: it only serves /health (and /webhooks/health/)."""

    @classmethod
    def name(cls) -> Text:
        return "health"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        return cls()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = HealthBlueprint("poreguide_health_webhook", __name__)
        blueprint.add_route(health, "/", methods=["GET"], name="status")
        return blueprint
