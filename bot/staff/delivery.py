"""One pass of the sender: every due notice of every configured channel is claimed, rendered and
delivered, or rescheduled with exponential backoff (base doubling per attempt, capped, jittered)
so a dead server is asked less and less often yet never given up on.

When a channel is down, the pass stops calling it and reschedules the rest of its notices the
same way: one connection attempt per pass, not one per waiting notice."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Dict, Optional, Protocol

from bot.consultations.repository import ConsultationRepository
from bot.notices.outbox import REQUEST, Notice, Outbox, utc_now
from bot.staff.delivery_errors import ChannelDown, DeliveryFailed
from bot.staff.messages import NoticeText, red_flag_notice, request_notice

logger = logging.getLogger(__name__)

RETRY_BASE = timedelta(seconds=15)
RETRY_CAP = timedelta(minutes=30)
# A sender that dies mid-delivery leaves its claim; after this, another pass sends the notice again.
LEASE = timedelta(minutes=5)
LOUD_AFTER_ATTEMPTS = 5  # from this attempt on a failure is logged as an ERROR: someone must look


class Channel(Protocol):
    channel: str

    def deliver(self, text: NoticeText) -> None:
        """Raises ChannelDown or DeliveryFailed."""


def retry_delay(
    attempts: int,
    base: timedelta = RETRY_BASE,
    cap: timedelta = RETRY_CAP,
    jitter: Callable[[], float] = lambda: random.uniform(0.9, 1.1),
) -> timedelta:
    """base, 2 x base, 4 x base... after the 1st, 2nd, 3rd failed attempt, at most `cap`; the jitter
    keeps several action servers from retrying in step."""
    seconds = min(cap.total_seconds(), base.total_seconds() * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=seconds * jitter())


@dataclass
class PassReport:
    sent: int = 0
    failed: int = 0
    dropped: int = 0
    down: Dict[str, str] = field(default_factory=dict)  # channel: why


class Deliverer:
    """Delivers the outbox of one database through the given channels."""

    def __init__(
        self,
        outbox: Outbox,
        requests: ConsultationRepository,
        channels: Dict[str, Channel],
        staff_page_url: str = "",
        *,
        retry_base: timedelta = RETRY_BASE,
        retry_cap: timedelta = RETRY_CAP,
        lease: timedelta = LEASE,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.outbox = outbox
        self.requests = requests
        self.channels = channels
        self.staff_page_url = staff_page_url
        self.retry_base, self.retry_cap, self.lease, self.clock = retry_base, retry_cap, lease, clock

    def run_once(self) -> PassReport:
        report = PassReport()
        if not self.channels:
            return report
        for notice in self.outbox.due(list(self.channels), self.clock()):
            now = self.clock()
            if not self.outbox.claim(notice.id, now, self.lease):
                continue  # another sender has it
            attempt = notice.attempts + 1
            if notice.channel in report.down:
                self._failed(notice, attempt, report.down[notice.channel], report)
                continue
            text = self._render(notice)
            if text is None:
                self.outbox.drop(notice.id)
                report.dropped += 1
                logger.info("Staff notice %d dropped: its consultation request no longer exists.", notice.id)
                continue
            try:
                self.channels[notice.channel].deliver(text)
            except ChannelDown as error:
                report.down[notice.channel] = str(error)
                self._failed(notice, attempt, str(error), report)
            except DeliveryFailed as error:
                self._failed(notice, attempt, str(error), report)
            else:
                self.outbox.mark_sent(notice.id, self.clock())
                report.sent += 1
                logger.info(
                    "Staff notice %d (%s, %s) sent after %d attempt(s).",
                    notice.id,
                    notice.kind,
                    notice.channel,
                    attempt,
                )
        return report

    def _render(self, notice: Notice) -> Optional[NoticeText]:
        if notice.kind == REQUEST:
            record = self.requests.get(notice.request_id) if notice.request_id is not None else None
            return request_notice(record, self.staff_page_url) if record is not None else None
        return red_flag_notice(notice.level, notice.created_at, notice.conversation_id or "", self.staff_page_url)

    def _failed(self, notice: Notice, attempt: int, reason: str, report: PassReport) -> None:
        delay = retry_delay(attempt, self.retry_base, self.retry_cap)
        self.outbox.mark_failed(notice.id, self.clock() + delay, reason)
        report.failed += 1
        logger.log(
            logging.ERROR if attempt >= LOUD_AFTER_ATTEMPTS else logging.WARNING,
            "Staff notice %d (%s, %s) not delivered, attempt %d: %s; next try in %.0f s.",
            notice.id,
            notice.kind,
            notice.channel,
            attempt,
            reason,
            delay.total_seconds(),
        )
