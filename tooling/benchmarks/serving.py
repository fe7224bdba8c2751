"""A real `rasa run` measured from the outside: cold start (launch to the first answered REST
message), turn latency of one user over REST (p50, p95), and the server's peak memory."""

from __future__ import annotations

import json
import statistics
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from bot.launcher import LOCALHOST, rasa_server
from tooling.benchmarks.processes import BenchmarkError, peak_rss_mb
from tooling.loadtest import percentile as nearest_rank
from tooling.ports import free_ports

TURNS_PER_CONVERSATION = 10  # a new sender id every 10 turns, as people come and go
REQUEST_TIMEOUT = 60.0
FIRST_REPLY_TIMEOUT = 120.0


@dataclass(frozen=True)
class ServerFigures:
    cold_start_s: float
    p50_ms: float
    p95_ms: float
    rss_mb: Optional[float]
    turns: int
    empty_replies: int


def post_message(base_url: str, sender: str, text: str) -> List[Dict[str, Any]]:
    """One message to the REST channel; the bot's replies (possibly none)."""
    request = urllib.request.Request(
        f"{base_url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
        return json.loads(response.read().decode("utf-8")) or []


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (p95 of 200 turns is the 190th fastest), as `make loadtest` reports it."""
    return nearest_rank(sorted(values), fraction * 100)


def _first_reply(base_url: str, text: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if post_message(base_url, "bench-cold-start", text):
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise BenchmarkError(f"no reply from {base_url} within {FIRST_REPLY_TIMEOUT:.0f} s")


def measure_server(
    name: str,
    model: Path,
    endpoints: Path,
    credentials: Path,
    first_message: str,
    messages: Sequence[str],
    turns: int,
    log_path: Path,
    extra_env: Optional[Dict[str, str]] = None,
    plain_rasa: bool = False,
) -> ServerFigures:
    """Launch `rasa run` on `model` (PoreGuide's `bot.rasa_run`, or Rasa's own with `plain_rasa`), time
    the first answer to `first_message`, then `turns` messages cycling through `messages` one after
    another; stop it and report."""
    (port,) = free_ports(1)
    base_url = f"http://{LOCALHOST}:{port}"
    started = time.perf_counter()
    try:
        with rasa_server(
            port,
            log_path,
            endpoints,
            credentials=credentials,
            model=model,
            timeout=FIRST_REPLY_TIMEOUT,
            extra_env=extra_env,
            plain_rasa=plain_rasa,
        ) as process:
            _first_reply(base_url, first_message, time.monotonic() + FIRST_REPLY_TIMEOUT)
            cold_start = time.perf_counter() - started
            latencies, empty = [], 0
            for turn in range(turns):
                sender = f"bench-{name}-{turn // TURNS_PER_CONVERSATION}"
                sent = time.perf_counter()
                empty += not post_message(base_url, sender, messages[turn % len(messages)])
                latencies.append((time.perf_counter() - sent) * 1000)
            rss = peak_rss_mb(process.pid)
    except RuntimeError as error:  # the launcher's "did not start"
        raise BenchmarkError(f"{name}: {error}") from error
    return ServerFigures(
        round(cold_start, 2),
        round(statistics.median(latencies), 1),
        round(percentile(latencies, 0.95), 1),
        rss,
        turns,
        empty,
    )
