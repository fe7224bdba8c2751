"""Queues a red-flag staff alert from an action without letting it hold up the safety advice.

The advice must reach the person even when the database is down (actions/safety.py), so the
alert is written by a thread of its own and the action waits for it at most WAIT_SECONDS: long
enough for a healthy database (a few milliseconds), short against a dead one (a connect timeout).
A write still running then finishes on its own; one that fails is logged at ERROR, as nothing
else could record it."""

from __future__ import annotations

import asyncio
import logging
import threading

from sqlalchemy.engine import Engine

from bot.notices.outbox import Outbox

logger = logging.getLogger(__name__)

WAIT_SECONDS = 1.0
CHECK_EVERY_SECONDS = 0.005


def _record(engine: Engine, conversation_id: str, level: str, finished: threading.Event) -> None:
    try:
        Outbox(engine).record_red_flag(conversation_id, level)
    except Exception as error:  # noqa: BLE001 - reported, never raised into the conversation
        logger.error("Red-flag staff alert (%s) not recorded: %s", level, type(error).__name__)
    finally:
        finished.set()


async def alert_staff(engine: Engine, conversation_id: str, level: str, wait_seconds: float = WAIT_SECONDS) -> bool:
    """Queue the alert; True when it was written (or found already queued) within `wait_seconds`."""
    finished = threading.Event()
    threading.Thread(
        target=_record, args=(engine, conversation_id, level, finished), name="poreguide-red-flag-alert", daemon=True
    ).start()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    while not finished.is_set() and loop.time() < deadline:
        await asyncio.sleep(CHECK_EVERY_SECONDS)
    if not finished.is_set():
        logger.warning(
            "Red-flag staff alert (%s) still being written after %.1f s; the advice goes first.", level, wait_seconds
        )
    return finished.is_set()
