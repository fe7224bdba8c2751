"""The Slack channel: the REAL Rasa and action servers, Slack replaced by a fake Web API on
127.0.0.1 (tests/fakes/slack_api.py). Events and interactions are POSTed to the webhook signed
as Slack signs them; what the bot answers is read from the fake's chat.postMessage calls."""

from __future__ import annotations

import itertools
import json
import random
import time
import uuid
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import urlencode

import pytest

from bot.channels.buttons import SLACK_BUTTON_TEXT_LIMIT, slack_blocks
from bot.channels.config import SlackSettings
from bot.channels.slack import SignatureError, SlackInput, check_signature
from tests.fakes import ApiCall
from tests.fakes.slack_api import signed_headers
from tests.messaging_fixtures import Messaging, assert_switched_off, messaging, post  # noqa: F401

_ids = itertools.count(random.randint(10_000, 90_000) * 1000)
BOT_USER = "UPOREGUIDE"

# --------------------------------------------------------------------------- requests as Slack sends them


def new_conversation() -> Dict[str, str]:
    number = next(_ids)
    return {"user": f"U{number}", "channel": f"D{number}"}


def event_body(event: Dict[str, Any], event_id: Optional[str] = None) -> Dict[str, Any]:
    return {
        "token": "legacy",
        "team_id": "T1",
        "api_app_id": "A1",
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [{"user_id": BOT_USER, "is_bot": True}],
        "event": event,
    }


def direct_message(who: Dict[str, str], text: str, **extra: Any) -> Dict[str, Any]:
    return event_body(
        {
            "type": "message",
            "channel_type": "im",
            "user": who["user"],
            "channel": who["channel"],
            "text": text,
            "ts": f"{time.time():.6f}",
            **extra,
        }
    )


def deliver(servers: Messaging, body: Dict[str, Any], headers: Optional[Dict[str, str]] = None) -> int:
    raw = json.dumps(body).encode()
    signed = signed_headers(servers.slack_signing_secret, raw)
    status, _ = post(servers.slack_webhook, raw, {**signed, **(headers or {})})
    return status


def press(servers: Messaging, who: Dict[str, str], shown: ApiCall, button: Dict[str, Any]) -> int:
    """A click on `button` of the message in `shown`, sent as Slack's form-encoded block_actions."""
    payload = {
        "type": "block_actions",
        "trigger_id": uuid.uuid4().hex,
        "user": {"id": who["user"]},
        "channel": {"id": who["channel"]},
        "container": {"type": "message", "channel_id": who["channel"], "message_ts": "1.000001"},
        "message": {"ts": "1.000001", "text": shown.body["text"], "blocks": shown.body["blocks"]},
        "actions": [
            {
                "type": "button",
                "action_id": button["action_id"],
                "value": button["value"],
                "text": button["text"],
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    raw = urlencode({"payload": json.dumps(payload)}).encode()
    form = "application/x-www-form-urlencoded"
    status, _ = post(servers.slack_webhook, raw, signed_headers(servers.slack_signing_secret, raw, content_type=form))
    return status


def to(who: Dict[str, str], containing: str = "") -> Callable[[ApiCall], bool]:
    return lambda call: call.body.get("channel") == who["channel"] and containing in call.body.get("text", "")


def reply(servers: Messaging, who: Dict[str, str], containing: str) -> ApiCall:
    """Waits for (bounded) the first message posted to `who`'s channel containing `containing`."""
    return servers.slack.wait_for("chat.postMessage", to(who, containing))[0]


def checkpoint(servers: Messaging, who: Dict[str, str]) -> None:
    """An answered message: requests sent before it have been dealt with when its answer arrives."""
    assert deliver(servers, direct_message(who, "are you a bot?")) == 200
    reply(servers, who, "automated assistant")


# --------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_a_direct_message_is_answered_with_the_bot_token(messaging: Messaging) -> None:
    who = new_conversation()
    assert deliver(messaging, direct_message(who, "what is microneedling?")) == 200
    answer = reply(messaging, who, "tiny punctures")
    assert "Microneedling" in answer.body["text"]
    assert answer.headers["Authorization"] == f"Bearer {messaging.slack.bot_token}"
    assert "thread_ts" not in answer.body


@pytest.mark.slow
def test_a_mention_in_a_thread_is_answered_in_that_thread_without_the_mention(messaging: Messaging) -> None:
    who = {"user": f"U{next(_ids)}", "channel": f"C{next(_ids)}"}
    thread = f"{time.time():.6f}"
    event = {
        "type": "app_mention",
        "user": who["user"],
        "channel": who["channel"],
        "thread_ts": thread,
        "text": f"<@{BOT_USER}> what is microneedling?",
        "ts": f"{time.time():.6f}",
    }
    assert deliver(messaging, event_body(event)) == 200
    answer = reply(messaging, who, "tiny punctures")
    assert answer.body["thread_ts"] == thread


@pytest.mark.slow
def test_buttons_become_block_kit_and_a_click_is_answered(messaging: Messaging) -> None:
    who = new_conversation()
    assert deliver(messaging, direct_message(who, "how long does it take to heal?")) == 200
    question = messaging.slack.wait_for("chat.postMessage", lambda call: to(who)(call) and "blocks" in call.body)[0]
    section, actions = question.body["blocks"]
    assert section["type"] == "section" and "Which treatment do you mean?" in section["text"]["text"]
    buttons = actions["elements"]
    assert actions["type"] == "actions" and len(buttons) == 3, buttons
    assert len({button["action_id"] for button in buttons}) == 3
    assert all(button["value"].startswith("/inform_treatment{") for button in buttons), buttons

    assert press(messaging, who, question, buttons[0]) == 200
    answer = reply(messaging, who, "recovery:")
    assert buttons[0]["text"]["text"] in answer.body["text"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "forge, status",
    [
        (lambda headers: {}, 401),
        (lambda headers: {**headers, "X-Slack-Signature": "v0=" + "0" * 64}, 401),
        (lambda headers: {"X-Slack-Request-Timestamp": headers["X-Slack-Request-Timestamp"]}, 401),
        (
            lambda headers: {
                **headers,
                "X-Slack-Request-Timestamp": str(int(headers["X-Slack-Request-Timestamp"]) + 1),
            },
            401,
        ),
    ],
    ids=["unsigned", "bad signature", "timestamp only", "timestamp changed"],
)
def test_a_forged_request_is_refused_and_not_processed(messaging: Messaging, forge: Any, status: int) -> None:
    who = new_conversation()
    raw = json.dumps(direct_message(who, "what is microneedling?")).encode()
    headers = forge(signed_headers(messaging.slack_signing_secret, raw))
    assert post(messaging.slack_webhook, raw, {"Content-Type": "application/json", **headers})[0] == status
    checkpoint(messaging, who)
    assert messaging.slack.calls_of("chat.postMessage", to(who, "tiny punctures")) == []


@pytest.mark.slow
def test_a_stale_request_is_refused_even_if_signed(messaging: Messaging) -> None:
    who = new_conversation()
    raw = json.dumps(direct_message(who, "what is microneedling?")).encode()
    headers = signed_headers(messaging.slack_signing_secret, raw, timestamp=int(time.time()) - 6 * 60)
    assert post(messaging.slack_webhook, raw, headers)[0] == 400
    checkpoint(messaging, who)
    assert messaging.slack.calls_of("chat.postMessage", to(who, "tiny punctures")) == []


@pytest.mark.slow
def test_retries_and_repeated_events_get_no_second_reply(messaging: Messaging) -> None:
    who = new_conversation()
    body = direct_message(who, "what is microneedling?")
    assert deliver(messaging, body) == 200
    reply(messaging, who, "tiny punctures")
    assert deliver(messaging, body, {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}) == 200
    assert deliver(messaging, body) == 200  # same event_id without the retry header
    # A retry whose first delivery never arrived is dropped too: Slack's retries are never answered.
    assert deliver(messaging, direct_message(who, "what is laser resurfacing?"), {"X-Slack-Retry-Num": "2"}) == 200
    checkpoint(messaging, who)
    assert len(messaging.slack.calls_of("chat.postMessage", to(who, "tiny punctures"))) == 1
    assert messaging.slack.calls_of("chat.postMessage", to(who, "high-heat laser")) == []


@pytest.mark.slow
def test_bot_messages_and_edits_are_ignored(messaging: Messaging) -> None:
    who = new_conversation()
    assert deliver(messaging, direct_message(who, "what is microneedling?", bot_id="BOTHER")) == 200
    assert deliver(messaging, direct_message(who, "what is microneedling?", subtype="message_changed")) == 200
    checkpoint(messaging, who)
    assert messaging.slack.calls_of("chat.postMessage", to(who, "tiny punctures")) == []


@pytest.mark.slow
def test_a_file_without_words_gets_the_text_only_reply(messaging: Messaging) -> None:
    who = new_conversation()
    shared = direct_message(who, "", subtype="file_share", files=[{"id": "F1", "mimetype": "image/png"}])
    assert deliver(messaging, shared) == 200
    reply(messaging, who, "I can only read text")


@pytest.mark.slow
def test_the_url_verification_challenge_is_answered_only_when_signed(messaging: Messaging) -> None:
    raw = json.dumps(
        {
            "token": "legacy",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
    ).encode()
    status, text = post(messaging.slack_webhook, raw, signed_headers(messaging.slack_signing_secret, raw))
    assert status == 200 and json.loads(text)["challenge"] == "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    assert post(messaging.slack_webhook, raw)[0] == 401


# --------------------------------------------------------------------------- without network

# The worked example of Slack's "Verifying requests from Slack" documentation.
DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DOC_TIMESTAMP = "1531420618"
DOC_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554"
    b"%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
DOC_NOW = float(DOC_TIMESTAMP) + 10


def test_slacks_documented_example_signature_is_accepted() -> None:
    check_signature(DOC_SECRET, DOC_TIMESTAMP, DOC_SIGNATURE, DOC_BODY, now=DOC_NOW)


@pytest.mark.parametrize(
    "secret, timestamp, signature, body, now, status",
    [
        (DOC_SECRET, DOC_TIMESTAMP, DOC_SIGNATURE, DOC_BODY + b"x", DOC_NOW, 401),
        ("another-secret", DOC_TIMESTAMP, DOC_SIGNATURE, DOC_BODY, DOC_NOW, 401),
        (DOC_SECRET, None, DOC_SIGNATURE, DOC_BODY, DOC_NOW, 401),
        (DOC_SECRET, DOC_TIMESTAMP, None, DOC_BODY, DOC_NOW, 401),
        (DOC_SECRET, "yesterday", DOC_SIGNATURE, DOC_BODY, DOC_NOW, 401),
        (DOC_SECRET, DOC_TIMESTAMP, DOC_SIGNATURE, DOC_BODY, float(DOC_TIMESTAMP) + 301, 400),
        (DOC_SECRET, DOC_TIMESTAMP, DOC_SIGNATURE, DOC_BODY, float(DOC_TIMESTAMP) - 301, 400),
    ],
    ids=["body changed", "wrong secret", "no timestamp", "no signature", "bad timestamp", "stale", "future"],
)
def test_bad_signatures_are_refused(
    secret: str, timestamp: Optional[str], signature: Optional[str], body: bytes, now: float, status: int
) -> None:
    with pytest.raises(SignatureError) as refused:
        check_signature(secret, timestamp, signature, body, now=now)
    assert refused.value.status == status


def test_buttons_become_a_section_and_an_actions_block_within_slacks_limits() -> None:
    long_title = "A very long button title that goes on and on, far beyond what Slack shows on a button"
    blocks: List[Dict[str, Any]] = slack_blocks(
        "Pick one", [{"title": "Yes", "payload": "/affirm"}, {"title": long_title, "payload": "/deny"}]
    )
    assert blocks[0] == {"type": "section", "text": {"type": "mrkdwn", "text": "Pick one"}}
    yes, long_button = blocks[1]["elements"]
    assert yes["value"] == "/affirm" and yes["text"]["text"] == "Yes" and yes["text"]["type"] == "plain_text"
    assert long_button["value"] == "/deny" and len(long_button["text"]["text"]) <= SLACK_BUTTON_TEXT_LIMIT
    assert yes["action_id"] != long_button["action_id"]


def test_a_long_text_is_split_over_several_sections() -> None:
    blocks = slack_blocks("word " * 1000, [])
    assert len(blocks) == 2 and all(len(block["text"]["text"]) <= 3000 for block in blocks)


def test_the_channel_is_off_without_its_environment(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert_switched_off(SlackInput, SlackSettings.REQUIRED, "Slack", monkeypatch, caplog)
