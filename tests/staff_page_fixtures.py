"""Real components for the staff page tests (tests/test_staff_page.py, tests/test_browser_staff_page.py):
the page's aiohttp application served on 127.0.0.1 from a thread, databases (SQLite files, or a
PostgreSQL database of its own dropped afterwards), requests stored through the booking code's
repository, and conversations saved through PoreGuide's own tracker store (Rasa's events table)."""

from __future__ import annotations

import asyncio
import html
import re
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import pytest
import requests
from aiohttp import web
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from bot.consultations.models import CONSULTATION, ConsultationRequest
from bot.consultations.repository import ConsultationRepository
from bot.consultations.submission import NewConsultation
from bot.staff_page.app import AccessLogger, create_app
from bot.staff_page.auth import Accounts
from bot.staff_page.config import StaffPageSettings
from bot.staff_page.ratelimit import LoginRateLimiter
from bot.staff_page.sessions import Sessions
from tests.conftest import POSTGRES_URL
from tests.persistence_fixtures import postgres_admin

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def cheap_hasher() -> PasswordHasher:
    """argon2id with the smallest cost, so a test signs in in milliseconds; the page's own
    parameters are checked where they matter (test_staff_page.py)."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


# --------------------------------------------------------------------------- databases


@dataclass(frozen=True)
class Databases:
    url: str  # requests, accounts, audit log
    tracker_url: str  # conversations

    def engines(self) -> Tuple[Engine, Engine]:
        engine = create_engine(self.url, future=True)
        tracker = engine if self.tracker_url == self.url else create_engine(self.tracker_url, future=True)
        return engine, tracker


def sqlite_databases(directory: Path) -> Databases:
    """Two files, as with TRACKER_STORE_URL set: the page must read and delete conversations where they are."""
    return Databases(f"sqlite:///{directory / 'poreguide.db'}", f"sqlite:///{directory / 'tracker.db'}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    """SQLite (two files), or one new PostgreSQL database for both (skipped locally when the
    server is absent, a failure under CI=true)."""
    if request.param == "sqlite":
        yield sqlite_databases(tmp_path)
        return
    admin = postgres_admin()
    name = f"poreguide_staffpage_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield Databases(url, url)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --------------------------------------------------------------------------- data


def store_request(
    engine: Engine,
    name: str,
    conversation_id: str,
    email: Optional[str] = None,
    phone: Optional[str] = None,
    treatment: Optional[str] = "microneedling",
    preferred_time: Optional[str] = None,
    reference: Optional[str] = None,
    kind: str = CONSULTATION,
) -> str:
    """A request stored as the booking form stores it (with its staff notices); its reference
    (`reference` fixes it, for screenshots that stay the same from run to run). `kind` CALLBACK
    is what the call-back form stores: no treatment or time."""
    repository = (
        ConsultationRepository(engine)
        if reference is None
        else ConsultationRepository(engine, reference_factory=lambda: reference)
    )
    result = repository.submit(
        NewConsultation(
            name=name,
            conversation_id=conversation_id,
            consent_given=True,
            email=email,
            phone=phone,
            preferred_treatment=treatment,
            preferred_time=preferred_time,
            kind=kind,
        )
    )
    return result.reference


def store_raw_request(engine: Engine, reference: str, name: str, conversation_id: str, email: str) -> str:
    """A row written without the booking code's validation (an older version, a manual fix in the
    database): the page must still show whatever it holds as text."""
    ConsultationRepository(engine).create_tables()
    with Session(engine, future=True) as session, session.begin():
        session.add(
            ConsultationRequest(
                reference=reference,
                name=name,
                email=email,
                consent_given=True,
                conversation_id=conversation_id,
                idempotency_key=uuid.uuid4().hex * 2,
            )
        )
    return reference


def save_conversation(
    tracker_url: str, sender_id: str, turns: Sequence[Tuple[str, str]], buttons: Sequence[str] = ()
) -> None:
    """(patient text, bot text) turns saved through PoreGuide's tracker store, as Rasa saves them;
    `buttons` go with the last reply."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered

    from bot.persistence.health import HealthRegistry
    from bot.rasa_overrides.sql_tracker_store import PoreGuideTrackerStore

    store = PoreGuideTrackerStore(Domain.empty(), host=tracker_url, health=HealthRegistry())
    tracker = _run(store.get_or_create_tracker(sender_id))
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    for index, (said, answer) in enumerate(turns):
        tracker.update(ActionExecuted("action_listen"))
        tracker.update(UserUttered(said, {"name": "inform", "confidence": 1.0}))
        data = (
            {"buttons": [{"title": title, "payload": f"/{title.lower()}"} for title in buttons]}
            if buttons and index == len(turns) - 1
            else {}
        )
        tracker.update(BotUttered(answer, data=data))
    _run(store.save(tracker))
    store.engine.dispose()


def _run(coroutine: Any) -> Any:
    """asyncio.run on a thread of its own: Playwright's sync API keeps a loop running in this one."""
    result: List[Any] = []
    worker = threading.Thread(target=lambda: result.append(asyncio.run(coroutine)))
    worker.start()
    worker.join(120)
    assert result, "the tracker store did not answer"
    return result[0]


def events_of(engine: Engine, sender_id: str) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT COUNT(*) FROM events WHERE sender_id = :s"), {"s": sender_id}).scalar()


# --------------------------------------------------------------------------- the page


class PageServer:
    """The staff page's application on 127.0.0.1:<free port>, served by a thread's event loop."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(app, access_log_class=AccessLogger)
        self.port = 0
        started = threading.Event()
        failure: List[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            try:
                self.loop.run_until_complete(self.runner.setup())
                self.loop.run_until_complete(web.TCPSite(self.runner, "127.0.0.1", 0).start())
                self.port = self.runner.addresses[0][1]
            except BaseException as error:  # noqa: BLE001 - reported to the test
                failure.append(error)
                started.set()
                return
            started.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, name="staff-page-test-server", daemon=True)
        self.thread.start()
        started.wait(30)
        if failure:
            raise failure[0]
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)
        self.loop.close()


@dataclass
class Page:
    """A running staff page over `databases`, with its pieces for assertions."""

    server: PageServer
    databases: Databases
    engine: Engine
    tracker_engine: Engine
    accounts: Accounts
    sessions: Sessions
    limiter: LoginRateLimiter
    clock: "FakeClock"

    @property
    def url(self) -> str:
        return self.server.url

    def client(self) -> requests.Session:
        return requests.Session()

    def sign_in(
        self, name: str = "ana", password: str = PASSWORD, client: Optional[requests.Session] = None
    ) -> requests.Session:
        client = client or self.client()
        form = client.get(f"{self.url}/login", timeout=30)
        response = client.post(
            f"{self.url}/login",
            data={"username": name, "password": password, "csrf_token": csrf_of(form.text)},
            allow_redirects=False,
            timeout=30,
        )
        assert response.status_code == 303, response.text
        return client


def kinds_listed(listing: str) -> Dict[str, Tuple[str, str]]:
    """Each listed reference's kind: (the CSS class's kind, the label shown)."""
    rows = re.findall(
        r'<a href="/requests/(PG-\w+)">[^<]*</a></td>\s*<td class="kind"><span class="kind kind-(\w+)">([^<]*)</span>',
        listing,
    )
    return {reference: (kind, label) for reference, kind, label in rows}


def patient_lines(page_html: str) -> List[str]:
    """What the patient said, in order, in a transcript on the page (unescaped)."""
    found = re.findall(r'<li class="line patient">.*?<p class="text">(.*?)</p>', page_html, re.DOTALL)
    return [html.unescape(text) for text in found]


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


class FakeClock:
    """Wall clock for sessions, monotonic seconds for the limiter; both moved by `advance`."""

    def __init__(self) -> None:
        from bot.staff_page.models import utc_now

        self.start = utc_now()
        self.seconds = 0.0

    def now(self) -> Any:
        from datetime import timedelta

        return self.start + timedelta(seconds=self.seconds)

    def monotonic(self) -> float:
        return self.seconds

    def advance(self, seconds: float) -> None:
        self.seconds += seconds


def start_page(
    databases: Databases,
    settings: Optional[StaffPageSettings] = None,
    hasher: Optional[PasswordHasher] = None,
    per_account: int = 5,
    per_address: int = 20,
    users: Sequence[str] = ("ana",),
) -> Page:
    engine, tracker_engine = databases.engines()
    settings = settings or StaffPageSettings()
    clock = FakeClock()
    accounts = Accounts(engine, hasher or cheap_hasher())
    for name in users:
        accounts.add(name, PASSWORD)
    sessions = Sessions(engine, settings.secret, clock=clock.now)
    limiter = LoginRateLimiter(per_account=per_account, per_address=per_address, clock=clock.monotonic)
    app = create_app(settings, engine, tracker_engine, accounts=accounts, sessions=sessions, limiter=limiter)
    return Page(PageServer(app), databases, engine, tracker_engine, accounts, sessions, limiter, clock)


def stop_page(page: Page) -> None:
    page.server.stop()
    page.engine.dispose()
    page.tracker_engine.dispose()
