"""The REAL action server: loopback only, and only callers with the shared token reach the actions;
plain `rasa run actions` with no token set keeps working for `rasa shell`."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Dict

import pytest

from bot import launcher
from bot.security.action_token import TOKEN_ENV, TOKEN_HEADER
from tests.security_fixtures import http
from tooling.ports import free_ports


def _fresh_app(name: str):
    from sanic import Sanic

    return Sanic(name, configure_logging=False)


def test_the_plugin_raises_sanic_timeouts_and_adds_the_check_when_a_token_is_set(monkeypatch):
    from bot import action_server

    monkeypatch.setenv(TOKEN_ENV, "plugin-test-token")
    monkeypatch.delenv("SANIC_HOST", raising=False)
    app = _fresh_app("plugin_with_token")
    action_server.attach_sanic_app_extensions(app)
    assert [app.config[name] for name in action_server.MINIMUM_TIMEOUTS] == list(
        action_server.MINIMUM_TIMEOUTS.values()
    )
    assert [middleware.__name__ for middleware in app.request_middleware] == ["check_token"]
    assert os.environ["SANIC_HOST"] == "127.0.0.1"


def test_the_plugin_adds_no_check_without_a_token(monkeypatch):
    from bot import action_server

    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.setenv("SANIC_HOST", "0.0.0.0")  # an explicit choice is kept
    app = _fresh_app("plugin_without_token")
    action_server.attach_sanic_app_extensions(app)
    assert not app.request_middleware
    assert os.environ["SANIC_HOST"] == "0.0.0.0"


def test_importing_the_actions_registers_the_plugin_once():
    from rasa_sdk.plugin import plugin_manager

    import actions  # noqa: F401 - the import is what registers the plugin
    from bot import action_server

    action_server.register_plugin()  # a second registration is a no-op, not pluggy's ValueError
    assert plugin_manager().is_registered(action_server)


def _listen_address(port: int) -> str:
    """The local IPv4 address a listening socket on `port` is bound to (from /proc/net/tcp)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if int(hex_port, 16) == port and state == "0A":  # 0A = LISTEN
            return socket.inet_ntoa(bytes.fromhex(address)[::-1])
    raise AssertionError(f"nothing listens on port {port}")


def _status(port: int, path: str, headers: Dict[str, str], body: bytes = None) -> int:
    return http(f"http://127.0.0.1:{port}{path}", body, headers)[0]


@pytest.fixture(scope="module")
def guarded_port(tmp_path_factory):
    (port,) = free_ports(1)
    with launcher.action_server(port, tmp_path_factory.mktemp("actions") / "actions.log"):
        yield port


@pytest.mark.slow
def test_requests_without_the_token_are_refused(guarded_port):
    call = json.dumps(
        {
            "next_action": "action_show_clinic_contact",
            "sender_id": "intruder",
            "tracker": {},
            "domain": {},
            "version": "3.6.21",
        }
    ).encode()
    assert _status(guarded_port, "/webhook", {"Content-Type": "application/json"}, call) == 401
    assert _status(guarded_port, "/webhook", {TOKEN_HEADER: "guessed"}, call) == 401
    assert _status(guarded_port, "/actions", {}) == 401
    assert _status(guarded_port, "/actions", {TOKEN_HEADER: launcher.action_token()[:-1]}) == 401


@pytest.mark.slow
def test_requests_with_the_token_are_served(guarded_port):
    status, _, body = http(f"http://127.0.0.1:{guarded_port}/actions", headers={TOKEN_HEADER: launcher.action_token()})
    assert status == 200
    assert {"name": "validate_booking_form"} in json.loads(body)
    assert _status(guarded_port, "/health", {}) == 200  # the launcher's health check needs no token


@pytest.mark.slow
def test_the_launcher_binds_loopback_only(guarded_port):
    assert _listen_address(guarded_port) == "127.0.0.1"


@pytest.mark.slow
def test_plain_rasa_run_actions_without_a_token_stays_open_and_on_loopback(tmp_path):
    (port,) = free_ports(1)
    env = {
        name: value for name, value in launcher.process_environment().items() if name not in (TOKEN_ENV, "SANIC_HOST")
    }
    command = [launcher.rasa_executable(), "run", "actions", "--port", str(port)]
    with launcher.managed_process(
        "plain action server", command, env, tmp_path / "actions.log", f"http://127.0.0.1:{port}/health", 90
    ):
        assert _status(port, "/actions", {}) == 200
        assert _listen_address(port) == "127.0.0.1"
