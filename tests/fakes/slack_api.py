"""A fake Slack Web API (chat.postMessage, with a Bearer token, answered as Slack does:
{"ok": true, "channel": ..., "ts": ..., "message": ...} or HTTP 200 {"ok": false, "error": ...}),
plus `signed_headers`, which signs a request body the way Slack does (written independently of
bot.channels.slack, so the tests check the channel against the published scheme)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import time
from typing import Any, Dict, Optional

from aiohttp import web

from tests.fakes import FakeApiServer

BUTTON_TEXT_LIMIT = 75


def signed_headers(
    signing_secret: str, body: bytes, timestamp: Optional[int] = None, content_type: str = "application/json"
) -> Dict[str, str]:
    """The headers Slack sends with `body`: its timestamp and v0 HMAC-SHA256 signature."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(signing_secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def blocks_problem(body: Dict[str, Any]) -> str:
    """Slack's invalid_blocks check for what PoreGuide sends: sections and button actions."""
    for block in body.get("blocks") or []:
        if block.get("type") == "actions":
            ids = [element.get("action_id") for element in block.get("elements", [])]
            if len(set(ids)) != len(ids):
                return "invalid_blocks"
            for element in block.get("elements", []):
                label = element.get("text", {})
                if label.get("type") != "plain_text" or not 0 < len(label.get("text", "")) <= BUTTON_TEXT_LIMIT:
                    return "invalid_blocks"
        elif block.get("type") == "section" and not (block.get("text") or {}).get("text"):
            return "invalid_blocks"
    return ""


class FakeSlackApi(FakeApiServer):
    def __init__(self, bot_token: str) -> None:
        super().__init__()
        self.bot_token = bot_token
        self._ts = itertools.count(100)

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        call = await self.received(request, method)
        if call is None:
            return web.json_response({"ok": False, "error": "invalid_json"})
        body = call.body
        if request.headers.get("Authorization") != f"Bearer {self.bot_token}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if method != "chat.postMessage":
            return web.json_response({"ok": False, "error": "unknown_method"}, status=404)
        if not body.get("channel"):
            return web.json_response({"ok": False, "error": "channel_not_found"})
        if not body.get("text") and not body.get("blocks"):
            return web.json_response({"ok": False, "error": "no_text"})
        problem = blocks_problem(body)
        if problem:
            return web.json_response({"ok": False, "error": problem})
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        message = {"type": "message", "text": body.get("text", ""), "ts": ts, "bot_id": "BFAKE"}
        return web.json_response({"ok": True, "channel": body["channel"], "ts": ts, "message": message})
