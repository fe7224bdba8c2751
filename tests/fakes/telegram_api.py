"""A fake Telegram Bot API: POST /bot<token>/<method> with a JSON body, answered as Telegram does
({"ok": true, "result": ...} or {"ok": false, "error_code": ..., "description": ...}), including
its limits on message length and callback_data. `fail_set_webhook=N` answers the first N
setWebhook calls with 500, as an unreachable or failing Telegram would."""

from __future__ import annotations

import itertools
import time
from typing import Any, Dict

from aiohttp import web

from tests.fakes import FakeApiServer

TEXT_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64


def _answer(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str) -> web.Response:
    return web.json_response({"ok": False, "error_code": status, "description": description}, status=status)


def keyboard_problem(body: Dict[str, Any]) -> str:
    """Telegram's complaint about the inline keyboard in `body`, or "" if it is valid."""
    for row in (body.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data", "")
            if not button.get("text") or not 1 <= len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT:
                return "Bad Request: BUTTON_DATA_INVALID"
    return ""


class FakeTelegramApi(FakeApiServer):
    route = "/bot{token}/{method}"

    def __init__(self, token: str, fail_set_webhook: int = 0) -> None:
        super().__init__()
        self.token = token
        self.set_webhook_failures_left = fail_set_webhook
        self._message_ids = itertools.count(1)

    async def handle(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        call = await self.received(request, method, token)
        if call is None:
            return _error(400, "Bad Request: can't parse JSON")
        if token != self.token:
            return _error(401, "Unauthorized")
        handler = getattr(self, f"api_{method}", None)
        return handler(call.body) if handler else _error(404, "Not Found")

    def api_setWebhook(self, body: Dict[str, Any]) -> web.Response:
        if not str(body.get("url", "")).startswith("https://"):
            return _error(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        if self.set_webhook_failures_left > 0:
            self.set_webhook_failures_left -= 1
            return _error(500, "Internal Server Error")
        return web.json_response({"ok": True, "result": True, "description": "Webhook was set"})

    def api_answerCallbackQuery(self, body: Dict[str, Any]) -> web.Response:
        return _answer(True) if body.get("callback_query_id") else _error(400, "Bad Request: query is too old")

    def api_sendMessage(self, body: Dict[str, Any]) -> web.Response:
        text = body.get("text") or ""
        if not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(text) > TEXT_LIMIT:
            return _error(400, "Bad Request: message is too long")
        problem = keyboard_problem(body)
        return _error(400, problem) if problem else _answer(self._sent(body, text=text))

    def api_sendPhoto(self, body: Dict[str, Any]) -> web.Response:
        return _answer(self._sent(body, photo=[{"file_id": "fake-photo"}]))

    def _sent(self, body: Dict[str, Any], **content: Any) -> Dict[str, Any]:
        """The Message object Telegram returns for a message the bot sent."""
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": body.get("chat_id"), "type": "private"},
            **content,
        }
        if body.get("reply_markup"):
            message["reply_markup"] = body["reply_markup"]
        return message
