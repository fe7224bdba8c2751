"""Stand-ins for the chat services the tests cannot reach (Telegram, Slack): small aiohttp servers
on 127.0.0.1, each in a thread of its own, answering in the services' real JSON and recording
every call so a test can wait for what the bot delivered."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from aiohttp import web

DEFAULT_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class ApiCall:
    method: str  # e.g. "sendMessage", "chat.postMessage"
    body: Dict[str, Any]
    headers: Dict[str, str] = field(default_factory=dict)
    token: str = ""  # Telegram: the token in the URL


class FakeApiServer:
    """Serves POST `route` on a free port of 127.0.0.1 in a background thread (`start`/`stop`, or
    `with`); subclasses answer in `handle` and record each call with `received`."""

    def __init__(self) -> None:
        self.calls: List[ApiCall] = []
        self._changed = threading.Condition()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._runner: Optional[web.AppRunner] = None
        self._thread: Optional[threading.Thread] = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    route = "/{method}"  # where the service's API methods are (Telegram: with the token)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(self.route, self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        raise NotImplementedError

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "FakeApiServer":
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), name=type(self).__name__, daemon=True)
        self._thread.start()
        if not ready.wait(10) or not self.port:
            raise RuntimeError(f"{type(self).__name__} did not start")
        return self

    def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._runner = web.AppRunner(self.app(), access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = self._runner.addresses[0][1]
        ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> "FakeApiServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ recording

    def record(self, call: ApiCall) -> None:
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    async def received(self, request: web.Request, method: str, token: str = "") -> Optional[ApiCall]:
        """The call `request` makes, recorded; None when its body is not JSON (nothing recorded)."""
        try:
            body = await request.json()
        except ValueError:
            return None
        call = ApiCall(method, body, dict(request.headers), token)
        self.record(call)
        return call

    def calls_of(self, method: str, where: Callable[[ApiCall], bool] = lambda call: True) -> List[ApiCall]:
        with self._changed:
            return [call for call in self.calls if call.method == method and where(call)]

    def wait_for(
        self,
        method: str,
        where: Callable[[ApiCall], bool] = lambda call: True,
        count: int = 1,
        timeout: float = DEFAULT_WAIT_SECONDS,
    ) -> List[ApiCall]:
        """The first `count` calls of `method` matching `where`, once they have arrived; fails
        the test (listing what did arrive) if they have not within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [call for call in self.calls if call.method == method and where(call)]
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0:
                    break
                self._changed.wait(remaining)
        assert len(found) >= count, (
            f"{type(self).__name__}: expected {count} {method} call(s) within {timeout:.0f} s, got {len(found)}; "
            f"all calls: {[(call.method, call.body) for call in self.calls]}"
        )
        return found[:count]
