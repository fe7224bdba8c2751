"""A real Rasa server and action server whose action server a test may kill, restart or point
at another database, with both logs at known paths (tests.e2e.start_servers hides both)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, Iterator, Optional, Tuple

import pytest

from bot.launcher import action_server, endpoints_file, rasa_server
from tests.e2e import MODEL, log_tail, probe_answers
from tooling.ports import free_ports

# Hostile texts people might type: SQL, HTML/script, Python and Jinja templates, log4j lookups.
INJECTIONS = [
    "'; DROP TABLE kb_facts; --",
    "microneedling' OR '1'='1",
    "<script>alert('x')</script><img src=x onerror=alert(1)>",
    "{clinic_phone} {clinic_email}",
    "{{7*7}} {% raw %}",
    "${jndi:ldap://127.0.0.1:1/a}",
]


class Deployment:
    """One Rasa server (started once) and its action server (started, killed, restarted at will)."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.action_port, self.rasa_port = free_ports(2)
        self.action_log, self.rasa_log = work / "actions.log", work / "rasa.log"
        self.endpoints = endpoints_file(self.action_port, work)
        self.base_url = f"http://127.0.0.1:{self.rasa_port}"
        self._rasa = contextlib.ExitStack()
        self._actions = contextlib.ExitStack()
        self._action_process = None

    def start_actions(self, database_url: str) -> None:
        """(Re)start the action server on the same port, reading `database_url`."""
        self.stop_actions()
        try:
            self._action_process = self._actions.enter_context(
                action_server(self.action_port, self.action_log, extra_env={"DATABASE_URL": database_url})
            )
        except RuntimeError as error:
            pytest.fail(f"{error}\n{log_tail(self.action_log)}", pytrace=False)

    def kill_actions(self) -> None:
        """SIGKILL the action server: no shutdown handler runs, as in a crash."""
        os.kill(self._action_process.pid, signal.SIGKILL)
        self._action_process.wait(timeout=30)

    def stop_actions(self) -> None:
        self._actions.close()
        self._action_process = None

    def start_rasa(self, rasa_env: Optional[Dict[str, str]] = None) -> None:
        if not MODEL.exists():
            pytest.fail(f"No trained model at {MODEL}: run `make train` first.")
        try:
            # conversations (with the tests' personal data) go to a tracker store of this test's own
            env = {"TRACKER_STORE_URL": f"sqlite:///{self.work / 'tracker.db'}", **(rasa_env or {})}
            self._rasa.enter_context(
                rasa_server(self.rasa_port, self.rasa_log, self.endpoints, model=MODEL, extra_env=env)
            )
        except RuntimeError as error:
            pytest.fail(f"{error}\n{log_tail(self.rasa_log)}", pytrace=False)
        if not probe_answers(self.base_url):
            pytest.fail(f"The Rasa server answers nothing\n{log_tail(self.rasa_log)}", pytrace=False)

    def close(self) -> None:
        self._rasa.close()
        self.stop_actions()


@contextlib.contextmanager
def deployment(work: Path, database_url: str, rasa_env: Optional[Dict[str, str]] = None) -> Iterator[Deployment]:
    """Both servers up for the `with` block, both stopped after it whatever happened."""
    servers = Deployment(work)
    try:
        servers.start_actions(database_url)
        servers.start_rasa(rasa_env)
        yield servers
    finally:
        servers.close()


def http(
    url: str, data: Optional[bytes] = None, headers: Optional[Dict[str, str]] = None, method: Optional[str] = None
) -> Tuple[int, Dict[str, str], bytes]:
    """Status, headers and body of one request; HTTP errors are returned, not raised."""
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def post_raw(base_url: str, body: bytes) -> Tuple[int, object]:
    """POST `body` as it is to the REST channel; the status and the decoded JSON reply."""
    status, _, content = http(f"{base_url}/webhooks/rest/webhook", body, {"Content-Type": "application/json"})
    return status, json.loads(content.decode("utf-8"))
