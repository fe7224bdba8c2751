"""End-to-end: real people's questions through the real PoreGuide stack.

The other tests check the actions and the NLU data in isolation. This module starts the REAL
action server and the REAL Rasa server (trained model, REST channel from credentials.yml, the
seeded knowledge database) with the launcher's own context managers, and talks to them over
HTTP the way a website would. Nothing is mocked, so it catches what the unit tests cannot: a
message the NLU misreads, a rule that never fires, an action the server cannot reach, a slot
that does not carry a follow-up ("and laser?") over to the next turn.

Expected answers are taken from bot/knowledge/treatments.yml where it matters (clinic contact,
treatment names), so a clinic editing its details does not break the test.
"""
from __future__ import annotations

import contextlib
import json
import socket
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import yaml

from bot import settings
from bot.launcher import action_server, rasa_server

pytestmark = pytest.mark.slow

MODEL = settings.PROJECT_ROOT / "models" / "poreguide.tar.gz"
REQUEST_TIMEOUT = 60.0
LOG_TAIL_LINES = 40

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

# Both the out-of-scope reply and the "please rephrase" fallback say this; an answer about
# pores (e.g. the options) does not, so a misread weather question still fails the test.
SCOPE_REPLY = "answer questions about enlarged pores"


# --------------------------------------------------------------------------- servers


def free_ports(count: int) -> List[int]:
    """`count` distinct free TCP ports on 127.0.0.1 (all sockets held open until all are chosen)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def write_endpoints(path: Path, action_port: int) -> Path:
    """A copy of endpoints.yml whose action endpoint is the action server started here."""
    endpoints = yaml.safe_load((settings.PROJECT_ROOT / "endpoints.yml").read_text(encoding="utf-8")) or {}
    endpoints.setdefault("action_endpoint", {})["url"] = f"http://127.0.0.1:{action_port}/webhook"
    path.write_text(yaml.safe_dump(endpoints, sort_keys=False), encoding="utf-8")
    return path


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    if not path.exists():
        return f"--- {path}: no log written ---"
    content = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return f"--- last {lines} lines of {path} ---\n" + "\n".join(content[-lines:])


@pytest.fixture(scope="module")
def bot_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start the action server and the Rasa server once for this module; yield the Rasa base URL."""
    if not MODEL.exists():
        pytest.fail(f"No trained model at {MODEL}: run `make train` (or `make test`) first.")
    action_port, rasa_port = free_ports(2)
    work = tmp_path_factory.mktemp("end_to_end")
    logs = tmp_path_factory.mktemp("end_to_end_logs")
    action_log, rasa_log = logs / "actions.log", logs / "rasa.log"
    endpoints = write_endpoints(work / "endpoints.yml", action_port)

    with pytest.MonkeyPatch.context() as patch, contextlib.ExitStack() as servers:
        # No usage reports from test runs (the launcher passes os.environ on to both processes).
        patch.setenv("RASA_TELEMETRY_ENABLED", "false")
        try:
            servers.enter_context(action_server(action_port, action_log))
            servers.enter_context(
                rasa_server(rasa_port, rasa_log, endpoints,
                            credentials=settings.PROJECT_ROOT / "credentials.yml", model=MODEL)
            )
        except RuntimeError as error:
            pytest.fail(f"{error}\n{log_tail(action_log)}\n{log_tail(rasa_log)}", pytrace=False)
        base_url = f"http://127.0.0.1:{rasa_port}"
        # A Rasa server whose model failed to load still answers HTTP, with empty replies:
        # probe with an intent payload (no NLU involved) so that shows up here, with the logs.
        if not probe_answers(base_url):
            pytest.fail(f"The Rasa server on port {rasa_port} answers nothing (model not loaded?)\n"
                        f"{log_tail(rasa_log)}", pytrace=False)
        yield base_url


# --------------------------------------------------------------------------- talking to the bot


def send(base_url: str, sender: str, message: str) -> List[Dict[str, Any]]:
    """POST one message to the REST channel; the bot's reply messages, never empty."""
    request = urllib.request.Request(
        f"{base_url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": message}).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
        assert response.status == 200, f"{message!r}: HTTP {response.status}"
        replies = json.loads(response.read().decode("utf-8"))
    assert isinstance(replies, list) and replies, f"{message!r}: the bot sent no reply at all"
    return replies


def probe_answers(base_url: str) -> bool:
    """True if the bot answers a greeting sent as an intent payload (bypasses the NLU)."""
    try:
        send(base_url, f"e2e-probe-{uuid.uuid4().hex}", "/greet")
    except (AssertionError, OSError):
        return False
    return True


def reply_text(replies: List[Dict[str, Any]]) -> str:
    return "\n".join(reply["text"] for reply in replies if reply.get("text"))


def reply_buttons(replies: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [button for reply in replies for button in reply.get("buttons") or []]


class Conversation:
    """One person talking to the bot: every message goes out under the same, unique sender id."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.sender = f"e2e-{uuid.uuid4().hex}"

    def say(self, message: str) -> Tuple[str, List[Dict[str, Any]]]:
        replies = send(self.base_url, self.sender, message)
        return reply_text(replies), reply_buttons(replies)


def assert_contains(message: str, answer: str, expected: List[str]) -> None:
    missing = [part for part in expected if part.lower() not in answer.lower()]
    assert not missing, f"{message!r}: reply lacks {missing}; the bot answered:\n{answer}"


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
    ("can i exfoliate at home by myself", [EXFOLIATION, "at home?: yes"]),
    ("can i do microneedling myself at home", [MICRONEEDLING, "at home?: no"]),
    ("is there a way to do laser resurfacing at home", [LASER, "at home?: no"]),
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
    ("how long is recovery after microneedling?", [MICRONEEDLING, "couple of days"],
     "and laser?", [LASER, "a day or two off work"]),
    ("tell me about laser resurfacing", [LASER, "high-heat laser"],
     "any side effects?", [LASER, "swelling"]),
]


@pytest.mark.parametrize("first, first_expected, follow_up, follow_up_expected", TWO_TURNS,
                         ids=[f"{first} / {follow_up}" for first, _, follow_up, _ in TWO_TURNS])
def test_follow_up_keeps_context(bot_url: str, first: str, first_expected: List[str],
                                 follow_up: str, follow_up_expected: List[str]) -> None:
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
    key = json.loads(payload[len("/inform_treatment"):])["treatment"]
    assert key in NAMES, f"button payload {payload!r} names an unknown treatment"
    first_recovery_fact = KNOWLEDGE["treatments"][key]["facts"]["recovery"][0]["text"]

    answer, _ = chat.say(payload)
    assert_contains(payload, answer, [f"{NAMES[key]} – recovery:", first_recovery_fact])
