"""Sign-in attempts, limited: after PER_ACCOUNT failures for one account name, or PER_ADDRESS
failures from one client address, within WINDOW, further attempts are refused (HTTP 429) without
checking the password until the oldest failure leaves the window.

Per account stops guessing one password from many addresses; per address stops trying one
password on many accounts. In memory: the page is one process, and a restart forgetting the
counts costs an attacker a restart of our server, which they cannot cause. Memory is bounded:
at most MAX_KEYS names and addresses are tracked, the oldest dropped first."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from typing import Callable, Deque

PER_ACCOUNT = 5
PER_ADDRESS = 20
WINDOW_SECONDS = 15 * 60.0
MAX_KEYS = 10_000


class LoginRateLimiter:
    def __init__(
        self,
        per_account: int = PER_ACCOUNT,
        per_address: int = PER_ADDRESS,
        window_seconds: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_account, self.per_address, self.window = per_account, per_address, window_seconds
        self.clock = clock
        self._failures: "OrderedDict[str, Deque[float]]" = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, account: str, address: str) -> float:
        """Seconds until an attempt for `account` from `address` is allowed again; 0 when it is now."""
        now = self.clock()
        with self._lock:
            return max(
                self._wait(f"account:{account}", self.per_account, now),
                self._wait(f"address:{address}", self.per_address, now),
            )

    def failed(self, account: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key in (f"account:{account}", f"address:{address}"):
                times = self._failures.pop(key, None) or deque()
                times.append(now)
                self._failures[key] = times  # most recently failed last
            while len(self._failures) > MAX_KEYS:
                self._failures.popitem(last=False)

    def succeeded(self, account: str) -> None:
        """The account's own count starts again; the address's does not (one right password among
        many wrong ones on other accounts is still spraying)."""
        with self._lock:
            self._failures.pop(f"account:{account}", None)

    def _wait(self, key: str, limit: int, now: float) -> float:
        times = self._failures.get(key)
        if not times:
            return 0.0
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) < limit:
            return 0.0
        return self.window - (now - times[-limit])
