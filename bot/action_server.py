"""How PoreGuide's action server runs, whoever starts it (`make actions`, the launcher, plain
`rasa run actions` or `python -m rasa_sdk`): a rasa_sdk plugin. rasa_sdk's `run` builds its Sanic
app (importing the `actions` package, which registers this plugin), calls the
`attach_sanic_app_extensions` hook, then reads SANIC_HOST and starts listening; so the hook below
still decides all three.

It also adds what the Rasa server's /health asks of the action server: GET /health/database
(200, or 503 while the knowledge and consultation database fails), and keeps the texts of each
request (the person's message, slot values such as a name or an email) out of every log line of
this process (`bot.security.log_privacy`).

rasa-sdk 3.21 (the action venv, issue 19) runs on Sanic 25, which handles requests in worker
processes that it spawns: fresh interpreters that inherit neither logging nor a link to their
primary. The hook runs in each of them (Sanic rebuilds the app there), so it gives each worker the
primary's logging and ties its life to the primary's (`worker_setup`). rasa-sdk 3.6 (the Rasa
venv) serves in one process, where none of that applies."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import sys
import warnings
from typing import Any, Dict, Iterator, List

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

# Sanic (22.9 and later) names each worker process it spawns in this variable; the primary has none.
WORKER_ENV = "SANIC_WORKER_NAME"
# What a primary hands its workers through their inherited environment: its log level and pid.
LOG_LEVEL_ENV = "POREGUIDE_ACTION_LOG_LEVEL"
PRIMARY_PID_ENV = "POREGUIDE_ACTION_PRIMARY_PID"
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# rasa-sdk warns on every call from another minor version of Rasa that the two "might not be
# compatible". For Rasa 3.6 with rasa-sdk 3.21 that is checked, not guessed: the same scripted
# conversation gets the same replies from both SDKs (tests/test_action_server_python_comparison.py).
# Only that pairing is silenced; any other Rasa version, and every other warning, still shows.
RASA_36_VERSION_WARNING = (
    r"Your versions of rasa and rasa_sdk might not be compatible\. "
    r"You are currently running rasa version 3\.6\.\d+ and rasa_sdk version 3\.21\."
)

hookimpl = pluggy.HookimplMarker("rasa_sdk")
logger = logging.getLogger(__name__)


def _probe_database() -> None:
    """One round trip to the database the actions read and write."""
    from sqlalchemy import text

    from bot.persistence.database import get_engine

    with get_engine().connect() as connection:
        connection.execute(text("SELECT 1")).all()


async def database_health(request: Request) -> HTTPResponse:
    """200 while the knowledge and consultation database answers, else 503 with the kind of error."""
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.run_in_executor(None, _probe_database), DATABASE_PROBE_TIMEOUT_SECONDS)
    except Exception as error:  # noqa: BLE001 - any failure means the database is not usable
        logger.error("Database health check failed (%s)", type(error).__name__)
        return response.json(
            {"status": "failing", "error": type(error).__name__}, status=503, headers={"Cache-Control": "no-store"}
        )
    return response.json({"status": "ok"}, headers={"Cache-Control": "no-store"})


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


# Slots whose values are the domain's own words, never what a person wrote: withholding them would
# blank "consultation" out of "Stored consultation request PG-..." (request_kind) and slot names
# out of rasa_sdk's form warnings (requested_slot).
VOCABULARY_SLOTS = frozenset({"requested_slot", "request_kind"})


def request_texts(body: Any) -> List[str]:
    """What people wrote, in an action call: the latest and recent user texts, and the slot values."""
    tracker = body.get("tracker") if isinstance(body, dict) else None
    if not isinstance(tracker, dict):
        return []
    texts: List[str] = []
    latest = tracker.get("latest_message")
    if isinstance(latest, dict) and isinstance(latest.get("text"), str):
        texts.append(latest["text"])
    events = tracker.get("events")
    if not isinstance(events, list):
        events = []
    users = [event.get("text") for event in events if isinstance(event, dict) and event.get("event") == "user"]
    texts.extend(text for text in users[-RECENT_USER_TEXTS:] if isinstance(text, str))
    slots = tracker.get("slots")
    if not isinstance(slots, dict):
        slots = {}
    for name, value in slots.items():
        if name not in VOCABULARY_SLOTS:
            texts.extend(_strings(value))
    return texts


async def withhold_request_texts(request: Request, **context: Any) -> None:
    """Sanic's `http.routing.after` signal (run in the request's own task, before its body has
    arrived): this request's texts are kept out of the log lines its handling writes. A signal,
    not a request middleware, so the action server's middleware stays the token check alone."""
    log_privacy.withhold_for_request(lambda: request_texts(request.json) if request.method == "POST" else [])


def in_worker() -> bool:
    """Whether this is a worker process spawned by Sanic's primary (rasa-sdk 3.21 and later)."""
    return bool(os.environ.get(WORKER_ENV))


def hand_over_to_workers() -> None:
    """In the primary, before it spawns workers: what `worker_setup` reads there."""
    os.environ[LOG_LEVEL_ENV] = logging.getLevelName(logging.getLogger().getEffectiveLevel())
    os.environ[PRIMARY_PID_ENV] = str(os.getpid())


def configure_worker_logging() -> None:
    """Logging as rasa-sdk's `__main__` set it up in the primary (handler, format, level, Sanic's
    loggers): a spawned worker starts with none, so its INFO lines ("Stored consultation request")
    would be lost and its warnings printed bare. Nothing is changed where logging is configured."""
    if logging.getLogger().handlers:
        return
    from rasa_sdk.utils import configure_colored_logging, update_sanic_log_level

    configure_colored_logging(os.environ.get(LOG_LEVEL_ENV) or logging.INFO)
    update_sanic_log_level()


def die_with_primary() -> None:
    """Have the kernel SIGKILL this worker when its primary dies (Linux). A worker holds the
    listening socket: outliving a crashed or SIGKILLed primary, it would go on answering, so
    neither /health nor the launcher's supervisor would see the crash, and a restarted server
    could not listen on the port. A graceful stop is unaffected: the primary stops its workers."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        logger.warning("Could not tie the action server worker to its primary (errno %d)", ctypes.get_errno())
        return
    primary = os.environ.get(PRIMARY_PID_ENV, "")
    if primary.isdigit() and os.getppid() != int(primary):  # the primary died before the line above
        os._exit(1)


def worker_setup() -> None:
    """What a spawned worker needs before it serves: its primary's logging, and its primary's fate."""
    die_with_primary()
    configure_worker_logging()


def filter_rasa_36_version_warning() -> None:
    """Silence rasa-sdk's version warning for calls from Rasa 3.6 only (`RASA_36_VERSION_WARNING`)."""
    warnings.filterwarnings("ignore", message=RASA_36_VERSION_WARNING, category=UserWarning, module=r"rasa_sdk\.utils")


def announce_version_filter() -> None:
    """Say once why no version warning appears, where the SDK is not Rasa's own minor version."""
    from rasa_sdk import __version__ as sdk_version

    if not sdk_version.startswith("3.6."):
        logger.info(
            "rasa-sdk %s serves Rasa 3.6 here: its 'might not be compatible' warning for Rasa 3.6 "
            "is filtered, since their replies are tested to be the same",
            sdk_version,
        )


@hookimpl
def attach_sanic_app_extensions(app: Sanic) -> None:
    """rasa_sdk hook, run just before the action server starts listening: in the primary, and
    again in each worker that Sanic spawns (where the app is built anew)."""
    worker = in_worker()
    if worker:
        worker_setup()
    else:
        hand_over_to_workers()
    log_privacy.install()
    os.environ.setdefault(HOST_ENV, DEFAULT_HOST)  # loopback unless SANIC_HOST says otherwise
    for name, seconds in MINIMUM_TIMEOUTS.items():
        app.config[name] = max(app.config[name], seconds)
    app.add_route(database_health, DATABASE_HEALTH_PATH, methods=["GET"], name="poreguide_database_health")
    token = configured_token()
    if token is None:  # the notices are said once, by the primary
        logger.log(
            logging.DEBUG if worker else logging.WARNING,
            "%s is unset: the action server accepts requests from any local caller",
            TOKEN_ENV,
        )
    else:
        require_token(app, token)
        logger.log(logging.DEBUG if worker else logging.INFO, "The action server requires the %s header", TOKEN_HEADER)
    if not worker:
        announce_version_filter()
    app.signal("http.routing.after")(withhold_request_texts)
    # Issue 15: staff notices (outbox) and the daily retention purge, a thread of the primary only.
    if not worker:
        from bot.staff.worker import attach as attach_staff_worker

        attach_staff_worker(app)


def accept_calls_without_domain() -> None:
    """Serve Rasa 3.6's calls that carry no domain, as rasa-sdk 3.6 did (an empty domain).

    With `enable_selective_domain` (endpoints.yml), Rasa 3.6 sends the domain only to the actions
    marked `send_domain: true` in domain.yml, and never a `domain_digest`. rasa-sdk 3.21 expects
    Rasa Pro's protocol instead: a call without the domain must carry the digest of a domain it
    cached, or it answers 449 ("send the domain") and Rasa Pro resends with the domain. Rasa 3.6
    does not resend: it fails the action. So a call with neither the domain nor a digest gets `{}`
    here, as `rasa_sdk` 3.6 gave it (`action_call.get("domain", {})`); a call with a digest still
    goes through rasa-sdk's own check. The actions that get no domain never read it
    (tests/test_action_payload.py)."""
    from rasa_sdk.executor import ActionExecutor

    own = getattr(ActionExecutor, "update_and_return_domain", None)
    if own is None or getattr(own, "poreguide_without_domain", False):
        return  # rasa-sdk 3.6 (no such check), or already done

    def update_and_return_domain(self: Any, payload: Dict[str, Any], action_name: str) -> Any:
        if payload.get("domain") is None and payload.get("domain_digest") is None:
            return {}
        return own(self, payload, action_name)

    update_and_return_domain.poreguide_without_domain = True  # type: ignore[attr-defined]
    ActionExecutor.update_and_return_domain = update_and_return_domain


def register_plugin() -> None:
    """Make rasa_sdk's plugin manager call this module's hook (once, however often imported)."""
    from rasa_sdk.plugin import plugin_manager

    log_privacy.install()
    filter_rasa_36_version_warning()
    accept_calls_without_domain()
    manager = plugin_manager()
    module = sys.modules[__name__]
    if not manager.is_registered(module):
        manager.register(module)
