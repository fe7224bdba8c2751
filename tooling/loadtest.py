"""`make loadtest`: N simulated people talk to a running PoreGuide over REST at the same time, each
for M turns of a realistic conversation (questions, follow-ups, a recommendation answered with its
buttons), within an overall deadline. Prints throughput, latency percentiles and errors; exits
non-zero if any turn failed. Loopback use only: it is a capacity check, not an attack tool.

`--chaos` (`make loadtest CHAOS=1`) instead starts servers of its own and kills some of them during
the run: see `tooling.loadtest_chaos`. The failover sending it needs lives here, next to `send`."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import aiohttp

from bot.analytics.charts import scatter_chart

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
TECHNICAL_PROBLEM = "technical problem"  # in every "could not answer" reply (channel guard, domain)
TECHNICAL_PROBLEM_REPLY = "technical-problem reply"  # what a turn answered that way counts as


@dataclass(frozen=True)
class Click:
    """Press a button of the previous reply: the first whose title contains one of `prefer`,
    else the first button; `fallback` is typed when the reply had no buttons."""

    prefer: Sequence[str] = ()
    fallback: str = "hi"


Step = Union[str, Click]

# Conversations people have with PoreGuide; each simulated person repeats one until its turns are used.
SCRIPTS: List[List[Step]] = [
    [
        "hi",
        "what is microneedling?",
        "how long is recovery after microneedling?",
        "and laser?",
        "any side effects?",
        "which can i do at home",
        "how much does it cost?",
        "thanks",
        "bye",
    ],
    [
        "which treatment is right for me?",
        Click(),
        Click(),
        Click(),
        Click(),
        Click(["None of these"]),
        Click(["No, thanks"], "no thanks"),
        "thank you",
    ],
    [
        "why do pores get bigger?",
        "compare microneedling and laser resurfacing",
        "which has the least downtime?",
        "who does exfoliation?",
        "are you a bot?",
        "what can you do?",
        "how do i contact the clinic?",
    ],
    [
        "i have oily skin with blackheads, what should I try?",
        Click(),
        "wait, what is microneedling?",
        Click(),
        Click(),
        Click(["None of these"]),
        Click(["No, thanks"], "no thanks"),
        "goodbye",
    ],
]


Point = Tuple[float, float]


@dataclass
class Turn:
    latency: float
    error: Optional[str] = None
    attempts: int = 1  # requests it took: more than one when a server was down and another was tried
    finished: float = field(default_factory=time.monotonic)  # made when the reply (or failure) came


@dataclass
class LoadReport:
    users: int
    turns_per_user: int
    wall_seconds: float
    turns: List[Turn] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    @property
    def planned(self) -> int:
        return self.users * self.turns_per_user

    def errors(self) -> Dict[str, int]:
        counts = Counter(turn.error for turn in self.turns if turn.error)
        unfinished = self.planned - len(self.turns)
        if unfinished:
            counts["not sent before the deadline"] = unfinished
        return dict(counts)

    def summary(self) -> Dict[str, Any]:
        latencies = sorted(turn.latency for turn in self.turns if turn.error is None)
        return {
            "users": self.users,
            "turns_per_user": self.turns_per_user,
            "planned_turns": self.planned,
            "completed_turns": len(self.turns),
            "wall_seconds": round(self.wall_seconds, 2),
            "throughput_per_second": round(len(self.turns) / self.wall_seconds, 2) if self.wall_seconds else 0.0,
            **{f"p{q}_ms": round(percentile(latencies, q) * 1000) for q in (50, 95, 99)},
            "max_ms": round(latencies[-1] * 1000) if latencies else 0,
            "errors": sum(self.errors().values()),
            "errors_by_kind": self.errors(),
        }

    def latency_over_time(self, window: float = 5.0) -> Tuple[List[Point], List[Point], List[Point]]:
        """(seconds since the start, latency) of the answered turns and of the failed ones, at the
        moment their reply came, and the p95 of the answered turns over the last `window` seconds."""
        answered = sorted((turn.finished - self.started, turn.latency) for turn in self.turns if turn.error is None)
        failed = [(turn.finished - self.started, turn.latency) for turn in self.turns if turn.error]
        moving_p95 = [
            (at, percentile(sorted(latency for when, latency in answered if at - window < when <= at), 95))
            for at, _ in answered
        ]
        return answered, failed, moving_p95

    def write_latency_over_time(self, path: Path) -> None:
        """`latency_over_time_png` into `path` (its folder made if missing)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.latency_over_time_png())

    def latency_over_time_png(self, window: float = 5.0) -> bytes:
        """`latency_over_time` as a chart: where a run slowed down, and when."""
        answered, failed, moving_p95 = self.latency_over_time(window)
        return scatter_chart(
            answered,
            f"{self.users} users x {self.turns_per_user} turns: latency over time",
            "seconds since the start",
            "latency (s)",
            marked=failed,
            marked_label="failed",
            line=moving_p95,
            line_label=f"p95 over {window:g} s",
        )


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def next_message(step: Step, buttons: List[Dict[str, Any]]) -> str:
    if isinstance(step, str):
        return step
    for button in buttons:
        if any(wanted.lower() in str(button.get("title", "")).lower() for wanted in step.prefer):
            return button["payload"]
    return buttons[0]["payload"] if buttons else step.fallback


def reply_problem(replies: Any) -> Optional[str]:
    """Why a REST reply counts as an error, or None if it is a real answer."""
    if not isinstance(replies, list) or not any(reply.get("text") for reply in replies):
        return "empty reply"
    if any(TECHNICAL_PROBLEM in str(reply.get("text", "")).lower() for reply in replies):
        return TECHNICAL_PROBLEM_REPLY
    return None


async def post_message(
    session: aiohttp.ClientSession, url: str, sender: str, message: str, timeout: Optional[float] = None
) -> Tuple[Optional[str], List[Dict[str, Any]]]:
    """One REST request: (None, replies), or (why it failed, []) for an HTTP error, a timeout or a
    connection problem. `timeout` (s) overrides the session's."""
    request_timeout = aiohttp.ClientTimeout(total=timeout) if timeout is not None else None
    try:
        async with session.post(url, json={"sender": sender, "message": message}, timeout=request_timeout) as response:
            if response.status != 200:
                return f"HTTP {response.status}", []
            replies = await response.json(content_type=None)
    except asyncio.TimeoutError:
        return "timeout", []
    except (aiohttp.ClientError, ValueError) as error:
        return type(error).__name__, []
    return None, replies if isinstance(replies, list) else []


def reply_buttons(replies: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [button for reply in replies for button in reply.get("buttons") or []]


async def send(
    session: aiohttp.ClientSession, url: str, sender: str, message: str
) -> Tuple[Turn, List[Dict[str, Any]]]:
    started = time.monotonic()
    error, replies = await post_message(session, url, sender, message)
    if error:
        return Turn(time.monotonic() - started, error), []
    return Turn(time.monotonic() - started, reply_problem(replies)), reply_buttons(replies)


def worth_another_server(error: str) -> bool:
    """A refused or dropped connection, or a 5xx: the server is down or dying, so another one
    may answer. A timeout is not: the budget is spent, and the message may still be handled."""
    return error != "timeout" and not error.startswith("HTTP 4")


async def send_with_failover(
    session: aiohttp.ClientSession,
    urls: Sequence[str],
    first: int,
    sender: str,
    message: str,
    budget: float,
    pause: float = 0.1,
    in_flight: Optional[Counter] = None,
) -> Tuple[Turn, List[Dict[str, Any]]]:
    """Send to `urls[first]`, and on a refused or dropped connection to the next server, round
    and round, until one answers or `budget` seconds from the first try are spent (as a load
    balancer in front of several Rasa servers does). The Turn's latency covers every attempt.
    `in_flight` counts the requests under way per URL (the chaos run kills a server mid-request)."""
    started = time.monotonic()
    attempts, index = 0, first
    error: Optional[str] = "timeout"
    while True:
        remaining = budget - (time.monotonic() - started)
        if remaining <= 0:
            break
        attempts += 1
        url = urls[index % len(urls)]
        if in_flight is not None:
            in_flight[url] += 1
        try:
            error, replies = await post_message(session, url, sender, message, timeout=remaining)
        finally:
            if in_flight is not None:
                in_flight[url] -= 1
        if error is None:
            return Turn(time.monotonic() - started, reply_problem(replies), attempts), replies
        if not worth_another_server(error):
            break
        index += 1
        if index % len(urls) == first % len(urls):  # every server refused: wait a moment before the next round
            await asyncio.sleep(min(pause, max(0.0, budget - (time.monotonic() - started))))
    return Turn(time.monotonic() - started, f"no reply within {budget:g} s ({error})", max(attempts, 1)), []


async def simulate_user(session: aiohttp.ClientSession, url: str, index: int, turns: int, report: LoadReport) -> None:
    script = SCRIPTS[index % len(SCRIPTS)]
    sender = f"loadtest-{index}-{uuid.uuid4().hex[:8]}"
    buttons: List[Dict[str, Any]] = []
    for number in range(turns):
        turn, buttons = await send(session, url, sender, next_message(script[number % len(script)], buttons))
        report.turns.append(turn)


async def run_load(base_url: str, users: int, turns: int, timeout: float, deadline: float) -> LoadReport:
    """All `users` at once, each sending `turns` messages one after another; stops at `deadline` s."""
    url = f"{base_url.rstrip('/')}/webhooks/rest/webhook"
    report = LoadReport(users, turns, 0.0)
    started = report.started
    connector = aiohttp.TCPConnector(limit=users)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        tasks = [asyncio.ensure_future(simulate_user(session, url, i, turns, report)) for i in range(users)]
        _, pending = await asyncio.wait(tasks, timeout=deadline)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    report.wall_seconds = time.monotonic() - started
    return report


def format_summary(summary: Dict[str, Any]) -> str:
    lines = [
        f"users: {summary['users']}  turns per user: {summary['turns_per_user']}  "
        f"completed turns: {summary['completed_turns']}/{summary['planned_turns']}  in {summary['wall_seconds']} s",
        f"throughput: {summary['throughput_per_second']} turns/s",
        f"latency: p50 {summary['p50_ms']} ms  p95 {summary['p95_ms']} ms  p99 {summary['p99_ms']} ms  "
        f"max {summary['max_ms']} ms",
        f"errors: {summary['errors']}",
    ]
    lines += [f"  {kind}: {count}" for kind, count in sorted(summary["errors_by_kind"].items())]
    return "\n".join(lines)
