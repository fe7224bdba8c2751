"""Shared support for the persistence tests: a PostgreSQL database and a Redis key prefix of
their own per test session (removed afterwards), a TCP forwarder that makes a real database
"go down" and "come back", and a farm of REAL servers (one action server, Rasa servers started
and SIGKILLed at will) on the committed endpoints.yml with the health channel switched on."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import signal
import socket
import threading
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ContextManager, Dict, Iterator, List, Optional, Tuple

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from bot.launcher import action_server, endpoints_file, rasa_server
from tests.conftest import POSTGRES_URL, require_service
from tests.e2e import MODEL, log_tail, probe_answers
from tooling.ports import free_ports

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CREDENTIALS = "bot.rasa_overrides.rest_channel.GuardedRestInput:\nbot.channels.health.HealthInput:\n"


# --------------------------------------------------------------------------- services


def postgres_admin() -> Engine:
    """An AUTOCOMMIT engine on the test server (CREATE/DROP DATABASE), or skip/fail when absent."""
    admin = create_engine(POSTGRES_URL, future=True, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        admin.connect().close()
    except Exception as error:  # noqa: BLE001 - any failure means the server is not usable
        admin.dispose()
        require_service(f"PostgreSQL not reachable at {POSTGRES_URL}: {type(error).__name__}")
    return admin


@pytest.fixture(scope="session")
def tracker_postgres_url() -> Iterator[str]:
    """A PostgreSQL database of this test session's own, dropped (with its connections) after."""
    name = f"poreguide_tracker_{uuid.uuid4().hex[:10]}"
    admin = postgres_admin()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_lock_env() -> Iterator[Dict[str, str]]:
    """LOCK_STORE_URL and a unique key prefix on the local Redis; the keys are deleted after."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as error:
        require_service(f"Redis not reachable at {REDIS_URL}: {type(error).__name__}")
    prefix = f"poreguidetest{uuid.uuid4().hex[:10]}"
    yield {"LOCK_STORE_URL": REDIS_URL, "LOCK_STORE_KEY_PREFIX": prefix}
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


def stored_events(database_url: str, sender_id: str) -> List[Tuple[str, Dict[str, Any]]]:
    """(type_name, event) of the conversation's rows in Rasa's `events` table, in stored order."""
    engine = create_engine(database_url, future=True)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT type_name, data FROM events WHERE sender_id = :sender ORDER BY id"), {"sender": sender_id}
            ).all()
    finally:
        engine.dispose()
    return [(type_name, json.loads(data)) for type_name, data in rows]


def user_turns(database_url: str, sender_id: str) -> List[Tuple[str, str]]:
    """(type_name, text) of the conversation's user and bot events, in order."""
    return [
        (kind, event.get("text") or "")
        for kind, event in stored_events(database_url, sender_id)
        if kind in ("user", "bot")
    ]


class TcpForwarder:
    """127.0.0.1:<port> forwarded to a real server; `stop()` refuses and cuts every connection
    (the database "goes down"), `start()` brings the same port back."""

    def __init__(self, target: Tuple[str, int]) -> None:
        self.target = target
        self.port = free_ports(1)[0]
        self._listener: Optional[socket.socket] = None
        self._connections: List[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            connections, self._connections = self._connections, []
        for sock in ([listener] if listener else []) + connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                upstream = socket.create_connection(self.target, timeout=3)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._connections += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while True:
                chunk = source.recv(65536)
                if not chunk:
                    break
                sink.sendall(chunk)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def postgres_target() -> Tuple[str, int]:
    url = make_url(POSTGRES_URL)
    return url.host or "127.0.0.1", url.port or 5432


# --------------------------------------------------------------------------- servers


def get_json(url: str, timeout: float = 30.0) -> Tuple[int, Dict[str, Any]]:
    """Status and JSON body of a GET, error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read().decode("utf-8"))


@dataclass
class RasaServer:
    url: str
    log: Path
    process: Any
    _context: ContextManager[Any] = field(repr=False)

    def stop(self) -> None:
        self._context.__exit__(None, None, None)

    def kill(self) -> int:
        """SIGKILL, for real: no shutdown hook runs. Returns the exit status."""
        self.process.send_signal(signal.SIGKILL)
        return self.process.wait(timeout=30)


class ServerFarm:
    """One action server on `kb_database_url` plus Rasa servers with their own environments."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory, kb_database_url: str) -> None:
        if not MODEL.exists():
            pytest.fail(f"No trained model at {MODEL}: run `make train` (or `make test`) first.")
        self.work = tmp_path_factory.mktemp("persistence_servers")
        self.credentials = self.work / "credentials.yml"
        self.credentials.write_text(CREDENTIALS, encoding="utf-8")
        self.servers: List[RasaServer] = []
        self._actions = contextlib.ExitStack()
        action_port = free_ports(1)[0]
        self.action_log = self.work / "actions.log"
        try:
            self._actions.enter_context(
                action_server(action_port, self.action_log, extra_env={"DATABASE_URL": kb_database_url})
            )
        except RuntimeError as error:
            pytest.fail(f"{error}\n{log_tail(self.action_log)}", pytrace=False)
        self.endpoints = endpoints_file(action_port, self.work)

    def start_rasa(self, env: Dict[str, str], name: str = "rasa") -> RasaServer:
        port = free_ports(1)[0]
        log = self.work / f"{name}-{port}.log"
        context = rasa_server(port, log, self.endpoints, credentials=self.credentials, model=MODEL, extra_env=env)
        try:
            process = context.__enter__()
        except RuntimeError as error:
            pytest.fail(f"{error}\n{log_tail(log)}", pytrace=False)
        server = RasaServer(f"http://127.0.0.1:{port}", log, process, context)
        self.servers.append(server)
        if not probe_answers(server.url):
            pytest.fail(f"The Rasa server on port {port} answers nothing\n{log_tail(log)}", pytrace=False)
        return server

    def start_many(self, envs: List[Dict[str, str]]) -> List[RasaServer]:
        """Several Rasa servers started side by side (each takes ~20-30 s to load the model)."""
        with concurrent.futures.ThreadPoolExecutor(len(envs)) as pool:
            futures = [pool.submit(self.start_rasa, env, f"rasa{index}") for index, env in enumerate(envs)]
            return [future.result() for future in futures]

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        self._actions.close()
