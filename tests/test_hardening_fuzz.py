"""Issue 13, item 5: Hypothesis-generated requests against the REAL REST, website socket.io,
Telegram and Slack endpoints of the running servers (127.0.0.1 only): bodies, headers, sender ids,
texts (lone surrogates, NUL, right-to-left marks, emoji, 1 MB, JSON nested 100,000 deep), metadata,
button payloads. Every answer must be a reply or a clean 4xx, the server must stay up, /health must
be ok at the end, and every stored conversation must hold exactly the messages its own sender sent:
nothing lost, nothing mixed.

FUZZ_EXAMPLES sets the requests per channel: a short run (150) is part of `make test`; `make fuzz`
runs thousands, on SQLite and on PostgreSQL (HARDENING_TRACKER=postgres)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import http.client
import itertools
import json
import os
import threading
import time
import uuid
from typing import Any, Counter, Dict, List, Optional, Tuple
from urllib.parse import urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine
from sqlalchemy import text as sql

from bot import settings as bot_settings
from bot.channels.edge import BadInput, UnusableInput, clean_metadata, clean_text, valid_sender
from bot.channels.reply_guard import input_problem
from bot.channels.slack import SLACK_ID
from bot.channels.telegram import SECRET_HEADER, with_commands
from bot.rasa_overrides.socketio_channel import MAX_SOCKET_PAYLOAD_BYTES, WebsiteInput, valid_session_id
from tests.fakes.slack_api import signed_headers
from tests.persistence_fixtures import (
    get_json,
    stored_events,
    tracker_postgres_url,  # noqa: F401 - for HARDENING_TRACKER=postgres
)
from tests.test_hardening_channels import Hardened, assert_alive, hardened  # noqa: F401 - shared servers

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck), print_blob=True
)
HTTP_TIMEOUT = 60.0
REPLY_TIMEOUT = 60.0
DRAIN_SECONDS = 180.0  # Telegram and Slack turns run after the 200: wait (bounded) for them to be stored
RUN = uuid.uuid4().hex[:8]  # this run's conversations, apart from every other test's
_numbers = itertools.count(1)

# What each generated sender sent that the assistant must have stored, in the store's form.
SENT: Dict[str, Counter[str]] = collections.defaultdict(collections.Counter)
COUNTS: Counter[str] = collections.Counter()

# --------------------------------------------------------------------------- strategies

ANY_CHARACTER = st.characters(exclude_categories=())  # surrogates and controls included
AWKWARD = st.sampled_from(
    [
        "\ud800",
        "\udfff",
        "a\ud83d",
        "\x00",
        "nul\x00inside",
        "\u202eevil\u202c",
        "\u200f\u200e",
        "😀🧴✨",
        "👩🏽‍⚕️",
        "caf\u0065\u0301",
        "\n\t\r",
        "   ",
        "",
        "/",
        "/greet",
        "/greet@0.5",
        '/inform{"treatment": "laser"}',
        "/inform{broken",
        "/my email is fuzz@example.com",
        "' OR 1=1 --",
        "<script>x</script>",
        "{clinic_phone}",
        "x" * 2000,
        "y" * 2001,
        "what is microneedling?",
        "how long is recovery after laser?",
        "hello",
    ]
)
QUESTIONS = st.sampled_from(
    [
        "what is microneedling?",
        "and laser?",
        "any side effects?",
        "which can i do at home",
        "how much does it cost",
        "which treatment is right for me?",
        "I have oily skin with blackheads",
        "stop",
        "thanks",
        "are you a bot?",
        "i'd like to book a consultation",
        "Jane Doe",
        "jane@example.com",
        "weekday mornings",
        "/affirm",
        "/deny",
    ]
)
TEXT = st.one_of(
    st.text(max_size=40),
    QUESTIONS,
    AWKWARD,
    st.text(ANY_CHARACTER, max_size=20),
    st.sampled_from(["z" * 1_000_000] + ["hello"] * 9),
)  # 1 MB now and then
JSON_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(ANY_CHARACTER, max_size=10),
)
JSON_VALUE = st.recursive(
    JSON_SCALAR,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(ANY_CHARACTER, max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)
NESTED = st.integers(1, 100_000).map(lambda depth: b"[" * depth + b"]" * depth)
RAW_BODY = st.one_of(
    st.binary(max_size=300), NESTED, st.just(b""), st.just(b"NaN"), st.just(b'{"sender": "x", "message": "hi"')
)
GOOD_SENDER = st.builds(
    lambda suffix, number: f"fz-{RUN}-{number}{suffix}", st.text("abcXYZ019_.:-", max_size=12), st.integers(0, 40)
)
ANY_SENDER = st.one_of(GOOD_SENDER, JSON_VALUE, st.text(ANY_CHARACTER, max_size=140), st.just("x" * 129))
METADATA = st.one_of(
    st.none(), st.dictionaries(st.text(max_size=5), JSON_VALUE, max_size=3), JSON_VALUE, st.just({"blob": "m" * 9000})
)
HEADER_VALUE = st.text(st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"), max_size=40)
HEADERS = st.dictionaries(
    st.sampled_from(
        [
            "Content-Type",
            "X-Forwarded-For",
            "Origin",
            "Accept",
            "X-Random",
            "Content-Encoding",
            "Transfer-Encoding-Hint",
            "Cookie",
        ]
    ),
    HEADER_VALUE,
    max_size=3,
)


def metadata_ok(metadata: Any) -> bool:
    try:
        clean_metadata(metadata)
    except BadInput:
        return False
    return True


def stored_form(text: str) -> Optional[str]:
    """The text Rasa stores for a sent `text` (stripped by Rasa's UserMessage, then normalised by
    the guard), or None when the guard answers it without the assistant."""
    cleaned = clean_text(text.strip() if isinstance(text, str) else text)
    if isinstance(cleaned, UnusableInput) or input_problem(cleaned) is not None:
        return None
    return cleaned


# --------------------------------------------------------------------------- HTTP


def request(base_url: str, path: str, body: bytes, headers: Dict[str, str]) -> Tuple[int, bytes]:
    """One POST over a fresh connection; a dropped connection or a timeout fails the test."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=HTTP_TIMEOUT)
    try:
        connection.request("POST", path, body=body, headers=headers)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def as_json(content: bytes) -> Any:
    return json.loads(content.decode("utf-8"))


def assert_clean_4xx(status: int, content: bytes) -> None:
    assert 400 <= status < 500, (status, content[:300])


# --------------------------------------------------------------------------- REST


@st.composite
def rest_requests(draw: st.DrawFn) -> Tuple[bytes, Dict[str, str], Optional[Dict[str, Any]], str]:
    headers = {"Content-Type": "application/json", **draw(HEADERS)}
    query = draw(st.sampled_from(["", "", "", "", "?stream=true", "?stream=false", "?token=x&stream=%ff"]))
    shape = draw(st.sampled_from(["good"] * 6 + ["raw", "any sender", "no sender", "any message", "metadata"]))
    if shape == "raw":
        return draw(RAW_BODY), headers, None, query
    body: Dict[str, Any] = {"sender": draw(GOOD_SENDER), "message": draw(TEXT)}
    if shape == "any sender":
        body["sender"] = draw(ANY_SENDER)
    elif shape == "no sender":
        del body["sender"]
    elif shape == "any message":
        body["message"] = draw(JSON_VALUE)
    elif shape == "metadata":
        body["metadata"] = draw(METADATA)
    if draw(st.integers(0, 9)) == 9:
        body["input_channel"] = draw(st.text(ANY_CHARACTER, max_size=10))
    return json.dumps(body).encode("utf-8"), headers, body, query


@FUZZ
@given(rest_requests())
def test_fuzz_rest(hardened: Hardened, generated: Tuple[bytes, Dict[str, str], Optional[Dict[str, Any]], str]) -> None:
    raw, headers, body, query = generated
    status, content = request(hardened.base_url, "/webhooks/rest/webhook" + query, raw, headers)
    COUNTS["rest"] += 1
    if body is None or valid_sender(body.get("sender")) is None:
        if status == 200:  # a body that is not a JSON object: one "couldn't read" reply
            assert body is None and len(as_json(content)) == 1, content[:300]
        else:
            assert status == 400 and as_json(content)["error"] == "invalid_sender", (status, content[:300])
        return
    if not metadata_ok(body.get("metadata")):
        assert status == 400 and as_json(content)["error"] == "invalid_metadata", (status, content[:300])
        return
    assert status == 200, (status, content[:300])
    if "stream=true" in query:
        assert content.strip(), "a streamed turn without a reply"
    else:
        assert isinstance(as_json(content), list) and as_json(content), content[:300]
    text = body.get("message")
    if isinstance(text, str) and stored_form(text) is not None:
        SENT[body["sender"]][stored_form(text)] += 1
        COUNTS["rest turns"] += 1


# --------------------------------------------------------------------------- Telegram

TELEGRAM_CHATS = st.integers(1, 40).map(lambda n: 7_000_000_000 + int(RUN, 16) % 1_000_000 * 100 + n)


@st.composite
def telegram_updates(draw: st.DrawFn) -> Tuple[bytes, Optional[Tuple[str, str]], bool]:
    """(body, (chat id, text) when it is a well-formed message to be answered, right secret?)."""
    right_secret = draw(st.sampled_from([True] * 9 + [False]))
    kind = draw(st.sampled_from(["message"] * 5 + ["button"] * 2 + ["odd chat", "raw", "any JSON", "malformed"]))
    if kind == "raw":
        return draw(RAW_BODY), None, right_secret
    if kind == "any JSON":
        return json.dumps(draw(JSON_VALUE)).encode(), None, right_secret
    update_id = next(_numbers) + int(RUN, 16)
    if kind == "malformed":
        update = {
            "update_id": draw(st.one_of(st.just(update_id), JSON_VALUE)),
            draw(st.sampled_from(["message", "callback_query"])): draw(JSON_VALUE),
        }
        return json.dumps(update).encode(), None, right_secret
    chat = draw(JSON_SCALAR if kind == "odd chat" else TELEGRAM_CHATS)
    text = draw(st.one_of(TEXT, TEXT, TEXT, JSON_SCALAR))
    if kind == "button":
        update = {
            "update_id": update_id,
            "callback_query": {
                "id": draw(st.one_of(st.text(max_size=5), JSON_SCALAR)),
                "data": text,
                "message": {"chat": {"id": chat}, "reply_markup": draw(JSON_VALUE)},
            },
        }
        sent = text if isinstance(text, str) and not text.startswith("#") else None
    else:
        update = {
            "update_id": update_id,
            "message": {"message_id": update_id, "chat": {"id": chat, "type": "private"}, "text": text},
        }
        sent = with_commands(text) if isinstance(text, str) else None
    answerable = isinstance(chat, int) and not isinstance(chat, bool) and abs(chat) < 2**53
    return json.dumps(update).encode(), (str(chat), sent) if answerable else None, right_secret


@FUZZ
@given(telegram_updates(), HEADER_VALUE)
def test_fuzz_telegram(
    hardened: Hardened, generated: Tuple[bytes, Optional[Tuple[str, str]], bool], wrong_secret: str
) -> None:
    raw, answered, right_secret = generated
    secret = hardened.telegram_secret if right_secret else wrong_secret + "!"
    status, content = request(
        hardened.base_url,
        "/webhooks/telegram/webhook",
        raw,
        {"Content-Type": "application/json", SECRET_HEADER: secret},
    )
    COUNTS["telegram"] += 1
    if not right_secret:
        assert status == 403, (status, content[:200])
        return
    assert status in (200, 400), (status, content[:300])
    if answered is not None:
        assert status == 200, (status, content[:300])
        chat, text = answered
        if isinstance(text, str) and stored_form(text) is not None:
            SENT[chat][stored_form(text)] += 1
            COUNTS["telegram turns"] += 1
    if status == 400:
        assert as_json(content)["ok"] is False


# --------------------------------------------------------------------------- Slack

SLACK_PEOPLE = st.integers(1, 40).map(lambda n: f"UFZ{RUN.upper()}{n}")


@st.composite
def slack_requests(draw: st.DrawFn) -> Tuple[bytes, str, Optional[Tuple[str, Optional[str]]], str]:
    """(body, content type, (user, text) when it is a well-formed message, signing: ok/forged/retry)."""
    signing = draw(st.sampled_from(["ok"] * 8 + ["forged", "retry"]))
    kind = draw(st.sampled_from(["message"] * 5 + ["button"] * 2 + ["odd user", "raw", "any JSON", "malformed"]))
    content_type = "application/json"
    if kind == "raw":
        return draw(RAW_BODY), content_type, None, signing
    if kind == "any JSON":
        return json.dumps(draw(JSON_VALUE)).encode(), content_type, None, signing
    user = draw(JSON_SCALAR if kind == "odd user" else SLACK_PEOPLE)
    text = draw(st.one_of(TEXT, TEXT, TEXT, JSON_SCALAR))
    channel = f"D{user}" if isinstance(user, str) else user
    delivery = f"Ev{next(_numbers)}X{RUN}"
    if kind == "malformed":
        body = {
            "type": "event_callback",
            "event_id": draw(st.one_of(st.just(delivery), JSON_VALUE)),
            "event": draw(JSON_VALUE),
        }
        return json.dumps(body).encode(), content_type, None, signing
    if kind == "button":
        body = {
            "type": "block_actions",
            "trigger_id": delivery,
            "user": {"id": user},
            "channel": {"id": channel},
            "container": {"channel_id": channel, "thread_ts": draw(JSON_SCALAR)},
            "actions": draw(st.one_of(st.just([{"value": text}]), JSON_VALUE)),
        }
        raw = urlencode({"payload": json.dumps(body)}).encode()
        well_formed = (
            isinstance(body["actions"], list) and bool(body["actions"]) and isinstance(body["actions"][0], dict)
        )
        if well_formed:
            text = body["actions"][0].get("value")
        return raw, "application/x-www-form-urlencoded", (user, text) if well_formed else None, signing
    body = {
        "type": "event_callback",
        "event_id": delivery,
        "event": {
            "type": "message",
            "channel_type": "im",
            "user": user,
            "channel": channel,
            "text": text,
            "thread_ts": draw(JSON_SCALAR),
        },
    }
    return json.dumps(body).encode(), content_type, (user, text), signing


@FUZZ
@given(slack_requests())
def test_fuzz_slack(hardened: Hardened, generated: Tuple[bytes, str, Any, str]) -> None:
    raw, content_type, message, signing = generated
    headers = signed_headers(hardened.slack_secret, raw, content_type=content_type)
    if signing == "forged":
        headers["X-Slack-Signature"] = "v0=" + "0" * 63 + "\u00e9"
    if signing == "retry":
        headers["X-Slack-Retry-Num"] = "1"
    status, content = request(hardened.base_url, "/webhooks/slack/webhook", raw, headers)
    COUNTS["slack"] += 1
    if signing == "forged":
        assert status == 401, (status, content[:200])
        return
    assert status in (200, 400), (status, content[:300])
    if signing == "retry":
        assert status == 200
        return
    if message is None:
        return
    user, text = message
    if isinstance(user, str) and SLACK_ID.fullmatch(user) and SLACK_ID.fullmatch(f"D{user}"):
        assert status == 200, (status, content[:300])
        if isinstance(text, str) and text and stored_form(text) is not None:
            SENT[user][stored_form(text)] += 1
            COUNTS["slack turns"] += 1
    elif user:
        assert status == 400, (status, content[:300])


# --------------------------------------------------------------------------- website socket.io


class SocketRunner:
    """One real socket.io client on its own event loop thread, so Hypothesis examples can use it."""

    def __init__(self, base_url: str) -> None:
        from tests.web_fixtures import SocketUser

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.base_url = base_url
        self.user = SocketUser(base_url)
        self.run(self.user.connect())
        self.session = self.run(self.user.start_session())

    def run(self, coroutine: Any, timeout: float = REPLY_TIMEOUT) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout + 5)

    def reconnect(self) -> None:
        """A new client after the server closed this one (a payload over engine.io's limit)."""
        from tests.web_fixtures import SocketUser

        self.run(self.user.close())
        self.user = SocketUser(self.base_url)
        self.run(self.user.connect())
        self.session = self.run(self.user.start_session())

    def close(self) -> None:
        async def cancel_the_rest() -> None:
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(self.user.close())
        self.run(cancel_the_rest())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def website(hardened: Hardened) -> Any:
    runner = SocketRunner(hardened.base_url)
    yield runner
    runner.close()


SESSIONS = st.integers(1, 20).map(lambda n: f"{RUN}{n:024x}")
SOCKET = WebsiteInput()  # its `_metadata` reads a message's metadata as the channel does


@FUZZ
@given(
    data=st.one_of(
        st.fixed_dictionaries({"message": TEXT, "session_id": SESSIONS}),
        st.fixed_dictionaries(
            {"message": st.one_of(TEXT, TEXT, JSON_VALUE)},
            optional={
                "session_id": st.one_of(SESSIONS, SESSIONS, JSON_SCALAR),
                "metadata": st.one_of(METADATA, st.text(max_size=20)),
            },
        ),
        JSON_VALUE,
    )
)
def test_fuzz_website_socket(hardened: Hardened, website: SocketRunner, data: Any) -> None:
    user = website.user
    start = len(user.received)
    if len(json.dumps(data)) > MAX_SOCKET_PAYLOAD_BYTES - 1024:
        # Over engine.io's limit: refused (HTTP 413) and the socket closed, not decoded; a new one works.
        async def oversized() -> None:
            with contextlib.suppress(Exception):
                await user.client.emit("user_uttered", data)
            await asyncio.sleep(1)

        website.run(oversized())
        website.reconnect()
        COUNTS["socket.io"] += 1
        return

    async def send() -> None:
        await user.client.emit("user_uttered", data)
        await user.wait_for(lambda: len(user.received) > start, "a reply")

    try:
        website.run(send())
    except AssertionError as error:
        raise AssertionError(f"no reply to {repr(data)[:300]} ({len(repr(data))} characters)") from error
    COUNTS["socket.io"] += 1
    if not isinstance(data, dict):
        data = {"message": data}  # as the channel reads a bare value
    requested = valid_session_id(data.get("session_id"))
    session = requested or user.confirmed[-1]
    text = data.get("message")
    if isinstance(text, str) and stored_form(text) is not None and metadata_ok(SOCKET._metadata(data)):
        SENT[session][stored_form(text)] += 1
        COUNTS["socket.io turns"] += 1


@FUZZ
@given(
    path=st.sampled_from(
        [
            "/socket.io/",
            "/socket.io/?EIO=4&transport=polling",
            "/socket.io/?EIO=4&transport=polling&sid=nope",
            "/socket.io/?EIO=3&transport=websocket",
            "/socket.io/?EIO=x&transport=%ff",
        ]
    ),
    body=RAW_BODY,
    headers=HEADERS,
)
def test_fuzz_raw_engineio_requests(hardened: Hardened, path: str, body: bytes, headers: Dict[str, str]) -> None:
    status, content = request(hardened.base_url, path, body, {"Content-Type": "text/plain", **headers})
    COUNTS["engine.io"] += 1
    assert status < 500, (status, content[:300])


# --------------------------------------------------------------------------- afterwards


def stored_user_texts(tracker_url: str, senders: List[str]) -> Dict[str, Counter[str]]:
    """The user texts stored for each of `senders`, in one query."""
    wanted, found = set(senders), collections.defaultdict(collections.Counter)
    engine = create_engine(tracker_url, future=True)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sql("SELECT sender_id, data FROM events WHERE type_name = 'user'")).all()
    finally:
        engine.dispose()
    for sender, data in rows:
        if sender in wanted:
            found[sender][json.loads(data).get("text")] += 1
    return found


def test_after_fuzzing_the_server_is_up_and_no_conversation_is_lost_or_mixed(hardened: Hardened) -> None:
    assert COUNTS, "no fuzz test ran before this check"
    senders = list(SENT)
    # Telegram and Slack turns run after their 200: wait (bounded) until each sender's are stored.
    deadline = time.monotonic() + DRAIN_SECONDS
    stored = stored_user_texts(hardened.tracker_url, senders)
    while any(stored.get(sender) != SENT[sender] for sender in senders) and time.monotonic() < deadline:
        time.sleep(2)
        stored = stored_user_texts(hardened.tracker_url, senders)
    status, body = get_json(hardened.base_url + "/health")
    assert (status, body["status"]) == (200, "ok"), body
    assert_alive(hardened)
    assert stored_events(hardened.tracker_url, "default") == []
    mismatched = {
        sender: {
            "not stored": dict(SENT[sender] - stored.get(sender, collections.Counter())),
            "stored, never sent": dict(stored.get(sender, collections.Counter()) - SENT[sender]),
        }
        for sender in senders
        if stored.get(sender) != SENT[sender]
    }
    assert not mismatched, f"{len(mismatched)} of {len(senders)} conversations differ, e.g. " + repr(
        dict(itertools.islice(mismatched.items(), 3))
    )
    backend = hardened.tracker_url.split(":", 1)[0].split("+")[0]
    summary = {
        "date": time.strftime("%Y-%m-%d"),
        "tracker_store": backend,
        "examples_per_test": EXAMPLES,
        "requests": dict(COUNTS),
        "conversations_checked": len(senders),
        "crashes": 0,
        "lost_or_mixed": 0,
    }
    report = bot_settings.VAR_DIR / "fuzz" / f"last-run-{backend}.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(f"\nfuzz summary: {summary}")
