"""The launcher starts a healthy action server on loopback and always stops it again."""
from __future__ import annotations

import socket

import pytest

from bot import launcher


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_endpoints_file_points_at_the_chosen_port():
    assert launcher.endpoints_file(5055).name == "endpoints.yml"
    generated = launcher.endpoints_file(6123)
    assert "http://127.0.0.1:6123/webhook" in generated.read_text()


@pytest.mark.slow
def test_chat_stops_the_action_server_when_the_shell_ends():
    action_port, rasa_port = _free_port(), _free_port()
    # `rasa shell --help` ends at once, standing in for a user who leaves the shell.
    assert launcher.chat(action_port, rasa_port, ["--help"]) == 0
    assert not _listening(action_port)


@pytest.mark.slow
def test_action_server_is_healthy_inside_the_block_and_gone_after(tmp_path):
    port = _free_port()
    with launcher.action_server(port, tmp_path / "actions.log") as process:
        assert _listening(port)
        assert process.poll() is None
    assert process.poll() is not None
    assert not _listening(port)


@pytest.mark.slow
def test_terminating_the_launcher_stops_the_action_server(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    action_port, rasa_port = _free_port(), _free_port()
    # `rasa shell` with no model left to find keeps running until stopped: a stand-in for a chat.
    process = subprocess.Popen([sys.executable, "-m", "bot.launcher", "chat", "--action-port", str(action_port),
                                "--rasa-port", str(rasa_port), "--model", str(tmp_path / "none")],
                               stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while not _listening(action_port) and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.5)
        assert _listening(action_port), "the action server never came up"
        time.sleep(3)
        assert process.poll() is None, "the chat ended on its own; nothing left to terminate"
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
    assert not _listening(action_port)
