"""Faults caused for real against the REAL servers: the action server killed with SIGKILL, the
database unreachable. People still get a reply, with the clinic's contact, and nothing unsaved
is ever confirmed."""

from __future__ import annotations

import re
import time

import pytest

from tests.e2e import Conversation, assert_contains
from tests.security_fixtures import deployment

pytestmark = pytest.mark.slow

REPLY_LIMIT_SECONDS = 5.0  # the hard limit for a reply while the action server is down
DEAD_DATABASE_URL = "postgresql+psycopg2://postgres@127.0.0.1:1/poreguide"  # nothing listens on port 1
REFERENCE = re.compile(r"\bPG-[2-9A-HJ-NP-Z]{6}\b")
KNOWLEDGE_QUESTIONS = [
    "what is microneedling?",
    "how long is recovery after laser resurfacing?",
    "which treatment has the fewest side effects?",
]


@pytest.fixture(scope="module")
def servers(tmp_path_factory, e2e_database_url):
    with deployment(tmp_path_factory.mktemp("faults"), e2e_database_url) as running:
        yield running


@pytest.fixture
def healthy(servers, e2e_database_url):
    """Each test leaves the action server running on the good database, whatever it did."""
    yield servers
    servers.start_actions(e2e_database_url)


def _timed_say(chat: Conversation, message: str) -> str:
    started = time.monotonic()
    reply, _ = chat.say(message)
    elapsed = time.monotonic() - started
    assert elapsed < REPLY_LIMIT_SECONDS, f"{message!r} took {elapsed:.1f} s"
    return reply


def test_killed_action_server_every_message_answered_then_recovers(healthy, e2e_database_url, knowledge):
    chat = Conversation(healthy.base_url)
    assert_contains("before", chat.say("what is microneedling?")[0], ["tiny punctures"])
    healthy.kill_actions()
    for message in KNOWLEDGE_QUESTIONS + ["hello", "I'd like to book a consultation"]:
        reply = _timed_say(chat, message)
        if message in KNOWLEDGE_QUESTIONS:
            assert_contains(message, reply, ["technical problem", knowledge.clinic.phone])
    healthy.start_actions(e2e_database_url)  # same port; the Rasa server is not restarted
    for conversation in (chat, Conversation(healthy.base_url)):
        reply, _ = conversation.say("what is microneedling?")
        assert_contains("after restart", reply, ["tiny punctures"])
        assert "technical problem" not in reply


def test_unreachable_database_apologises_with_the_clinic_contact(healthy, knowledge):
    healthy.start_actions(DEAD_DATABASE_URL)
    chat = Conversation(healthy.base_url)
    for message in KNOWLEDGE_QUESTIONS:
        reply, _ = chat.say(message)
        assert_contains(message, reply, [knowledge.clinic.phone, knowledge.clinic.email])
        assert "tiny punctures" not in reply


def test_unreachable_database_from_the_start_confirms_no_booking(healthy, knowledge):
    healthy.start_actions(DEAD_DATABASE_URL)
    chat = Conversation(healthy.base_url)
    replies = [
        chat.say(message)[0]
        for message in (
            "i'd like to book a consultation",
            "Dana Fault",
            "dana.fault@example.com",
            '/inform{"treatment": "microneedling"}',
            "weekday mornings",
            "/affirm",
        )
    ]
    assert not any(REFERENCE.search(reply) or "request is saved" in reply for reply in replies)
    assert knowledge.clinic.phone in replies[-1]


def test_database_lost_before_consent_says_not_saved(healthy, e2e_database_url, knowledge):
    chat = Conversation(healthy.base_url)
    chat.say("i'd like to book a consultation")
    for message in ("Dana Fault", "dana.fault@example.com", '/inform{"treatment": "microneedling"}'):
        chat.say(message)
    reply, _ = chat.say("weekday mornings")
    assert_contains("time", reply, ["May the clinic store your name and contact details"])
    healthy.start_actions(DEAD_DATABASE_URL)  # the database goes away while the person decides
    reply, _ = chat.say("/affirm")
    assert_contains("consent", reply, ["could NOT save", knowledge.clinic.phone])
    assert not REFERENCE.search(reply)
