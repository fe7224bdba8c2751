"""How PoreGuide's action server runs, whoever starts it (`make actions`, the launcher, or plain
`rasa run actions`): a rasa_sdk plugin. rasa_sdk's `run` builds its Sanic app (importing the
`actions` package, which registers this plugin), calls the `attach_sanic_app_extensions` hook,
then reads SANIC_HOST and starts listening; so the hook below still decides all three.

It also adds what the Rasa server's /health asks of the action server: GET /health/database
(200, or 503 while the knowledge and consultation database fails), and keeps the texts of each
request (the person's message, slot values such as a name or an email) out of every log line of
this process (`bot.security.log_privacy`)."""
from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import Any, Iterator, List

import pluggy
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.security import log_privacy
from bot.security.action_token import TOKEN_ENV, TOKEN_HEADER, configured_token, require_token

HOST_ENV = "SANIC_HOST"
DEFAULT_HOST = "127.0.0.1"
# Under load Rasa's event loop can take seconds between opening a connection and writing the
# action call; Sanic's defaults (5 s idle, 60 s) then drop the call mid-request ("Cannot write to
# closing transport"). Rasa itself waits up to 300 s for an action (DEFAULT_REQUEST_TIMEOUT).
MINIMUM_TIMEOUTS = {"KEEP_ALIVE_TIMEOUT": 120, "REQUEST_TIMEOUT": 300, "RESPONSE_TIMEOUT": 300}

DATABASE_HEALTH_PATH = "/health/database"
DATABASE_PROBE_TIMEOUT_SECONDS = 3.0
RECENT_USER_TEXTS = 20  # withheld from the logs besides the slots: enough for any action's look-back

hookimpl = pluggy.HookimplMarker("rasa_sdk")
logger = logging.getLogger(__name__)


def _probe_database() -> None:
    """One round trip to the database the actions read and write."""
    from sqlalchemy import text

    from bot.knowledge.database import get_engine

    with get_engine().connect() as connection:
        connection.execute(text("SELECT 1")).all()


async def database_health(request: Request) -> HTTPResponse:
    """200 while the knowledge and consultation database answers, else 503 with the kind of error."""
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.run_in_executor(None, _probe_database), DATABASE_PROBE_TIMEOUT_SECONDS)
    except Exception as error:  # noqa: BLE001 - any failure means the database is not usable
        logger.error("Database health check failed (%s)", type(error).__name__)
        return response.json({"status": "failing", "error": type(error).__name__}, status=503,
                             headers={"Cache-Control": "no-store"})
    return response.json({"status": "ok"}, headers={"Cache-Control": "no-store"})


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def request_texts(body: Any) -> List[str]:
    """What people wrote, in an action call: the latest and recent user texts, and the slot values."""
    tracker = body.get("tracker") if isinstance(body, dict) else None
    if not isinstance(tracker, dict):
        return []
    texts: List[str] = []
    latest = tracker.get("latest_message")
    if isinstance(latest, dict) and isinstance(latest.get("text"), str):
        texts.append(latest["text"])
    events = tracker.get("events") if isinstance(tracker.get("events"), list) else []
    users = [event.get("text") for event in events if isinstance(event, dict) and event.get("event") == "user"]
    texts.extend(text for text in users[-RECENT_USER_TEXTS:] if isinstance(text, str))
    slots = tracker.get("slots") if isinstance(tracker.get("slots"), dict) else {}
    for value in slots.values():
        texts.extend(_strings(value))
    return texts


async def withhold_request_texts(request: Request, **context: Any) -> None:
    """Sanic's `http.routing.after` signal (run in the request's own task, before its body has
    arrived): this request's texts are kept out of the log lines its handling writes. A signal,
    not a request middleware, so the action server's middleware stays the token check alone."""
    log_privacy.withhold_for_request(lambda: request_texts(request.json) if request.method == "POST" else [])


@hookimpl
def attach_sanic_app_extensions(app: Sanic) -> None:
    """rasa_sdk hook, run just before the action server starts listening."""
    log_privacy.install()
    os.environ.setdefault(HOST_ENV, DEFAULT_HOST)  # loopback unless SANIC_HOST says otherwise
    for name, seconds in MINIMUM_TIMEOUTS.items():
        app.config[name] = max(app.config[name], seconds)
    app.add_route(database_health, DATABASE_HEALTH_PATH, methods=["GET"], name="poreguide_database_health")
    token = configured_token()
    if token is None:
        logger.warning("%s is unset: the action server accepts requests from any local caller", TOKEN_ENV)
    else:
        require_token(app, token)
        logger.info("The action server requires the %s header", TOKEN_HEADER)
    app.signal("http.routing.after")(withhold_request_texts)


def register_plugin() -> None:
    """Make rasa_sdk's plugin manager call this module's hook (once, however often imported)."""
    from rasa_sdk.plugin import plugin_manager

    log_privacy.install()
    manager = plugin_manager()
    module = sys.modules[__name__]
    if not manager.is_registered(module):
        manager.register(module)
