"""End-to-end: real people's questions through the real PoreGuide stack.

The other tests check the actions and the NLU data in isolation. These talk to the REAL action
server and the REAL Rasa server (started once per session, see tests/e2e.py) over HTTP the way
a website would. Nothing is mocked, so they catch what the unit tests cannot: a
message the NLU misreads, a rule that never fires, an action the server cannot reach, a slot
that does not carry a follow-up ("and laser?") over to the next turn.

Expected answers are taken from bot/knowledge/treatments.yml where it matters (clinic contact,
treatment names), so a clinic editing its details does not break the test.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Tuple

import pytest
import yaml

from bot import settings
from tests.e2e import Conversation, assert_contains

pytestmark = pytest.mark.slow

KNOWLEDGE: Dict[str, Any] = yaml.safe_load(settings.DEFAULT_KNOWLEDGE_FILE.read_text(encoding="utf-8"))
CLINIC = KNOWLEDGE["clinic"]
PHONE = CLINIC["phone"]
EMAIL = CLINIC["email"]
NAMES = {key: treatment["name"] for key, treatment in KNOWLEDGE["treatments"].items()}
MICRONEEDLING = NAMES["microneedling"]
LASER = NAMES["laser_resurfacing"]
EXFOLIATION = NAMES["exfoliation"]
ALL_NAMES = [MICRONEEDLING, LASER, EXFOLIATION]
# Running text names the treatments in lower case ("... laser resurfacing and exfoliation (including
# peels)"), which is what the keys say; side-by-side comparisons use the full names above.
ALL_TREATMENTS_IN_TEXT = [key.replace("_", " ") for key in NAMES]

# The out-of-scope reply, the "please rephrase" fallback and the capabilities reply all say this,
# each a clear statement of what PoreGuide can help with; an answer about pores (e.g. the
# options) does not, so a misread weather question still fails the test.
SCOPE_REPLY = "questions about enlarged pores"


# --------------------------------------------------------------------------- single questions

SINGLE_TURN: List[Tuple[str, List[str]]] = [
    # why smaller pores
    ("why would i even want smaller pores??", ["blackheads", "blotchy"]),
    ("is there actually any point in shrinking my pores or is it just vanity", ["blackheads"]),
    # the options
    ("what can i do about big pores on my nose", ALL_TREATMENTS_IN_TEXT),
    ("what treatments r there for enlarged pores", ALL_TREATMENTS_IN_TEXT),
    # what each treatment is
    ("what even is microneedling", [MICRONEEDLING, "tiny punctures"]),
    ("wat is lazer resurfacing exactly", [LASER, "high-heat laser"]),
    ("so whats a chemical peel", [EXFOLIATION, "dead skin"]),
    # how it shrinks pores
    ("how does microneedling actually make pores smaller", [MICRONEEDLING, "collagen"]),
    ("how does the laser thing shrink your pores", [LASER, "new skin"]),
    ("how does exfoliating help with pore size?", [EXFOLIATION, "dead skin and dirt"]),
    # who performs it
    ("who actually does the microneedling", [MICRONEEDLING, "dermatologist"]),
    ("who would do laser resurfacing on me", [LASER, "dermatologist"]),
    ("who does chemical peels", [EXFOLIATION, "dermatologist"]),
    # recovery
    ("how long is recovery from microneedeling", [MICRONEEDLING, "couple of days"]),
    ("how much time off work do u need after lazer resurfacing", [LASER, "a day or two off work"]),
    ("whats the downtime after exfoliation", [EXFOLIATION, "General guidance"]),
    (
        "my pores are huge and i have a wedding in 3 weeks, how long does it take to heal after microneedling",
        [MICRONEEDLING, "couple of days"],
    ),
    # side effects
    ("any side effects with microneedling?", [MICRONEEDLING, "slight redness in the face"]),
    ("is laser resurfacing risky, what are the side effects", [LASER, "possibly some swelling"]),
    # at home
    ("can i exfoliate at home by myself", [EXFOLIATION, "at home: yes"]),
    ("can i do microneedling myself at home", [MICRONEEDLING, "at home: no"]),
    ("is there a way to do laser resurfacing at home", [LASER, "at home: no"]),
    # comparisons
    ("which has the least downtime?", ALL_NAMES),
    ("which one can i do at home", ["Exfoliation", "at home"]),
    ("can u compare microneedling and laser for me", [MICRONEEDLING, LASER]),
    # cost
    ("how much does microneedling cost roughly", [PHONE, "can't quote"]),
    ("is laser resurfacing expensive? whats the price", [PHONE, "can't quote"]),
    # dermatologist and clinic
    ("should i see a dermatologist about my pores", ["dermatologist", PHONE]),
    ("how do i get in touch with the clinic", [PHONE, EMAIL]),
    ("whats ur phone number or email, i want to book an appointment", [PHONE, EMAIL]),
    # small talk
    ("heyy there", ["not medical advice"]),
    ("thanks a lot thats really helpful!", ["welcome"]),
    ("ok thats all, bye for now", ["goodbye"]),
    ("are you a bot?", ["automated assistant"]),
    ("what can you do?", ["enlarged pores", "how they compare"]),
    # out of scope
    ("what's the weather in paris", [SCOPE_REPLY]),
    ("can you help me with my taxes", [SCOPE_REPLY]),
]


@pytest.mark.parametrize("message, expected", SINGLE_TURN, ids=[message for message, _ in SINGLE_TURN])
def test_single_question(bot_url: str, message: str, expected: List[str]) -> None:
    answer, _ = Conversation(bot_url).say(message)
    assert_contains(message, answer, expected)


# --------------------------------------------------------------------------- follow-ups


TWO_TURNS = [
    # (first message, what its answer contains, follow-up, what the follow-up's answer contains)
    (
        "how long is recovery after microneedling?",
        [MICRONEEDLING, "couple of days"],
        "and laser?",
        [LASER, "a day or two off work"],
    ),
    ("tell me about laser resurfacing", [LASER, "high-heat laser"], "any side effects?", [LASER, "swelling"]),
]


@pytest.mark.parametrize(
    "first, first_expected, follow_up, follow_up_expected",
    TWO_TURNS,
    ids=[f"{first} / {follow_up}" for first, _, follow_up, _ in TWO_TURNS],
)
def test_follow_up_keeps_context(
    bot_url: str, first: str, first_expected: List[str], follow_up: str, follow_up_expected: List[str]
) -> None:
    chat = Conversation(bot_url)
    answer, _ = chat.say(first)
    assert_contains(first, answer, first_expected)
    answer, _ = chat.say(follow_up)
    assert_contains(follow_up, answer, follow_up_expected)


def test_question_without_a_treatment_asks_which_one_and_the_button_answers_it(bot_url: str) -> None:
    chat = Conversation(bot_url)
    question = "how long does it take to heal?"
    answer, buttons = chat.say(question)
    assert_contains(question, answer, ["Which treatment do you mean?"])
    assert len(buttons) == 3, f"{question!r}: expected one button per treatment, got {buttons}"
    assert all(button["payload"].startswith("/inform_treatment{") for button in buttons), buttons

    payload = buttons[0]["payload"]
    key = json.loads(payload[len("/inform_treatment") :])["treatment"]
    assert key in NAMES, f"button payload {payload!r} names an unknown treatment"
    first_recovery_fact = KNOWLEDGE["treatments"][key]["facts"]["recovery"][0]["text"]

    answer, _ = chat.say(payload)
    assert_contains(payload, answer, [f"{NAMES[key]} – recovery:", first_recovery_fact])
