"""POSTs JSON to a chat service's web API (Telegram Bot API, Slack Web API) with one aiohttp
session per channel. Failures are logged by method and status only: Telegram puts the bot token
in the URL and the body holds what people wrote, so neither may reach the logs."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, Mapping, Optional

import aiohttp

logger = logging.getLogger(__name__)

REQUEST_TIMEOUT_SECONDS = 15.0


class ApiError(Exception):
    """A call that did not succeed; the message names the method and status, never the URL.
    `status` is the HTTP status, None when the service could not be reached."""

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.status = status


class JsonApi:
    """`call(method, body)` POSTs `body` as JSON to `url_for(method)` and returns the decoded
    answer, or raises ApiError when the service is unreachable or says it failed (`ok` false)."""

    def __init__(self, service: str, base_url: str, headers: Optional[Mapping[str, str]] = None) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})
        self._session: Optional[aiohttp.ClientSession] = None

    def url_for(self, method: str) -> str:
        return f"{self.base_url}/{method}"

    def _client(self) -> aiohttp.ClientSession:
        # Created on first use, inside the server's running event loop.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS), headers=self.headers
            )
        return self._session

    async def call(self, method: str, body: Dict[str, Any]) -> Dict[str, Any]:
        try:
            async with self._client().post(self.url_for(method), json=body) as response:
                status = response.status
                try:
                    answer = await response.json(content_type=None)
                except ValueError:
                    answer = None
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise ApiError(f"{self.service} {method}: unreachable ({type(error).__name__})") from None
        if not isinstance(answer, dict) or not answer.get("ok"):
            reason = answer.get("error") or answer.get("description") if isinstance(answer, dict) else None
            raise ApiError(f"{self.service} {method}: HTTP {status}, {reason or 'not ok'}", status)
        return answer

    async def send(self, method: str, body: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        """`call`, but a failure is logged rather than raised (a reply that could not be delivered
        must not stop the rest of the turn)."""
        try:
            return await self.call(method, body)
        except ApiError as error:
            logger.error("%s", error)
            return None

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
