"""The action server answers only Rasa: every request except `GET /health` must carry the shared
token in `X-PoreGuide-Action-Token`, or it gets 401.

The token comes from `ACTION_SERVER_TOKEN`. When it is unset (plain `rasa run actions` next to
`rasa shell`), nothing is enforced, so Rasa's own commands keep working as documented; the
launcher always sets one. `bot.action_server` installs the check in every action server."""

from __future__ import annotations

import hmac
import logging
import os
from typing import Optional

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

TOKEN_ENV = "ACTION_SERVER_TOKEN"
TOKEN_HEADER = "X-PoreGuide-Action-Token"
OPEN_PATHS = frozenset({"/health"})

logger = logging.getLogger(__name__)


def configured_token() -> Optional[str]:
    token = os.environ.get(TOKEN_ENV, "").strip()
    return token or None


def is_authorised(request: Request, token: str) -> bool:
    """Whether `request` may reach the actions: an open path, or the right token (compared in
    constant time, so the token cannot be guessed from response timings)."""
    if request.method == "GET" and request.path in OPEN_PATHS:
        return True
    sent = request.headers.get(TOKEN_HEADER, "")
    # surrogateescape: undecodable header bytes arrive as lone surrogates; they must not raise here.
    return hmac.compare_digest(sent.encode("utf-8", "surrogateescape"), token.encode("utf-8"))


def require_token(app: Sanic, token: str) -> None:
    """Reject (401) every request to `app` that lacks `token`, before any route runs."""

    async def check_token(request: Request) -> Optional[HTTPResponse]:
        if is_authorised(request, token):
            return None
        logger.warning("Refused a %s %s without the action token", request.method, request.path)
        return response.json({"error": "unauthorised"}, status=401)

    app.register_middleware(check_token, "request")
