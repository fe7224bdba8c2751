"""Support for end-to-end tests: starts the REAL action server and Rasa server (trained model,
REST channel from credentials.yml, the seeded knowledge database) once per test session, and
talks to them over HTTP the way a website would. Nothing is mocked."""

from __future__ import annotations

import atexit
import contextlib
import json
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Generic, Iterator, List, Optional, Tuple, TypeVar

import pytest

from bot import settings
from bot.launcher import action_python, action_server, endpoints_file, rasa_server
from tooling.ports import free_ports

T = TypeVar("T")
MODEL = settings.TRAINED_MODEL
REQUEST_TIMEOUT = 60.0
LOG_TAIL_LINES = 40
# The action server runs where `make chat` and `make serve` run it: on the action venv's newer
# Python once `make setup` built it, else on the Rasa venv's (issue 19; POREGUIDE_ACTION_PYTHON overrides).
ACTION_PYTHON = action_python()


# --------------------------------------------------------------------------- servers


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    if not path.exists():
        return f"--- {path}: no log written ---"
    content = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return f"--- last {lines} lines of {path} ---\n" + "\n".join(content[-lines:])


def start_servers(
    tmp_path_factory: pytest.TempPathFactory,
    database_url: str,
    credentials: Optional[Path] = None,
    rasa_env: Optional[Dict[str, str]] = None,
) -> Iterator[str]:
    """Start the action server (on `database_url`) and the Rasa server (with `credentials`, default
    the committed credentials.yml, and `rasa_env` added to its environment); yield its base URL.
    Conversations go to a tracker-store SQLite file of the test's own unless `rasa_env` names one."""
    if not MODEL.exists():
        pytest.fail(f"No trained model at {MODEL}: run `make train` (or `make test`) first.")
    action_port, rasa_port = free_ports(2)
    work = tmp_path_factory.mktemp("end_to_end")
    logs = tmp_path_factory.mktemp("end_to_end_logs")
    action_log, rasa_log = logs / "actions.log", logs / "rasa.log"
    endpoints = endpoints_file(action_port, work)

    with contextlib.ExitStack() as servers:
        try:
            servers.enter_context(
                action_server(action_port, action_log, extra_env={"DATABASE_URL": database_url}, python=ACTION_PYTHON)
            )
            servers.enter_context(
                rasa_server(
                    rasa_port,
                    rasa_log,
                    endpoints,
                    credentials=credentials or settings.PROJECT_ROOT / "credentials.yml",
                    model=MODEL,
                    extra_env={"TRACKER_STORE_URL": f"sqlite:///{work / 'tracker.db'}", **(rasa_env or {})},
                )
            )
        except RuntimeError as error:
            pytest.fail(
                f"{error} (action server on {ACTION_PYTHON})\n{log_tail(action_log)}\n{log_tail(rasa_log)}",
                pytrace=False,
            )
        base_url = f"http://127.0.0.1:{rasa_port}"
        # A Rasa server whose model failed to load still answers HTTP, with empty replies:
        # probe with an intent payload (no NLU involved) so that shows up here, with the logs.
        if not probe_answers(base_url):
            pytest.fail(
                f"The Rasa server on port {rasa_port} answers nothing (model not loaded?)\n{log_tail(rasa_log)}",
                pytrace=False,
            )
        yield base_url


# --------------------------------------------------------------------------- talking to the bot


def send(base_url: str, sender: str, message: str) -> List[Dict[str, Any]]:
    """POST one message to the REST channel; the bot's reply messages, never empty."""
    request = urllib.request.Request(
        f"{base_url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": message}).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
        assert response.status == 200, f"{message!r}: HTTP {response.status}"
        replies = json.loads(response.read().decode("utf-8"))
    assert isinstance(replies, list) and replies, f"{message!r}: the bot sent no reply at all"
    return replies


def probe_answers(base_url: str) -> bool:
    """True if the bot answers a greeting sent as an intent payload (bypasses the NLU)."""
    try:
        send(base_url, f"e2e-probe-{uuid.uuid4().hex}", "/greet")
    except (AssertionError, OSError):
        return False
    return True


def reply_text(replies: List[Dict[str, Any]]) -> str:
    return "\n".join(reply["text"] for reply in replies if reply.get("text"))


def reply_buttons(replies: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [button for reply in replies for button in reply.get("buttons") or []]


class Conversation:
    """One person talking to the bot: every message goes out under the same, unique sender id."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.sender = f"e2e-{uuid.uuid4().hex}"

    def say(self, message: str) -> Tuple[str, List[Dict[str, Any]]]:
        replies = send(self.base_url, self.sender, message)
        return reply_text(replies), reply_buttons(replies)


def assert_contains(message: str, answer: str, expected: List[str]) -> None:
    missing = [part for part in expected if part.lower() not in answer.lower()]
    assert not missing, f"{message!r}: reply lacks {missing}; the bot answered:\n{answer}"


class SharedServers(Generic[T]):
    """Servers that every test of a session shares: started by the first test that needs them, stopped
    after the last; a failed start fails each later user at once instead of starting again."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.stack = contextlib.ExitStack()
        atexit.register(self.stack.close)  # should a session end without fixture teardown
        self._running: List[T] = []
        self._failed: List[str] = []
        self._users = 0

    def use(self, start: Callable[[], T]) -> Iterator[T]:
        if self._failed:
            pytest.fail(
                f"the {self.what} servers did not start (see the first failure): {self._failed[0]}", pytrace=False
            )
        if not self._running:
            try:
                self._running.append(start())
            except BaseException as error:
                self._failed.append(type(error).__name__)
                self.stack.close()
                raise
        self._users += 1
        yield self._running[0]
        self._users -= 1
        if self._users == 0:
            self._running.clear()
            self.stack.close()
