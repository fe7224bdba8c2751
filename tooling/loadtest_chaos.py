"""`make loadtest CHAOS=1` (`python -m tooling.loadtest_command --chaos`): the load test with servers dying
under it. It starts a PoreGuide of its own on 127.0.0.1: one action server and two Rasa replicas
sharing one conversation store (a new PostgreSQL database, else a SQLite file) and the Redis lock
store (else each replica locks in memory), each kept alive by the launcher's `Supervisor`. Then
N people talk to it for M turns each, pausing between messages as people reading replies do;
a share of them book consultations. At seeded random moments of the run the action server, and
one Rasa replica at a time, are SIGKILLed (a bounded number of times) and the supervisor restarts
them; the client fails over to the other replica, as a load balancer would.

Why: a crash must cost a person nothing but a slower reply, and never a booking. It checks that
every turn got a reply within the budget (5 s, retries on the other replica included) and that
every booking confirmed to a person (the reference in a reply) is in the consultation table
exactly once. Prints the counts, writes them to var/loadtest/chaos-<date>.json, exits 1 if a
check failed. Loopback only; no message text or contact detail is logged."""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import datetime
import json
import logging
import os
import random
import shutil
import signal
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple
from urllib.parse import urlsplit

import aiohttp
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot import launcher, settings
from bot.consultations.references import PATTERN as REFERENCE
from bot.consultations.repository import ConsultationRepository
from bot.consultations.submission import ConsultationRecord
from bot.knowledge.schema import load_knowledge
from bot.knowledge.seed import seed_database
from bot.launcher import LOCALHOST, Supervisor
from tooling.loadtest import (
    LOOPBACK_HOSTS,
    SCRIPTS,
    TECHNICAL_PROBLEM,
    TECHNICAL_PROBLEM_REPLY,
    LoadReport,
    Turn,
    next_message,
    percentile,
    reply_buttons,
    send_with_failover,
)
from tooling.ports import free_ports

logger = logging.getLogger("tooling.loadtest.chaos")

MODEL = settings.TRAINED_MODEL
RESULTS_DIR = settings.VAR_DIR / "loadtest"
REPLICAS = 2
REPLY_BUDGET_SECONDS = 5.0
MAX_KILLS = 5  # per kind of server: chaos, not a siege
KILL_WINDOW = (0.15, 0.8)  # kills fall between these shares of the planned turns
RECOVERY_TIMEOUT_SECONDS = 240.0  # for every killed server to be back after the load
IN_FLIGHT_WAIT_SECONDS = 3.0  # a kill waits this long for a request under way, to cut one (the hard case)
# REST and /health only: no channel that calls out (Telegram, Slack) even if its variables are set
CREDENTIALS = "bot.rasa_overrides.rest_channel.GuardedRestInput:\nbot.channels.health.HealthInput:\n"
DEFAULT_POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
DEFAULT_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ACTION_SERVER, RASA_REPLICA = "action server", "Rasa replica"
BOOK = "i'd like to book a consultation"
NAMES = ["Dana Fault", "Jane Tester", "Alex Morgan", "Sam Rivera", "Robin Hart", "Kim Walker"]
KNOWLEDGE_QUESTION = "what is microneedling?"


# --------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("chaos run (--chaos): own servers on 127.0.0.1, some SIGKILLed during the run")
    group.add_argument("--chaos", action="store_true", help="start servers of its own and kill some during the run")
    group.add_argument("--think", type=float, default=20.0, help="mean seconds a person pauses between messages")
    group.add_argument("--seed", type=int, help="makes the kill moments and pauses repeatable (default: random)")
    group.add_argument("--kill-actions", type=int, default=2, help=f"SIGKILLs of the action server (0-{MAX_KILLS})")
    group.add_argument(
        "--kill-rasa", type=int, default=2, help=f"SIGKILLs of a Rasa replica, one at a time (0-{MAX_KILLS})"
    )
    group.add_argument("--booking-share", type=float, default=0.3, help="share of the people who book consultations")
    group.add_argument(
        "--reply-budget", type=float, default=REPLY_BUDGET_SECONDS, help="seconds a turn may take, retries included"
    )
    group.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="PostgreSQL server for a database of the run's own ('none': SQLite)",
    )
    group.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="Redis for the lock store ('none': in memory)")
    group.add_argument(
        "--require-services", action="store_true", help="fail instead of falling back to SQLite or in-memory locks"
    )


def run(args: argparse.Namespace) -> int:
    """`--chaos`: check the options, run, print and save the figures; 0 only if every check held."""
    problems = option_problems(args)
    if problems:
        print("error: " + "; ".join(problems))
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1_000_000)
    options = ChaosOptions(
        users=args.users,
        turns=args.turns,
        think=args.think,
        seed=seed,
        kill_actions=args.kill_actions,
        kill_rasa=args.kill_rasa,
        booking_share=args.booking_share,
        budget=args.reply_budget,
        deadline=args.deadline,
    )
    started = datetime.datetime.now()
    work = RESULTS_DIR / f"chaos-{started:%Y-%m-%d-%H%M%S}"
    try:
        summary = run_chaos(
            options,
            work,
            none_if_off(args.postgres_url),
            none_if_off(args.redis_url),
            args.require_services,
            png=args.png,
        )
    except ServiceMissing as error:
        print(f"error: {error}")
        return 2
    except RuntimeError as error:  # a server that did not start: its log says why
        print(f"error: {error}")
        return 1
    print(format_chaos(summary), flush=True)
    path = args.json or RESULTS_DIR / f"chaos-{started:%Y-%m-%d-%H%M%S}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(f"figures: {path}\nlatency over time: {args.png}\nserver logs: {work}")
    return 0 if summary["ok"] else 1


def option_problems(args: argparse.Namespace) -> List[str]:
    problems = []
    if not MODEL.exists():
        problems.append(f"no trained model at {MODEL}: run `make train` first")
    for name in ("kill_actions", "kill_rasa"):
        if not 0 <= getattr(args, name) <= MAX_KILLS:
            problems.append(f"--{name.replace('_', '-')} must be 0 to {MAX_KILLS}")
    if not 0 <= args.booking_share <= 1 or args.think < 0 or args.reply_budget <= 0:
        problems.append("--booking-share must be 0 to 1, --think at least 0, --reply-budget above 0")
    for url in (args.postgres_url, args.redis_url):
        if none_if_off(url) and urlsplit(url).hostname not in LOOPBACK_HOSTS:
            problems.append(f"services must be on this machine ({', '.join(LOOPBACK_HOSTS)})")
    return problems


def none_if_off(url: Optional[str]) -> Optional[str]:
    return None if not url or url.strip().lower() == "none" else url.strip()


# --------------------------------------------------------------------------- the run's own services


class ServiceMissing(RuntimeError):
    """PostgreSQL or Redis is absent while --require-services asked for them."""


@contextlib.contextmanager
def run_database(postgres_url: Optional[str], work: Path, required: bool) -> Iterator[Tuple[str, str]]:
    """(URL, kind) of a database of this run's own, for knowledge, consultations and conversations
    alike (one DATABASE_URL, as `make serve` uses): a new PostgreSQL database, dropped after the
    run, or a SQLite file in `work` when PostgreSQL is not there."""
    admin = None
    if postgres_url:
        admin = create_engine(
            postgres_url, future=True, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
        )
        try:
            admin.connect().close()
        except Exception as error:  # noqa: BLE001 - any failure means the server is not usable
            admin.dispose()
            admin = None
            reason = f"PostgreSQL not reachable ({type(error).__name__})"
            if required:
                raise ServiceMissing(reason) from None
            logger.warning("%s: conversations and bookings go to SQLite", reason)
    elif required:
        raise ServiceMissing("PostgreSQL required but --postgres-url is none")
    if admin is None:
        yield f"sqlite:///{work / 'chaos.db'}", "sqlite"
        return
    name = f"poreguide_chaos_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False), "postgresql"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def lock_store_env(redis_url: Optional[str], required: bool) -> Iterator[Tuple[Dict[str, str], str]]:
    """(environment, kind) for the replicas' lock store: Redis under a key prefix of this run's
    own (its keys deleted after), else per-process locks in memory."""
    import redis

    client = None
    if redis_url:
        client = redis.Redis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=5)
        try:
            client.ping()
        except redis.RedisError as error:
            client.close()
            client = None
            reason = f"Redis not reachable ({type(error).__name__})"
            if required:
                raise ServiceMissing(reason) from None
            logger.warning("%s: each replica locks its conversations in memory only", reason)
    elif required:
        raise ServiceMissing("Redis required but --redis-url is none")
    if client is None or redis_url is None:
        yield {"LOCK_STORE_URL": ""}, "memory"
        return
    prefix = f"poreguidechaos{uuid.uuid4().hex[:10]}"
    try:
        yield {"LOCK_STORE_URL": redis_url, "LOCK_STORE_KEY_PREFIX": prefix}, "redis"
    finally:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
        client.close()


# --------------------------------------------------------------------------- the servers


class ChaosServers:
    """The action server and the Rasa replicas, each under the launcher's Supervisor, on free
    loopback ports. The model is copied first, so a `make train` meanwhile cannot change it."""

    def __init__(self, work: Path, database_url: str, rasa_env: Dict[str, str]) -> None:
        work.mkdir(parents=True, exist_ok=True)
        self.work, self.database_url, self.rasa_env = work, database_url, rasa_env
        self.actions: Optional[Supervisor] = None
        self.replicas: List[Supervisor] = []
        self.urls: List[str] = []  # the replicas' REST webhooks
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> "ChaosServers":
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    def _start(self) -> None:
        model = self.work / MODEL.name
        shutil.copyfile(MODEL, model)
        self._stack.callback(model.unlink, missing_ok=True)  # after the servers stop (callbacks run last-in first-out)
        credentials = self.work / "credentials.yml"
        credentials.write_text(CREDENTIALS, encoding="utf-8")
        action_port, *rasa_ports = free_ports(1 + REPLICAS)
        self.actions = self._stack.enter_context(
            launcher.supervised_action_server(
                action_port, self.work / "actions.log", extra_env={"DATABASE_URL": self.database_url}
            )
        )
        endpoints = launcher.endpoints_file(action_port, self.work)
        for number, port in enumerate(rasa_ports, start=1):
            command, env, health_url = launcher._rasa_server_command(  # noqa: SLF001 - the launcher's own command line
                port, endpoints, credentials, model, self.rasa_env, LOCALHOST
            )
            self.replicas.append(
                Supervisor(
                    f"{RASA_REPLICA} {number}", command, env, self.work / f"rasa-{number}.log", health_url, timeout=300
                )
            )
            self.urls.append(f"http://{LOCALHOST}:{port}/webhooks/rest/webhook")
        for replica in self.replicas:
            self._stack.callback(replica.stop)
        with concurrent.futures.ThreadPoolExecutor(REPLICAS) as pool:  # each loads the model: ~30 s side by side
            for future in [pool.submit(replica.start) for replica in self.replicas]:
                future.result()

    def all(self) -> List[Supervisor]:
        return ([self.actions] if self.actions else []) + self.replicas


async def is_up(session: aiohttp.ClientSession, server: Supervisor) -> bool:
    """Its process runs and its health URL answers 200."""
    process = server.process
    if process is None or process.poll() is not None:
        return False
    try:
        async with session.get(server.health_url, timeout=aiohttp.ClientTimeout(total=2)) as response:
            return response.status == 200
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return False


# --------------------------------------------------------------------------- the kills


@dataclass(frozen=True)
class PlannedKill:
    at_progress: float  # share of the planned turns sent when it happens
    target: str  # ACTION_SERVER or RASA_REPLICA


def plan_kills(
    seed: int, action_kills: int, rasa_kills: int, window: Tuple[float, float] = KILL_WINDOW
) -> List[PlannedKill]:
    """The kills in order: kinds shuffled, each at a random point of its own equal slice of the
    window, so they are random but never bunched (a server gets time to come back)."""
    rng = random.Random(f"kills-{seed}")
    targets = [ACTION_SERVER] * action_kills + [RASA_REPLICA] * rasa_kills
    rng.shuffle(targets)
    start, end = window
    width = (end - start) / max(1, len(targets))
    return [
        PlannedKill(round(start + width * (slot + rng.uniform(0.1, 0.9)), 3), target)
        for slot, target in enumerate(targets)
    ]


@dataclass
class Kill:
    target: str
    name: str
    pid: int
    at_seconds: float
    at_progress: float
    requests_in_flight: int  # on the killed replica; for the action server, on all replicas


async def carry_out_kills(
    plan: Sequence[PlannedKill],
    servers: ChaosServers,
    session: aiohttp.ClientSession,
    load: "ChaosLoad",
    kills: List[Kill],
    seed: int,
) -> None:
    """SIGKILL each planned target once the run reaches its moment, at the hard instant: while a
    request is under way (waiting up to IN_FLIGHT_WAIT_SECONDS for one). Kills not reached before
    the load ends are skipped, and reported."""
    rng = random.Random(f"victims-{seed}")
    for planned in plan:
        while load.progress.share() < planned.at_progress:
            await asyncio.sleep(0.05)
        candidates = await killable(planned.target, servers, session)
        victim, cut = await mid_request(candidates, servers, load.in_flight, rng)
        pid = victim.pid
        if pid is None:
            continue
        os.kill(pid, signal.SIGKILL)
        kills.append(
            Kill(
                planned.target,
                victim.name,
                pid,
                round(load.progress.elapsed(), 1),
                round(load.progress.share(), 3),
                cut,
            )
        )
        logger.info(
            "SIGKILLed the %s (pid %d) at %.0f%% of the turns, %d requests under way",
            victim.name,
            pid,
            100 * load.progress.share(),
            cut,
        )


async def killable(target: str, servers: ChaosServers, session: aiohttp.ClientSession) -> List[Supervisor]:
    """The servers of kind `target` that may be killed, once there are any: the action server
    when it is up (not still restarting); a Rasa replica only while every replica is up, so one
    is always serving (a kill of the whole service is an outage, not a failover)."""
    while True:
        if target == ACTION_SERVER:
            if servers.actions and await is_up(session, servers.actions):
                return [servers.actions]
        elif all([await is_up(session, replica) for replica in servers.replicas]):
            return list(servers.replicas)
        await asyncio.sleep(0.25)


async def mid_request(
    candidates: List[Supervisor],
    servers: ChaosServers,
    in_flight: Counter,
    rng: random.Random,
    wait: float = IN_FLIGHT_WAIT_SECONDS,
) -> Tuple[Supervisor, int]:
    """A victim among `candidates` with a request under way (on it, for a replica; on any replica
    for the action server, which then is likely running an action), if one comes within `wait` s."""

    def under_way(server: Supervisor) -> int:
        if server in servers.replicas:
            return in_flight[servers.urls[servers.replicas.index(server)]]
        return sum(in_flight.values())

    deadline = time.monotonic() + wait
    while True:
        busy = [(server, under_way(server)) for server in candidates if under_way(server) > 0]
        if busy:
            return rng.choice(busy)
        if time.monotonic() >= deadline:
            return rng.choice(candidates), 0
        await asyncio.sleep(0.01)


async def wait_for_recovery(servers: ChaosServers, session: aiohttp.ClientSession, timeout: float) -> bool:
    """True once every server runs and answers its health check again."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all([await is_up(session, server) for server in servers.all()]):
            return True
        await asyncio.sleep(0.5)
    return False


# --------------------------------------------------------------------------- the people


@dataclass
class Progress:
    planned: int
    started: float = field(default_factory=time.monotonic)
    sent: int = 0

    def share(self) -> float:
        return self.sent / self.planned if self.planned else 1.0

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def reply_text(replies: List[Dict[str, Any]]) -> str:
    return "\n".join(str(reply.get("text") or "") for reply in replies)


class BookingPerson:
    """Books consultations by answering whatever the bot asks, as a person would: a step answered
    with the technical-problem reply is sent again, anything unexpected starts the booking over.
    Each booking has contact details of its own; a confirmed one is followed by a question, then
    the next booking."""

    def __init__(self, run_id: str, index: int) -> None:
        self.run_id, self.index = run_id, index
        self.booking = 0  # number of the booking under way
        self.confirmed: Dict[str, str] = {}  # reference -> contact detail it was confirmed for

    @property
    def email(self) -> str:
        return f"chaos.{self.run_id}.{self.index}.{self.booking}@example.com"

    def first_message(self) -> str:
        return BOOK

    def next_message(self, sent: str, replies: List[Dict[str, Any]]) -> str:
        said = reply_text(replies)
        reference = REFERENCE.search(said)
        if reference:
            self.confirmed.setdefault(reference.group(0), self.email)
            self.booking += 1
            return KNOWLEDGE_QUESTION
        if not said.strip() or TECHNICAL_PROBLEM in said.lower():
            return sent  # try that step again
        for question, answer in (
            ("What name should", NAMES[self.index % len(NAMES)]),
            ("email address or phone number", self.email),
            ("Which treatment would you like", '/inform{"treatment": "microneedling"}'),
            ("When would suit you best", "weekday mornings"),
            ("May the clinic store", "/affirm"),
        ):
            if question in said:
                return answer
        return BOOK


@dataclass
class ChaosLoad:
    """What the people sent and were told."""

    progress: Progress
    turns: List[Turn] = field(default_factory=list)
    confirmed: Dict[str, Tuple[str, str]] = field(default_factory=dict)  # reference -> (conversation, contact)
    failures: List[Dict[str, Any]] = field(default_factory=list)  # when and where a turn got no reply (no text)
    in_flight: Counter = field(default_factory=Counter)  # requests under way per replica URL


async def person(
    session: aiohttp.ClientSession,
    urls: Sequence[str],
    index: int,
    booking: bool,
    options: ChaosOptions,
    run_id: str,
    load: ChaosLoad,
) -> None:
    """One person: `options.turns` messages, a pause before each, every turn on the next replica
    (conversations hop between replicas, so the shared stores are used for real)."""
    rng = random.Random(f"person-{options.seed}-{index}")
    sender = f"chaos-{run_id}-{index}"
    booker = BookingPerson(run_id, index) if booking else None
    script = SCRIPTS[index % len(SCRIPTS)]
    message = booker.first_message() if booker else ""
    buttons: List[Dict[str, Any]] = []
    await asyncio.sleep(rng.uniform(0, options.think))
    for number in range(options.turns):
        if number:
            await asyncio.sleep(rng.uniform(0.5, 1.5) * options.think)
        if booker is None:
            message = next_message(script[number % len(script)], buttons)
        load.progress.sent += 1
        at = load.progress.elapsed()
        turn, replies = await send_with_failover(
            session, urls, index + number, sender, message, options.budget, in_flight=load.in_flight
        )
        load.turns.append(turn)
        if turn.error and turn.error != TECHNICAL_PROBLEM_REPLY:
            load.failures.append(
                {
                    "person": index,
                    "turn": number,
                    "at_seconds": round(at, 1),
                    "first_replica": (index + number) % len(urls) + 1,
                    "attempts": turn.attempts,
                    "error": turn.error,
                }
            )
        buttons = reply_buttons(replies)
        if booker is not None:
            message = booker.next_message(message, replies)
    if booker is not None:
        load.confirmed.update({reference: (sender, email) for reference, email in booker.confirmed.items()})


async def probe_after(session: aiohttp.ClientSession, urls: Sequence[str], run_id: str) -> bool:
    """Every replica answers a knowledge question for real (through the action server) after the run."""
    for number, url in enumerate(urls):
        sender = f"chaos-{run_id}-after-{number}"
        turn, _ = await send_with_failover(session, [url], 0, sender, KNOWLEDGE_QUESTION, 30.0)
        if turn.error:
            logger.error("After the run, %s answered a question with: %s", url, turn.error)
            return False
    return True


# --------------------------------------------------------------------------- the bookings


def audit_bookings(confirmed: Dict[str, Tuple[str, str]], records: Sequence[ConsultationRecord]) -> Dict[str, int]:
    """Confirmed bookings (reference -> conversation and contact told) against the stored rows.
    Lost: confirmed, not stored. Duplicated: rows beyond the first for one reference, or for one
    person's booking (conversation and contact) under several references, told or not. Mismatched:
    the reference holds another conversation's booking."""
    by_reference = {record.reference: record for record in records}
    rows_per_reference = Counter(record.reference for record in records)
    rows_per_booking = Counter((record.details.conversation_id, record.details.email) for record in records)
    lost = [reference for reference in confirmed if reference not in by_reference]
    mismatched = [
        reference
        for reference, told in confirmed.items()
        if reference in by_reference
        and (by_reference[reference].details.conversation_id, by_reference[reference].details.email) != told
    ]
    duplicated = sum(count - 1 for count in rows_per_reference.values()) + sum(
        count - 1 for count in rows_per_booking.values()
    )
    stored_once = sum(
        1
        for reference, told in confirmed.items()
        if reference in by_reference
        and reference not in mismatched
        and rows_per_reference[reference] == 1
        and rows_per_booking[told] == 1
    )
    return {
        "confirmed": len(confirmed),
        "stored": len(records),
        "confirmed_stored_once": stored_once,
        "lost": len(lost),
        "duplicated": duplicated,
        "mismatched": len(mismatched),
        "stored_not_confirmed": sum(1 for record in records if record.reference not in confirmed),
    }


def stored_bookings(database_url: str) -> List[ConsultationRecord]:
    engine = create_engine(database_url, future=True)
    try:
        return ConsultationRepository(engine).list_requests()
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class ChaosOptions:
    users: int
    turns: int
    think: float
    seed: int
    kill_actions: int
    kill_rasa: int
    booking_share: float
    budget: float = REPLY_BUDGET_SECONDS
    deadline: float = 900.0


def booking_roles(options: ChaosOptions) -> List[bool]:
    """Which people book: round(users * share) of them, chosen by the seed."""
    bookers = round(options.users * options.booking_share)
    roles = [True] * bookers + [False] * (options.users - bookers)
    random.Random(f"roles-{options.seed}").shuffle(roles)
    return roles


def run_chaos(
    options: ChaosOptions,
    work: Path,
    postgres_url: Optional[str],
    redis_url: Optional[str],
    required: bool = False,
    png: Optional[Path] = None,
) -> Dict[str, Any]:
    """Start the servers on databases of the run's own, run the load with its kills, audit, stop;
    draw the latency over time to `png` if given."""
    run_id = uuid.uuid4().hex[:8]
    work.mkdir(parents=True, exist_ok=True)
    with run_database(postgres_url, work, required) as (database_url, database_kind), lock_store_env(
        redis_url, required
    ) as (lock_env, lock_kind):
        engine = create_engine(database_url, future=True)
        try:
            seed_database(engine, load_knowledge(settings.knowledge_file()))
        finally:
            engine.dispose()
        logger.info(
            "Starting the action server and %d Rasa replicas (conversations: %s, locks: %s)...",
            REPLICAS,
            database_kind,
            lock_kind,
        )
        with ChaosServers(work, database_url, {"TRACKER_STORE_URL": database_url, **lock_env}) as servers:
            outcome = asyncio.run(drive(servers, options, run_id))
        if png is not None:
            load_report(options, outcome).write_latency_over_time(png)
        bookings = audit_bookings(outcome.load.confirmed, stored_bookings(database_url))
    deployment = {
        "replicas": REPLICAS,
        "database": database_kind,
        "lock_store": lock_kind,
        # Rasa's ticket lifetime (TICKET_LOCK_LIFETIME, 60 s unless set): how long the other
        # replica may wait for a conversation whose turn was cut by a kill
        "ticket_lock_lifetime": os.environ.get("TICKET_LOCK_LIFETIME") or "Rasa's default",
    }
    return chaos_summary(options, deployment, outcome, bookings, servers)


@dataclass
class Outcome:
    load: ChaosLoad
    plan: List[PlannedKill]
    kills: List[Kill]
    recovered: bool
    answered_after: bool
    wall_seconds: float


async def drive(servers: ChaosServers, options: ChaosOptions, run_id: str) -> Outcome:
    """The people and the killer side by side, within the deadline; then recovery and a last probe."""
    plan = plan_kills(options.seed, options.kill_actions, options.kill_rasa)
    kills: List[Kill] = []
    connector = aiohttp.TCPConnector(limit=options.users + 8)
    async with aiohttp.ClientSession(connector=connector) as session:
        for url in servers.urls:  # a replica whose model did not load answers HTTP with empty replies
            turn, _ = await send_with_failover(session, [url], 0, f"chaos-{run_id}-probe", "/greet", 60.0)
            if turn.error:
                raise RuntimeError(f"the Rasa replica at {url} answers nothing ({turn.error}); see {servers.work}")
        roles = booking_roles(options)
        load = ChaosLoad(Progress(options.users * options.turns))
        people = [
            asyncio.ensure_future(person(session, servers.urls, index, roles[index], options, run_id, load))
            for index in range(options.users)
        ]
        killer = asyncio.ensure_future(carry_out_kills(plan, servers, session, load, kills, options.seed))
        _, pending = await asyncio.wait(people, timeout=options.deadline)
        killer.cancel()
        for task in pending:
            task.cancel()
        await asyncio.gather(killer, *pending, return_exceptions=True)
        wall = load.progress.elapsed()
        recovered = await wait_for_recovery(servers, session, RECOVERY_TIMEOUT_SECONDS)
        answered_after = recovered and await probe_after(session, servers.urls, run_id)
    return Outcome(load, plan, kills, recovered, answered_after, wall)


# --------------------------------------------------------------------------- figures


def load_report(options: ChaosOptions, outcome: Outcome) -> LoadReport:
    """The run's turns as the plain load test reports them, for its latency-over-time chart: each turn
    at the moment its reply came, those without a normal answer (the technical-problem reply
    included) marked, and the moving p95."""
    return LoadReport(
        options.users,
        options.turns,
        outcome.wall_seconds,
        turns=outcome.load.turns,
        started=outcome.load.progress.started,
    )


def chaos_summary(
    options: ChaosOptions, deployment: Dict[str, Any], outcome: Outcome, bookings: Dict[str, int], servers: ChaosServers
) -> Dict[str, Any]:
    turns = outcome.load.turns
    planned = options.users * options.turns
    latencies = sorted(turn.latency for turn in turns)
    failures = Counter(turn.error for turn in turns if turn.error and turn.error != TECHNICAL_PROBLEM_REPLY)
    if planned > len(turns):
        failures["not sent before the deadline"] = planned - len(turns)
    replied = sum(1 for turn in turns if turn.error in (None, TECHNICAL_PROBLEM_REPLY))
    kills_by_target = Counter(kill.target for kill in outcome.kills)
    restarts = {server.name: server.starts - 1 for server in servers.all()}
    summary: Dict[str, Any] = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "seed": options.seed,
        "users": options.users,
        "turns_per_user": options.turns,
        "think_seconds": options.think,
        "reply_budget_seconds": options.budget,
        "deployment": deployment,
        "wall_seconds": round(outcome.wall_seconds, 1),
        "turns": {
            "planned": planned,
            "sent": len(turns),
            "replied_within_budget": replied,
            "technical_problem_replies": sum(1 for turn in turns if turn.error == TECHNICAL_PROBLEM_REPLY),
            "without_reply": sum(failures.values()),
            "failures_by_kind": dict(failures),
            "retried_on_another_replica": sum(1 for turn in turns if turn.attempts > 1),
            "extra_attempts": sum(turn.attempts - 1 for turn in turns),
            **{f"p{q}_ms": round(percentile(latencies, q) * 1000) for q in (50, 95, 99)},
            "max_ms": round(latencies[-1] * 1000) if latencies else 0,
        },
        "kills": {
            "planned": len(outcome.plan),
            "done": len(outcome.kills),
            "action_server": kills_by_target[ACTION_SERVER],
            "rasa_replica": kills_by_target[RASA_REPLICA],
            "moments": [kill.__dict__ for kill in outcome.kills],
        },
        "failed_turns": outcome.load.failures,
        "restarts": restarts,
        "recovered": outcome.recovered,
        "answered_after_recovery": outcome.answered_after,
        "bookings": bookings,
    }
    summary["problems"] = chaos_problems(summary, any(booking_roles(options)))
    summary["ok"] = not summary["problems"]
    return summary


def chaos_problems(summary: Dict[str, Any], anyone_books: bool) -> List[str]:
    """Every check the run makes, as a sentence for each that failed."""
    turns, kills, bookings = summary["turns"], summary["kills"], summary["bookings"]
    problems = []
    if turns["without_reply"]:
        problems.append(f"{turns['without_reply']} turns got no reply within {summary['reply_budget_seconds']:g} s")
    if kills["done"] < kills["planned"]:
        problems.append(f"only {kills['done']} of {kills['planned']} kills happened before the load ended")
    killed = Counter(kill["name"] for kill in kills["moments"])
    for name, count in killed.items():
        if summary["restarts"].get(name, 0) < count:
            problems.append(f"the {name} was killed {count} times but restarted {summary['restarts'].get(name, 0)}")
    if not summary["recovered"] or not summary["answered_after_recovery"]:
        problems.append("the servers did not all come back and answer after the run")
    for key in ("lost", "duplicated", "mismatched"):
        if bookings[key]:
            problems.append(f"{bookings[key]} confirmed bookings {key}")
    if anyone_books and not bookings["confirmed"]:
        problems.append("no booking was confirmed, so none could be checked")
    return problems


def format_chaos(summary: Dict[str, Any]) -> str:
    turns, kills, bookings = summary["turns"], summary["kills"], summary["bookings"]
    deployment = summary["deployment"]
    lines = [
        f"chaos run {summary['date']} (seed {summary['seed']}): {summary['users']} people x "
        f"{summary['turns_per_user']} turns, ~{summary['think_seconds']:g} s between messages, in "
        f"{summary['wall_seconds']} s; {deployment['replicas']} Rasa replicas, {deployment['database']} "
        f"database, {deployment['lock_store']} locks",
        f"turns: {turns['sent']}/{turns['planned']} sent, {turns['replied_within_budget']} replied within "
        f"{summary['reply_budget_seconds']:g} s ({turns['technical_problem_replies']} of them the technical-problem "
        f"reply), {turns['without_reply']} without",
        f"  retried on another replica: {turns['retried_on_another_replica']} turns  latency p50 {turns['p50_ms']} ms  "
        f"p95 {turns['p95_ms']} ms  p99 {turns['p99_ms']} ms  max {turns['max_ms']} ms",
        f"kills: {kills['done']}/{kills['planned']} (action server {kills['action_server']}, Rasa replica "
        f"{kills['rasa_replica']}; {sum(1 for kill in kills['moments'] if kill['requests_in_flight'])} cut a "
        f"request under way)  restarts: " + ", ".join(f"{name} {count}" for name, count in summary["restarts"].items()),
        f"  back and answering after the run: {'yes' if summary['answered_after_recovery'] else 'NO'}",
        f"bookings: {bookings['confirmed']} confirmed, {bookings['stored']} stored, "
        f"{bookings['confirmed_stored_once']} confirmed and stored exactly once, {bookings['duplicated']} duplicated, "
        f"{bookings['lost']} lost, "
        f"{bookings['mismatched']} mismatched, {bookings['stored_not_confirmed']} stored but not confirmed",
    ]
    lines += [f"  {kind}: {count}" for kind, count in sorted(turns["failures_by_kind"].items())]
    lines.append("result: " + ("ok" if summary["ok"] else "FAILED: " + "; ".join(summary["problems"])))
    return "\n".join(lines)
