"""bot.rasa_overrides.action_keepalive against a real aiohttp server on 127.0.0.1 that counts the TCP
connections it accepts: Rasa's own code opens one per action call, the override one for all of them,
and every error reaches RemoteAction exactly as Rasa's own request raises it."""

from __future__ import annotations

import asyncio
import base64
from types import SimpleNamespace
from typing import Any, Awaitable, Callable, Dict, Iterator, List, Optional, Tuple

import aiohttp
import pytest
import rasa.core.run
from aiohttp import web
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import ClientResponseError, EndpointConfig

from bot.rasa_overrides import action_keepalive
from tooling.ports import free_ports

CALLS = 6
TOKEN_HEADER = "X-PoreGuide-Action-Token"
REPLY = {
    "events": [{"event": "slot", "name": "aspect", "value": "recovery", "timestamp": None}],
    "responses": [{"text": "Microneedling – recovery: a couple of days."}],
}
DOMAIN = Domain.empty()


class CountingServer:
    """An action-server stand-in: /webhook answers like rasa_sdk, /status/<code> answers that status;
    it records each request's client address (one per TCP connection) and headers."""

    def __init__(self) -> None:
        self.peers: List[Tuple[str, int]] = []
        self.headers: List[Dict[str, str]] = []
        self.bodies: List[Any] = []
        self.queries: List[str] = []
        self.runner: Optional[web.AppRunner] = None
        self.url = ""

    @property
    def connections(self) -> int:
        return len(set(self.peers))

    async def _record(self, request: web.Request) -> None:
        self.peers.append(request.transport.get_extra_info("peername")[:2])  # type: ignore[union-attr]
        self.headers.append(dict(request.headers))
        self.queries.append(request.query_string)
        self.bodies.append(await request.json())

    async def webhook(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response(REPLY)

    async def status(self, request: web.Request) -> web.Response:
        await self._record(request)
        code = int(request.match_info["code"])
        body = {"error": "Missing domain context", "action_name": "action_answer_cost"}
        return web.json_response(body, status=code)

    async def __aenter__(self) -> "CountingServer":
        app = web.Application()
        app.router.add_post("/webhook", self.webhook)
        app.router.add_post("/status/{code}", self.status)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


def endpoint(url: str) -> EndpointConfig:
    """An action endpoint as endpoints.yml gives it, with the other options Rasa's session applies."""
    return EndpointConfig(
        url=url,
        headers={TOKEN_HEADER: "secret-token"},
        basic_auth={"username": "rasa", "password": "pw"},
        token="query-token",
        enable_selective_domain=True,
    )


async def run_action(action: RemoteAction) -> List[Any]:
    tracker = DialogueStateTracker("keepalive-test", DOMAIN.slots)
    return await action.run(
        CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(DOMAIN.responses), tracker, DOMAIN
    )


def scenario(body: Callable[[CountingServer], Awaitable[Any]]) -> Any:
    """Run `body` against a fresh counting server on a fresh event loop, closing kept sessions after."""

    async def main() -> Any:
        async with CountingServer() as server:
            try:
                return await body(server)
            finally:
                await action_keepalive.close_sessions()

    return asyncio.run(main())


@pytest.fixture
def kept_alive() -> Iterator[None]:
    action_keepalive.install()
    try:
        yield
    finally:
        action_keepalive.uninstall()


def calls_through_remote_action(server: CountingServer) -> Awaitable[List[List[Any]]]:
    async def calls() -> List[List[Any]]:
        action_endpoint = endpoint(f"{server.url}/webhook")
        # Rasa builds a new RemoteAction for each call (Domain.action_for_name_or_text): so do we.
        return [await run_action(RemoteAction("action_answer_cost", action_endpoint)) for _ in range(CALLS)]

    return calls()


# --------------------------------------------------------------------------- one connection


def test_rasas_own_request_opens_a_connection_per_action_call() -> None:
    """Why the override exists: if this fails, Rasa reuses connections itself and it can go."""
    action_keepalive.uninstall()
    server_seen: Dict[str, Any] = {}

    async def body(server: CountingServer) -> None:
        await calls_through_remote_action(server)
        server_seen.update(connections=server.connections, requests=len(server.peers))

    scenario(body)
    assert server_seen == {"connections": CALLS, "requests": CALLS}


def test_action_calls_share_one_connection(kept_alive: None) -> None:
    seen: Dict[str, Any] = {}

    async def body(server: CountingServer) -> None:
        results = await calls_through_remote_action(server)
        seen.update(connections=server.connections, requests=len(server.peers), results=results, server=server)

    scenario(body)
    assert seen["requests"] == CALLS and seen["connections"] == 1
    for events in seen["results"]:  # each call still answered as before
        assert [type(event) for event in events] == [BotUttered, SlotSet]
        assert events[0].text == "Microneedling – recovery: a couple of days."


def test_the_kept_session_sends_what_rasas_sends(kept_alive: None) -> None:
    """Headers, basic auth, token parameter and body, on every call, exactly as Rasa's own request."""
    observed: Dict[str, Any] = {}

    async def body(server: CountingServer) -> None:
        await calls_through_remote_action(server)
        observed["kept"] = (server.headers, server.queries, server.bodies)

    scenario(body)
    action_keepalive.uninstall()

    async def rasas(server: CountingServer) -> None:
        await calls_through_remote_action(server)
        observed["rasa"] = (server.headers, server.queries, server.bodies)

    scenario(rasas)
    for label in ("kept", "rasa"):
        headers, queries, _ = observed[label]
        assert len(headers) == CALLS, label
        for sent in headers:
            assert sent[TOKEN_HEADER] == "secret-token", label
            assert sent["Authorization"] == "Basic " + base64.b64encode(b"rasa:pw").decode(), label
            assert sent["Content-Type"] == "application/json", label
        assert queries == ["token=query-token"] * CALLS, label
    ignored = {"Host", "Connection"}  # the port differs per run; Connection: keep-alive is the point

    def comparable(headers: List[Dict[str, str]]) -> List[Dict[str, str]]:
        return [{key: value for key, value in sent.items() if key not in ignored} for sent in headers]

    assert comparable(observed["kept"][0]) == comparable(observed["rasa"][0])
    assert observed["kept"][2] == observed["rasa"][2]
    assert all("domain" not in sent for sent in observed["kept"][2])  # selective domain, as configured


def test_other_endpoints_keep_rasas_session_per_call(kept_alive: None) -> None:
    """Only endpoints a RemoteAction calls are kept alive (an NLG or model server is not)."""
    seen: Dict[str, int] = {}

    async def body(server: CountingServer) -> None:
        other = EndpointConfig(url=f"{server.url}/webhook")
        for _ in range(3):
            await other.request(json={"next_action": "x"}, method="post")
        seen["connections"] = server.connections

    scenario(body)
    assert seen == {"connections": 3}


def test_each_event_loop_gets_its_own_session(kept_alive: None) -> None:
    sessions: List[aiohttp.ClientSession] = []

    async def body(server: CountingServer) -> None:
        action_endpoint = endpoint(f"{server.url}/webhook")
        RemoteAction("action_answer_cost", action_endpoint)
        sessions.append(action_keepalive.kept_session(action_endpoint))
        sessions.append(action_keepalive.kept_session(action_endpoint))

    scenario(body)
    scenario(body)
    assert sessions[0] is sessions[1] and sessions[2] is sessions[3] and sessions[0] is not sessions[2]
    assert all(session.closed for session in sessions)


def test_the_servers_shutdown_closes_the_kept_sessions(kept_alive: None) -> None:
    """`rasa run` registers `rasa.core.run.close_resources` after install(): it closes them too."""
    closed: Dict[str, Any] = {}

    async def body(server: CountingServer) -> None:
        action_endpoint = endpoint(f"{server.url}/webhook")
        await run_action(RemoteAction("action_answer_cost", action_endpoint))
        session = action_keepalive.kept_session(action_endpoint)
        assert not session.closed
        app = SimpleNamespace(ctx=SimpleNamespace())  # no agent: Rasa's part returns at once
        await rasa.core.run.close_resources(app, asyncio.get_running_loop())  # type: ignore[arg-type]
        closed["closed"] = session.closed

    scenario(body)
    assert closed == {"closed": True}
    assert rasa.core.run.close_resources is action_keepalive.close_resources


# --------------------------------------------------------------------------- the same errors


def _error_of(call: Callable[[], Awaitable[Any]]) -> Tuple[Any, ...]:
    try:
        return ("no error", asyncio.run(call()))
    except ClientResponseError as error:
        return (type(error), error.status, error.message, error.text, str(error))
    except ActionExecutionRejection as error:
        return (type(error), error.action_name, error.message)
    except RasaException as error:
        cause = error.__cause__
        return (type(error), str(error), type(cause), getattr(cause, "status", None))
    except aiohttp.ClientConnectionError as error:
        return (aiohttp.ClientConnectionError, type(error))


def _both_ways(make_call: Callable[[CountingServer], Awaitable[Any]]) -> Tuple[Tuple[Any, ...], Tuple[Any, ...]]:
    """The outcome with Rasa's own session per call, then with the override."""

    def outcome() -> Tuple[Any, ...]:
        async def body() -> Any:
            async with CountingServer() as server:
                try:
                    return await make_call(server)
                finally:
                    await action_keepalive.close_sessions()

        return _error_of(body)

    action_keepalive.uninstall()
    rasas = outcome()
    action_keepalive.install()
    try:
        ours = outcome()
    finally:
        action_keepalive.uninstall()
    return rasas, ours


@pytest.mark.parametrize("status", [449, 500, 404])
def test_error_statuses_raise_what_rasas_request_raises(status: int) -> None:
    async def call(server: CountingServer) -> Any:
        action_endpoint = endpoint(f"{server.url}/status/{status}")
        RemoteAction("action_answer_cost", action_endpoint)
        return await action_endpoint.request(json={"next_action": "action_answer_cost"}, method="post")

    rasas, ours = _both_ways(call)
    assert rasas[0] is ClientResponseError and rasas[1] == status
    assert ours == rasas


@pytest.mark.parametrize("status", [449, 500])
def test_remote_action_fails_on_error_statuses_as_before(status: int) -> None:
    async def call(server: CountingServer) -> Any:
        return await run_action(RemoteAction("action_answer_cost", endpoint(f"{server.url}/status/{status}")))

    rasas, ours = _both_ways(call)
    assert rasas[0] is RasaException and rasas[2] is ClientResponseError and rasas[3] == status
    assert ours == rasas


def test_remote_action_still_rejects_on_400() -> None:
    async def call(server: CountingServer) -> Any:
        return await run_action(RemoteAction("action_answer_cost", endpoint(f"{server.url}/status/400")))

    rasas, ours = _both_ways(call)
    assert rasas[0] is ActionExecutionRejection and rasas[1] == "action_answer_cost"
    assert ours == rasas


def test_a_dead_server_takes_the_same_connection_error_path() -> None:
    (port,) = free_ports(1)  # nothing listens there

    async def request(_: CountingServer) -> Any:
        action_endpoint = endpoint(f"http://127.0.0.1:{port}/webhook")
        RemoteAction("action_answer_cost", action_endpoint)
        return await action_endpoint.request(json={"next_action": "action_answer_cost"}, method="post")

    async def through_action(_: CountingServer) -> Any:
        return await run_action(RemoteAction("action_answer_cost", endpoint(f"http://127.0.0.1:{port}/webhook")))

    rasas, ours = _both_ways(request)
    assert rasas[0] is aiohttp.ClientConnectionError and ours == rasas
    rasas, ours = _both_ways(through_action)
    assert rasas[0] is RasaException and "Couldn't connect" in rasas[1] and ours == rasas


def test_a_server_that_went_away_between_calls_is_reached_again_once_back(kept_alive: None) -> None:
    """A kept connection to a stopped server is not reused: the next call reports the server down
    (Rasa's error), and once a server listens there again the call after that gets through."""
    outcomes: List[str] = []

    async def body() -> None:
        async with CountingServer() as first:
            port = int(first.url.rsplit(":", 1)[1])
            action = RemoteAction("action_answer_cost", endpoint(f"{first.url}/webhook"))
            await run_action(action)
            outcomes.append("answered")
        try:
            await run_action(action)
            outcomes.append("answered")
        except RasaException as error:
            outcomes.append("down" if "Couldn't connect" in str(error) else str(error))
        second = CountingServer()
        app = web.Application()
        app.router.add_post("/webhook", second.webhook)
        second.runner = web.AppRunner(app)
        await second.runner.setup()
        await web.TCPSite(second.runner, "127.0.0.1", port).start()
        try:
            await run_action(action)
            outcomes.append("answered")
        finally:
            await action_keepalive.close_sessions()
            await second.runner.cleanup()

    asyncio.run(body())
    assert outcomes == ["answered", "down", "answered"]


# --------------------------------------------------------------------------- installed where Rasa runs


def test_the_rasa_server_runs_with_connections_kept_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    """`python -m bot.rasa_run` (what the launcher starts) installs the override."""
    import rasa.__main__

    from bot import rasa_run
    from bot.rasa_overrides import action_reply_validation, event_types, graph_run, model_loading, rule_lookup
    from bot.security import log_privacy

    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    monkeypatch.setattr(rasa.__main__, "main", lambda: None)
    monkeypatch.setattr(log_privacy, "install", lambda: None)
    monkeypatch.setattr(action_reply_validation, "install", lambda: None)
    monkeypatch.setattr(model_loading, "install", lambda: None)
    monkeypatch.setattr(rule_lookup, "install", lambda: None)
    monkeypatch.setattr(event_types, "install", lambda: None)
    monkeypatch.setattr(graph_run, "install", lambda: None)
    monkeypatch.setattr("sys.argv", ["rasa_run", "run"])
    try:
        rasa_run.main()
        assert EndpointConfig.session is action_keepalive.session
        assert RemoteAction.__init__ is action_keepalive.remote_action_init
        assert rasa.core.run.close_resources is action_keepalive.close_resources
    finally:
        action_keepalive.uninstall()
    assert EndpointConfig.session is not action_keepalive.session
