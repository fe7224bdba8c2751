"""Issue 15, item 4: data kept only as long as needed. Real rows on SQLite and PostgreSQL:
conversations saved by PoreGuide's own tracker store (Rasa's events table), consultation requests
and staff notices stored by the repository and the outbox. The purge removes exactly what is past
its retention period and says how much (`make purge` runs `python -m bot.staff purge`; the action
server's staff worker runs it daily); the staff CLI deletes one person's data everywhere."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Dict, List, Optional

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from bot import settings
from bot.consultations.__main__ import main as consultations_cli
from bot.consultations.models import ConsultationRequest
from bot.consultations.repository import ConsultationRepository
from bot.consultations.submission import NewConsultation
from bot.notices.config import RetentionSettings
from bot.notices.outbox import RED_FLAG, Outbox, OutboxNotice
from bot.persistence.database import get_engine
from bot.persistence.health import HealthRegistry
from bot.rasa_overrides.sql_tracker_store import PoreGuideTrackerStore
from bot.staff import worker as staff_worker
from bot.staff.__main__ import main as staff_cli
from bot.staff.retention import PurgeReport, purge
from tests.staff_fixtures import database_url  # noqa: F401 - fixture

NOW = datetime.now(timezone.utc)
DAY = timedelta(days=1)
SETTINGS = RetentionSettings(conversation_days=90, request_days=180, outbox_days=30)


@pytest.fixture(autouse=True)
def only_email(monkeypatch: pytest.MonkeyPatch) -> None:
    """New notices go by email only, and no developer's .env or tracker URL is used."""
    for name in (
        "SLACK_STAFF_CHANNEL",
        "TRACKER_STORE_URL",
        "RETENTION_CONVERSATION_DAYS",
        "RETENTION_REQUEST_DAYS",
        "RETENTION_OUTBOX_DAYS",
        "POSTGRESQL_SCHEMA",
    ):
        monkeypatch.delenv(name, raising=False)


def save_conversation(
    url: str, sender: str, days_ago: List[float], text_said: str = "is microneedling painful?"
) -> None:
    """A conversation saved by PoreGuide's tracker store, one user and one bot turn per day given."""
    store = PoreGuideTrackerStore(Domain.empty(), host=url, health=HealthRegistry())
    tracker = DialogueStateTracker(sender, [])
    for ago in days_ago:
        stamp = (NOW - ago * DAY).timestamp()
        tracker.update(UserUttered(text_said, {"name": "ask_treatment_info"}, timestamp=stamp))
        tracker.update(ActionExecuted("action_treatment_fact", timestamp=stamp + 1))
        tracker.update(BotUttered("Microneedling can sting a little.", timestamp=stamp + 2))
    asyncio.run(store.save(tracker))
    store.engine.dispose()


def events_of(url: str) -> Dict[str, int]:
    with get_engine(url).connect() as connection:
        rows = connection.execute(text("SELECT sender_id, COUNT(*) FROM events GROUP BY sender_id")).all()
    return {sender: count for sender, count in rows}


def submit(
    url: str,
    conversation: str,
    email: Optional[str] = "ana@example.com",
    phone: Optional[str] = None,
    name: str = "Ana Lopez",
    created_days_ago: float = 0,
) -> int:
    repository = ConsultationRepository(get_engine(url))
    request = NewConsultation(
        name=name,
        conversation_id=conversation,
        consent_given=True,
        email=email,
        phone=phone,
        preferred_treatment="microneedling",
    )
    reference = repository.submit(request).reference
    with Session(get_engine(url), future=True) as session, session.begin():
        row = session.execute(
            select(ConsultationRequest).where(ConsultationRequest.reference == reference)
        ).scalar_one()
        row.created_at = NOW - created_days_ago * DAY
        session.execute(
            update(OutboxNotice)
            .where(OutboxNotice.request_id == row.id)
            .values(created_at=NOW - created_days_ago * DAY)
        )
        return row.id


def red_flag(url: str, conversation: str, created_days_ago: float, sent_days_ago: Optional[float] = None) -> None:
    assert Outbox(get_engine(url)).record_red_flag(conversation, "urgent")
    with get_engine(url).begin() as connection:
        connection.execute(
            update(OutboxNotice)
            .where(OutboxNotice.kind == RED_FLAG, OutboxNotice.conversation_id == conversation)
            .values(
                created_at=NOW - created_days_ago * DAY,
                sent_at=None if sent_days_ago is None else NOW - sent_days_ago * DAY,
            )
        )


def mark_sent(url: str, request_id: int, days_ago: float) -> None:
    with get_engine(url).begin() as connection:
        connection.execute(
            update(OutboxNotice).where(OutboxNotice.request_id == request_id).values(sent_at=NOW - days_ago * DAY)
        )


def requests_in(url: str) -> List[str]:
    with Session(get_engine(url), future=True) as session:
        return sorted(session.execute(select(ConsultationRequest.conversation_id)).scalars())


def notices_in(url: str) -> List[tuple]:
    with Session(get_engine(url), future=True) as session:
        return sorted((row.kind, row.conversation_id) for row in session.execute(select(OutboxNotice)).scalars())


def count(url: str, table: str) -> int:
    with get_engine(url).connect() as connection:
        return connection.execute(select(func.count()).select_from(text(table))).scalar_one()


def a_clinic_past_and_present(url: str) -> None:
    """Conversations, requests and notices of every age around the retention periods."""
    save_conversation(url, "web-gone", [100, 99])  # idle for 99 days: purged
    save_conversation(url, "web-returning", [120, 10])  # came back 10 days ago: kept whole
    save_conversation(url, "web-recent", [1])
    old = submit(url, "web-gone", created_days_ago=200)  # past 180 days: purged with its notice
    mark_sent(url, old, 199)
    recent = submit(url, "web-returning", email="bo@example.com", name="Bo", created_days_ago=10)
    mark_sent(url, recent, 5)  # sent 5 days ago: kept
    red_flag(url, "web-returning", created_days_ago=40, sent_days_ago=40)  # sent more than 30 days ago: purged
    red_flag(url, "web-gone", created_days_ago=100)  # never sent, as old as a purged conversation: purged
    red_flag(url, "web-recent", created_days_ago=2)  # waiting for the mail server: kept


# --------------------------------------------------------------------------- the purge


def test_the_purge_removes_exactly_what_is_past_its_retention_period(database_url):
    a_clinic_past_and_present(database_url)
    assert events_of(database_url) == {"web-gone": 6, "web-returning": 6, "web-recent": 3}

    report = purge(get_engine(database_url), get_engine(database_url), SETTINGS, NOW)
    assert report == PurgeReport(conversations=1, events=6, requests=1, notices=3)
    assert events_of(database_url) == {"web-returning": 6, "web-recent": 3}
    assert requests_in(database_url) == ["web-returning"]
    assert notices_in(database_url) == [("consultation_request", "web-returning"), (RED_FLAG, "web-recent")]
    assert report.summary(SETTINGS) == (
        "Removed 1 conversation(s) (6 events) idle for more than 90 days, "
        "1 consultation request(s) older than 180 days and 3 staff notice(s)."
    )

    assert purge(get_engine(database_url), get_engine(database_url), SETTINGS, NOW) == PurgeReport(0, 0, 0, 0)


def test_shorter_periods_purge_more(database_url):
    a_clinic_past_and_present(database_url)
    report = purge(
        get_engine(database_url),
        get_engine(database_url),
        RetentionSettings(conversation_days=5, request_days=7, outbox_days=1),
        NOW,
    )
    assert report == PurgeReport(conversations=2, events=12, requests=2, notices=4)
    assert events_of(database_url) == {"web-recent": 3} and requests_in(database_url) == []
    assert notices_in(database_url) == [(RED_FLAG, "web-recent")]  # 2 days old, unsent: younger than 5 days


def test_a_database_without_conversations_or_tables_is_purged_cleanly(database_url, tmp_path):
    conversations = f"sqlite:///{tmp_path / 'no-tracker.db'}"
    assert purge(get_engine(database_url), get_engine(conversations), SETTINGS, NOW) == PurgeReport(0, 0, 0, 0)


def test_make_purge_prints_what_it_removed(database_url):
    """What `make purge` runs, as a command of its own, with the periods from the environment."""
    a_clinic_past_and_present(database_url)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TRACKER_STORE_URL": database_url,
        "RETENTION_CONVERSATION_DAYS": "90",
        "RETENTION_REQUEST_DAYS": "180",
        "RETENTION_OUTBOX_DAYS": "30",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot.staff", "purge"],
        cwd=settings.PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "Removed 1 conversation(s) (6 events) idle for more than 90 days, 1 consultation "
        "request(s) older than 180 days and 3 staff notice(s).\n"
    )
    again = subprocess.run(
        [sys.executable, "-m", "bot.staff", "purge"],
        cwd=settings.PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.stdout.startswith("Removed 0 conversation(s) (0 events)")
    assert "ana@example.com" not in result.stderr + again.stderr


def test_a_bad_retention_setting_is_refused_before_anything_is_deleted(database_url, monkeypatch, capsys):
    a_clinic_past_and_present(database_url)
    monkeypatch.setenv("RETENTION_CONVERSATION_DAYS", "-5")
    assert staff_cli(["purge", "--database-url", database_url]) == 2
    assert "RETENTION_CONVERSATION_DAYS must be a whole number of days" in capsys.readouterr().err
    assert len(events_of(database_url)) == 3 and len(requests_in(database_url)) == 2


def test_the_outbox_command_counts_waiting_notices(database_url, capsys):
    a_clinic_past_and_present(database_url)
    assert staff_cli(["outbox", "--database-url", database_url]) == 0
    assert capsys.readouterr().out == "Staff notices waiting: 2 by email.\n"


def test_the_action_servers_staff_worker_purges_on_its_schedule(database_url, monkeypatch):
    """The worker the action server starts (`bot.staff.worker.from_environment`), on its real
    wiring (DATABASE_URL, the tracker store's URL, RETENTION_*), with a day shortened to 0.3 s."""
    a_clinic_past_and_present(database_url)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("SMTP_URL", raising=False)
    worker = staff_worker.from_environment()
    worker.first_purge_after_seconds, worker.purge_every_seconds, worker.poll_seconds = 0.0, 0.3, 0.05
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while worker.purges < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert worker.purges >= 3, "the worker did not purge on its schedule"
        assert worker.running
    finally:
        worker.stop()
    assert not worker.running
    assert sorted(events_of(database_url)) == ["web-recent", "web-returning"]
    assert requests_in(database_url) == ["web-returning"]


# --------------------------------------------------------------------------- one person, everywhere


def two_people(url: str) -> None:
    save_conversation(url, "web-ana", [3, 2], "my email is ana@example.com")
    save_conversation(url, "web-bo", [1])
    submit(url, "web-ana", email="ana@example.com", phone="+44 20 7946 0958")
    submit(url, "web-ana", email="mum@example.com", name="Rosa Lopez")  # booked for her mother: not Ana's
    submit(url, "web-bo", email="bo@example.com", name="Bo")
    red_flag(url, "web-ana", created_days_ago=2)
    red_flag(url, "web-bo", created_days_ago=1)


@pytest.mark.parametrize(
    "target", [["--email", "ANA@example.com"], ["--phone", "+44 (20) 7946-0958"], ["--conversation", "web-ana"]]
)
def test_deleting_one_persons_data_removes_it_everywhere(database_url, capsys, target):
    two_people(database_url)
    code = consultations_cli(["delete", *target, "--database-url", database_url])
    out, err = capsys.readouterr()
    assert code == 0, err
    if target[0] == "--conversation":  # every request made in the conversation goes with it
        assert out == "Deleted 2 consultation request(s), 1 conversation(s) (6 events) and 3 staff notice(s).\n"
        assert requests_in(database_url) == ["web-bo"]
    else:
        assert out == "Deleted 1 consultation request(s), 1 conversation(s) (6 events) and 2 staff notice(s).\n"
        assert requests_in(database_url) == ["web-ana", "web-bo"]  # the mother's request stays
    assert events_of(database_url) == {"web-bo": 3}
    assert (RED_FLAG, "web-ana") not in notices_in(database_url) and (RED_FLAG, "web-bo") in notices_in(database_url)
    with Session(get_engine(database_url), future=True) as session:
        emails = set(session.execute(select(ConsultationRequest.email)).scalars())
    assert "ana@example.com" not in emails and "bo@example.com" in emails


def test_deletion_with_the_conversation_store_down_deletes_nothing_and_can_be_repeated(database_url, capsys):
    two_people(database_url)
    code = consultations_cli(
        [
            "delete",
            "--email",
            "ana@example.com",
            "--database-url",
            database_url,
            "--tracker-url",
            "postgresql+psycopg2://nobody@127.0.0.1:1/none",
        ]
    )
    assert code == 1 and "Could not reach" in capsys.readouterr().err
    assert count(database_url, "consultation_requests") == 3 and len(events_of(database_url)) == 2
    assert consultations_cli(["delete", "--email", "ana@example.com", "--database-url", database_url]) == 0
    assert capsys.readouterr().out.startswith("Deleted 1 consultation request(s), 1 conversation(s)")
