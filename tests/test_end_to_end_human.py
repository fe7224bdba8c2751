"""End-to-end over REST with the real servers: "can I talk to a person?" at any point.

The action server runs with "now" frozen (POREGUIDE_NOW) at Saturday 7 March 2026, 15:00 in
Chicago, the clinic's time zone: closed since 14:00, and daylight saving time starts on the
Sunday, so the clinic opens again on Monday at 9:00 CDT. The rest is real: the trained model,
the NLU, the rules, the booking form, and the SQLite store the request and its staff notice
are written to."""

from __future__ import annotations

import os
import re
from typing import Iterator, List, Tuple

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from actions.clinic import CALL_BACK_PAYLOAD, NOW_ENV
from bot.consultations.models import ConsultationRequest
from bot.consultations.repository import ConsultationRepository
from bot.notices.outbox import REQUEST, OutboxNotice
from tests.e2e import Conversation, assert_contains, start_servers

pytestmark = pytest.mark.slow
FROZEN_NOW = "2026-03-07T15:00:00-06:00"
REFERENCE = re.compile(r"\bPG-[2-9A-HJ-NP-Z]{6}\b")
CLOSED = ["closed right now", "opens again Monday at 9:00 CDT"]


@pytest.fixture(scope="module")
def human_bot_url(tmp_path_factory: pytest.TempPathFactory, e2e_database_url: str) -> Iterator[str]:
    """Servers of this module's own: the action server's environment carries the frozen time
    (it is copied when the process starts, so the variable is set only for the start)."""
    servers = start_servers(tmp_path_factory, e2e_database_url)
    before = os.environ.get(NOW_ENV)
    os.environ[NOW_ENV] = FROZEN_NOW
    try:
        url = next(servers)
    finally:
        if before is None:
            os.environ.pop(NOW_ENV, None)
        else:
            os.environ[NOW_ENV] = before
    yield url
    servers.close()


def _titles(buttons: List[dict]) -> List[str]:
    return [button["title"] for button in buttons]


def _call_back_button(buttons: List[dict]) -> dict:
    [button] = [button for button in buttons if button["title"] == "Request a call back"]
    assert button["payload"] == CALL_BACK_PAYLOAD
    return button


def _stored(database_url: str, reference: str) -> Tuple[object, List[str]]:
    """The stored request and the kinds of the staff notices written with it."""
    engine = create_engine(database_url, future=True)
    try:
        record = {record.reference: record for record in ConsultationRepository(engine).list_requests()}[reference]
        with Session(engine, future=True) as session:
            request_id = session.execute(
                select(ConsultationRequest.id).where(ConsultationRequest.reference == reference)
            ).scalar_one()
            notices = list(
                session.execute(select(OutboxNotice.kind).where(OutboxNotice.request_id == request_id)).scalars()
            )
    finally:
        engine.dispose()
    return record, notices


@pytest.mark.parametrize("message", ["Can I talk to a person?", "real human please"])
def test_asking_for_a_person_says_when_the_clinic_opens_gives_the_phone_and_offers_a_call_back(
    human_bot_url, knowledge, message
):
    reply, buttons = Conversation(human_bot_url).say(message)
    assert_contains(message, reply, [*CLOSED, knowledge.clinic.phone, "call you back"])
    assert _titles(buttons) == ["Request a call back", "No, thanks"]
    _call_back_button(buttons)


def test_a_call_back_asks_name_phone_and_consent_and_is_stored_as_a_call_back(
    human_bot_url, e2e_database_url, knowledge
):
    chat = Conversation(human_bot_url)
    reply, buttons = chat.say("can I talk to a person")
    assert_contains("ask human", reply, CLOSED)
    reply, _ = chat.say(_call_back_button(buttons)["payload"])
    assert_contains("call back", reply, ["so the clinic can call you back", "What name should the clinic use?"])
    reply, _ = chat.say("Sam Caller")
    assert_contains("name", reply, ["What phone number should the clinic call you on?"])
    reply, _ = chat.say("sam@example.com")
    assert_contains("email", reply, ["needs a phone number to call you back"])
    reply, _ = chat.say("+1 555 010 0177")
    # no treatment or preferred time: straight to consent, worded for a call back
    assert_contains("phone", reply, ["May the clinic store your name and phone number to call you back?"])
    reply, _ = chat.say("/affirm")
    assert_contains("consent", reply, ["Your call back request is saved", "Your reference is", knowledge.clinic.hours])
    reference = REFERENCE.search(reply).group(0)

    record, notices = _stored(e2e_database_url, reference)
    details = record.details
    assert (
        details.kind,
        details.name,
        details.phone,
        details.email,
        details.preferred_treatment,
        details.preferred_time,
        details.conversation_id,
    ) == ("callback", "Sam Caller", "+15550100177", None, None, None, chat.sender)
    assert notices and set(notices) == {REQUEST}  # the staff notice, written in the same transaction

    # the next booking in the same conversation is a full consultation request again
    reply, _ = chat.say("i'd like to book a consultation")
    reply, _ = chat.say("Sam Caller")
    assert_contains("consultation after call back", reply, ["email address or phone number"])


def test_a_typed_yes_to_the_offer_starts_the_call_back(human_bot_url):
    chat = Conversation(human_bot_url)
    chat.say("i want to speak to someone")
    reply, _ = chat.say("yes please")
    assert_contains("yes", reply, ["so the clinic can call you back", "What name should the clinic use?"])


def test_asking_for_a_person_inside_the_recommendation_questions_then_they_resume(human_bot_url):
    chat = Conversation(human_bot_url)
    reply, _ = chat.say("which treatment is right for me?")
    assert_contains("start", reply, ["What is your skin type?"])
    reply, buttons = chat.say("can i talk to a real person")
    assert_contains("ask human in the form", reply, [*CLOSED, "What is your skin type?"])
    assert "Request a call back" in _titles(buttons) and "No, thanks" not in _titles(buttons)
    reply, _ = chat.say('/inform{"skin_type": "oily"}')
    assert_contains("resumed", reply, ["What bothers you most?"])
    # the call-back button still works from inside the questions: they stop, the call back starts
    reply, _ = chat.say(_call_back_button(buttons)["payload"])
    assert_contains(
        "call back from the form", reply, ["so the clinic can call you back", "What name should the clinic use?"]
    )
    assert "What bothers you most?" not in reply


def test_asking_for_a_person_inside_the_booking_then_it_resumes_and_can_become_a_call_back(human_bot_url):
    chat = Conversation(human_bot_url)
    chat.say("i'd like to book a consultation")
    reply, _ = chat.say("Jane Booker")
    assert_contains("name", reply, ["email address or phone number"])
    reply, buttons = chat.say("can i just speak to someone")
    assert_contains("ask human in the booking", reply, [*CLOSED, "email address or phone number"])
    reply, _ = chat.say(_call_back_button(buttons)["payload"])
    assert_contains("becomes a call back", reply, ["What phone number should the clinic call you on?"])
    reply, _ = chat.say("+1 555 010 0166")
    assert_contains("phone", reply, ["to call you back?"])
