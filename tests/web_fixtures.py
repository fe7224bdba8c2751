"""Shared by the website tests (socket.io channel, chat widget, rasa-webchat): ONE real Rasa server
with the website channel, a real Chromium (Debian's, driven by Playwright) and a real
python-socketio client. Test modules load this with `pytest_plugins = ("tests.web_fixtures",)`
so the session-scoped server is started once for all of them."""

from __future__ import annotations

import asyncio
import http.server
import shutil
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import pytest
import socketio

from bot import settings
from tests.e2e import start_servers

OTHER_ORIGIN = "http://other-site.test"  # never allowed
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = settings.PROJECT_ROOT / "var" / "test-artifacts"
REPLY_TIMEOUT = 60.0  # seconds; generous for a loaded CI machine, never a speed check
WEBSITE_CREDENTIALS = """\
bot.rasa_overrides.rest_channel.GuardedRestInput:
bot.rasa_overrides.socketio_channel.WebsiteInput:
  user_message_evt: user_uttered
  bot_message_evt: bot_uttered
  session_persistence: true
"""


class Site:
    """Another website on 127.0.0.1 (its own port, so its own origin) serving the pages a test
    gives it: a clinic's site that embeds the widget, or one running rasa-webchat. A real HTTP
    server on loopback, because Chromium blocks a public origin's requests to a loopback server."""

    def __init__(self) -> None:
        self.pages: Dict[str, Tuple[str, bytes]] = {}
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                content_type, body = site.pages.get(self.path.split("?")[0], ("text/plain", b"not found"))
                self.send_response(200 if self.path.split("?")[0] in site.pages else 404)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def serve(self, path: str, content_type: str, body: Union[str, bytes]) -> str:
        """Serve `body` at `path`; its URL."""
        self.pages[path] = (content_type, body.encode("utf-8") if isinstance(body, str) else body)
        return self.origin + path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def partner_site() -> Iterator[Site]:
    """A clinic's own website whose origin is in POREGUIDE_ALLOWED_ORIGINS."""
    site = Site()
    yield site
    site.close()


@pytest.fixture(scope="session")
def other_site() -> Iterator[Site]:
    """A website whose origin is not allowed."""
    site = Site()
    yield site
    site.close()


@pytest.fixture(scope="session")
def web_bot_url(tmp_path_factory: pytest.TempPathFactory, e2e_database_url: str, partner_site: Site) -> Iterator[str]:
    """The REAL action and Rasa servers with the REST and website channels; the partner site allowed."""
    credentials = tmp_path_factory.mktemp("web_credentials") / "credentials.yml"
    credentials.write_text(WEBSITE_CREDENTIALS, encoding="utf-8")
    yield from start_servers(
        tmp_path_factory,
        e2e_database_url,
        credentials=credentials,
        rasa_env={"POREGUIDE_ALLOWED_ORIGINS": f"https://unused.example, {partner_site.origin}/"},
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium (never Playwright's own download: `make browser` installs it)."""
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def artifact(name: str) -> Path:
    """Where a test saves a file for people to look at (screenshots)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name


class SocketUser:
    """A website visitor as a real socket.io client: `async with SocketUser(url) as user`.

    Polling transport: python-engineio's websocket client needs aiohttp >= 3.10 and Rasa 3.6 pins
    3.9 (the browser tests use websockets)."""

    def __init__(self, base_url: str, origin: Optional[str] = None) -> None:
        self.base_url = base_url
        self.headers = {"Origin": origin} if origin else {}
        self.client = socketio.AsyncClient(reconnection=False)
        self.received: List[Dict[str, Any]] = []
        self.confirmed: List[str] = []
        self.refusals: List[Any] = []
        self.arrived = asyncio.Event()
        self.client.on("bot_uttered", self._on_bot_uttered)
        self.client.on("session_confirm", self._on_session_confirm)
        self.client.on("connect_error", self._on_connect_error)

    async def connect(self, wait: bool = True) -> None:
        await self.client.connect(
            self.base_url,
            headers=self.headers,
            transports=["polling"],
            socketio_path="/socket.io",
            wait=wait,
            wait_timeout=REPLY_TIMEOUT,
        )

    async def close(self) -> None:
        """Leave at once (a polite engine.io close waits for the pending long poll: up to 30 s)."""
        await self.client.eio.disconnect(abort=True)

    async def __aenter__(self) -> "SocketUser":
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _on_connect_error(self, data: Any = None) -> None:
        self.refusals.append(data)
        self.arrived.set()

    async def _on_bot_uttered(self, data: Dict[str, Any]) -> None:
        self.received.append(data)
        self.arrived.set()

    async def _on_session_confirm(self, session_id: str) -> None:
        self.confirmed.append(session_id)
        self.arrived.set()

    async def wait_for(self, condition: Any, what: str) -> None:
        """Wait until `condition()` holds; fail (listing what did arrive) after REPLY_TIMEOUT."""

        async def until() -> None:
            while not condition():
                self.arrived.clear()
                await self.arrived.wait()

        try:
            await asyncio.wait_for(until(), REPLY_TIMEOUT)
        except asyncio.TimeoutError:
            raise AssertionError(
                f"no {what} within {REPLY_TIMEOUT:.0f} s; received {self.received}, session_confirm {self.confirmed}"
            ) from None

    async def start_session(self, session_id: Optional[str] = None) -> str:
        """`session_request` (with a stored id, as the widget sends after a reload); the confirmed id."""
        count = len(self.confirmed)
        await self.client.emit("session_request", {"session_id": session_id})
        await self.wait_for(lambda: len(self.confirmed) > count, "session_confirm")
        return self.confirmed[-1]

    async def say(self, message: Any, expect: str, session_id: Optional[str] = None) -> str:
        """Send `message`; the bot's text since then once some reply contains `expect`."""
        start = len(self.received)
        data = {"message": message, "session_id": session_id or (self.confirmed[-1] if self.confirmed else None)}
        await self.client.emit("user_uttered", data)

        def texts() -> str:
            return "\n".join(str(reply.get("text", "")) for reply in self.received[start:])

        await self.wait_for(lambda: expect.lower() in texts().lower(), f"reply containing {expect!r} to {message!r}")
        return texts()
