"""Rasa's REST channel (same URL, /webhooks/rest/webhook, same JSON) with PoreGuide's checks.

Rasa's own channel reads `request.json` field by field: a body that is not JSON, not UTF-8 or
not an object, or a `message` that is a number or a list, ends in an HTTP 400/500 or an empty
list; a request without a `sender` is put in the one conversation Rasa calls "default", so
clients that forget it share a conversation (booking details included). Here the body is read
once, defensively (`bot.channels.edge`), before anything reaches Rasa:
- a body that is not a JSON object gets the usual JSON list with "I couldn't read that message";
- a missing, blank, non-string or malformed `sender` gets HTTP 400 {"error": "invalid_sender", ...};
- `metadata` that is not a small, plain JSON object gets HTTP 400 {"error": "invalid_metadata", ...};
- a `message` that is not usable text gets its clear reply from `guarded`, as every channel does."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Union

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream

from bot.channels.edge import BadInput, UnusableInput, clean_channel_name, clean_metadata, clean_sender, parse_json
from bot.channels.reply_guard import guarded

logger = logging.getLogger(__name__)
UNREADABLE_SENDER = "unreadable-request"  # only the reply's recipient_id: the guard answers it, nothing is stored


def request_body(request: Request) -> Optional[Dict[str, Any]]:
    """The JSON object the client sent, or None if the body is not a UTF-8 JSON object
    (parsed once per request)."""
    if not hasattr(request.ctx, "poreguide_body"):
        try:
            body = parse_json(request.body or b"")
        except BadInput:
            body = None
        request.ctx.poreguide_body = body if isinstance(body, dict) else None
    return request.ctx.poreguide_body


def quiet_cancellation(
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
) -> Callable[[UserMessage], Awaitable[None]]:
    """Rasa's channel logs the person's text when a request is cancelled (the client went
    away); end such a turn here with a log line that holds no personal data."""

    async def handle(message: UserMessage) -> None:
        try:
            await on_new_message(message)
        except asyncio.CancelledError:
            logger.info("A REST request ended before its reply (client disconnected)")

    return handle


def refusal(error: str, reason: BadInput) -> HTTPResponse:
    """HTTP 400 with a machine-readable `error` and a sentence for the client's developer."""
    return response.json({"error": error, "message": str(reason)}, status=400)


class GuardedRestInput(RestInput):
    """`RestInput` whose requests are checked at the edge and whose messages go through `guarded`."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        handle = quiet_cancellation(guarded(on_new_message))
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> Union[HTTPResponse, ResponseStream]:
            body = request_body(request)
            if body is None:
                # Nothing in it names a conversation: answered without touching any.
                collector = CollectingOutputChannel()
                await handle(
                    UserMessage(
                        UnusableInput("unreadable_message"), collector, UNREADABLE_SENDER, input_channel=self.name()
                    )
                )
                return response.json(collector.messages)
            try:
                sender_id = clean_sender(body.get("sender"))
            except BadInput as reason:
                logger.info("REST: refused a request without a usable sender id")
                return refusal("invalid_sender", reason)
            try:
                metadata = clean_metadata(body.get("metadata"))
            except BadInput as reason:
                logger.info("REST: refused a request with unusable metadata")
                return refusal("invalid_metadata", reason)
            text = self._message_text(body)
            input_channel = clean_channel_name(body.get("input_channel"), self.name())
            if _wants_stream(request):
                return response.stream(
                    self.stream_response(handle, text, sender_id, input_channel, metadata),
                    content_type="text/event-stream",
                )
            collector = CollectingOutputChannel()
            await handle(UserMessage(text, collector, sender_id, input_channel=input_channel, metadata=metadata))
            return response.json(collector.messages)

        return webhook

    @staticmethod
    def _message_text(body: Dict[str, Any]) -> str:
        message = body.get("message")
        return message if isinstance(message, str) else UnusableInput("unsupported_content")


def _wants_stream(request: Request) -> bool:
    """Rasa's `?stream=true` switch (its own `bool_arg` reading of the query string)."""
    return str(request.args.get("stream", "false")).lower() == "true"
