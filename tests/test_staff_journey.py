"""Issue 15, "done when": a consultation request made on the website reaches the clinic's staff
mailbox and Slack channel, shows on the staff page with its kind and transcript, and is purged
after its retention period. Every component is the real one, on SQLite (requests and
conversations in two files, as with TRACKER_STORE_URL set) and on PostgreSQL (one database):

- the trained model in the Rasa server with the website channel (bot.rasa_overrides.socketio_channel), and the
  action server (its own venv) that stores the request and sends the staff notices itself;
- the patient is a python-socketio client speaking the website widget's protocol
  (`session_request`, `user_uttered`, `bot_uttered`; polling transport, see
  tests/web_fixtures.SocketUser), button answers sent as the widget sends their payloads;
- aiosmtpd on 127.0.0.1 requiring STARTTLS and a login (tests/staff_fixtures.MailServer), and the
  fake Slack Web API (tests/fakes/slack_api.py);
- the staff page's application served on 127.0.0.1, signed in over HTTP with an account made by
  `python -m bot.staff_page add-user` (its `main`, argon2id);
- the retention purge (`bot.staff.retention.purge`, what `make purge` and the action server's
  daily run call) with "now" moved 89 days and then 181 days ahead."""

from __future__ import annotations

import asyncio
import io
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Iterator, List, Tuple

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from bot.notices.config import RetentionSettings
from bot.notices.outbox import OutboxNotice, utc_now
from bot.staff.links import conversation_key
from bot.staff.retention import purge
from bot.staff_page.__main__ import main as staff_page_cli
from bot.staff_page.store import StaffStore
from tests.e2e import start_servers
from tests.fakes.slack_api import FakeSlackApi
from tests.staff_fixtures import STAFF_EMAIL, MailServer, certificates, mail_server  # noqa: F401 - fixtures
from tests.staff_page_fixtures import (  # noqa: F401 - the databases fixture
    PASSWORD,
    Databases,
    Page,
    databases,
    events_of,
    kinds_listed,
    patient_lines,
    start_page,
    stop_page,
)
from tests.web_fixtures import WEBSITE_CREDENTIALS, SocketUser

pytestmark = [pytest.mark.slow, pytest.mark.server]

SLACK_TOKEN = "xoxb-journey-test-token"
STAFF_CHANNEL = "C0JOURNEY1"
STAFF_PAGE = "https://staff.clinic.test"
ACCOUNT = "reception"
NAME, EMAIL = "Maria Journey", "maria.journey@example.com"
PREFERRED_TIME = "weekday mornings"
REFERENCE = re.compile(r"\bPG-[2-9A-HJ-NP-Z]{6}\b")


@dataclass
class Clinic:
    """The running servers of one journey."""

    bot_url: str
    mail: MailServer
    slack: FakeSlackApi
    page: Page


@pytest.fixture
def clinic(
    databases: Databases,  # noqa: F811 - the fixture
    mail_server: MailServer,  # noqa: F811 - the fixture
    knowledge,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Clinic]:
    """The knowledge base seeded into the database, then the servers with the staff notice
    settings in their environment (the launcher hands the test process's environment on)."""
    from bot.knowledge.seed import seed_database

    seeding = create_engine(databases.url, future=True)
    seed_database(seeding, knowledge)
    seeding.dispose()
    with FakeSlackApi(SLACK_TOKEN) as slack:
        settings = {
            **mail_server.environment(),
            "SLACK_STAFF_CHANNEL": STAFF_CHANNEL,
            "SLACK_BOT_TOKEN": SLACK_TOKEN,
            "SLACK_API_BASE_URL": slack.base_url,
            "STAFF_PAGE_URL": STAFF_PAGE,
            "TRACKER_STORE_URL": databases.tracker_url,  # the action server's purge and erasure
        }
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        credentials = tmp_path_factory.mktemp("journey_credentials") / "credentials.yml"
        credentials.write_text(WEBSITE_CREDENTIALS, encoding="utf-8")
        servers = start_servers(
            tmp_path_factory,
            databases.url,
            credentials=credentials,
            rasa_env={"TRACKER_STORE_URL": databases.tracker_url},
        )
        bot_url = next(servers)
        page = start_page(databases, users=())
        try:
            yield Clinic(bot_url, mail_server, slack, page)
        finally:
            stop_page(page)
            servers.close()


def book_on_the_website(bot_url: str) -> Tuple[str, str, List[str]]:
    """A visitor asks a question, then books through the widget's socket; (reference, session id,
    what the visitor typed)."""
    typed = ["what is microneedling?", "I'd like to book a consultation", NAME, EMAIL, PREFERRED_TIME]

    async def visit() -> Tuple[str, str]:
        async with SocketUser(bot_url) as visitor:
            session_id = await visitor.start_session()
            await visitor.say(typed[0], expect="Microneedling")
            await visitor.say(typed[1], expect="What name should the clinic use?")
            await visitor.say(typed[2], expect="email address or phone number")
            # The treatment asked about is taken for the booking: straight to the preferred time.
            await visitor.say(typed[3], expect="When would suit you best")
            await visitor.say(typed[4], expect="May the clinic store your name and contact details")
            confirmation = await visitor.say("/affirm", expect="Your reference is")  # the "Yes, I agree" button
            found = REFERENCE.search(confirmation)
            assert found, confirmation
            return found.group(0), session_id

    reference, session_id = asyncio.run(visit())
    return reference, session_id, typed


def create_account(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """As an administrator does (`docker compose run --rm staff python -m bot.staff_page add-user`)."""
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert staff_page_cli(["add-user", ACCOUNT, "--password-stdin", "--database-url", url]) == 0


def notices_about(page: Page, conversation_id: str, sent: bool = False) -> int:
    """The staff notices (of any request or red flag) about the conversation; `sent`: only those
    the action server has marked sent."""
    statement = select(func.count()).select_from(OutboxNotice).where(OutboxNotice.conversation_id == conversation_id)
    if sent:
        statement = statement.where(OutboxNotice.sent_at.is_not(None))
    with Session(page.engine, future=True) as session:
        return session.execute(statement).scalar_one()


def wait_until_sent(page: Page, conversation_id: str, count: int, timeout: float = 30.0) -> None:
    """The mail server and Slack answer before the sender records the delivery: wait for the record."""
    deadline = time.monotonic() + timeout
    while notices_about(page, conversation_id, sent=True) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    assert notices_about(page, conversation_id, sent=True) == count


def test_a_website_request_reaches_the_staff_and_is_purged_after_its_retention_period(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference, session_id, typed = book_on_the_website(clinic.bot_url)
    record = StaffStore(clinic.page.engine, clinic.page.tracker_engine).find(reference)
    assert record is not None and record.details.kind == "consultation"
    assert (record.details.name, record.details.email, record.details.conversation_id) == (NAME, EMAIL, session_id)
    treatment = record.details.preferred_treatment
    assert treatment and "microneedling" in treatment.lower()

    # The staff mailbox: over STARTTLS, after a login, with the contact details.
    [mail] = clinic.mail.wait_for(1, timeout=90)
    body = mail.message.get_body(("plain",)).get_content()
    assert mail.tls and mail.authenticated and mail.recipients == [STAFF_EMAIL]
    assert reference in str(mail.message["Subject"])
    for expected in (reference, NAME, EMAIL, treatment, PREFERRED_TIME, f"{STAFF_PAGE}/conversations/"):
        assert expected in body, expected

    # The staff Slack channel: reference, treatment and time, never who or how to reach them.
    [post] = clinic.slack.wait_for(
        "chat.postMessage", lambda call: call.body.get("channel") == STAFF_CHANNEL, timeout=90
    )
    text = post.body["text"]
    assert reference in text and treatment in text and PREFERRED_TIME in text
    assert EMAIL not in text and NAME not in text and "Maria" not in text and "@" not in text

    # The staff page: signed in with an account made by the command, the request listed with its
    # kind, and the conversation that led to it, as the patient typed it.
    create_account(clinic.page.databases.url, monkeypatch)
    staff = clinic.page.sign_in(ACCOUNT, PASSWORD)
    listing = staff.get(f"{clinic.page.url}/requests", timeout=30).text
    assert kinds_listed(listing)[reference] == ("consultation", "consultation")
    detail = staff.get(f"{clinic.page.url}/requests/{reference}", timeout=30).text
    assert NAME in detail and EMAIL in detail
    said = patient_lines(detail)
    assert [line for line in said if line in typed] == typed, said
    assert events_of(clinic.page.tracker_engine, session_id) > 0
    wait_until_sent(clinic.page, session_id, 2)  # the email and the Slack message

    # 89 days on, the notices (sent, kept 30 days) are gone, the conversation (90 days idle) and
    # the request (180 days) are not; 181 days on, they are gone too, and the page says so.
    retention = RetentionSettings()
    assert (retention.conversation_days, retention.request_days, retention.outbox_days) == (90, 180, 30)
    kept = purge(clinic.page.engine, clinic.page.tracker_engine, retention, utc_now() + timedelta(days=89))
    assert (kept.conversations, kept.requests, kept.notices) == (0, 0, 2)  # the email and the Slack message
    assert notices_about(clinic.page, session_id) == 0 and events_of(clinic.page.tracker_engine, session_id) > 0
    assert reference in staff.get(f"{clinic.page.url}/requests", timeout=30).text
    report = purge(
        clinic.page.engine,
        clinic.page.tracker_engine,
        retention,
        utc_now() + timedelta(days=retention.request_days + 1),
    )
    assert report.requests == 1 and report.conversations >= 1  # with the start-up probe's conversation
    assert events_of(clinic.page.tracker_engine, session_id) == 0
    assert StaffStore(clinic.page.engine, clinic.page.tracker_engine).find(reference) is None
    assert reference not in staff.get(f"{clinic.page.url}/requests", timeout=30).text
    gone = staff.get(f"{clinic.page.url}/requests/{reference}", timeout=30)
    assert gone.status_code == 404 and "Not found" in gone.text
    conversation = staff.get(f"{clinic.page.url}/conversations/{conversation_key(session_id)}", timeout=30)
    assert conversation.status_code == 404
