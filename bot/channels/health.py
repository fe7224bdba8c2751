"""GET /health on the Rasa server: {"status": "ok"}, or {"status": "degraded", "problems": [...]}
with HTTP 503 when the tracker store (or the Redis lock store) fails, so a load balancer or a
monitor sees what Rasa's fail-safe fallback to memory would otherwise hide.

A channel, because channels are how Rasa lets a project add routes to its server: credentials.yml
gets `bot.channels.health.HealthInput:`. Channel routes live under /webhooks/<name>/, so the
blueprint adds the app-level /health route when it is registered (Rasa's SocketBlueprint attaches
socket.io the same way). Each request re-checks the stores with their probes, in a thread and
with a time limit, so a recovered database shows as ok again without waiting for a message."""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.persistence.health import HEALTH

HEALTH_PATH = "/health"
PROBE_TIMEOUT_SECONDS = 5.0


async def _probe_all() -> None:
    loop = asyncio.get_running_loop()
    for component in HEALTH.components():
        try:
            await asyncio.wait_for(loop.run_in_executor(None, HEALTH.probe, component), PROBE_TIMEOUT_SECONDS)
        except asyncio.TimeoutError:
            HEALTH.failed(component, "TimeoutError: no answer within the health check's time limit")


async def health(request: Request) -> HTTPResponse:
    await _probe_all()
    report = HEALTH.report()
    return response.json(report, status=200 if report["status"] == "ok" else 503,
                         headers={"Cache-Control": "no-store"})


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
