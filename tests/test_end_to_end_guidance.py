"""End-to-end over REST with the real servers: a guided recommendation, a consultation request
that is then found in the database, red flags inside and outside the questions."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import create_engine

from bot.consultations.repository import ConsultationRepository
from tests.e2e import Conversation, assert_contains

pytestmark = pytest.mark.slow
REFERENCE = re.compile(r"\bPG-[2-9A-HJ-NP-Z]{6}\b")


def _answer_questions(chat: Conversation, answers):
    """Answer the recommendation questions in order; returns the last reply."""
    reply = ""
    for answer in answers:
        reply, _ = chat.say(answer)
    return reply


def test_recommendation_then_booking_is_stored(bot_url, e2e_database_url, knowledge):
    chat = Conversation(bot_url)
    reply, buttons = chat.say("i have oily skin, which treatment is right for me?")
    assert_contains("start", reply, ["five short questions", "What bothers you most?"])  # skin type not asked again
    assert [b["title"] for b in buttons][:2] == ["Large pores", "Blackheads"]
    reply = _answer_questions(
        chat,
        [
            '/inform{"concern": "blackheads"}',  # a button
            "i cant take any time off work",  # typed
            '/inform{"setting": "home"}',
            "none of these",
        ],
    )
    assert_contains(
        "safety",
        reply,
        ["Based on your answers", "1. Exfoliation and peels", "Better to avoid", "confirm with a dermatologist"],
    )

    reply, _ = chat.say("/book_consultation")
    assert_contains("book", reply, ["What name should the clinic use?"])
    reply, _ = chat.say("Jane Tester")
    assert_contains("name", reply, ["email address or phone number"])
    reply, _ = chat.say("jane.tester@example")
    assert_contains("bad email", reply, ["doesn't look like a domain", "type it again"])
    reply, _ = chat.say("jane.tester@example.com")
    # the preferred treatment is pre-filled from the recommendation, so the time comes next
    assert_contains("email", reply, ["When would suit you best"])
    reply, _ = chat.say("weekday mornings")
    assert_contains("time", reply, ["May the clinic store your name and contact details"])
    reply, _ = chat.say("/affirm")
    assert_contains("consent", reply, ["Your reference is", knowledge.clinic.phone])
    reference = REFERENCE.search(reply).group(0)

    engine = create_engine(e2e_database_url, future=True)
    try:
        records = {record.reference: record for record in ConsultationRepository(engine).list_requests()}
    finally:
        engine.dispose()
    stored = records[reference].details
    assert (stored.name, stored.email, stored.preferred_treatment, stored.preferred_time) == (
        "Jane Tester",
        "jane.tester@example.com",
        "exfoliation",
        "weekday mornings",
    )


def test_declined_consent_stores_nothing(bot_url, e2e_database_url, knowledge):
    chat = Conversation(bot_url)
    chat.say("i'd like to book a consultation")
    for message in ("Sam Nobody", "+1 555 010 0188", '/inform{"treatment": "laser_resurfacing"}', "no preference"):
        chat.say(message)
    reply, _ = chat.say("/deny")
    assert_contains("declined", reply, ["haven't stored anything", knowledge.clinic.phone])
    engine = create_engine(e2e_database_url, future=True)
    try:
        phones = [record.details.phone for record in ConsultationRepository(engine).list_requests()]
    finally:
        engine.dispose()
    assert "+15550100188" not in phones


def test_question_during_the_form_is_answered_then_the_form_resumes(bot_url):
    chat = Conversation(bot_url)
    chat.say("what would you recommend for my skin")
    reply, _ = chat.say("wait, what is microneedling?")
    assert_contains("interruption", reply, ["tiny punctures", "What is your skin type?"])


def test_stop_leaves_the_questions(bot_url):
    chat = Conversation(bot_url)
    chat.say("which treatment is right for me")
    reply, _ = chat.say("stop")
    assert_contains("stop", reply, ["stopped the questions"])


def test_red_flag_interrupts_the_form_and_holds_recommendations_until_fine(bot_url, knowledge):
    chat = Conversation(bot_url)
    chat.say("which treatment is right for me")
    reply, _ = chat.say("my face is swollen and there is pus since the laser yesterday")
    assert_contains("red flag", reply, [knowledge.red_flags.urgent.advice, knowledge.clinic.phone])
    reply, _ = chat.say("ok so which treatment is right for me")
    assert_contains("hold", reply, ["get that checked first"])
    reply, _ = chat.say("/book_consultation")
    assert_contains("hold booking", reply, ["get that checked first"])
    reply, _ = chat.say("/confirm_fine")
    assert_contains("fine", reply, ["glad"])
    reply, _ = chat.say("which treatment is right for me")
    assert_contains("resumed", reply, ["What is your skin type?"])


def test_emergency_outside_any_form(bot_url, knowledge):
    reply, _ = Conversation(bot_url).say("i can't breathe properly and my lips are swelling after the peel")
    assert_contains("emergency", reply, [knowledge.red_flags.emergency.advice])


def test_changing_an_answer_updates_the_recommendation(bot_url):
    chat = Conversation(bot_url)
    chat.say("which treatment is right for me")
    reply = _answer_questions(chat, ["oily", "large pores", "a few days is fine", "at the clinic", "none of these"])
    assert_contains("first", reply, ["Based on your answers", "oily skin tends to clog pores"])
    reply, _ = chat.say("actually my skin is dry")
    assert_contains("changed", reply, ["Based on your answers"])
    assert "oily skin tends to clog pores" not in reply.lower()


def test_a_crafted_payload_with_an_unknown_answer_is_not_accepted(bot_url):
    reply, _ = Conversation(bot_url).say('/inform{"skin_type": "<script>alert(1)</script>"}')
    assert_contains("crafted", reply, ["What is your skin type?"])


def test_booking_answers_typed_as_sentences_are_stored(bot_url, e2e_database_url):
    chat = Conversation(bot_url)
    chat.say("i'd like to book a consultation")
    reply, _ = chat.say("I'm Jane Sentence")
    assert_contains("name", reply, ["email address or phone number"])
    reply, _ = chat.say("my phone is +1 212 555 0173")
    assert "can only come at the start" not in reply
    for message in ('/inform{"treatment": "microneedling"}', "no preference"):
        chat.say(message)
    reply, _ = chat.say("/affirm")
    reference = REFERENCE.search(reply).group(0)
    engine = create_engine(e2e_database_url, future=True)
    try:
        stored = {record.reference: record for record in ConsultationRepository(engine).list_requests()}[reference]
    finally:
        engine.dispose()
    assert (stored.details.name, stored.details.phone) == ("Jane Sentence", "+12125550173")


@pytest.mark.parametrize(
    "leaving,expected",
    [
        ("actually never mind, bye", "Goodbye"),
        ("forget it", "stopped the questions"),
        ("not now", "stopped the questions"),
    ],
)
def test_leaving_the_booking_politely(bot_url, leaving, expected):
    chat = Conversation(bot_url)
    chat.say("i'd like to book a consultation")
    reply, _ = chat.say(leaving)
    assert expected.lower() in reply.lower() and "email" not in reply.lower()
    reply, _ = chat.say("what is microneedling?")
    assert "tiny punctures" in reply and "name should the clinic use" not in reply


def test_a_typed_skin_type_in_a_sentence_answers_the_question(bot_url):
    chat = Conversation(bot_url)
    chat.say("which treatment is right for me")
    reply, _ = chat.say("it's oily I think")
    assert "What bothers you most?" in reply
