"""Issue 13, finding 3: the launcher supervises its servers and /health tells the truth. Real
processes, real SIGKILLs, bounded waits: a killed server is restarted with a growing pause and
logged; while the action server or its database is down, the Rasa server's /health answers 503
and names it, and ok again once it is back."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest

from bot import launcher
from bot.launcher import Supervisor, supervised
from tests.e2e import MODEL, Conversation, assert_contains, log_tail
from tests.persistence_fixtures import get_json, tracker_postgres_url  # noqa: F401 - HARDENING_TRACKER
from tests.test_hardening_channels import Hardened, hardened  # noqa: F401 - the shared servers' fixture
from tooling.ports import free_ports

DEAD_DATABASE_URL = "postgresql+psycopg2://postgres@127.0.0.1:1/poreguide"  # nothing listens on port 1
CHANNEL_VARIABLES = (
    "TELEGRAM_TOKEN",
    "TELEGRAM_WEBHOOK_URL",
    "TELEGRAM_SECRET_TOKEN",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "RASA_API_TOKEN",
    "RASA_JWT_SECRET",
    "LOCK_STORE_URL",
)


def eventually(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.25) -> Any:
    """The first truthy value of `condition()` within `timeout` seconds, else the test fails."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"{what} did not happen within {timeout:.0f} s")


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def health(base_url: str) -> Tuple[int, Dict[str, Any]]:
    try:
        return get_json(base_url + "/health", timeout=15)
    except (urllib.error.URLError, OSError, ValueError):
        return 0, {}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# --------------------------------------------------------------------------- the Supervisor itself


@pytest.fixture
def tiny_server(tmp_path: Path) -> Iterator[Supervisor]:
    """A real HTTP server process (python -m http.server), supervised with short pauses."""
    (port,) = free_ports(1)
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)]
    supervisor = Supervisor(
        "test server",
        command,
        dict(os.environ),
        tmp_path / "server.log",
        f"http://127.0.0.1:{port}/",
        timeout=20,
        first_delay=0.2,
        max_delay=0.8,
        stable_after=3,
    )
    with supervised(supervisor):
        yield supervisor
    assert supervisor.process is not None and supervisor.process.poll() is not None, "left running after stop()"


def _kill_and_await_restart(supervisor: Supervisor) -> int:
    old, starts = supervisor.pid, supervisor.starts
    assert old is not None
    os.kill(old, signal.SIGKILL)
    eventually(lambda: supervisor.starts > starts and answers(supervisor.health_url), 20, "a restart")
    assert supervisor.pid != old
    return supervisor.pid


def test_a_killed_server_is_restarted_with_growing_pauses_and_logged(
    tiny_server: Supervisor, caplog: pytest.LogCaptureFixture
) -> None:
    pids = [tiny_server.pid]
    for _ in range(3):
        pids.append(_kill_and_await_restart(tiny_server))
    assert len(set(pids)) == 4 and tiny_server.restarts == 3
    log = tiny_server.log_path.read_text(encoding="utf-8")
    pauses = re.findall(r"stopped unexpectedly \(exit status -9\); restarting it in ([0-9.]+) s", log)
    assert pauses == ["0.2", "0.4", "0.8"], log
    assert log.count("is running (pid") == 4, log


def test_the_pause_starts_small_again_once_the_server_ran_a_while(tiny_server: Supervisor) -> None:
    _kill_and_await_restart(tiny_server)
    _kill_and_await_restart(tiny_server)
    time.sleep(tiny_server.stable_after + 1)
    _kill_and_await_restart(tiny_server)
    pauses = re.findall(r"restarting it in ([0-9.]+) s", tiny_server.log_path.read_text(encoding="utf-8"))
    assert pauses == ["0.2", "0.4", "0.2"], pauses


# --------------------------------------------------------------------------- /health on the real servers


@pytest.mark.slow
def test_health_reports_the_action_server_and_its_database(hardened: Hardened, e2e_database_url: str) -> None:
    """503 and the culprit while the action server's database, then the action server itself, is down."""
    servers = hardened.servers
    try:
        status, body = health(hardened.base_url)
        assert status == 200 and body["checks"]["action_server"] == "ok" and body["checks"]["database"] == "ok", body

        servers.start_actions(DEAD_DATABASE_URL)
        status, body = health(hardened.base_url)
        assert status == 503 and body["checks"]["database"] == "failing", body
        assert body["checks"]["action_server"] == "ok", body

        servers.kill_actions()  # SIGKILL
        status, body = health(hardened.base_url)
        assert status == 503 and body["checks"]["action_server"] == "failing", body
        assert body["checks"]["database"] == "unknown", body
        assert "action_server unavailable (ActionServerUnavailable)" in body["problems"], body
    finally:
        servers.start_actions(e2e_database_url)
    status, body = health(hardened.base_url)
    assert status == 200 and body["status"] == "ok", body


# --------------------------------------------------------------------------- `make serve` supervising


def _pids(log: Path, server: str) -> List[int]:
    return [int(pid) for pid in re.findall(rf"The {server} is running \(pid (\d+)\)", log.read_text(encoding="utf-8"))]


@pytest.mark.slow
def test_serve_restarts_killed_servers_and_health_follows(
    tmp_path: Path, e2e_database_url: str, knowledge: Any
) -> None:
    if not MODEL.exists():
        pytest.fail(f"No trained model at {MODEL}: run `make train` first.")
    action_port, rasa_port = free_ports(2)
    base_url = f"http://127.0.0.1:{rasa_port}"
    env = {key: value for key, value in os.environ.items() if key not in CHANNEL_VARIABLES}
    env.update(
        {
            "DATABASE_URL": e2e_database_url,
            "TRACKER_STORE_URL": f"sqlite:///{tmp_path / 'tracker.db'}",
            "POREGUIDE_LOG_DIR": str(tmp_path / "logs"),
            launcher.RESTART_FIRST_DELAY_ENV: "5",
        }
    )
    output = tmp_path / "launcher.log"
    with open(output, "wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot.launcher",
                "serve",
                "--action-port",
                str(action_port),
                "--rasa-port",
                str(rasa_port),
            ],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        eventually(
            lambda: process.poll() is not None or (_pids(output, "Rasa server") and health(base_url)[0] == 200),
            300,
            "PoreGuide starting",
        )
        assert process.poll() is None, log_tail(output)
        (action_pid,), (rasa_pid,) = _pids(output, "action server"), _pids(output, "Rasa server")

        # The action server dies: /health says so at once, people get the technical-problem reply...
        os.kill(action_pid, signal.SIGKILL)
        status, body = eventually(
            lambda: (lambda result: result if result[0] == 503 else None)(health(base_url)), 10, "/health turning 503"
        )
        assert body["checks"]["action_server"] == "failing", body
        reply, _ = Conversation(base_url).say("what is microneedling?")
        assert_contains("outage", reply, ["technical problem", knowledge.clinic.phone])
        # ...and the launcher brings it back, logged, and /health follows.
        eventually(lambda: len(_pids(output, "action server")) == 2, 90, "the action server restarting")
        eventually(lambda: health(base_url)[0] == 200, 30, "/health ok again")
        reply, _ = Conversation(base_url).say("what is microneedling?")
        assert_contains("after restart", reply, ["tiny punctures"])
        text = output.read_text(encoding="utf-8")
        assert "The action server stopped unexpectedly (exit status -9); restarting it in 5.0 s" in text, text

        # The Rasa server dies: restarted too (the model takes a while to load).
        os.kill(rasa_pid, signal.SIGKILL)
        eventually(lambda: len(_pids(output, "Rasa server")) == 2, 300, "the Rasa server restarting")
        reply, _ = Conversation(base_url).say("what is microneedling?")
        assert_contains("after Rasa restart", reply, ["tiny punctures"])
        assert "The Rasa server stopped unexpectedly (exit status -9)" in output.read_text(encoding="utf-8")
        children = _pids(output, "action server")[-1:] + _pids(output, "Rasa server")[-1:]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert not any(alive(pid) for pid in children), "a server outlived the launcher"
