"""PoreGuide on Slack: Events API and interactivity at /webhooks/slack/webhook, replies through
chat.postMessage.

Configured from the environment (bot.channels.config.SlackSettings); without it the channel is
off (one log line). Every request must carry Slack's v0 signature made with the signing secret
and a fresh timestamp, or it is refused. Slack wants an answer within 3 s and retries otherwise,
so the webhook answers 200 at once and the assistant works afterwards; retries (X-Slack-Retry-Num)
and repeated event ids are dropped, and so are bot messages, so nothing is answered twice and the
bot never talks to itself. Before that answer the request is checked (`bot.channels.edge`): a body
that is not a JSON object, or an event or button press whose user, channel or delivery id is not
an id Slack would send, gets 400 and never reaches Rasa."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from typing import Any, Dict, List, Optional
from urllib.parse import parse_qs

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.api_client import JsonApi
from bot.channels.buttons import Button, slack_blocks
from bot.channels.config import SlackSettings
from bot.channels.edge import BadInput, parse_json
from bot.channels.reply_guard import MessageHandler, guarded
from bot.channels.webhook_tools import BackgroundTasks, seen_ids, switched_off, webhook_blueprint

logger = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"
RETRY_HEADER = "X-Slack-Retry-Num"
MAX_REQUEST_AGE_SECONDS = 5 * 60
PERSON_SUBTYPES = (None, "file_share")  # message subtypes a person writes (others: edits, joins, bots)
MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
SLACK_ID = re.compile(r"[A-Za-z0-9]{1,64}")  # users (U.../W...), conversations (C.../D.../G...)
DELIVERY_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")  # event_id, trigger_id
TIMESTAMP = re.compile(r"\d{1,12}\.\d{1,9}")  # ts / thread_ts

Payload = Dict[str, Any]


def _object(value: Any) -> Payload:
    return value if isinstance(value, dict) else {}


def slack_id(value: Any, what: str) -> str:
    """A Slack user or conversation id, else `BadInput`."""
    if not isinstance(value, str) or not SLACK_ID.fullmatch(value):
        raise BadInput(f"the {what} id is not a Slack id")
    return value


def delivery_id(value: Any) -> Optional[str]:
    """An event_id or trigger_id (None when absent), else `BadInput`."""
    if value is None:
        return None
    if not isinstance(value, str) or not DELIVERY_ID.fullmatch(value):
        raise BadInput("the delivery id is not a Slack id")
    return value


def thread_of(value: Any) -> Optional[str]:
    """A thread timestamp to reply in, or None (top level) when it is not one."""
    return value if isinstance(value, str) and TIMESTAMP.fullmatch(value) else None


class SignatureError(Exception):
    """A request Slack did not sign (401) or signed too long ago to be trusted (400)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def check_signature(
    secret: str, timestamp: Optional[str], signature: Optional[str], body: bytes, now: Optional[float] = None
) -> None:
    """Raises SignatureError unless `signature` is Slack's v0 HMAC-SHA256 of `v0:{timestamp}:{body}`
    with `secret` and `timestamp` is within 5 minutes of `now` (a replayed old request fails)."""
    if not timestamp or not signature:
        raise SignatureError(401, "unsigned request")
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        raise SignatureError(401, "malformed timestamp") from None
    if age > MAX_REQUEST_AGE_SECONDS:
        raise SignatureError(400, "stale timestamp")
    # surrogateescape: Sanic keeps undecodable header bytes as lone surrogates; they must not raise here.
    basestring = b"v0:" + timestamp.encode("utf-8", "surrogateescape") + b":" + body
    expected = "v0=" + hmac.new(secret.encode("utf-8"), basestring, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode("utf-8"), signature.encode("utf-8", "surrogateescape")):
        raise SignatureError(401, "invalid signature")


def decode_body(request: Request) -> Optional[Payload]:
    """Events come as JSON; interactions as a form whose `payload` field is JSON."""
    try:
        if "application/x-www-form-urlencoded" in request.headers.get("content-type", ""):
            fields = parse_qs(request.body.decode("utf-8"))
            decoded = parse_json(fields["payload"][0].encode("utf-8"))
        else:
            decoded = parse_json(request.body or b"")
    except (BadInput, KeyError, UnicodeDecodeError, ValueError):
        return None
    return decoded if isinstance(decoded, dict) else None


class SlackOutput(OutputChannel):
    """Posts one turn's replies to the conversation (and thread) the message came from."""

    def __init__(self, api: JsonApi, channel: str, thread_ts: Optional[str] = None) -> None:
        self.api = api
        self.channel = channel
        self.thread_ts = thread_ts

    @classmethod
    def name(cls) -> str:
        return "slack"

    async def _post(self, text: str, blocks: Optional[List[Dict[str, Any]]] = None) -> None:
        body: Dict[str, Any] = {"channel": self.channel, "text": text}
        if blocks:
            body["blocks"] = blocks
        if self.thread_ts:
            body["thread_ts"] = self.thread_ts
        await self.api.send("chat.postMessage", body)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._post(text)

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: List[Button], **kwargs: Any) -> None:
        await self._post(text, slack_blocks(text, buttons))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._post(image, [{"type": "image", "image_url": image, "alt_text": "image"}])


class SlackInput(InputChannel):
    """The Slack webhook. Rasa creates it from credentials.yml (`bot.channels.slack.SlackInput:`,
    no values: the token and signing secret come from the environment)."""

    def __init__(self, settings: Optional[SlackSettings]) -> None:
        self.settings = settings
        self.seen = seen_ids("slack")
        self.tasks = BackgroundTasks("Slack")
        self.api = (
            JsonApi("Slack", settings.api_base_url, {"Authorization": f"Bearer {settings.bot_token}"})
            if settings
            else None
        )

    @classmethod
    def name(cls) -> str:
        return "slack"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "SlackInput":
        return cls(SlackSettings.from_env())

    def blueprint(self, on_new_message: MessageHandler) -> Blueprint:
        if self.settings is None or self.api is None:
            return switched_off("Slack", SlackSettings.missing())
        handler = guarded(on_new_message)

        async def receive(request: Request) -> HTTPResponse:
            assert self.settings is not None
            try:
                check_signature(
                    self.settings.signing_secret,
                    request.headers.get(TIMESTAMP_HEADER),
                    request.headers.get(SIGNATURE_HEADER),
                    request.body or b"",
                )
            except SignatureError as error:
                logger.warning("Slack: refused a request (%s)", error.reason)
                return response.json({"ok": False, "error": error.reason}, status=error.status)
            if request.headers.get(RETRY_HEADER):
                # The first delivery is being (or was) handled: a retry must not answer again.
                return response.text("", headers={"X-Slack-No-Retry": "1"})
            body = decode_body(request)
            if body is None:
                return response.json({"ok": False, "error": "unreadable body"}, status=400)
            if body.get("type") == "url_verification":
                return response.json({"challenge": body.get("challenge", "")})
            try:
                message = self.incoming(body)
            except BadInput as reason:
                logger.info("Slack: refused a malformed request")
                return response.json({"ok": False, "error": str(reason)}, status=400)
            if message is not None:
                self.tasks.spawn(handler(message))
            return response.text("")

        return webhook_blueprint("slack", self.api, receive)

    def incoming(self, body: Payload) -> Optional[UserMessage]:
        """The person's message in an event or button press, or None for anything to ignore
        (a repeat, a bot's own message, an edit, an event type PoreGuide does not answer);
        `BadInput` for one whose ids Slack would never send."""
        if body.get("type") == "event_callback":
            if not isinstance(body.get("event"), dict):
                raise BadInput("event must be an object")
            event_id = delivery_id(body.get("event_id"))
            message = self.event_message(body["event"])
            return message if message is not None and self._first_time("event", event_id) else None
        if body.get("type") == "block_actions":
            trigger_id = delivery_id(body.get("trigger_id"))
            message = self.button_press(body)
            return message if message is not None and self._first_time("action", trigger_id) else None
        return None

    def _first_time(self, kind: str, delivery: Optional[str]) -> bool:
        return delivery is None or self.seen.first_time((kind, delivery))

    def _user_message(self, text: Optional[str], user: str, channel: str, thread_ts: Optional[str]) -> UserMessage:
        assert self.api is not None
        return UserMessage(text, SlackOutput(self.api, channel, thread_ts), sender_id=user, input_channel=self.name())

    def event_message(self, event: Payload) -> Optional[UserMessage]:
        """A direct message, or a message that mentions the bot (the mention itself removed). A
        file without words gets the "text only" reply; edits, deletions and bots get nothing."""
        if event.get("bot_id") or event.get("subtype") not in PERSON_SUBTYPES:
            return None
        if not event.get("user") or not event.get("channel"):
            return None
        text = event.get("text") or None
        if event.get("type") == "app_mention":
            text = MENTION.sub("", text).strip() if isinstance(text, str) else None
        elif not (event.get("type") == "message" and event.get("channel_type") == "im"):
            return None
        user, channel = slack_id(event["user"], "user"), slack_id(event["channel"], "channel")
        return self._user_message(
            text if isinstance(text, str) else None, user, channel, thread_of(event.get("thread_ts"))
        )

    def button_press(self, body: Payload) -> Optional[UserMessage]:
        """The pressed button's value, as if the person had typed it, in the same conversation."""
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            return None
        if not isinstance(actions[0], dict):
            raise BadInput("an action must be an object")
        container = _object(body.get("container"))
        user = slack_id(_object(body.get("user")).get("id"), "user")
        channel = slack_id(_object(body.get("channel")).get("id") or container.get("channel_id"), "channel")
        thread_ts = thread_of(container.get("thread_ts") or _object(body.get("message")).get("thread_ts"))
        value = actions[0].get("value")
        return self._user_message(value if isinstance(value, str) else None, user, channel, thread_ts)
