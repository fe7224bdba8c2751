"""Rasa opens a new HTTP connection to the action server for every custom action; here the Rasa
server keeps one aiohttp session, and so its open connections, per event loop and action endpoint.

Rasa changed: `rasa.utils.endpoints.EndpointConfig.request` (3.6.21), which `RemoteAction.run`
calls for every custom action, does `async with self.session() as session:` – a new
`aiohttp.ClientSession`, hence a new connection pool, closed again when the call returns. Every
action call thus pays a TCP connect (and its teardown) to the action server, which answers with
keep-alive for nothing (issue 18: "keep its HTTP connection alive").

Here `EndpointConfig.session()` of an endpoint that a `RemoteAction` calls returns the session
kept for that endpoint on the running event loop: built once by Rasa's own `session()` (same
headers, basic auth and total timeout), entered and left by Rasa's own `request()` without being
closed. Everything else in `request()` is Rasa's, unchanged: the per-call headers, parameters,
token, cafile context, `compress`, and its errors (`ClientResponseError` with Rasa's status,
reason and body for status >= 400; aiohttp's `ClientConnectionError` when the server is down), so
`RemoteAction.run` handles them as before. Any other endpoint (NLG, model server, ...) keeps
Rasa's session per call. The kept sessions of a server's loop are closed when the server stops
(Rasa's `close_resources` listener, wrapped)."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any, Dict, List, Optional, Tuple, Type

import aiohttp
import rasa.core.run
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

# Set on an EndpointConfig once a RemoteAction was given it.
KEEP_ALIVE_MARK = "_poreguide_keep_alive"

_rasa_session = EndpointConfig.session
_rasa_remote_action_init = RemoteAction.__init__
_rasa_close_resources = rasa.core.run.close_resources

# (event loop, id of the endpoint) -> (the endpoint, kept alive by this reference, its session)
_sessions: Dict[Tuple[asyncio.AbstractEventLoop, int], Tuple[EndpointConfig, aiohttp.ClientSession]] = {}


def kept_session(endpoint: EndpointConfig) -> aiohttp.ClientSession:
    """The endpoint's session on the running loop, built by Rasa's `session()` on first use."""
    loop = asyncio.get_running_loop()
    _forget_closed_loops()
    key = (loop, id(endpoint))
    kept = _sessions.get(key)
    if kept is None or kept[1].closed:
        kept = (endpoint, _rasa_session(endpoint))
        _sessions[key] = kept
    return kept[1]


def _forget_closed_loops() -> None:
    """Drop the sessions of loops that have ended (their connections ended with them)."""
    for key in [key for key in _sessions if key[0].is_closed()]:
        del _sessions[key]


class _KeptSessionContext:
    """What `session()` returns for an action endpoint: `async with` yields the kept session and
    leaves it open (Rasa's `request()` closes the session it entered)."""

    def __init__(self, endpoint: EndpointConfig) -> None:
        self._endpoint = endpoint

    async def __aenter__(self) -> aiohttp.ClientSession:
        return kept_session(self._endpoint)

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        return None


def session(self: EndpointConfig) -> Any:
    """`EndpointConfig.session`: the kept session (as a context) for action endpoints, else Rasa's."""
    if getattr(self, KEEP_ALIVE_MARK, False):
        return _KeptSessionContext(self)
    return _rasa_session(self)


def remote_action_init(self: RemoteAction, name: str, action_endpoint: Optional[EndpointConfig]) -> None:
    """`RemoteAction.__init__`, marking the endpoint it calls as one to keep alive."""
    _rasa_remote_action_init(self, name, action_endpoint)
    if action_endpoint is not None:
        setattr(action_endpoint, KEEP_ALIVE_MARK, True)


async def close_sessions() -> int:
    """Close the kept sessions of the running loop; how many were closed."""
    loop = asyncio.get_running_loop()
    mine: List[aiohttp.ClientSession] = [_sessions.pop(key)[1] for key in list(_sessions) if key[0] is loop]
    for kept in mine:
        await kept.close()
    return len(mine)


async def close_resources(app: Any, loop: asyncio.AbstractEventLoop) -> None:
    """Rasa's `after_server_stop` listener, then the kept sessions of this server's loop."""
    try:
        await _rasa_close_resources(app, loop)
    finally:
        await close_sessions()


def install() -> None:
    """Keep action-server connections alive in this process (the Rasa server's, see bot.rasa_run).
    `rasa.core.run.serve_application` registers `close_resources` by its module name when the
    server starts, so this must run before (as bot.rasa_run does)."""
    EndpointConfig.session = session
    RemoteAction.__init__ = remote_action_init
    rasa.core.run.close_resources = close_resources


def uninstall() -> None:
    """Rasa's own behaviour again (tests)."""
    EndpointConfig.session = _rasa_session
    RemoteAction.__init__ = _rasa_remote_action_init
    rasa.core.run.close_resources = _rasa_close_resources
