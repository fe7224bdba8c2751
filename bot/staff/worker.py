"""The staff worker: a background thread of the action server that sends the outbox and runs the
retention purge once a day.

Why the action server: it runs wherever PoreGuide stores requests (`make chat`/`make serve`,
`make actions`, every replica of deploy/docker-compose.yml), has the database URL, and needs no
Rasa; the launcher is not used in the container deployment. Why a thread: smtplib and urllib
block, and on a thread of their own they can never hold up an action's reply. Why only the
primary process: rasa-sdk 3.21's Sanic answers in spawned worker processes and 3.6's in the
primary itself; `main_process_start` runs once per server in both, so there is one sender per
action server. Several action servers (replicas) each run one: claims keep them from sending a
notice twice, and the purge is idempotent (POREGUIDE_STAFF_WORKER=0 turns it off in one).

Its engines come from `bot.persistence.database.get_engine` (the project's one engine factory),
created in the thread when it starts, never at import. The sender holds a connection only while it
reads or updates a row, never while it talks to a mail server."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Optional, Tuple

from bot.notices.config import StaffConfigError
from bot.notices.outbox import DOORBELL
from bot.staff.delivery import Deliverer, PassReport
from bot.staff.retention import PurgeReport

logger = logging.getLogger(__name__)

POLL_SECONDS = 5.0  # how soon a notice written by another process (a Sanic worker) is found
PURGE_EVERY_SECONDS = 24 * 3600.0
FIRST_PURGE_AFTER_SECONDS = 60.0  # not during start-up, but soon after: a server restarted daily still purges
# Sanic 21 (the Rasa venv) with ACTION_SERVER_SANIC_WORKERS > 1 forks its workers right after
# `main_process_start`: a lock this thread held at that moment (the engine factory's) would stay
# locked in every worker. The thread therefore waits this long before its first step.
START_DELAY_SECONDS = 2.0


class StaffWorker:
    """Runs `deliverer.run_once()` whenever a notice is written (or every `poll_seconds`) and
    `purge()` every `purge_every_seconds`. Each failure is logged (its class only) and retried."""

    def __init__(
        self,
        deliverer: Callable[[], Optional[Deliverer]],
        purge: Optional[Callable[[], PurgeReport]],
        *,
        poll_seconds: float = POLL_SECONDS,
        purge_every_seconds: float = PURGE_EVERY_SECONDS,
        first_purge_after_seconds: float = FIRST_PURGE_AFTER_SECONDS,
        start_delay_seconds: float = 0.0,
    ) -> None:
        """`deliverer` is called once, in the thread (None: no channel configured, only purge)."""
        self._make_deliverer = deliverer
        self._purge = purge
        self.poll_seconds = poll_seconds
        self.purge_every_seconds = purge_every_seconds
        self.first_purge_after_seconds = first_purge_after_seconds
        self.start_delay_seconds = start_delay_seconds
        self._stopping = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.passes = 0
        self.purges = 0

    def start(self) -> "StaffWorker":
        self._thread = threading.Thread(target=self.run, name="poreguide-staff-worker", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to finish its current step and wait for it (a send in progress ends first)."""
        self._stopping.set()
        DOORBELL.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run(self) -> None:
        if self._stopping.wait(self.start_delay_seconds):
            return
        ready, deliverer = False, None
        next_purge = time.monotonic() + self.first_purge_after_seconds
        while not self._stopping.is_set():
            if not ready:
                ready, deliverer = self._set_up()
            if deliverer is not None:
                self._guarded("delivery", deliverer.run_once)
                self.passes += 1
            if self._purge is not None and time.monotonic() >= next_purge:
                if self._guarded("retention purge", self._purge)[0]:
                    self.purges += 1
                next_purge = time.monotonic() + self.purge_every_seconds
            wait = self.poll_seconds
            if self._purge is not None:
                wait = max(0.0, min(wait, next_purge - time.monotonic()))
            DOORBELL.wait(wait)
            DOORBELL.clear()

    def _set_up(self) -> Tuple[bool, Optional[Deliverer]]:
        """(done, deliverer). A database that is down when the server starts is retried at the next
        poll; a setting that is wrong stays wrong until a restart, so it is reported once."""
        try:
            return True, self._make_deliverer()
        except StaffConfigError as error:
            logger.error("Staff notices are not sent: %s", error)
            return True, None
        except Exception as error:  # noqa: BLE001 - retried
            logger.error("Staff worker set-up failed (%s); retrying later.", type(error).__name__)
            return False, None

    @staticmethod
    def _guarded(what: str, step: Callable[[], Any]) -> Tuple[bool, Any]:
        """(True, result), or (False, None) after logging the failure."""
        try:
            return True, step()
        except StaffConfigError as error:  # its message names the variable, never a secret
            logger.error("Staff worker %s failed: %s", what, error)
        except Exception as error:  # noqa: BLE001 - the worker must outlive any failure; the next round retries
            logger.error("Staff worker %s failed (%s); retrying later.", what, type(error).__name__)
        return False, None


def from_environment() -> StaffWorker:
    """The worker for this process's settings: DATABASE_URL (requests, notices), the tracker store's
    URL (conversations), SMTP_URL/STAFF_EMAIL, SLACK_STAFF_CHANNEL, STAFF_PAGE_URL, RETENTION_*."""

    def deliverer() -> Optional[Deliverer]:
        from bot.consultations.repository import ConsultationRepository
        from bot.notices.config import SlackNoticeSettings, SmtpSettings, staff_page_url
        from bot.notices.outbox import EMAIL, SLACK, Outbox
        from bot.persistence.database import get_engine
        from bot.staff.mailer import Mailer
        from bot.staff.slack_notice import SlackNotifier

        channels: dict = {}
        smtp, slack = SmtpSettings.from_env(), SlackNoticeSettings.from_env()
        if smtp is not None:
            channels[EMAIL] = Mailer(smtp)
        if slack is not None:
            channels[SLACK] = SlackNotifier(slack)
        engine = get_engine()
        outbox = Outbox(engine)
        waiting = outbox.waiting()
        for channel in (EMAIL, SLACK):
            if waiting.get(channel) and channel not in channels:
                logger.warning(
                    "%d staff notice(s) wait for the %s settings (see .env.example).", waiting[channel], channel
                )
        if not channels:
            logger.info(
                "Staff notices: no channel configured (SMTP_URL and STAFF_EMAIL, SLACK_STAFF_CHANNEL); "
                "they are kept in the outbox until one is."
            )
            return None
        logger.info("Staff notices go by %s.", " and ".join(sorted(channels)))
        return Deliverer(outbox, ConsultationRepository(engine), channels, staff_page_url())

    def purge() -> PurgeReport:
        from bot.notices.config import RetentionSettings
        from bot.persistence.database import get_engine
        from bot.staff.retention import purge as run_purge
        from bot.staff.tracker_events import tracker_url

        return run_purge(get_engine(), get_engine(tracker_url()), RetentionSettings.from_env())

    return StaffWorker(deliverer, purge, start_delay_seconds=START_DELAY_SECONDS)


# --------------------------------------------------------------------------- the action server's hook

_current: Optional[StaffWorker] = None


def start_with_server(app: Any, *_: Any) -> None:
    """Sanic `main_process_start` listener (Sanic 21 passes the loop too, Sanic 25 does not)."""
    global _current
    from bot.notices.config import worker_enabled

    if not worker_enabled() or _current is not None:
        return
    try:
        _current = from_environment().start()
    except Exception as error:  # noqa: BLE001 - notices wait in the outbox; the server must still start
        logger.error("Staff worker not started (%s).", type(error).__name__)


def stop_with_server(app: Any, *_: Any) -> None:
    """Sanic `main_process_stop` listener: lets a send in progress finish."""
    global _current
    if _current is not None:
        _current.stop()
        _current = None


def attach(app: Any) -> None:
    """Start the worker with the action server's primary process and stop it with it."""
    app.register_listener(start_with_server, "main_process_start")
    app.register_listener(stop_with_server, "main_process_stop")


__all__ = ["StaffWorker", "PassReport", "attach", "from_environment"]
