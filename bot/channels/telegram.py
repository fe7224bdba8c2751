"""PoreGuide on Telegram: webhook at /webhooks/telegram/webhook, replies through the Bot API.

Configured from the environment (bot.channels.config.TelegramSettings); without it the channel
is off (one log line) and the server starts as usual. At start-up it registers its webhook with
Telegram, retrying in the background while Telegram cannot be reached. Telegram proves each
update with the secret token given at registration; anything else is refused with 403. Updates
are checked before the answer (`bot.channels.edge`): one that is not a JSON object, or whose
update_id or chat id is not an integer, gets 400 and never reaches Rasa. Good updates are
answered 200 at once and handled afterwards; a retried update_id is handled only once."""

from __future__ import annotations

import asyncio
import hmac
import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.api_client import ApiError, JsonApi
from bot.channels.buttons import (
    TELEGRAM_TEXT_LIMIT,
    Button,
    CallbackPayloads,
    split_text,
    telegram_button_title,
    telegram_keyboard,
)
from bot.channels.config import TelegramSettings
from bot.channels.edge import BadInput, json_int, parse_json
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
MAX_CALLBACK_QUERY_ID_CHARS = 64


@dataclass(frozen=True)
class Incoming:
    """What an update asks of the bot, checked: the chat to answer and the person's text (None for a
    photo or sticker) or, for a button press, the raw callback data to decode."""

    chat_id: str
    text: Optional[str] = None
    pressed: bool = False
    callback_query_id: Optional[str] = None
    reply_markup: Any = None


def _object(value: Any) -> Dict[str, Any]:
    return value if isinstance(value, dict) else {}


def chat_id_of(value: Any) -> str:
    """A Telegram chat id (a JSON integer) as Rasa's sender id, else `BadInput`."""
    chat_id = json_int(value)
    if chat_id is None:
        raise BadInput("the chat id must be an integer")
    return str(chat_id)


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
        # surrogateescape: Sanic keeps undecodable header bytes as lone surrogates; they must not raise here.
        sent = (header or "").encode("utf-8", "surrogateescape")
        return hmac.compare_digest(sent, self.settings.secret_token.encode("utf-8"))

    def blueprint(self, on_new_message: MessageHandler) -> Blueprint:
        if self.settings is None or self.api is None:
            return switched_off("Telegram", TelegramSettings.missing())
        handler = guarded(on_new_message)

        async def receive(request: Request) -> HTTPResponse:
            if not self.secret_matches(request.headers.get(SECRET_HEADER)):
                logger.warning("Telegram: refused an update without the right secret token")
                return response.json({"ok": False, "description": "Forbidden"}, status=403)
            try:
                update = parse_json(request.body or b"")
            except BadInput:
                update = None
            if not isinstance(update, dict):
                return response.json({"ok": False, "description": "Bad Request: not a JSON update"}, status=400)
            try:
                update_id = self.update_id(update)
                incoming = self.incoming(update)
            except BadInput as reason:
                logger.info("Telegram: refused a malformed update")
                return response.json({"ok": False, "description": f"Bad Request: {reason}"}, status=400)
            if incoming is None:
                return response.json({"ok": True})
            if update_id is None or self.seen.first_time(update_id):
                self.tasks.spawn(self.handle(incoming, handler))
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
        body = {
            "url": self.settings.webhook_url,
            "secret_token": self.settings.secret_token,
            "allowed_updates": ALLOWED_UPDATES,
        }
        delay = RETRY_FIRST_SECONDS
        while True:
            try:
                await self.api.call("setWebhook", body)
            except ApiError as error:
                if error.status in REFUSALS:
                    logger.error(
                        "Telegram refused the webhook (%s): check TELEGRAM_TOKEN, and that "
                        "TELEGRAM_WEBHOOK_URL is a public https URL; not retrying",
                        error,
                    )
                    return
                logger.warning("Telegram webhook not registered yet (%s); retrying in %.0f s", error, delay)
            else:
                logger.info("Telegram webhook registered")
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)

    @staticmethod
    def update_id(update: Update) -> Optional[int]:
        value = update.get("update_id")
        if value is not None and json_int(value) is None:
            raise BadInput("update_id must be an integer")
        return value

    def incoming(self, update: Update) -> Optional[Incoming]:
        """The checked content of `update`, None for kinds PoreGuide does not answer (edits,
        channel posts, ...), `BadInput` for one that could not come from Telegram."""
        if "callback_query" in update:
            query = update["callback_query"]
            if not isinstance(query, dict):
                raise BadInput("callback_query must be an object")
            shown = _object(query.get("message"))
            chat = _object(shown.get("chat")).get("id")
            chat_id = chat_id_of(chat if chat is not None else _object(query.get("from")).get("id"))
            query_id = query.get("id")
            query_id = (
                query_id if isinstance(query_id, str) and 0 < len(query_id) <= MAX_CALLBACK_QUERY_ID_CHARS else None
            )
            data = query.get("data")
            return Incoming(
                chat_id,
                data if isinstance(data, str) else None,
                pressed=True,
                callback_query_id=query_id,
                reply_markup=shown.get("reply_markup"),
            )
        if "message" not in update:
            return None
        message = update["message"]
        if not isinstance(message, dict):
            raise BadInput("message must be an object")
        chat_id = chat_id_of(_object(message.get("chat")).get("id"))
        text = message.get("text")
        return Incoming(chat_id, with_commands(text) if isinstance(text, str) else None)

    async def handle(self, incoming: Incoming, handler: MessageHandler) -> None:
        text = await self.button_text(incoming) if incoming.pressed else incoming.text
        await handler(self._user_message(text, incoming.chat_id))

    def _user_message(self, text: Optional[str], chat_id: str) -> UserMessage:
        return UserMessage(text, self.get_output_channel(), sender_id=chat_id, input_channel=self.name())

    async def button_text(self, incoming: Incoming) -> Optional[str]:
        """Acknowledges the press (Telegram shows a spinner until then); its payload becomes the
        person's message. A token no longer known here falls back to the button's label."""
        assert self.api is not None
        if incoming.callback_query_id:
            await self.api.send("answerCallbackQuery", {"callback_query_id": incoming.callback_query_id})
        data = incoming.text
        if data is None:
            return None
        payload = self.payloads.decode(data)
        return payload if payload is not None else telegram_button_title(incoming.reply_markup, data)
