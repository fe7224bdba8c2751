"""The launcher starts a healthy action server on loopback and always stops it again."""

from __future__ import annotations

import socket

import pytest
import yaml

from bot import launcher
from bot.security import rasa_api
from bot.security.action_token import TOKEN_ENV, TOKEN_HEADER
from tooling.ports import free_ports


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_endpoints_file_points_at_the_chosen_port_and_sends_the_token_by_reference(tmp_path):
    for port in (5055, 6123):
        endpoints = yaml.safe_load(launcher.endpoints_file(port, tmp_path).read_text())
        assert endpoints["action_endpoint"]["url"] == f"http://127.0.0.1:{port}/webhook"
        assert endpoints["action_endpoint"]["headers"] == {TOKEN_HEADER: "${ACTION_SERVER_TOKEN}"}
    assert launcher.action_token() not in launcher.endpoints_file(6123, tmp_path).read_text()


def test_endpoints_file_keeps_every_other_setting(tmp_path, monkeypatch):
    committed = {
        "action_endpoint": {"url": "http://localhost:5055/webhook", "headers": {"X-Other": "kept"}},
        "tracker_store": {"type": "SQL", "url": "${TRACKER_DB}"},
        "lock_store": {"type": "redis", "url": "127.0.0.1"},
    }
    (tmp_path / "endpoints.yml").write_text(yaml.safe_dump(committed))
    monkeypatch.setattr(launcher.settings, "PROJECT_ROOT", tmp_path)
    generated = yaml.safe_load(launcher.endpoints_file(7001, tmp_path / "out").read_text())
    assert generated["action_endpoint"] == {
        "url": "http://localhost:7001/webhook",
        "headers": {"X-Other": "kept", TOKEN_HEADER: "${ACTION_SERVER_TOKEN}"},
    }
    assert {key: generated[key] for key in ("tracker_store", "lock_store")} == {
        key: committed[key] for key in ("tracker_store", "lock_store")
    }


def test_both_servers_get_the_same_token():
    assert launcher.process_environment()[TOKEN_ENV] == launcher.action_token()
    assert len(launcher.action_token()) >= 32


def test_api_switches_come_from_the_environment():
    assert rasa_api.rasa_run_arguments({}) == []
    assert rasa_api.api_arguments({"RASA_API_TOKEN": " t0k "}) == ["--enable-api", "--auth-token", "t0k"]
    assert rasa_api.api_arguments({"RASA_JWT_SECRET": "s3cret"}) == [
        "--enable-api",
        "--jwt-secret",
        "s3cret",
        "--jwt-method",
        "HS256",
    ]
    assert rasa_api.cors_arguments({"POREGUIDE_ALLOWED_ORIGINS": "https://a.example/, https://b.example"}) == [
        "--cors",
        "https://a.example",
        "https://b.example",
    ]


def test_serve_reports_api_and_origins():
    off = "\n".join(rasa_api.status_lines({}))
    assert "HTTP API: off" in off and "same origin only" in off
    on = "\n".join(
        rasa_api.status_lines({"RASA_API_TOKEN": "tok-3141", "POREGUIDE_ALLOWED_ORIGINS": "https://a.example"})
    )
    assert "HTTP API: on" in on and "https://a.example" in on and "tok-3141" not in on


@pytest.mark.slow
def test_chat_stops_the_action_server_when_the_shell_ends():
    action_port, rasa_port = free_ports(2)
    # `rasa shell --help` ends at once, standing in for a user who leaves the shell.
    assert launcher.chat(action_port, rasa_port, ["--help"]) == 0
    assert not _listening(action_port)


@pytest.mark.slow
def test_action_server_is_healthy_inside_the_block_and_gone_after(tmp_path):
    (port,) = free_ports(1)
    with launcher.action_server(port, tmp_path / "actions.log") as process:
        assert _listening(port)
        assert process.poll() is None
    assert process.poll() is not None
    assert not _listening(port)


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", ["SIGTERM", "SIGHUP"])  # SIGHUP: the terminal was closed
def test_terminating_the_launcher_stops_the_action_server(tmp_path, stop_signal):
    import os
    import signal
    import subprocess
    import sys
    import time

    action_port, rasa_port = free_ports(2)
    # `rasa shell` with no model left to find keeps running until stopped: a stand-in for a chat.
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.launcher",
            "chat",
            "--action-port",
            str(action_port),
            "--rasa-port",
            str(rasa_port),
            "--model",
            str(tmp_path / "none"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while not _listening(action_port) and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.5)
        assert _listening(action_port), "the action server never came up"
        time.sleep(3)
        assert process.poll() is None, "the chat ended on its own; nothing left to terminate"
        process.send_signal(getattr(signal, stop_signal))
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
    assert not _listening(action_port)


@pytest.mark.server
def test_serve_runs_the_staff_page_on_loopback_and_stops_it(tmp_path, monkeypatch):
    """`make serve` starts the staff page (bot.staff_page) next to the servers, on 127.0.0.1 only."""
    import urllib.request

    (port,) = free_ports(1)
    monkeypatch.setenv("STAFF_PORT", str(port))
    monkeypatch.setenv("STAFF_SECRET", "s" * 40)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'staff.db'}")
    with launcher.supervised_staff_page(tmp_path / "staff.log") as page:
        assert page.health_url == f"http://127.0.0.1:{port}/health"
        with urllib.request.urlopen(page.health_url, timeout=10) as response:
            assert response.status == 200
        with socket.socket() as sock:  # not on the machine's other addresses
            assert sock.connect_ex((socket.gethostbyname(socket.gethostname()), port)) != 0 or socket.gethostbyname(
                socket.gethostname()
            ).startswith("127.")
    assert not _listening(port)


def test_a_bad_staff_setting_stops_serve_with_a_clear_error(monkeypatch):
    monkeypatch.setenv("STAFF_PORT", "not-a-port")
    with pytest.raises(RuntimeError, match="staff page: STAFF_PORT"):
        launcher.supervised_staff_page(launcher.log_dir() / "staff.log")
