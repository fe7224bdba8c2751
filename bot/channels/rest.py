"""Rasa's REST channel (same URL, /webhooks/rest/webhook) with PoreGuide's reply guarantee.

Rasa's own channel reads `request.json` field by field: a body that is not JSON, not UTF-8 or
not an object, or a `message` that is a number or a list, ends in an HTTP 400/500 or an empty
list. Here the body is read once, defensively, and anything unusable becomes an `UnusableInput`
that `guarded` answers with a clear message, in the channel's usual JSON list."""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint
from sanic.request import Request

from bot.channels.reply_guard import UnusableInput, guarded

logger = logging.getLogger(__name__)
MAX_SENDER_CHARS = 200


def request_body(request: Request) -> Optional[Dict[str, Any]]:
    """The JSON object the client sent, or None if the body is not a UTF-8 JSON object
    (parsed once per request)."""
    if not hasattr(request.ctx, "poreguide_body"):
        try:
            body = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            body = None
        request.ctx.poreguide_body = body if isinstance(body, dict) else None
    return request.ctx.poreguide_body


def _text_field(request: Request, name: str, limit: Optional[int] = None) -> Optional[str]:
    """A non-empty string field of the body (cut to `limit`), else None."""
    value = (request_body(request) or {}).get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    return value[:limit] if limit else value


def quiet_cancellation(on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Callable[[UserMessage], Awaitable[None]]:
    """Rasa's channel logs the person's text when a request is cancelled (the client went
    away); end such a turn here with a log line that holds no personal data."""

    async def handle(message: UserMessage) -> None:
        try:
            await on_new_message(message)
        except asyncio.CancelledError:
            logger.info("A REST request ended before its reply (client disconnected)")

    return handle


class GuardedRestInput(RestInput):
    """`RestInput` whose messages go through `guarded`: checked input, never a silent turn."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        return super().blueprint(quiet_cancellation(guarded(on_new_message)))

    async def _extract_sender(self, req: Request) -> Optional[str]:
        return _text_field(req, "sender", MAX_SENDER_CHARS)

    def _extract_message(self, req: Request) -> Optional[str]:
        body = request_body(req)
        if body is None:
            return UnusableInput("unreadable_message")
        message = body.get("message")
        if not isinstance(message, str):
            return UnusableInput("unsupported_content")
        return message

    def _extract_input_channel(self, req: Request) -> str:
        return _text_field(req, "input_channel") or self.name()

    def get_metadata(self, request: Request) -> Optional[Dict[str, Any]]:
        metadata = (request_body(request) or {}).get("metadata")
        return metadata if isinstance(metadata, dict) else None
