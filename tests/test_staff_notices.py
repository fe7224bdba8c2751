"""Issue 15, item 1: staff notices that never lose a request. A consultation request booked through
the real action and a red flag reported to the real safety action reach a REAL SMTP server on
127.0.0.1 (STARTTLS and login, aiosmtpd) and the fake Slack API, through the outbox in SQLite and
PostgreSQL; the mail server goes down and comes back; two senders share one outbox; and the real
action server (whichever venv the launcher picks) starts the sender itself."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest
from rasa_sdk import Tracker
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from actions import booking, knowledge_access
from actions.booking import ActionSubmitConsultation
from actions.safety import ActionHandleRedFlag
from bot import launcher
from bot.consultations.repository import ConsultationRepository, ConsultationStoreUnavailable
from bot.consultations.submission import NewConsultation
from bot.knowledge.repository import KnowledgeRepository
from bot.knowledge.seed import seed_database
from bot.notices.config import RetentionSettings, SlackNoticeSettings, SmtpSettings, StaffConfigError
from bot.notices.outbox import EMAIL, RED_FLAG, REQUEST, SLACK, Outbox, OutboxNotice, as_utc
from bot.persistence.database import get_engine
from bot.security.action_token import TOKEN_HEADER
from bot.staff import alerts
from bot.staff.delivery import Deliverer, retry_delay
from bot.staff.delivery_errors import ChannelDown
from bot.staff.links import conversation_key
from bot.staff.mailer import Mailer
from bot.staff.messages import NoticeText
from bot.staff.slack_notice import SlackNotifier
from bot.staff.worker import StaffWorker
from tests.conftest import run_action
from tests.fakes.slack_api import FakeSlackApi
from tests.staff_fixtures import (  # noqa: F401 - fixtures
    STAFF_EMAIL,
    MailServer,
    SilentServer,
    certificates,
    database_url,
    mail_server,
)
from tooling.ports import free_ports

SLACK_TOKEN = "xoxb-staff-test-token"
STAFF_CHANNEL = "C0STAFF01"
STAFF_PAGE = "https://staff.clinic.test"
NAME, EMAIL_ADDRESS, PHONE = "Ana Lopez-Quintero", "ana.quintero@example.com", "+442079460958"
SYMPTOM = "I have yellow pus and a fever of 39 since the peel yesterday"
FAST = dict(retry_base=timedelta(seconds=0.2), retry_cap=timedelta(seconds=1))


# --------------------------------------------------------------------------- set-up


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlackApi]:
    """The fake Slack API, configured as the staff channel (so new notices include Slack)."""
    with FakeSlackApi(SLACK_TOKEN) as api:
        monkeypatch.setenv("SLACK_STAFF_CHANNEL", STAFF_CHANNEL)
        monkeypatch.setenv("SLACK_BOT_TOKEN", SLACK_TOKEN)
        monkeypatch.setenv("SLACK_API_BASE_URL", api.base_url)
        yield api


@pytest.fixture
def engine(database_url: str, knowledge) -> Iterator[Engine]:
    """The actions' database (knowledge, requests, outbox), seeded, with the actions pointed at it."""
    engine = get_engine(database_url)
    seed_database(engine, knowledge)
    knowledge_access.use_repository(KnowledgeRepository(engine))
    booking.use_consultations(ConsultationRepository(engine))
    yield engine
    booking.use_consultations(None)
    knowledge_access.use_repository(None)


def channels(mail: Optional[MailServer], slack: Optional[FakeSlackApi]) -> Dict[str, object]:
    found: Dict[str, object] = {}
    if mail is not None:
        found[EMAIL] = Mailer(SmtpSettings.from_env(mail.environment()))
    if slack is not None:
        found[SLACK] = SlackNotifier(SlackNoticeSettings(STAFF_CHANNEL, SLACK_TOKEN, slack.base_url))
    return found


def deliverer(engine: Engine, mail: Optional[MailServer], slack: Optional[FakeSlackApi], **options) -> Deliverer:
    return Deliverer(
        Outbox(engine), ConsultationRepository(engine), channels(mail, slack), STAFF_PAGE, **{**FAST, **options}
    )


def worker(engine: Engine, mail: Optional[MailServer], slack: Optional[FakeSlackApi]) -> StaffWorker:
    return StaffWorker(lambda: deliverer(engine, mail, slack), None, poll_seconds=0.1).start()


def tracker(
    sender: str,
    slots: Optional[dict] = None,
    text: str = "",
    entities: Optional[List[dict]] = None,
    intent: str = "affirm",
) -> Tracker:
    latest = {"intent": {"name": intent, "confidence": 1.0}, "entities": entities or [], "text": text}
    return Tracker(sender, dict(slots or {}), latest, [], False, None, {}, "action_listen")


def book(sender: str = "web-ana-1", **changes) -> dict:
    """The booking form's last step, as the action server runs it; returns its messages."""
    slots = {
        "contact_name": NAME,
        "contact_detail": EMAIL_ADDRESS,
        "preferred_treatment": "microneedling",
        "preferred_time": "Tuesday mornings",
        "consent": True,
        **changes,
    }
    return run_action(ActionSubmitConsultation(), tracker(sender, slots))


def report_red_flag(sender: str, level: str = "emergency") -> dict:
    return run_action(
        ActionHandleRedFlag(),
        tracker(
            sender, text=SYMPTOM, intent="report_red_flag", entities=[{"entity": "red_flag_level", "value": level}]
        ),
    )


def notices(engine: Engine) -> List[OutboxNotice]:
    with Session(engine, future=True) as session:
        rows = list(session.execute(select(OutboxNotice).order_by(OutboxNotice.id)).scalars())
        session.expunge_all()
        return rows


def wait_until(condition, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def body(received) -> str:
    return received.message.get_content()


def our_log(caplog) -> str:
    """PoreGuide's log lines (not the test SMTP server's, which logs what it receives)."""
    return "\n".join(record.getMessage() for record in caplog.records if record.name.startswith(("bot", "actions")))


# --------------------------------------------------------------------------- the outbox


def test_a_request_and_its_notices_are_stored_in_one_transaction(engine, slack):
    reference = book()["messages"][0]["reference"]
    rows = notices(engine)
    assert sorted(row.channel for row in rows) == [EMAIL, SLACK]
    [record] = ConsultationRepository(engine).list_requests()
    assert record.reference == reference
    with engine.connect() as connection:  # the notices point at the stored row and hold no contact details
        stored_id = connection.execute(text("SELECT id FROM consultation_requests")).scalar_one()
    assert {row.request_id for row in rows} == {stored_id} and {row.kind for row in rows} == {REQUEST}
    assert all(row.sent_at is None and row.attempts == 0 for row in rows)

    # When the notice cannot be written, neither is the request (one transaction).
    repository = ConsultationRepository(engine)
    repository.create_tables()
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE staff_outbox"))
    with pytest.raises(ConsultationStoreUnavailable):
        repository.submit(NewConsultation(name="Bo", conversation_id="web-bo", consent_given=True, phone="5550100199"))
    assert [r.reference for r in repository.list_requests()] == [reference]


def test_a_repeated_request_is_notified_once(engine):
    first, second = book()["messages"][0], book()["messages"][0]
    assert second["response"] == "utter_consultation_already_stored" and second["reference"] == first["reference"]
    assert [row.channel for row in notices(engine)] == [EMAIL]  # Slack is not configured here


# --------------------------------------------------------------------------- delivery


def test_a_request_reaches_the_staff_mailbox_and_slack_channel(engine, mail_server, slack, caplog):
    caplog.set_level(logging.DEBUG)
    sender = "web-ana-1"
    reference = book(sender)["messages"][0]["reference"]
    report = deliverer(engine, mail_server, slack).run_once()
    assert (report.sent, report.failed) == (2, 0)

    [mail] = mail_server.wait_for(1)
    assert mail.tls and mail.authenticated and mail_server.logins == [("poreguide", True)]
    assert mail.recipients == [STAFF_EMAIL] and mail.message["To"] == STAFF_EMAIL
    assert mail.message["Subject"] == f"PoreGuide: consultation request {reference}"
    content = body(mail)
    for value in (
        reference,
        NAME,
        EMAIL_ADDRESS,
        "Phone:          -",
        "microneedling",
        "Tuesday mornings",
        f"{STAFF_PAGE}/conversations/{conversation_key(sender)}",
    ):
        assert value in content
    assert NAME not in mail.message["Subject"] and EMAIL_ADDRESS not in mail.message["Subject"]

    [post] = slack.wait_for("chat.postMessage")
    assert post.body["channel"] == STAFF_CHANNEL and post.headers["Authorization"] == f"Bearer {SLACK_TOKEN}"
    assert reference in post.body["text"] and "microneedling" in post.body["text"]
    assert "Tuesday mornings" in post.body["text"]
    for private in (NAME, "Ana", EMAIL_ADDRESS, "example.com", sender):
        assert private not in json.dumps(post.body)

    assert all(row.sent_at is not None and row.attempts == 1 and row.last_error is None for row in notices(engine))
    assert deliverer(engine, mail_server, slack).run_once().sent == 0  # sent once, not again
    logged = our_log(caplog)
    for private in (NAME, EMAIL_ADDRESS, sender):
        assert private not in logged


def test_a_phone_request_mails_the_phone_number(engine, mail_server):
    reference = book(
        "telegram-99", contact_detail=PHONE, preferred_treatment="undecided", preferred_time="no preference"
    )["messages"][0]["reference"]
    deliverer(engine, mail_server, None).run_once()
    content = body(mail_server.wait_for(1)[0])
    assert reference in content and PHONE in content and "not decided yet" in content and "no preference" in content


def test_a_dead_mail_server_delays_the_notice_but_never_loses_it(engine, mail_server, slack, caplog):
    caplog.set_level(logging.INFO)
    mail_server.stop()
    staff = worker(engine, mail_server, slack)
    try:
        started = time.monotonic()
        messages = book()["messages"]
        assert time.monotonic() - started < 1.0, "the patient's reply waited on the mail server"
        assert messages[0]["response"] == "utter_consultation_confirmed"
        reference = messages[0]["reference"]

        slack.wait_for("chat.postMessage")  # Slack is up: its notice does not wait for the mail
        email_row = lambda: next(row for row in notices(engine) if row.channel == EMAIL)  # noqa: E731
        wait_until(lambda: email_row().attempts >= 3, what="three failed mail attempts")
        row = email_row()
        assert row.sent_at is None and "ConnectionRefusedError" in (row.last_error or "")
        assert [record.reference for record in ConsultationRepository(engine).list_requests()] == [reference]

        mail_server.start()  # the same port, back
        [mail] = mail_server.wait_for(1, timeout=30)
        assert reference in body(mail)
        wait_until(lambda: email_row().sent_at is not None, what="the notice marked sent")
    finally:
        staff.stop()
    assert len(mail_server.received) == 1 and len(slack.calls_of("chat.postMessage")) == 1
    assert "not delivered" in our_log(caplog)
    assert EMAIL_ADDRESS not in our_log(caplog) and NAME not in our_log(caplog)


def test_retries_back_off_exponentially_up_to_a_cap():
    no_jitter = lambda: 1.0  # noqa: E731
    delays = [
        retry_delay(attempt, timedelta(seconds=15), timedelta(minutes=30), no_jitter).total_seconds()
        for attempt in range(1, 10)
    ]
    assert delays == [15, 30, 60, 120, 240, 480, 960, 1800, 1800]
    assert 13.5 <= retry_delay(1).total_seconds() <= 16.5  # jittered by at most 10 %


def test_failed_attempts_are_spaced_further_and_further_apart(engine):
    dead = MailServer(None)  # never started: connection refused
    book()
    outbox, stepper = (
        Outbox(engine),
        deliverer(engine, dead, None, retry_base=timedelta(seconds=1), retry_cap=timedelta(hours=1)),
    )
    clock = datetime.now(timezone.utc)
    stepper.clock = lambda: clock
    gaps = []
    for _ in range(4):
        assert stepper.run_once().failed == 1
        [row] = notices(engine)
        retry_at = as_utc(row.next_attempt_at)
        gaps.append((retry_at - clock).total_seconds())
        clock = retry_at  # the next pass runs when the notice is due again
        assert outbox.due([EMAIL], clock - timedelta(milliseconds=1)) == []
    assert all(0.9 * 2**n <= gap <= 1.1 * 2**n for n, gap in enumerate(gaps)), gaps
    assert notices(engine)[0].attempts == 4


@pytest.mark.server
def test_a_hung_mail_server_never_holds_up_a_reply(engine, certificates):
    hung = SilentServer()
    settings = SmtpSettings(
        "127.0.0.1",
        hung.port,
        False,
        "poreguide@clinic.test",
        (STAFF_EMAIL,),
        timeout=3.0,
        ca_file=str(certificates.ca_file),
    )
    staff = StaffWorker(
        lambda: Deliverer(
            Outbox(engine), ConsultationRepository(engine), {EMAIL: Mailer(settings)}, STAFF_PAGE, **FAST
        ),
        None,
        poll_seconds=0.1,
    ).start()
    try:
        book("web-first")
        time.sleep(0.5)  # the sender is now stuck waiting for the silent server's greeting
        started = time.monotonic()
        assert book("web-second")["messages"][0]["response"] == "utter_consultation_confirmed"
        assert time.monotonic() - started < 1.0
        wait_until(lambda: any(row.last_error for row in notices(engine)), what="the timeout to be recorded")
        # smtplib reports the greeting that never came as a disconnection ("timed out").
        assert any("SMTPServerDisconnected" in (row.last_error or "") for row in notices(engine))
    finally:
        staff.stop()
        hung.close()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # that server is the point
def test_mail_is_never_sent_without_starttls(engine):
    plain = MailServer(None).start()  # offers no STARTTLS
    try:
        book()
        report = deliverer(engine, plain, None).run_once()
        assert report.failed == 1 and "SMTPNotSupportedError" in report.down[EMAIL]
        assert plain.received == [] and plain.logins == []  # the password never crossed in clear
    finally:
        plain.stop()


def test_a_wrong_password_is_a_channel_failure_and_nothing_is_lost(engine, mail_server):
    book("web-1")
    book("web-2", contact_detail="bo@example.com", contact_name="Bo")
    settings = SmtpSettings.from_env(
        {**mail_server.environment(), "SMTP_URL": mail_server.url.replace("s3cret", "wrong")}
    )
    report = Deliverer(Outbox(engine), ConsultationRepository(engine), {EMAIL: Mailer(settings)}, **FAST).run_once()
    assert report.failed == 2 and "SMTPAuthenticationError 535" in report.down[EMAIL]
    # One connection per pass while the channel is down, not one per notice (smtplib tries PLAIN, then LOGIN).
    assert mail_server.logins == [("poreguide", False)] * 2
    time.sleep(1.2)
    assert deliverer(engine, mail_server, None).run_once().sent == 2


def test_slack_errors_are_retried_and_a_refused_message_does_not_block_the_others(engine, mail_server, slack):
    book("web-1")
    wrong_token = SlackNotifier(SlackNoticeSettings(STAFF_CHANNEL, "xoxb-revoked", slack.base_url))
    with pytest.raises(ChannelDown, match="invalid_auth"):
        wrong_token.deliver(NoticeText("s", "b", "text"))
    wrong_channel = SlackNotifier(SlackNoticeSettings("", SLACK_TOKEN, slack.base_url))
    with pytest.raises(ChannelDown, match="channel_not_found"):
        wrong_channel.deliver(NoticeText("s", "b", "text"))
    report = Deliverer(Outbox(engine), ConsultationRepository(engine), {SLACK: wrong_token}, **FAST).run_once()
    assert report.failed == 1 and [row.last_error for row in notices(engine) if row.channel == SLACK] == [
        "Slack invalid_auth"
    ]
    time.sleep(1.2)
    assert deliverer(engine, None, slack).run_once().sent == 1


def test_a_request_erased_before_its_notice_is_sent_is_never_mailed(engine, mail_server):
    reference = book()["messages"][0]["reference"]
    assert ConsultationRepository(engine).delete_by_reference(reference) == 1
    assert notices(engine) == []  # its notices went with it
    assert deliverer(engine, mail_server, None).run_once().sent == 0
    assert mail_server.received == []


def test_two_senders_never_send_a_notice_twice(engine, mail_server):
    references = {
        book(f"web-{n}", contact_detail=f"person{n}@example.com")["messages"][0]["reference"] for n in range(8)
    }
    senders = [deliverer(engine, mail_server, None) for _ in range(2)]
    threads = [threading.Thread(target=sender.run_once) for sender in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    mails = mail_server.wait_for(8)
    time.sleep(0.3)
    subjects = [mail.message["Subject"].rsplit(" ", 1)[1] for mail in mail_server.received]
    assert sorted(subjects) == sorted(references) and len(mails) == 8


# --------------------------------------------------------------------------- red flags


def test_a_red_flag_alerts_the_staff_without_the_message_text(engine, mail_server, slack, caplog):
    caplog.set_level(logging.DEBUG)
    sender = "telegram-5550100"
    result = report_red_flag(sender, "emergency")
    assert result["messages"][1]["response"] == "utter_red_flag_contact"  # the advice, as before
    rows = notices(engine)
    assert sorted(row.channel for row in rows) == [EMAIL, SLACK]
    assert {(row.kind, row.level, row.conversation_id) for row in rows} == {(RED_FLAG, "emergency", sender)}

    assert deliverer(engine, mail_server, slack).run_once().sent == 2
    link = f"{STAFF_PAGE}/conversations/{conversation_key(sender)}"
    [post] = slack.wait_for("chat.postMessage")
    reported_at = rows[0].created_at.strftime("%Y-%m-%d %H:%M")
    assert "EMERGENCY" in post.body["text"] and link in post.body["text"] and reported_at in post.body["text"]
    [mail] = mail_server.wait_for(1)
    assert mail.message["Subject"] == "PoreGuide: EMERGENCY red flag reported" and link in body(mail)
    for channel_text in (json.dumps(post.body), body(mail), mail.message["Subject"]):
        assert "pus" not in channel_text and "fever" not in channel_text and sender not in channel_text
    assert SYMPTOM not in our_log(caplog) and sender not in our_log(caplog)


def test_a_repeated_red_flag_is_one_alert_until_its_level_changes(engine):
    for _ in range(3):
        report_red_flag("web-repeat", "urgent")
    assert [(row.kind, row.level) for row in notices(engine)] == [(RED_FLAG, "urgent")]
    report_red_flag("web-repeat", "emergency")
    report_red_flag("web-other", "urgent")
    assert sorted((row.conversation_id, row.level) for row in notices(engine)) == [
        ("web-other", "urgent"),
        ("web-repeat", "emergency"),
        ("web-repeat", "urgent"),
    ]


@pytest.mark.server
def test_the_advice_waits_at_most_a_second_for_a_hung_database(caplog):
    hung = SilentServer()
    engine = create_engine(
        f"postgresql+psycopg2://postgres@127.0.0.1:{hung.port}/test", future=True, connect_args={"connect_timeout": 5}
    )
    try:
        import asyncio

        started = time.monotonic()
        recorded = asyncio.run(alerts.alert_staff(engine, "web-hung", "emergency"))
        assert recorded is False and time.monotonic() - started < 1.5
    finally:
        hung.close()
        engine.dispose()


# --------------------------------------------------------------------------- settings


def test_smtp_settings_from_the_url():
    settings = SmtpSettings.from_env(
        {
            "SMTP_URL": "smtp://staff%40clinic.test:p%40ss@mail.clinic.test:2525",
            "STAFF_EMAIL": "a@clinic.test, b@clinic.test",
        }
    )
    assert (settings.host, settings.port, settings.implicit_tls) == ("mail.clinic.test", 2525, False)
    assert (settings.username, settings.password, settings.sender) == ("staff@clinic.test", "p@ss", "staff@clinic.test")
    assert settings.recipients == ("a@clinic.test", "b@clinic.test") and "p@ss" not in repr(settings)
    tls = SmtpSettings.from_env({"SMTP_URL": "smtps://mail.clinic.test", "STAFF_EMAIL": "a@clinic.test"})
    assert (tls.port, tls.implicit_tls, tls.sender, tls.username) == (465, True, "a@clinic.test", "")
    assert SmtpSettings.from_env({"SMTP_URL": "smtp://mail.clinic.test"}) is None
    assert SlackNoticeSettings.from_env({"SLACK_BOT_TOKEN": "xoxb-1"}) is None
    for broken in (
        {"SMTP_URL": "http://mail", "STAFF_EMAIL": "a@b.test"},
        {"SMTP_URL": "smtp://mail:port", "STAFF_EMAIL": "a@b.test"},
        {"SMTP_URL": "smtp://u:secretpw@mail", "STAFF_EMAIL": "not an address"},
    ):
        with pytest.raises(StaffConfigError) as caught:
            SmtpSettings.from_env(broken)
        assert "secretpw" not in str(caught.value)
    with pytest.raises(StaffConfigError, match="RETENTION_REQUEST_DAYS"):
        RetentionSettings.from_env({"RETENTION_REQUEST_DAYS": "0"})


# --------------------------------------------------------------------------- the real action server


@pytest.mark.parametrize("venv", ["action venv", "rasa venv"])
def test_the_action_server_sends_the_notices_itself(tmp_path: Path, knowledge, mail_server, certificates, venv):
    """The action server that `make chat`/`make serve` start (rasa-sdk's own entry point) starts the
    sender with it, on rasa-sdk 3.21 / Sanic 25 (the action venv: workers in spawned processes, the
    sender in the primary) and on rasa-sdk 3.6 / Sanic 21 (the Rasa venv: one process): a booking
    reaches the mailbox and the fake Slack channel, with nothing else running."""
    python = launcher.action_python() if venv == "action venv" else sys.executable
    if venv == "action venv" and python == sys.executable:
        pytest.skip("no action venv here: the launcher runs the action server from the Rasa venv (the other case)")
    database_url = f"sqlite:///{tmp_path / 'poreguide.db'}"
    seeding = create_engine(database_url, future=True)
    seed_database(seeding, knowledge)
    seeding.dispose()
    port = free_ports(1)[0]
    with FakeSlackApi(SLACK_TOKEN) as slack:
        env = {
            "DATABASE_URL": database_url,
            **mail_server.environment(),
            "SLACK_STAFF_CHANNEL": STAFF_CHANNEL,
            "SLACK_BOT_TOKEN": SLACK_TOKEN,
            "SLACK_API_BASE_URL": slack.base_url,
            "STAFF_PAGE_URL": STAFF_PAGE,
        }
        with launcher.action_server(port, tmp_path / "actions.log", extra_env=env, python=python):
            slots = {
                "contact_name": NAME,
                "contact_detail": EMAIL_ADDRESS,
                "preferred_treatment": "microneedling",
                "preferred_time": "Friday afternoon",
                "consent": True,
            }
            call = {
                "next_action": "action_submit_consultation",
                "sender_id": "web-e2e",
                "version": "3.6.21",
                "domain": {},
                "tracker": {
                    "sender_id": "web-e2e",
                    "slots": slots,
                    "latest_message": {},
                    "events": [],
                    "paused": False,
                    "followup_action": None,
                    "active_loop": {},
                    "latest_action_name": "action_listen",
                },
            }
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/webhook",
                json.dumps(call).encode(),
                {"Content-Type": "application/json", TOKEN_HEADER: launcher.action_token()},
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                answer = json.loads(response.read())
            [reply] = answer["responses"]
            assert reply["response"] == "utter_consultation_confirmed"
            [mail] = mail_server.wait_for(1, timeout=30)
            assert reply["reference"] in body(mail) and EMAIL_ADDRESS in body(mail)
            [post] = slack.wait_for("chat.postMessage", timeout=30)
            assert reply["reference"] in post.body["text"] and EMAIL_ADDRESS not in post.body["text"]
    log = (tmp_path / "actions.log").read_text(encoding="utf-8", errors="replace")
    assert "Staff notices go by email and slack" in log
    assert EMAIL_ADDRESS not in log and NAME not in log
