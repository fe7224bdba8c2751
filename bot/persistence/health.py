"""The health of this process's stores and services, as the /health endpoint reports it.

Rasa wraps every tracker store in a FailSafeTrackerStore that falls back to memory when the
database fails: people still get answers, but conversations stop being saved and lose their
context. That must not go unnoticed, so the stores record each failure here (logged at ERROR)
and each success clears it; /health also re-checks each store with a probe."""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Dict, List

logger = logging.getLogger(__name__)

Probe = Callable[[], None]  # returns when the component works, raises when it does not


class ProbeSkipped(Exception):
    """Raised by a probe that cannot tell (what it asks is down): the component shows as
    "unknown", which is not a problem of its own; the component that is down is one."""


def describe_error(error: BaseException) -> str:
    """A one-line reason without personal data: SQLAlchemy's messages carry the statement and
    its parameters (message texts, slots), so only the driver's first line is kept."""
    original = getattr(error, "orig", None)
    detail = str(original if original is not None else error).strip().splitlines()
    reason = detail[0][:200] if detail and original is not None else ""
    return f"{type(error).__name__}: {reason}" if reason else type(error).__name__


class HealthRegistry:
    """Problems per component ("tracker_store", "lock_store") and the probes that re-check them."""

    def __init__(self) -> None:
        self._problems: Dict[str, str] = {}
        self._unknown: Dict[str, str] = {}
        self._probes: Dict[str, Probe] = {}
        self._lock = threading.Lock()

    def register_probe(self, component: str, probe: Probe) -> None:
        with self._lock:
            self._probes[component] = probe

    def components(self) -> List[str]:
        with self._lock:
            return sorted(self._probes)

    def failed(self, component: str, reason: str, consequence: str = "") -> None:
        """Record and log (ERROR, every time: each failure may be a lost turn) a failure."""
        with self._lock:
            self._problems[component] = reason
        logger.error("%s failed: %s%s", component, reason, f" ({consequence})" if consequence else "")

    def succeeded(self, component: str) -> None:
        with self._lock:
            recovered = self._problems.pop(component, None) is not None
        if recovered:
            logger.warning("%s works again", component)

    def problems(self) -> Dict[str, str]:
        with self._lock:
            return dict(self._problems)

    def probe(self, component: str) -> None:
        """Run `component`'s probe once and record the outcome."""
        with self._lock:
            probe = self._probes[component]
        started = time.monotonic()
        try:
            probe()
        except ProbeSkipped as skipped:
            with self._lock:
                self._problems.pop(component, None)
                self._unknown[component] = str(skipped)
            return
        except Exception as error:  # noqa: BLE001 - any failure makes the component unhealthy
            self.failed(component, describe_error(error), f"health probe, {time.monotonic() - started:.1f} s")
        else:
            self.succeeded(component)
        with self._lock:
            self._unknown.pop(component, None)

    def report(self) -> Dict[str, object]:
        """{"status": "ok"} or {"status": "degraded", "problems": [...]}, with each component's state."""
        problems = self.problems()
        with self._lock:
            unknown = set(self._unknown)
        checks = {
            component: ("failing" if component in problems else "unknown" if component in unknown else "ok")
            for component in self.components()
        }
        checks.update({component: "failing" for component in problems})
        if not problems:
            return {"status": "ok", "checks": checks}
        return {
            "status": "degraded",
            "checks": checks,
            # Only the kind of error: /health is public, the details (hosts, ports) are in the log.
            "problems": [
                f"{component} unavailable ({reason.split(':', 1)[0]})" for component, reason in sorted(problems.items())
            ],
        }


HEALTH = HealthRegistry()
