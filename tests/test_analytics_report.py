"""`make report`: real trackers saved through Rasa's own SQLTrackerStore (SQLite and PostgreSQL),
then the report must show the right counts and none of the personal data the conversations held."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path
from typing import List, Tuple

import pytest
import yaml
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from bot import settings
from bot.analytics import markers
from bot.analytics.__main__ import main, tracker_store_url
from bot.analytics.events import open_engine, read_events
from bot.analytics.metrics import compute
from bot.analytics.vocabulary import load_vocabulary

DAY_1 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc).timestamp()
DAY_2 = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc).timestamp()

# Personal data placed in sender ids, message texts, slots and entity values: none may reach the page.
PERSONAL = [
    "alice-smith-7781",
    "Alice Smith",
    "alice.smith@example.org",
    "+1 555-0199",
    "5550199",
    "bob.jones-phone-0044",
    "Bob Jones",
    "bobs_secret_intent",
    "Bob's miracle cream",
    "weekday mornings",
    "call me at",
    "my face is swollen",
    "PG-ABC123",
    "carol-1234",
]


class Clock:
    """Event timestamps one second apart from a given start, so the days are known."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 1
        return self.now


def user(clock: Clock, text_: str, intent: str, entities: Tuple[Tuple[str, str], ...] = ()) -> UserUttered:
    parsed = [{"entity": name, "value": value, "start": 0, "end": len(value)} for name, value in entities]
    return UserUttered(text_, {"name": intent, "confidence": 0.9}, parsed, timestamp=clock())


def action(clock: Clock, name: str) -> ActionExecuted:
    return ActionExecuted(name, timestamp=clock())


def bot(clock: Clock, text_: str, response: str) -> BotUttered:
    return BotUttered(text_, metadata={"utter_action": response}, timestamp=clock())


def session(clock: Clock) -> List[Event]:
    return [action(clock, "action_session_start"), SessionStarted(timestamp=clock()), action(clock, "action_listen")]


def alice() -> List[Event]:
    """Day 1 and day 2: questions, two fallbacks, a recommendation, a stored consultation request."""
    c = Clock(DAY_1)
    day_1 = [
        *session(c),
        user(c, "Hi, I'm Alice Smith", "greet"),
        action(c, "utter_greet"),
        user(c, "how long is recovery after microneedling?", "ask_recovery", (("treatment", "microneedling"),)),
        SlotSet("treatment", "microneedling", timestamp=c()),
        action(c, "action_answer_treatment_fact"),
        user(c, "blorp zzz", "nlu_fallback"),
        action(c, "utter_ask_rephrase"),
        user(c, "my cat is called Alice Smith", "out_of_scope"),
        action(c, "action_default_fallback"),
        user(c, "which treatment is right for me?", "ask_recommendation"),
        ActiveLoop("recommendation_form", timestamp=c()),
        ActiveLoop(None, timestamp=c()),
        action(c, markers.RECOMMEND_ACTION),
        SlotSet(markers.RECOMMENDED_SLOT, "exfoliation", timestamp=c()),
    ]
    c = Clock(DAY_2)
    day_2 = [
        user(c, "book a consultation please", "book_consultation"),
        ActiveLoop(markers.BOOKING_FORM, timestamp=c()),
        user(c, "Alice Smith", "inform"),
        SlotSet("contact_name", "Alice Smith", timestamp=c()),
        user(c, "alice.smith@example.org", "inform"),
        SlotSet("contact_detail", "alice.smith@example.org", timestamp=c()),
        user(c, "weekday mornings", "inform"),
        SlotSet("preferred_time", "weekday mornings", timestamp=c()),
        user(c, "yes", "affirm"),
        SlotSet("consent", True, timestamp=c()),
        ActiveLoop(None, timestamp=c()),
        action(c, "action_submit_consultation"),
        bot(c, "Thank you Alice Smith! Your reference is PG-ABC123.", "utter_consultation_confirmed"),
    ]
    return day_1 + day_2


def bob() -> List[Event]:
    """Day 1: a red flag with a phone number in the message, then fine again."""
    c = Clock(DAY_1 + 3600)
    return [
        *session(c),
        user(
            c,
            "my face is swollen after laser, call me at +1 555-0199",
            "report_red_flag",
            (("treatment", "laser_resurfacing"),),
        ),
        action(c, markers.RED_FLAG_ACTION),
        SlotSet("red_flag_active", True, timestamp=c()),
        user(c, "I'm fine now, Bob Jones", "confirm_fine"),
        action(c, markers.RED_FLAG_CLEARED_ACTION),
    ]


def carol() -> List[Event]:
    """Day 2: an invented intent payload, a free-text entity, a see-a-doctor-first answer, a
    booking without consent."""
    c = Clock(DAY_2 + 60)
    return [
        *session(c),
        user(c, "/bobs_secret_intent", "bobs_secret_intent"),
        user(c, "is Bob's miracle cream better?", "compare_treatments", (("treatment", "Bob's miracle cream"),)),
        action(c, markers.RECOMMEND_ACTION),
        bot(c, "please see a dermatologist first", markers.SEE_DOCTOR_FIRST_RESPONSE),
        ActiveLoop(markers.BOOKING_FORM, timestamp=c()),
        bot(c, "Nothing was stored.", "utter_consent_declined"),
    ]


def dave() -> List[Event]:
    c = Clock(DAY_2 + 120)
    return [*session(c), user(c, "hello", "greet")]


CONVERSATIONS = {"alice-smith-7781": alice, "bob.jones-phone-0044": bob, "carol-1234": carol, "dave": dave}


async def save_conversations(store: SQLTrackerStore, domain: Domain) -> None:
    for sender, events in CONVERSATIONS.items():
        await store.save(DialogueStateTracker.from_events(sender, events(), slots=domain.slots))


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(settings.PROJECT_ROOT / "domain.yml"))


@pytest.fixture
def sqlite_store_url(tmp_path: Path, domain: Domain) -> str:
    path = tmp_path / "trackers.db"
    store = SQLTrackerStore(domain, dialect="sqlite", db=str(path))
    asyncio.run(save_conversations(store, domain))
    store.engine.dispose()
    return f"sqlite:///{path}"


@pytest.fixture
def postgres_store_url(postgres_engine: Engine, domain: Domain) -> str:
    """Rasa's tracker store in conftest's fresh PostgreSQL schema (search_path as a connect option)."""
    with postgres_engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    url = postgres_engine.url.update_query_dict({"options": f"-csearch_path={schema}"})
    store = SQLTrackerStore(
        domain,
        dialect="postgresql",
        host=url.host,
        port=url.port,
        db=url.database,
        username=url.username,
        password=url.password,
        query=dict(url.query),
    )
    asyncio.run(save_conversations(store, domain))
    store.engine.dispose()
    return url.render_as_string(hide_password=False)


def row(label: str, value: object) -> str:
    return f"<tr><td>{label}</td><td class=n>{value}</td></tr>"


EXPECTED_ROWS = [
    row("conversations", 4),
    row("user messages", 15),
    row("2026-03-01", 2),
    row("2026-03-02", 3),
    row("greet", 2),
    row("inform", 3),
    row("ask_recovery", 1),
    row("report_red_flag", 1),
    row("other", 1),
    row("fallback turns", 2),
    row("fallback rate", "13.3%"),  # 2 of 15 messages, both on day 1
    row("microneedling", 1),
    row("laser_resurfacing", 1),
    row("recommendations given", 2),
    row("of which: see a dermatologist first", 1),
    row("ranked first: exfoliation", 1),
    row("started (booking questions opened)", 2),
    row("stored", 1),
    row("consent declined (nothing stored)", 1),
    row("consultation requests stored", 1),
    row("red-flag messages", 1),
    row("red-flag answers given", 1),
    row("conversations with a red flag", 1),
    row("people who then said they were fine", 1),
]


@pytest.mark.parametrize(
    "store_url", ["sqlite_store_url", pytest.param("postgres_store_url", marks=pytest.mark.postgres)]
)
def test_report_counts_every_metric_and_holds_no_personal_data(
    store_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue(store_url)
    assert main(["--database-url", url, "--out", str(tmp_path / "report")]) == 0
    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    missing = [expected for expected in EXPECTED_ROWS if expected not in page]
    assert not missing, f"rows missing from the report: {missing}"
    assert page.count("data:image/png;base64,") == 7
    leaked = [item for item in PERSONAL if item.lower() in page.lower()]
    assert not leaked, f"personal data in the report: {leaked}"


def test_a_store_without_conversations_gets_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    empty = tmp_path / "empty.db"
    create_engine(f"sqlite:///{empty}", future=True).connect().close()
    assert main(["--database-url", f"sqlite:///{empty}", "--out", str(tmp_path / "report")]) == 1
    assert "no 'events' table" in capsys.readouterr().err
    assert not (tmp_path / "report" / "report.html").exists()


def test_the_url_comes_from_the_option_then_tracker_store_url_then_database_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRACKER_STORE_URL", "sqlite:///trackers.db")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///main.db")
    assert tracker_store_url("sqlite:///explicit.db") == "sqlite:///explicit.db"
    assert tracker_store_url() == "sqlite:///trackers.db"
    monkeypatch.delenv("TRACKER_STORE_URL")
    assert tracker_store_url() == "sqlite:///main.db"
    monkeypatch.delenv("DATABASE_URL")
    assert tracker_store_url() == f"sqlite:///{settings.VAR_DIR / 'poreguide.db'}"


def test_every_marker_the_report_counts_exists_in_the_domain() -> None:
    domain = yaml.safe_load((settings.PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    names = set()
    for section in ("intents", "entities", "slots", "forms", "actions", "responses"):
        items = domain.get(section) or []
        names.update(item if isinstance(item, str) else next(iter(item)) for item in items)
    assert not [name for name in markers.DOMAIN_NAMES if name not in names]


def test_fallbacks_and_red_flags_are_counted_per_day(sqlite_store_url: str) -> None:
    engine = open_engine(sqlite_store_url)
    try:
        figures = compute(read_events(engine), load_vocabulary())
    finally:
        engine.dispose()
    assert dict(figures.messages_per_day) == {"2026-03-01": 7, "2026-03-02": 8}
    assert figures.fallback_rate_per_day() == {"2026-03-01": pytest.approx(2 / 7), "2026-03-02": 0.0}
    assert dict(figures.red_flags_per_day) == {"2026-03-01": 1}


def test_every_safety_reply_is_in_the_audit_trail_with_level_time_and_channel() -> None:
    """Red-flag replies at their level and medical referrals, with the channel; no message text."""
    from bot.analytics.events import StoredEvent
    from bot.analytics.page import render

    c = Clock(DAY_1 + 7200)
    events = [
        user(c, "my lips are swelling up fast, can't breathe", "report_red_flag"),
        action(c, markers.RED_FLAG_ACTION),
        SlotSet(markers.RED_FLAG_LEVEL_SLOT, "emergency", timestamp=c()),
        user(c, "how much isotretinoin should I take, I'm Dana", "ask_medical_advice"),
        action(c, markers.MEDICAL_REFERRAL_ACTION),
        user(c, "pus since the peel", "report_red_flag"),
        action(c, markers.RED_FLAG_ACTION),
        SlotSet(markers.RED_FLAG_LEVEL_SLOT, "urgent", timestamp=c()),
    ]
    events[0].input_channel = "telegram"
    events[3].input_channel = "website"
    stored = [StoredEvent("dana-1", event.type_name, event.timestamp, event.as_dict()) for event in events]
    figures = compute(stored, load_vocabulary())
    assert [(r.level, r.channel) for r in figures.safety_replies] == [
        ("emergency", "telegram"),
        ("medical request", "website"),
        ("urgent", "other"),
    ]
    assert figures.safety_replies[0].time == "2026-03-01 11:00"
    page = render(figures)
    assert "emergency via telegram" in page and "medical request via website" in page
    assert "isotretinoin" not in page and "Dana" not in page and "dana-1" not in page
