"""PoreGuide on Telegram: webhook at /webhooks/telegram/webhook, replies through the Bot API.

Configured from the environment (bot.channels.config.TelegramSettings); without it the channel
is off (one log line) and the server starts as usual. At start-up it registers its webhook with
Telegram, retrying in the background while Telegram cannot be reached. Telegram proves each
update with the secret token given at registration; anything else is refused with 403. Updates
are answered 200 at once and handled afterwards; a retried update_id is handled only once."""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Any, Dict, List, Optional

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.api_client import ApiError, JsonApi
from bot.channels.buttons import (
    TELEGRAM_TEXT_LIMIT, Button, CallbackPayloads, split_text, telegram_button_title, telegram_keyboard,
)
from bot.channels.config import TelegramSettings
from bot.channels.reply_guard import MessageHandler, guarded
from bot.channels.webhook_tools import BackgroundTasks, seen_ids, switched_off, webhook_blueprint

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query"]
RETRY_FIRST_SECONDS = 5.0
RETRY_MAX_SECONDS = 60.0
REFUSALS = (400, 401, 403, 404)  # a wrong token or webhook URL: asking again cannot help
# Telegram's standard commands, as the assistant's intents: every new chat starts with /start.
COMMANDS = {"/start": "/greet", "/help": "/ask_capabilities"}

Update = Dict[str, Any]


def with_commands(text: str) -> str:
    """`text`, or the intent a Telegram command stands for ("/start", "/start@PoreGuideBot", "/help")."""
    words = text.split(maxsplit=1)
    return COMMANDS.get(words[0].split("@")[0].lower(), text) if words else text


class TelegramOutput(OutputChannel):
    """Sends one turn's replies to a chat; the recipient id is the chat id."""

    def __init__(self, api: JsonApi, payloads: CallbackPayloads) -> None:
        self.api = api
        self.payloads = payloads

    @classmethod
    def name(cls) -> str:
        return "telegram"

    async def _send_text(self, chat_id: str, text: str, reply_markup: Optional[Dict[str, Any]] = None) -> None:
        """`text` in as many messages as Telegram's length limit needs; the keyboard on the last."""
        pieces = split_text(text or "…", TELEGRAM_TEXT_LIMIT)
        for index, piece in enumerate(pieces):
            body: Dict[str, Any] = {"chat_id": chat_id, "text": piece}
            if reply_markup is not None and index == len(pieces) - 1:
                body["reply_markup"] = reply_markup
            await self.api.send("sendMessage", body)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._send_text(recipient_id, text)

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: List[Button], **kwargs: Any) -> None:
        await self._send_text(recipient_id, text, telegram_keyboard(buttons, self.payloads))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self.api.send("sendPhoto", {"chat_id": recipient_id, "photo": image})


class TelegramInput(InputChannel):
    """The Telegram webhook. Rasa creates it from credentials.yml (`bot.channels.telegram.TelegramInput:`,
    no values: the token and secrets come from the environment)."""

    def __init__(self, settings: Optional[TelegramSettings]) -> None:
        self.settings = settings
        self.payloads = CallbackPayloads()
        self.seen = seen_ids("telegram")
        self.tasks = BackgroundTasks("Telegram")
        self.api = JsonApi("Telegram", f"{settings.api_base_url}/bot{settings.token}") if settings else None

    @classmethod
    def name(cls) -> str:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "TelegramInput":
        return cls(TelegramSettings.from_env())

    def get_output_channel(self) -> Optional[TelegramOutput]:
        return TelegramOutput(self.api, self.payloads) if self.api is not None else None

    def secret_matches(self, header: Optional[str]) -> bool:
        assert self.settings is not None
        return hmac.compare_digest((header or "").encode("utf-8"), self.settings.secret_token.encode("utf-8"))

    def blueprint(self, on_new_message: MessageHandler) -> Blueprint:
        if self.settings is None or self.api is None:
            return switched_off("Telegram", TelegramSettings.missing())
        handler = guarded(on_new_message)

        async def receive(request: Request) -> HTTPResponse:
            if not self.secret_matches(request.headers.get(SECRET_HEADER)):
                logger.warning("Telegram: refused an update without the right secret token")
                return response.json({"ok": False, "description": "Forbidden"}, status=403)
            try:
                update = json.loads(request.body or b"")
            except ValueError:
                update = None
            if not isinstance(update, dict):
                return response.json({"ok": False, "description": "Bad Request: not a JSON update"}, status=400)
            update_id = update.get("update_id")
            if update_id is None or self.seen.first_time(update_id):
                self.tasks.spawn(self.handle_update(update, handler))
            else:
                logger.info("Telegram: update delivered again, already handled")
            return response.json({"ok": True})

        webhook = webhook_blueprint("telegram", self.api, receive)

        @webhook.listener("after_server_start")
        async def register(app: Any, loop: Any) -> None:
            self.tasks.spawn(self.register_webhook())

        return webhook

    async def register_webhook(self) -> None:
        """setWebhook, retried with growing pauses (5 s up to 60 s) for as long as Telegram cannot
        be reached or fails: the server keeps running meanwhile and picks Telegram up once it
        answers. A refusal (bad token, non-https URL) is logged as an error and not retried."""
        assert self.settings is not None and self.api is not None
        body = {"url": self.settings.webhook_url, "secret_token": self.settings.secret_token,
                "allowed_updates": ALLOWED_UPDATES}
        delay = RETRY_FIRST_SECONDS
        while True:
            try:
                await self.api.call("setWebhook", body)
            except ApiError as error:
                if error.status in REFUSALS:
                    logger.error("Telegram refused the webhook (%s): check TELEGRAM_TOKEN, and that "
                                 "TELEGRAM_WEBHOOK_URL is a public https URL; not retrying", error)
                    return
                logger.warning("Telegram webhook not registered yet (%s); retrying in %.0f s", error, delay)
            else:
                logger.info("Telegram webhook registered")
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)

    async def handle_update(self, update: Update, handler: MessageHandler) -> None:
        if isinstance(update.get("callback_query"), dict):
            message = await self.button_press(update["callback_query"])
        else:
            message = self.chat_message(update.get("message"))
        if message is not None:
            await handler(message)

    def _user_message(self, text: Optional[str], chat_id: Any) -> UserMessage:
        return UserMessage(text, self.get_output_channel(), sender_id=str(chat_id), input_channel=self.name())

    def chat_message(self, message: Any) -> Optional[UserMessage]:
        """A message someone sent; text None (photo, sticker, ...) gets the guard's "text only" reply."""
        chat_id = (message.get("chat") or {}).get("id") if isinstance(message, dict) else None
        if chat_id is None:
            return None
        text = message.get("text")
        return self._user_message(with_commands(text) if isinstance(text, str) else None, chat_id)

    async def button_press(self, query: Dict[str, Any]) -> Optional[UserMessage]:
        """Acknowledges the press (Telegram shows a spinner until then); its payload becomes the
        person's message. A token no longer known here falls back to the button's label."""
        assert self.api is not None
        if query.get("id"):
            await self.api.send("answerCallbackQuery", {"callback_query_id": query["id"]})
        data = query.get("data")
        shown = query.get("message") if isinstance(query.get("message"), dict) else {}
        payload = self.payloads.decode(data) if isinstance(data, str) else None
        if payload is None and isinstance(data, str):
            payload = telegram_button_title(shown.get("reply_markup"), data)
        chat_id = (shown.get("chat") or {}).get("id") or (query.get("from") or {}).get("id")
        return None if chat_id is None else self._user_message(payload, chat_id)
