"""Issue 13, findings 1, 2 and 5, against the REAL servers with every channel on (REST, website
socket.io, Telegram and Slack against fake APIs on 127.0.0.1): sender ids, texts, metadata and
button payloads are checked at the edge. A request that cannot name a conversation gets a clean
4xx and the server lives on; a text that is not well-formed Unicode gets "I couldn't read that
message"; nothing ever lands in Rasa's shared "default" conversation.

The servers are shared with tests/test_hardening_logs.py and tests/test_hardening_fuzz.py (the
`hardened` fixture; HARDENING_TRACKER=postgres puts their conversations in PostgreSQL)."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any, Dict, Iterator, Optional, Tuple

import pytest

from bot.channels.reply_guard import channel_messages
from bot.channels.slack import SIGNATURE_HEADER
from bot.channels.telegram import SECRET_HEADER
from tests.e2e import Conversation, SharedServers, assert_contains
from tests.fakes.slack_api import FakeSlackApi, signed_headers
from tests.fakes.telegram_api import FakeTelegramApi
from tests.persistence_fixtures import get_json, stored_events, tracker_postgres_url  # noqa: F401
from tests.security_fixtures import Deployment, deployment, http

pytestmark = pytest.mark.slow

TELEGRAM_WEBHOOK_URL = "https://poreguide.example.org/webhooks/telegram/webhook"
REST_PATH = "/webhooks/rest/webhook"
_ids = itertools.count(random.randint(10_000, 90_000) * 1000)


# --------------------------------------------------------------------------- the shared servers


@dataclass(frozen=True)
class Hardened:
    servers: Deployment
    telegram: FakeTelegramApi
    slack: FakeSlackApi
    telegram_secret: str
    slack_secret: str
    tracker_url: str

    @property
    def base_url(self) -> str:
        return self.servers.base_url


_servers: SharedServers[Hardened] = SharedServers("hardening")
_stack = _servers.stack


def _start(tmp_path_factory: pytest.TempPathFactory, database_url: str, tracker_url: Optional[str]) -> Hardened:
    telegram = _stack.enter_context(FakeTelegramApi(f"123456:{secrets.token_hex(8)}"))
    slack = _stack.enter_context(FakeSlackApi(f"xoxb-{secrets.token_hex(8)}"))
    telegram_secret, slack_secret = secrets.token_hex(16), secrets.token_hex(16)
    work = tmp_path_factory.mktemp("hardened")
    tracker_url = tracker_url or f"sqlite:///{work / 'tracker.db'}"
    env = {
        "TELEGRAM_TOKEN": telegram.token,
        "TELEGRAM_WEBHOOK_URL": TELEGRAM_WEBHOOK_URL,
        "TELEGRAM_SECRET_TOKEN": telegram_secret,
        "TELEGRAM_API_BASE_URL": telegram.base_url,
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": slack_secret,
        "SLACK_API_BASE_URL": slack.base_url,
        "TRACKER_STORE_URL": tracker_url,
    }
    servers = _stack.enter_context(deployment(work, database_url, rasa_env=env))  # committed credentials.yml
    return Hardened(servers, telegram, slack, telegram_secret, slack_secret, tracker_url)


@pytest.fixture(scope="session")
def hardened(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, e2e_database_url: str
) -> Iterator[Hardened]:
    """REST, socket.io, Telegram, Slack and /health on one real Rasa server, started once."""
    tracker_url = None
    if os.environ.get("HARDENING_TRACKER", "").lower() == "postgres":
        tracker_url = request.getfixturevalue("tracker_postgres_url")
    yield from _servers.use(lambda: _start(tmp_path_factory, e2e_database_url, tracker_url))


# --------------------------------------------------------------------------- talking to them


def first_sentence(key: str) -> str:
    """The fixed opening of channel message `key` (up to its first full stop or placeholder)."""
    return channel_messages()[key].split(".")[0].split("{")[0]


def post(url: str, body: bytes, headers: Optional[Dict[str, str]] = None) -> Tuple[int, Any]:
    """Status and decoded JSON (or text) of a POST; a dropped connection raises."""
    status, _, content = http(url, body, {"Content-Type": "application/json", **(headers or {})}, "POST")
    text = content.decode("utf-8", errors="replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def rest(hardened: Hardened, body: Any) -> Tuple[int, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    return post(hardened.base_url + REST_PATH, raw)


def new_sender() -> str:
    return f"hardening-{uuid.uuid4().hex}"


def assert_alive(hardened: Hardened) -> None:
    """The server still answers HTTP and a real question."""
    status, _, _ = http(hardened.base_url + "/")
    assert status == 200
    reply, _ = Conversation(hardened.base_url).say("what is microneedling?")
    assert_contains("alive", reply, ["tiny punctures"])


def assert_unreadable(status: int, replies: Any) -> None:
    assert status == 200, replies
    assert isinstance(replies, list) and len(replies) == 1, replies
    assert first_sentence("unreadable_message") in replies[0]["text"], replies


# --------------------------------------------------------------------------- REST


def test_a_lone_surrogate_sender_gets_400_and_the_server_lives(hardened: Hardened) -> None:
    """Finding 1: this exact request used to end the Rasa process."""
    status, body = rest(hardened, b'{"sender": "\\ud800", "message": "hi"}')
    assert status == 400 and body["error"] == "invalid_sender", body
    assert_alive(hardened)


BAD_SENDERS = {
    "missing": {},
    "null": {"sender": None},
    "empty": {"sender": ""},
    "blank": {"sender": "   "},
    "number": {"sender": 42},
    "list": {"sender": ["a"]},
    "object": {"sender": {"id": "a"}},
    "bool": {"sender": True},
    "space inside": {"sender": "jane doe"},
    "newline": {"sender": "a\nb"},
    "too long": {"sender": "x" * 129},
    "right-to-left override": {"sender": "abc\u202edef"},
    "NUL": {"sender": "a\x00b"},
    "surrogate pair half": {"sender": "ok\udfff"},
}


@pytest.mark.parametrize("case", list(BAD_SENDERS), ids=list(BAD_SENDERS))
def test_rest_without_a_usable_sender_gets_400_never_the_default_conversation(hardened: Hardened, case: str) -> None:
    """Finding 2: no sender used to mean Rasa's one shared conversation, "default"."""
    status, body = rest(hardened, {**BAD_SENDERS[case], "message": "my name is Jane Doe"})
    assert status == 400, body
    assert body["error"] == "invalid_sender" and "sender" in body["message"], body
    assert stored_events(hardened.tracker_url, "default") == []


def test_two_clients_without_a_sender_never_share_a_conversation(hardened: Hardened) -> None:
    """The probe of finding 2: A starts a booking, B's unrelated message must not become A's name."""
    for message in ("i'd like to book a consultation", "Jane Doe"):
        status, _ = rest(hardened, {"message": message})
        assert status == 400
    assert stored_events(hardened.tracker_url, "default") == []


def test_longest_allowed_sender_is_kept_whole(hardened: Hardened) -> None:
    sender = "s" * 96 + uuid.uuid4().hex
    status, replies = rest(hardened, {"sender": sender, "message": "/greet"})
    assert status == 200 and replies, replies
    assert stored_events(hardened.tracker_url, sender), "the 128-character sender's conversation was not stored"


@pytest.mark.parametrize("text", ["\ud800", "hello \udc00 there", "\udbff\udbff"])
def test_a_lone_surrogate_text_gets_the_couldnt_read_reply(hardened: Hardened, text: str) -> None:
    """Finding 5: it used to be answered as an outage ("technical problem", an ERROR in the log)."""
    sender = new_sender()
    status, replies = rest(hardened, json.dumps({"sender": sender, "message": text}).encode("ascii"))
    assert_unreadable(status, replies)
    assert stored_events(hardened.tracker_url, sender) == [], "an unreadable text reached the conversation"


def test_texts_are_normalised_before_the_assistant_sees_them(hardened: Hardened) -> None:
    sender = new_sender()
    status, replies = rest(hardened, {"sender": sender, "message": "what is micro\x00needling\x07?"})
    assert status == 200
    assert_contains("control characters", "\n".join(r.get("text", "") for r in replies), ["tiny punctures"])
    rest(hardened, {"sender": sender, "message": "cafe\u0301 au lait"})
    texts = [event.get("text") for kind, event in stored_events(hardened.tracker_url, sender) if kind == "user"]
    assert texts == ["what is microneedling?", "caf\u00e9 au lait"], texts


BAD_METADATA = {
    "list": [1, 2],
    "string": "x",
    "number": 3,
    "surrogate value": {"a": "\ud800"},
    "surrogate key": {"\udc00": 1},
    "too big": {"blob": "x" * 9000},
    "too deep": json.loads('{"a":' * 12 + "1" + "}" * 12),
}


@pytest.mark.parametrize("case", list(BAD_METADATA), ids=list(BAD_METADATA))
def test_unusable_metadata_gets_400(hardened: Hardened, case: str) -> None:
    sender = new_sender()
    status, body = rest(hardened, {"sender": sender, "message": "hello", "metadata": BAD_METADATA[case]})
    assert status == 400 and body["error"] == "invalid_metadata", body
    assert stored_events(hardened.tracker_url, sender) == []


def test_plain_metadata_is_kept(hardened: Hardened) -> None:
    sender = new_sender()
    status, replies = rest(hardened, {"sender": sender, "message": "/greet", "metadata": {"page": "/chat"}})
    assert status == 200 and replies
    users = [event for kind, event in stored_events(hardened.tracker_url, sender) if kind == "user"]
    assert users and (users[0].get("metadata") or {}).get("page") == "/chat", users


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"sender": "a", "message": NaN}',
        b'{"sender": "a", "message": "hi", "x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    ],
    ids=["deeply nested", "NaN", "deeply nested field"],
)
def test_bodies_the_parser_cannot_take_are_unreadable_not_500(hardened: Hardened, body: bytes) -> None:
    assert_unreadable(*rest(hardened, body))


# --------------------------------------------------------------------------- website socket.io


def _socket_session(hardened: Hardened, actions: Any) -> Any:
    from tests.web_fixtures import SocketUser

    async def scenario() -> Any:
        async with SocketUser(hardened.base_url) as visitor:
            await visitor.start_session()
            return await actions(visitor)

    return asyncio.run(scenario())


@pytest.mark.parametrize("text", ["\ud800", "a \udfff b"])
def test_socketio_lone_surrogate_gets_the_couldnt_read_reply(hardened: Hardened, text: str) -> None:
    async def actions(visitor: Any) -> str:
        return await visitor.say(text, expect=first_sentence("unreadable_message"))

    assert "technical problem" not in _socket_session(hardened, actions)


@pytest.mark.parametrize(
    "metadata",
    [[1], {"a": "\ud800"}, {"blob": "x" * 9000}, "{not json"],
    ids=["list", "surrogate", "too big", "broken JSON string"],
)
def test_socketio_unusable_metadata_gets_the_couldnt_read_reply(hardened: Hardened, metadata: Any) -> None:
    async def actions(visitor: Any) -> None:
        start = len(visitor.received)
        await visitor.client.emit(
            "user_uttered",
            {"message": "what is microneedling?", "metadata": metadata, "session_id": visitor.confirmed[-1]},
        )
        await visitor.wait_for(
            lambda: any(
                first_sentence("unreadable_message") in str(reply.get("text")) for reply in visitor.received[start:]
            ),
            "the unreadable reply",
        )

    _socket_session(hardened, actions)


def test_socketio_normal_messages_still_work(hardened: Hardened) -> None:
    async def actions(visitor: Any) -> str:
        return await visitor.say("what is micro\x00needling?", expect="tiny punctures")

    _socket_session(hardened, actions)


# --------------------------------------------------------------------------- Telegram


def telegram_update(chat: Any, text: Any = "hello", **extra: Any) -> Dict[str, Any]:
    return {
        "update_id": next(_ids),
        "message": {
            "message_id": next(_ids),
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private"},
            "text": text,
        },
        **extra,
    }


def deliver_telegram(hardened: Hardened, update: Any) -> Tuple[int, Any]:
    raw = update if isinstance(update, bytes) else json.dumps(update).encode("utf-8")
    return post(hardened.base_url + "/webhooks/telegram/webhook", raw, {SECRET_HEADER: hardened.telegram_secret})


BAD_UPDATES = {
    "surrogate chat id": telegram_update("\ud800"),
    "string chat id": telegram_update("12345"),
    "object chat id": telegram_update({"id": 1}),
    "float chat id": telegram_update(1.5),
    "bool chat id": telegram_update(True),
    "no chat": {"update_id": 1, "message": {"text": "hi"}},
    "message a list": {"update_id": 2, "message": ["hi"]},
    "update_id a list": {**telegram_update(7), "update_id": [1]},
    "update_id an object": {**telegram_update(7), "update_id": {"a": 1}},
    "callback_query a string": {"update_id": 3, "callback_query": "x"},
    "button without chat": {"update_id": 4, "callback_query": {"id": "1", "data": "/greet"}},
}


@pytest.mark.parametrize("case", list(BAD_UPDATES), ids=list(BAD_UPDATES))
def test_telegram_updates_without_a_usable_chat_get_400(hardened: Hardened, case: str) -> None:
    status, body = deliver_telegram(hardened, BAD_UPDATES[case])
    assert status == 400 and body["ok"] is False, body


def test_telegram_after_malformed_updates_the_server_lives(hardened: Hardened) -> None:
    for update in BAD_UPDATES.values():
        deliver_telegram(hardened, update)
    chat = next(_ids)
    assert deliver_telegram(hardened, telegram_update(chat, "what is microneedling?"))[0] == 200
    hardened.telegram.wait_for(
        "sendMessage",
        lambda call: call.body.get("chat_id") == str(chat) and "tiny punctures" in call.body.get("text", ""),
    )
    assert_alive(hardened)


def test_telegram_lone_surrogates_in_text_and_button_data_get_the_couldnt_read_reply(hardened: Hardened) -> None:
    chat = next(_ids)
    assert deliver_telegram(hardened, telegram_update(chat, "hi \ud800"))[0] == 200
    press = {
        "update_id": next(_ids),
        "callback_query": {
            "id": "77",
            "data": "\udfff",
            "from": {"id": chat},
            "message": {"chat": {"id": chat}, "reply_markup": ["not", "a", "keyboard"]},
        },
    }
    assert deliver_telegram(hardened, press)[0] == 200
    unreadable = first_sentence("unreadable_message")
    hardened.telegram.wait_for(
        "sendMessage",
        lambda call: call.body.get("chat_id") == str(chat) and unreadable in call.body.get("text", ""),
        count=2,
    )
    assert not hardened.telegram.calls_of(
        "sendMessage",
        lambda call: call.body.get("chat_id") == str(chat) and "technical problem" in call.body.get("text", ""),
    )


# --------------------------------------------------------------------------- Slack


def slack_event(user: Any, channel: Any, text: Any = "hello", **extra: Any) -> Dict[str, Any]:
    return {
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event": {
            "type": "message",
            "channel_type": "im",
            "user": user,
            "channel": channel,
            "text": text,
            "ts": f"{time.time():.6f}",
        },
        **extra,
    }


def deliver_slack(hardened: Hardened, body: Any, form: bool = False) -> Tuple[int, Any]:
    from urllib.parse import urlencode

    raw = json.dumps(body).encode("utf-8")
    content_type = "application/json"
    if form:
        raw, content_type = urlencode({"payload": json.dumps(body)}).encode(), "application/x-www-form-urlencoded"
    headers = signed_headers(hardened.slack_secret, raw, content_type=content_type)
    assert SIGNATURE_HEADER in headers
    return post(hardened.base_url + "/webhooks/slack/webhook", raw, headers)


def slack_person() -> Dict[str, str]:
    number = next(_ids)
    return {"user": f"U{number}", "channel": f"D{number}"}


def button_press(who: Dict[str, str], value: Any, **overrides: Any) -> Dict[str, Any]:
    return {
        "type": "block_actions",
        "trigger_id": f"{next(_ids)}.{next(_ids)}.{uuid.uuid4().hex}",
        "user": {"id": who["user"]},
        "channel": {"id": who["channel"]},
        "container": {"type": "message", "channel_id": who["channel"], "message_ts": "1.000001"},
        "actions": [{"type": "button", "action_id": "poreguide_button_0", "value": value}],
        **overrides,
    }


BAD_SLACK = {
    "surrogate user": slack_event("\ud800", "D1"),
    "object user": slack_event({"id": "U1"}, "D1"),
    "user with spaces": slack_event("U 1", "D1"),
    "surrogate channel": slack_event("U1", "\udc00"),
    "event a list": {"type": "event_callback", "event_id": "Ev1", "event": ["x"]},
    "event_id an object": {**slack_event("U1", "D1"), "event_id": {"a": 1}},
    "action a number": button_press({"user": "U1", "channel": "D1"}, "x", actions=[1]),
    "button user a list": button_press({"user": "U1", "channel": "D1"}, "x", user=["U1"]),
    "trigger_id a list": button_press({"user": "U1", "channel": "D1"}, "x", trigger_id=[1]),
}


@pytest.mark.parametrize("case", list(BAD_SLACK), ids=list(BAD_SLACK))
def test_slack_requests_without_a_usable_user_get_400(hardened: Hardened, case: str) -> None:
    status, body = deliver_slack(hardened, BAD_SLACK[case], form=BAD_SLACK[case]["type"] == "block_actions")
    assert status == 400, body


def test_slack_lone_surrogates_in_text_and_button_value_get_the_couldnt_read_reply(hardened: Hardened) -> None:
    who = slack_person()
    assert deliver_slack(hardened, slack_event(who["user"], who["channel"], "hey \ud800"))[0] == 200
    assert deliver_slack(hardened, button_press(who, "\udfff/greet"), form=True)[0] == 200
    unreadable = first_sentence("unreadable_message")
    hardened.slack.wait_for(
        "chat.postMessage",
        lambda call: call.body.get("channel") == who["channel"] and unreadable in call.body.get("text", ""),
        count=2,
    )
    for body in BAD_SLACK.values():
        deliver_slack(hardened, body, form=body["type"] == "block_actions")
    assert_alive(hardened)


def test_health_is_ok_after_all_of_it(hardened: Hardened) -> None:
    status, body = get_json(hardened.base_url + "/health")
    assert status == 200 and body["status"] == "ok", body
