"""The Telegram channel: the REAL Rasa and action servers, Telegram replaced by a fake Bot API on
127.0.0.1 (tests/fakes/telegram_api.py). Updates are POSTed to the webhook as Telegram sends
them; what the bot answers is read from the calls the fake received."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import time
from typing import Any, Dict, List, Optional

import pytest

from bot.channels import telegram
from bot.channels.buttons import (
    TELEGRAM_CALLBACK_DATA_BYTES,
    CallbackPayloads,
    split_text,
    telegram_button_title,
    telegram_keyboard,
)
from bot.channels.config import TelegramSettings
from bot.channels.telegram import SECRET_HEADER, TelegramInput, with_commands
from tests.fakes import ApiCall
from tests.fakes.telegram_api import FakeTelegramApi
from tests.messaging_fixtures import (  # noqa: F401 - `messaging` is the shared servers' fixture
    SET_WEBHOOK_FAILURES,
    TELEGRAM_WEBHOOK_URL,
    Messaging,
    assert_switched_off,
    messaging,
    post,
)
from tooling.ports import free_ports

_ids = itertools.count(random.randint(10_000, 90_000) * 1000)

# --------------------------------------------------------------------------- updates as Telegram sends them


def new_chat() -> int:
    return next(_ids)


def message_update(chat_id: int, text: Optional[str] = None, **content: Any) -> Dict[str, Any]:
    message: Dict[str, Any] = {
        "message_id": next(_ids),
        "date": int(time.time()),
        "from": {"id": chat_id, "is_bot": False, "first_name": "Test"},
        "chat": {"id": chat_id, "type": "private", "first_name": "Test"},
        **content,
    }
    if text is not None:
        message["text"] = text
    return {"update_id": next(_ids), "message": message}


def button_update(chat_id: int, shown: ApiCall, data: str) -> Dict[str, Any]:
    """A press on a button of the message the bot sent in `shown` (Telegram echoes that message)."""
    return {
        "update_id": next(_ids),
        "callback_query": {
            "id": str(next(_ids)),
            "chat_instance": "42",
            "data": data,
            "from": {"id": chat_id, "is_bot": False, "first_name": "Test"},
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "text": shown.body["text"],
                "reply_markup": shown.body["reply_markup"],
            },
        },
    }


def deliver(servers: Messaging, update: Dict[str, Any], secret: Optional[str] = "right") -> int:
    headers = {} if secret is None else {SECRET_HEADER: servers.telegram_secret if secret == "right" else secret}
    status, _ = post(servers.telegram_webhook, json.dumps(update).encode(), headers)
    return status


def to_chat(chat_id: int, containing: str = "") -> Any:
    return lambda call: call.body.get("chat_id") == str(chat_id) and containing in call.body.get("text", "")


def replies(servers: Messaging, chat_id: int, containing: str) -> List[ApiCall]:
    """Waits for (bounded) and returns the first message to `chat_id` whose text contains `containing`."""
    return servers.telegram.wait_for("sendMessage", to_chat(chat_id, containing))


def said(servers: Messaging, chat_id: int, text: str) -> None:
    """A message that is answered: later checks of this chat know every earlier update was handled."""
    assert deliver(servers, message_update(chat_id, text)) == 200


# --------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_start_up_registers_the_webhook_with_the_secret_retrying_while_telegram_fails(messaging: Messaging) -> None:
    calls = messaging.telegram.wait_for("setWebhook", count=SET_WEBHOOK_FAILURES + 1, timeout=90)
    for call in calls:
        assert call.token == messaging.telegram.token
        assert call.body["url"] == TELEGRAM_WEBHOOK_URL
        assert call.body["secret_token"] == messaging.telegram_secret
        assert set(call.body["allowed_updates"]) == {"message", "callback_query"}
    # The server was up and answering while Telegram refused: the failures did not stop start-up.
    assert messaging.telegram.set_webhook_failures_left == 0


@pytest.mark.slow
def test_a_question_is_answered_in_the_chat(messaging: Messaging) -> None:
    chat = new_chat()
    assert deliver(messaging, message_update(chat, "what is microneedling?")) == 200
    answer = replies(messaging, chat, "tiny punctures")[0]
    assert "Microneedling" in answer.body["text"]


@pytest.mark.slow
@pytest.mark.parametrize("command, expected", [("/start", "Hi, I'm PoreGuide"), ("/help", "how they compare")])
def test_telegram_commands_are_answered(messaging: Messaging, command: str, expected: str) -> None:
    chat = new_chat()
    assert deliver(messaging, message_update(chat, command)) == 200
    replies(messaging, chat, expected)


@pytest.mark.slow
def test_buttons_become_an_inline_keyboard_and_a_press_is_answered(messaging: Messaging) -> None:
    chat = new_chat()
    said(messaging, chat, "how long does it take to heal?")
    with_keyboard = messaging.telegram.wait_for(
        "sendMessage", lambda call: to_chat(chat)(call) and "reply_markup" in call.body
    )
    question = with_keyboard[0]
    assert "Which treatment do you mean?" in question.body["text"]
    rows = question.body["reply_markup"]["inline_keyboard"]
    assert len(rows) == 3, rows
    assert all(len(button["callback_data"].encode()) <= TELEGRAM_CALLBACK_DATA_BYTES for row in rows for button in row)
    first = rows[0][0]

    press = button_update(chat, question, first["callback_data"])
    assert deliver(messaging, press) == 200
    messaging.telegram.wait_for(
        "answerCallbackQuery", lambda call: call.body.get("callback_query_id") == press["callback_query"]["id"]
    )
    answer = replies(messaging, chat, "recovery:")[0]
    assert first["text"] in answer.body["text"], (first, answer.body["text"])


@pytest.mark.slow
@pytest.mark.parametrize("secret", [None, "wrong-secret", ""], ids=["no header", "wrong secret", "empty"])
def test_an_update_without_the_secret_token_is_refused_and_not_processed(
    messaging: Messaging, secret: Optional[str]
) -> None:
    chat = new_chat()
    assert deliver(messaging, message_update(chat, "what is microneedling?"), secret=secret) == 403
    said(messaging, chat, "are you a bot?")
    replies(messaging, chat, "automated assistant")
    assert messaging.telegram.calls_of("sendMessage", to_chat(chat, "tiny punctures")) == []


@pytest.mark.slow
def test_a_repeated_update_is_answered_once(messaging: Messaging) -> None:
    chat = new_chat()
    update = message_update(chat, "are you a bot?")
    assert deliver(messaging, update) == 200
    assert deliver(messaging, update) == 200
    said(messaging, chat, "thanks a lot thats really helpful!")
    replies(messaging, chat, "welcome")
    assert len(messaging.telegram.calls_of("sendMessage", to_chat(chat, "automated assistant"))) == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    "content",
    [{"photo": [{"file_id": "x", "width": 90, "height": 90}]}, {"sticker": {"file_id": "y", "emoji": "🙂"}}],
    ids=["photo", "sticker"],
)
def test_a_photo_or_sticker_gets_the_text_only_reply(messaging: Messaging, content: Dict[str, Any]) -> None:
    chat = new_chat()
    assert deliver(messaging, message_update(chat, **content)) == 200
    replies(messaging, chat, "I can only read text")


@pytest.mark.slow
def test_a_malformed_update_is_a_bad_request(messaging: Messaging) -> None:
    status, _ = post(messaging.telegram_webhook, b"{not json", {SECRET_HEADER: messaging.telegram_secret})
    assert status == 400


# --------------------------------------------------------------------------- registration, without Rasa


def channel_for(api_base_url: str, token: str = "1:abc", webhook_url: str = TELEGRAM_WEBHOOK_URL) -> TelegramInput:
    return TelegramInput(TelegramSettings(token, webhook_url, "s3cret", api_base_url))


def register(channel: TelegramInput, within: float) -> None:
    """Runs the channel's start-up registration (bounded), then closes its connections."""

    async def run() -> None:
        try:
            await channel.register_webhook()
        finally:
            assert channel.api is not None
            await channel.api.close()

    asyncio.run(asyncio.wait_for(run(), within))


def test_registration_retries_until_telegram_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telegram, "RETRY_FIRST_SECONDS", 0.05)
    with FakeTelegramApi("1:abc", fail_set_webhook=2) as fake:
        register(channel_for(fake.base_url), within=20)
        assert len(fake.calls_of("setWebhook")) == 3 and fake.set_webhook_failures_left == 0


def test_registration_keeps_trying_while_telegram_is_unreachable(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(telegram, "RETRY_FIRST_SECONDS", 0.05)
    closed_port = free_ports(1)[0]
    with caplog.at_level(logging.WARNING), pytest.raises(asyncio.TimeoutError):
        register(channel_for(f"http://127.0.0.1:{closed_port}"), within=1.0)
    attempts = [record.getMessage() for record in caplog.records if "not registered yet" in record.getMessage()]
    assert len(attempts) >= 2 and all("unreachable" in attempt for attempt in attempts), attempts
    assert not any("1:abc" in record.getMessage() for record in caplog.records)  # the token stays out of logs


@pytest.mark.parametrize(
    "token, webhook_url",
    [("9:wrong", TELEGRAM_WEBHOOK_URL), ("1:abc", "http://plain.example")],
    ids=["wrong token", "not https"],
)
def test_a_refused_registration_is_reported_and_not_retried(
    caplog: pytest.LogCaptureFixture, token: str, webhook_url: str
) -> None:
    with FakeTelegramApi("1:abc") as fake, caplog.at_level(logging.ERROR):
        register(channel_for(fake.base_url, token, webhook_url), within=20)
        assert len(fake.calls_of("setWebhook")) == 1
    assert any("Telegram refused the webhook" in record.getMessage() for record in caplog.records)


# --------------------------------------------------------------------------- without network


def test_the_channel_is_off_without_its_environment(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert_switched_off(TelegramInput, TelegramSettings.REQUIRED, "Telegram", monkeypatch, caplog)


def test_the_channel_has_its_webhook_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_TOKEN", "1:abc")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "https://example.org/webhooks/telegram/webhook")
    monkeypatch.setenv("TELEGRAM_SECRET_TOKEN", "s3cret")
    channel = TelegramInput.from_credentials(None)
    blueprint = channel.blueprint(lambda message: None)  # type: ignore[arg-type, return-value]
    assert {route.uri for route in blueprint._future_routes} == {"/", "/webhook"}


def test_a_payload_too_long_for_telegram_travels_as_a_token() -> None:
    payloads = CallbackPayloads()
    long_payload = '/inform{"treatment": "laser_resurfacing", "reason": "' + "x" * 80 + '"}'
    short_payload = '/inform_treatment{"treatment": "microneedling"}'
    keyboard = telegram_keyboard(
        [{"title": "Laser", "payload": long_payload}, {"title": "Microneedling", "payload": short_payload}], payloads
    )
    long_data, short_data = (row[0]["callback_data"] for row in keyboard["inline_keyboard"])
    assert short_data == short_payload
    assert len(long_data.encode()) <= TELEGRAM_CALLBACK_DATA_BYTES and long_data != long_payload
    assert payloads.decode(long_data) == long_payload
    assert payloads.decode(short_data) == short_payload
    # After a restart the token is unknown: the button's label stands in for the payload.
    assert CallbackPayloads().decode(long_data) is None
    assert telegram_button_title(keyboard, long_data) == "Laser"


@pytest.mark.parametrize(
    "text, meant",
    [
        ("/start", "/greet"),
        ("/start@PoreGuideBot", "/greet"),
        ("/start campaign-7", "/greet"),
        ("/help", "/ask_capabilities"),
        ("what is /start?", "what is /start?"),
        ("  ", "  "),
    ],
)
def test_telegram_commands_stand_for_intents(text: str, meant: str) -> None:
    assert with_commands(text) == meant


def test_a_payload_that_looks_like_a_token_is_sent_as_one() -> None:
    payloads = CallbackPayloads()
    data = payloads.encode("#hashtag")
    assert data != "#hashtag" and payloads.decode(data) == "#hashtag"


def test_long_texts_are_split_without_losing_words() -> None:
    text = " ".join(f"word{index}" for index in range(2000))
    pieces = split_text(text, 4096)
    assert len(pieces) > 1 and all(len(piece) <= 4096 for piece in pieces)
    assert " ".join(pieces).split() == text.split()
