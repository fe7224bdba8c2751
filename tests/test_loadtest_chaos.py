"""`make loadtest CHAOS=1` (issue 13, item 6): servers SIGKILLed during a load, and still every
turn answered within 5 s and every confirmed booking stored exactly once. First the pieces, on
their own and fast: the kill plan, the failover client against real loopback sockets, the person
who books, the booking audit and the verdict. Then a short chaos run against the REAL servers
(8 people x 8 turns, one kill of each), on PostgreSQL and Redis: skipped here when they are
absent, failed under CI=true. The full 50 x 20 run stays out of `make test` (CI time)."""

from __future__ import annotations

import asyncio
import datetime
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Tuple

import aiohttp
import pytest
from aiohttp import web

from bot import settings
from bot.consultations.submission import ConsultationRecord, NewConsultation
from tests.conftest import POSTGRES_URL
from tests.persistence_fixtures import REDIS_URL, postgres_admin, redis_lock_env  # noqa: F401 - fixture
from tooling import loadtest, loadtest_command
from tooling.loadtest_chaos import (
    ACTION_SERVER,
    KILL_WINDOW,
    RASA_REPLICA,
    TECHNICAL_PROBLEM_REPLY,
    BookingPerson,
    ChaosLoad,
    ChaosOptions,
    Outcome,
    Progress,
    audit_bookings,
    booking_roles,
    chaos_problems,
    load_report,
    plan_kills,
)
from tooling.ports import free_ports

BUDGET = 1.0  # a short reply budget keeps the client tests quick; the logic is the same as with 5 s


# --------------------------------------------------------------------------- the kill plan


def test_kills_are_seeded_bounded_spread_and_inside_the_window() -> None:
    plan = plan_kills(7, 2, 3)
    assert plan == plan_kills(7, 2, 3), "the same seed must give the same moments"
    assert plan != plan_kills(8, 2, 3)
    assert sorted(kill.target for kill in plan) == sorted([ACTION_SERVER] * 2 + [RASA_REPLICA] * 3)
    moments = [kill.at_progress for kill in plan]
    assert moments == sorted(moments) and len(set(moments)) == len(moments)
    assert KILL_WINDOW[0] < moments[0] and moments[-1] < KILL_WINDOW[1]
    slice_width = (KILL_WINDOW[1] - KILL_WINDOW[0]) / len(plan)
    assert all(later - earlier > 0.1 * slice_width for earlier, later in zip(moments, moments[1:]))
    assert plan_kills(1, 0, 0) == []


def test_too_many_kills_or_a_remote_service_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert loadtest_command.main(["--chaos", "--kill-rasa", "9"]) == 2
    assert "--kill-rasa must be 0 to 5" in capsys.readouterr().out
    assert loadtest_command.main(["--chaos", "--redis-url", "redis://example.com:6379/0"]) == 2
    assert "services must be on this machine" in capsys.readouterr().out


def test_the_share_of_people_who_book_is_kept_and_seeded() -> None:
    options = ChaosOptions(users=50, turns=20, think=1, seed=3, kill_actions=1, kill_rasa=1, booking_share=0.3)
    roles = booking_roles(options)
    assert len(roles) == 50 and sum(roles) == 15 and roles == booking_roles(options)


# --------------------------------------------------------------------------- failover within the budget


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _with_server(handler: Handler, body: Callable[[str], Awaitable[Any]]) -> Any:
    """Run `body(base_url)` while a real HTTP server on 127.0.0.1 answers the REST path with `handler`."""
    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    (port,) = free_ports(1)
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        return await body(f"http://127.0.0.1:{port}/webhooks/rest/webhook")
    finally:
        await runner.cleanup()


async def _answer(request: web.Request) -> web.Response:
    return web.json_response([{"recipient_id": (await request.json())["sender"], "text": "Microneedling is..."}])


def _failover(
    urls_of: Callable[[str], List[str]], handler: Handler = _answer
) -> Tuple[loadtest.Turn, List[Dict[str, Any]]]:
    async def body(live: str) -> Tuple[loadtest.Turn, List[Dict[str, Any]]]:
        async with aiohttp.ClientSession() as session:
            return await loadtest.send_with_failover(session, urls_of(live), 0, "chaos-test", "hi", BUDGET)

    return asyncio.run(_with_server(handler, body))


def _dead_url() -> str:
    (port,) = free_ports(1)  # nothing listens there: connections are refused, as after a SIGKILL
    return f"http://127.0.0.1:{port}/webhooks/rest/webhook"


def test_a_dead_replica_costs_one_retry_on_the_other_and_is_counted() -> None:
    turn, replies = _failover(lambda live: [_dead_url(), live])
    assert turn.error is None and turn.attempts == 2 and turn.latency < BUDGET
    assert replies[0]["text"].startswith("Microneedling")


def test_no_replica_answering_fails_the_turn_within_the_budget() -> None:
    started = time.monotonic()
    turn, replies = _failover(lambda live: [_dead_url(), _dead_url()])
    assert replies == [] and turn.error is not None and turn.error.startswith(f"no reply within {BUDGET:g} s")
    assert turn.attempts > 2, "both replicas should be tried again and again while the budget lasts"
    assert BUDGET <= turn.latency < BUDGET + 0.5 and time.monotonic() - started < BUDGET + 1.0


def test_a_reply_that_comes_too_late_is_a_failed_turn_not_a_retry() -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(BUDGET * 3)
        return await _answer(request)

    turn, _ = _failover(lambda live: [live, _dead_url()], slow)
    assert turn.error == f"no reply within {BUDGET:g} s (timeout)" and turn.attempts == 1
    assert turn.latency < BUDGET + 0.5


def test_the_technical_problem_reply_is_a_reply_and_is_not_sent_elsewhere() -> None:
    async def outage(request: web.Request) -> web.Response:
        return web.json_response([{"text": "Sorry, I'm having a technical problem and can't answer right now."}])

    turn, _ = _failover(lambda live: [live, _dead_url()], outage)
    assert turn.error == loadtest.TECHNICAL_PROBLEM_REPLY and turn.attempts == 1


# --------------------------------------------------------------------------- the person who books


def _bot(text: str) -> List[Dict[str, Any]]:
    return [{"text": text}]


def test_the_booking_person_answers_what_is_asked_and_retries_an_outage() -> None:
    person = BookingPerson("run1", 4)
    assert person.first_message() == "i'd like to book a consultation"
    email = person.email
    steps = [
        ("I'll take a few details... What name should the clinic use?", "Robin Hart"),
        ("What's the best email address or phone number to reach you?", email),
        ("Sorry, I'm having a technical problem and can't answer right now.", email),  # the same step again
        ("Which treatment would you like to discuss?", '/inform{"treatment": "microneedling"}'),
        ('When would suit you best (for example "weekday mornings")?', "weekday mornings"),
        ("May the clinic store your name and contact details to arrange this consultation?", "/affirm"),
        ("Thank you! Your consultation request is saved. Your reference is PG-7K3M9Q.", "what is microneedling?"),
        ("Microneedling uses tiny punctures...", "i'd like to book a consultation"),
    ]
    sent = person.first_message()
    for said, expected in steps:
        sent = person.next_message(sent, _bot(said))
        assert sent == expected, said
    assert person.confirmed == {"PG-7K3M9Q": email}
    assert person.email != email, "the next booking must have contact details of its own"
    assert person.next_message("x", []) == "x", "no reply at all: the same message again"


# --------------------------------------------------------------------------- the booking audit and the verdict


def _record(reference: str, conversation: str, email: str) -> ConsultationRecord:
    details = NewConsultation(name="Dana Fault", conversation_id=conversation, consent_given=True, email=email)
    return ConsultationRecord(reference, datetime.datetime.now(datetime.timezone.utc), details)


def test_every_confirmed_booking_stored_once_passes_the_audit() -> None:
    confirmed = {"PG-AAAAAA": ("c1", "a@example.com"), "PG-BBBBBB": ("c2", "b@example.com")}
    records = [
        _record("PG-AAAAAA", "c1", "a@example.com"),
        _record("PG-BBBBBB", "c2", "b@example.com"),
        _record("PG-CCCCCC", "c3", "c@example.com"),
    ]  # stored while the reply was lost: not confirmed
    assert audit_bookings(confirmed, records) == {
        "confirmed": 2,
        "stored": 3,
        "confirmed_stored_once": 2,
        "lost": 0,
        "duplicated": 0,
        "mismatched": 0,
        "stored_not_confirmed": 1,
    }


def test_lost_duplicated_and_mismatched_bookings_are_found() -> None:
    confirmed = {
        "PG-AAAAAA": ("c1", "a@example.com"),
        "PG-BBBBBB": ("c2", "b@example.com"),
        "PG-DDDDDD": ("c4", "d@example.com"),
    }
    records = [
        _record("PG-AAAAAA", "c1", "a@example.com"),
        _record("PG-EEEEEE", "c1", "a@example.com"),
        _record("PG-DDDDDD", "c9", "z@example.com"),
    ]
    audit = audit_bookings(confirmed, records)
    assert (audit["lost"], audit["duplicated"], audit["mismatched"], audit["confirmed_stored_once"]) == (1, 1, 1, 0)


def _summary(**changes: Any) -> Dict[str, Any]:
    summary: Dict[str, Any] = {
        "reply_budget_seconds": 5.0,
        "recovered": True,
        "answered_after_recovery": True,
        "turns": {"without_reply": 0},
        "kills": {"planned": 2, "done": 2, "moments": [{"name": "action server"}, {"name": "Rasa replica 2"}]},
        "restarts": {"action server": 1, "Rasa replica 1": 0, "Rasa replica 2": 1},
        "bookings": {"confirmed": 3, "lost": 0, "duplicated": 0, "mismatched": 0},
    }
    for key, value in changes.items():
        summary[key] = {**summary[key], **value} if isinstance(value, dict) else value
    return summary


def test_the_verdict_fails_on_any_broken_promise() -> None:
    assert chaos_problems(_summary(), anyone_books=True) == []
    cases = [
        (_summary(turns={"without_reply": 2}), "2 turns got no reply within 5 s"),
        (_summary(kills={"done": 1}), "only 1 of 2 kills"),
        (_summary(restarts={"Rasa replica 2": 0}), "Rasa replica 2 was killed 1 times but restarted 0"),
        (_summary(answered_after_recovery=False), "did not all come back"),
        (_summary(bookings={"lost": 1}), "1 confirmed bookings lost"),
        (_summary(bookings={"duplicated": 1}), "1 confirmed bookings duplicated"),
        (_summary(bookings={"confirmed": 0}), "no booking was confirmed"),
    ]
    for summary, expected in cases:
        problems = chaos_problems(summary, anyone_books=True)
        assert any(expected in problem for problem in problems), (expected, problems)


def test_the_chaos_run_draws_its_turns_over_time_with_the_unanswered_marked() -> None:
    load = ChaosLoad(Progress(3, started=100.0))
    load.turns = [
        loadtest.Turn(0.2, finished=101.0),
        loadtest.Turn(1.5, error=TECHNICAL_PROBLEM_REPLY, finished=102.0),
        loadtest.Turn(0.4, finished=103.0),
    ]
    options = ChaosOptions(users=1, turns=3, think=0, seed=1, kill_actions=0, kill_rasa=0, booking_share=0)
    outcome = Outcome(load, plan=[], kills=[], recovered=True, answered_after=True, wall_seconds=3.0)
    answered, failed, _ = load_report(options, outcome).latency_over_time()
    assert answered == [(1.0, 0.2), (3.0, 0.4)] and failed == [(2.0, 1.5)]


# --------------------------------------------------------------------------- a short chaos run, real servers


@pytest.mark.slow
def test_short_chaos_run_every_turn_answered_in_time_and_no_booking_lost_or_doubled(
    tmp_path: Path,
    redis_lock_env: Dict[str, str],  # noqa: F811 - skips (fails under CI) without Redis
) -> None:
    postgres_admin().dispose()  # skips (fails under CI) without PostgreSQL
    figures = tmp_path / "chaos.json"
    command = [
        sys.executable,
        "-m",
        "tooling.loadtest_command",
        "--chaos",
        "--users",
        "8",
        "--turns",
        "8",
        "--think",
        "3",
        "--kill-actions",
        "1",
        "--kill-rasa",
        "1",
        "--booking-share",
        "0.5",
        "--seed",
        "13",
        "--deadline",
        "300",
        "--require-services",
        "--postgres-url",
        POSTGRES_URL,
        "--redis-url",
        REDIS_URL,
        "--json",
        str(figures),
        "--png",
        str(tmp_path / "chaos.png"),
    ]
    result = subprocess.run(command, cwd=settings.PROJECT_ROOT, capture_output=True, text=True, timeout=900)
    output = result.stdout + result.stderr[-3000:]
    assert figures.exists(), output
    stats = json.loads(figures.read_text(encoding="utf-8"))
    turns, kills, bookings = stats["turns"], stats["kills"], stats["bookings"]
    assert {key: stats["deployment"][key] for key in ("replicas", "database", "lock_store")} == {
        "replicas": 2,
        "database": "postgresql",
        "lock_store": "redis",
    }, output
    assert (turns["planned"], turns["sent"], turns["replied_within_budget"]) == (64, 64, 64), output
    assert turns["max_ms"] < 5000, output
    assert (kills["done"], kills["action_server"], kills["rasa_replica"]) == (2, 1, 1), output
    killed = {kill["name"] for kill in kills["moments"]}
    assert all(stats["restarts"][name] >= 1 for name in killed), output
    assert stats["answered_after_recovery"], output
    assert (tmp_path / "chaos.png").read_bytes().startswith(b"\x89PNG"), output
    assert bookings["confirmed"] >= 1, output
    assert (bookings["lost"], bookings["duplicated"], bookings["mismatched"]) == (0, 0, 0), output
    assert bookings["confirmed_stored_once"] == bookings["confirmed"], output
    assert result.returncode == 0 and stats["ok"], output
