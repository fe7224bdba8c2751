"""Issue 19: the action server on the action venv's Python (rasa-sdk 3.21) against the one on the
Rasa venv's Python 3.10 (rasa-sdk 3.6, the single-venv setup), behind ONE real Rasa 3.6 server.

A recording proxy stands where Rasa expects the action server and forwards every call to one of
the two; the same scripted conversation (every custom action: forms, validation, consent,
storage, red flags, stop) runs once through each. The replies, and every action's answer, must be
the same; each server must have stored the same request; the new one must check the token, listen
on loopback only, log in its worker ("Stored consultation request") without personal data or the
version warning. Per-call latency is reported (terminal and var/results/), not asserted."""

from __future__ import annotations

import dataclasses
import json
import re
import statistics
import sys
import threading
import time
import urllib.parse
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import yaml
from sqlalchemy import create_engine

from bot import launcher, settings
from bot.consultations.references import PATTERN as REFERENCE
from bot.consultations.repository import ConsultationRepository
from bot.knowledge.seed import seed_database
from bot.security.action_token import TOKEN_HEADER
from tests.e2e import MODEL, Conversation, log_tail
from tests.security_fixtures import http
from tests.test_security_action_token import _listen_address
from tooling.ports import free_ports

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        launcher.action_python() == sys.executable,
        reason="no action venv: this machine has no Python 3.11-3.13, so there is only one setup",
    ),
]

NEW, OLD = "new", "old"
PERSONAL = ("Jane Tester", "jane.tester@example.com", "Sam Nobody", "555 010 0188", "+15550100188")
SCRIPT = [
    "hello",
    # a booking that asks for the treatment, consent refused: nothing stored
    "i'd like to book a consultation",
    "Sam Nobody",
    "+1 555 010 0188",
    '/inform{"treatment": "laser_resurfacing"}',
    "no preference",
    "/deny",
    # the recommendation form: every question, an answer it refuses, typed answers and buttons
    "which treatment is right for me",
    '/inform{"skin_type": "scaly"}',
    "it's oily I think",
    '/inform{"concern": "blackheads"}',
    "i cant take any time off work",
    '/inform{"setting": "home"}',
    "none of these",
    # a booking with a refused email, consent given: stored
    "/book_consultation",
    "Jane Tester",
    "jane.tester@example",
    "jane.tester@example.com",
    "weekday mornings",
    "/affirm",
    # questions, each answered by an action of its own
    "why would i even want smaller pores??",
    "what treatments r there for enlarged pores",
    "what even is microneedling",
    "and laser?",
    "compare microneedling and laser resurfacing",
    "how much does microneedling cost",
    "should i see a dermatologist about my pores",
    "what is the clinic's phone number",
    "do enlarged pores hold more dirt",
    "i want to talk to one of the doctors",
    # its call-back button starts the shorter booking; stopped before anything is stored
    '/book_consultation{"request_kind": "callback"}',
    "stop",
    "can you prescribe me something",
    "light redness after needling, is that how it should be",
    # a red flag holds the recommendations until the person is fine
    "my face is swollen and there is pus since the laser yesterday",
    "ok so which treatment is right for me",
    "/confirm_fine",
    # stop inside a form, an emergency outside any
    "i'd like to book a consultation",
    "stop",
    "i can't breathe properly and my lips are swelling after the peel",
    "thanks, bye",
]


# --------------------------------------------------------------------------- the recording proxy


@dataclass
class Call:
    server: str
    action: str
    status: int
    answer: Any
    seconds: float


class RecordingProxy(ThreadingHTTPServer):
    """Rasa's action endpoint: forwards each request to the action server on `upstream` and
    records each action call (`/webhook`) with its answer and the time the server took."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.upstream: Tuple[str, int] = ("", 0)
        self.calls: List[Call] = []
        self._lock = threading.Lock()

    def record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)


class _Forward(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: RecordingProxy

    def do_GET(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
        headers = {
            key: value
            for key, value in self.headers.items()
            if key.lower() not in ("host", "content-length", "connection")
        }
        name, port = self.server.upstream
        started = time.perf_counter()
        status, _, answer = http(f"http://127.0.0.1:{port}{self.path}", body, headers, self.command)
        seconds = time.perf_counter() - started
        if urllib.parse.urlsplit(self.path).path == "/webhook" and body:
            raw = zlib.decompress(body) if self.headers.get("Content-Encoding") == "deflate" else body
            self.server.record(
                Call(name, json.loads(raw).get("next_action", "?"), status, json.loads(answer or b"null"), seconds)
            )
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        """Quiet: the servers' own logs tell what happened."""


# --------------------------------------------------------------------------- the two runs


@dataclass
class Run:
    python: str
    port: int
    database_url: str
    log: Path
    replies: List[Tuple[str, List[str]]] = field(default_factory=list)
    turn_seconds: List[float] = field(default_factory=list)


@dataclass
class Comparison:
    runs: Dict[str, Run]
    calls: List[Call]

    def calls_of(self, server: str) -> List[Call]:
        return [call for call in self.calls if call.server == server]


def _seeded_database(directory: Path, knowledge: Any) -> str:
    url = f"sqlite:///{directory / 'poreguide.db'}"
    engine = create_engine(url, future=True)
    seed_database(engine, knowledge)
    engine.dispose()
    return url


def _talk(base_url: str, run: Run) -> None:
    chat = Conversation(base_url)
    for message in SCRIPT:
        started = time.perf_counter()
        text, buttons = chat.say(message)
        run.turn_seconds.append(time.perf_counter() - started)
        run.replies.append((REFERENCE.sub("PG-<reference>", text), [button.get("payload", "") for button in buttons]))


@pytest.fixture(scope="module")
def comparison(tmp_path_factory: pytest.TempPathFactory, knowledge: Any) -> Iterator[Comparison]:
    if not MODEL.exists():
        pytest.fail(f"No trained model at {MODEL}: run `make train` first.")
    work = tmp_path_factory.mktemp("python_comparison")
    new_port, old_port, rasa_port = free_ports(3)
    runs = {}
    for name, python, port in ((NEW, launcher.action_python(), new_port), (OLD, sys.executable, old_port)):
        (work / name).mkdir()
        runs[name] = Run(python, port, _seeded_database(work / name, knowledge), work / name / "actions.log")
    proxy = RecordingProxy()
    threading.Thread(target=proxy.serve_forever, name="action proxy", daemon=True).start()
    endpoints = launcher.endpoints_file(proxy.server_address[1], work)
    rasa_log = work / "rasa.log"
    try:
        with launcher.action_server(
            new_port, runs[NEW].log, extra_env={"DATABASE_URL": runs[NEW].database_url}, python=runs[NEW].python
        ), launcher.action_server(
            old_port, runs[OLD].log, extra_env={"DATABASE_URL": runs[OLD].database_url}, python=runs[OLD].python
        ), launcher.rasa_server(
            rasa_port,
            rasa_log,
            endpoints,
            model=MODEL,
            extra_env={"TRACKER_STORE_URL": f"sqlite:///{work / 'tracker.db'}"},
        ):
            base_url = f"http://127.0.0.1:{rasa_port}"
            proxy.upstream = (OLD, old_port)
            Conversation(base_url).say("/greet")  # Rasa's first turn is slow: not part of either run
            proxy.calls.clear()
            for name in (OLD, NEW):
                proxy.upstream = (name, runs[name].port)
                _talk(base_url, runs[name])
            yield Comparison(runs, list(proxy.calls))
    except RuntimeError as error:
        pytest.fail(
            f"{error}\n" + "\n".join(log_tail(path) for path in (runs[NEW].log, runs[OLD].log, rasa_log)), pytrace=False
        )
    finally:
        proxy.shutdown()
        proxy.server_close()


# --------------------------------------------------------------------------- the same behaviour


def test_the_two_servers_run_on_the_two_pythons(comparison: Comparison) -> None:
    versions = {name: launcher.python_version(run.python) for name, run in comparison.runs.items()}
    minor = {name: tuple(int(part) for part in version.split(".")[:2]) for name, version in versions.items()}
    assert minor[OLD] == (3, 10) and minor[NEW] >= (3, 11), versions
    assert "rasa-sdk 3.21." in comparison.runs[NEW].log.read_text(encoding="utf-8", errors="replace")


def test_every_reply_is_the_same(comparison: Comparison) -> None:
    old, new = comparison.runs[OLD].replies, comparison.runs[NEW].replies
    assert len(old) == len(new) == len(SCRIPT)
    for message, before, after in zip(SCRIPT, old, new):
        assert after == before, f"{message!r}: the action server on the new Python answered differently"


def test_every_action_answers_the_same(comparison: Comparison) -> None:
    old, new = comparison.calls_of(OLD), comparison.calls_of(NEW)
    assert [call.action for call in new] == [call.action for call in old]
    for before, after in zip(old, new):
        assert (after.status, _normalised(after.answer)) == (before.status, _normalised(before.answer)), before.action


def test_the_script_calls_every_custom_action(comparison: Comparison) -> None:
    domain = yaml.safe_load((settings.PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    for server in (OLD, NEW):
        called = {call.action for call in comparison.calls_of(server)}
        # An entry is a name, or {name: options} for an action marked `send_domain: true`.
        names = {name for entry in domain["actions"] for name in ([entry] if isinstance(entry, str) else entry)}
        missing = sorted(names - called)
        assert not missing, f"the script never calls {missing} ({server} server)"


def test_both_stored_the_consented_request_and_not_the_declined_one(comparison: Comparison) -> None:
    stored = {}
    for name, run in comparison.runs.items():
        engine = create_engine(run.database_url, future=True)
        try:
            stored[name] = [
                dataclasses.replace(record.details, conversation_id="")  # each run is a conversation
                for record in ConsultationRepository(engine).list_requests()
            ]
        finally:
            engine.dispose()
    assert len(stored[NEW]) == 1 and stored[NEW] == stored[OLD], stored
    assert (stored[NEW][0].name, stored[NEW][0].email) == ("Jane Tester", "jane.tester@example.com")


def _normalised(answer: Any) -> Any:
    return json.loads(REFERENCE.sub("PG-<reference>", json.dumps(answer, sort_keys=True)))


# --------------------------------------------------------------------------- the new server's guards and log


def test_the_new_server_checks_the_token(comparison: Comparison) -> None:
    port = comparison.runs[NEW].port
    call = json.dumps(
        {
            "next_action": "action_show_clinic_contact",
            "sender_id": "intruder",
            "tracker": {},
            "domain": {},
            "version": "3.6.21",
        }
    ).encode()
    for headers in ({}, {TOKEN_HEADER: "guessed"}, {TOKEN_HEADER: launcher.action_token()[:-1]}):
        assert http(f"http://127.0.0.1:{port}/webhook", call, {"Content-Type": "application/json", **headers})[0] == 401
        assert http(f"http://127.0.0.1:{port}/actions", None, headers)[0] == 401
    assert http(f"http://127.0.0.1:{port}/actions", None, {TOKEN_HEADER: launcher.action_token()})[0] == 200
    assert http(f"http://127.0.0.1:{port}/health")[0] == 200


def test_the_new_server_listens_on_loopback_only(comparison: Comparison) -> None:
    assert _listen_address(comparison.runs[NEW].port) == "127.0.0.1"


def test_the_new_servers_worker_logs_in_format_without_personal_data_or_warning(comparison: Comparison) -> None:
    log = comparison.runs[NEW].log.read_text(encoding="utf-8", errors="replace")
    stored = [line for line in log.splitlines() if "Stored consultation request PG-" in line]
    assert len(stored) == 1 and re.match(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d INFO +bot\.consultations\.repository  - ", stored[0]
    ), log_tail(comparison.runs[NEW].log)
    assert "Your versions of rasa and rasa_sdk might not be compatible" not in log
    leaked = [text for text in PERSONAL if text in log]
    assert not leaked, f"personal data in the action server's log: {leaked}"


# --------------------------------------------------------------------------- latency, reported


def test_report_the_per_call_latency(comparison: Comparison, capsys: pytest.CaptureFixture) -> None:
    report = {name: _latency(comparison, name) for name in (OLD, NEW)}
    out = settings.VAR_DIR / "results" / "action-server-python.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    with capsys.disabled():
        count = len(comparison.calls_of(NEW))
        print(f"\nAction server per call (ms; {count} calls each, through one Rasa 3.6 server):")
        for name, figures in report.items():
            ms = figures["action_call_ms"]
            print(
                f"  {name}: Python {figures['python']:<8} median {ms['median']:6.1f}  p90 {ms['p90']:6.1f}  "
                f"max {ms['max']:6.1f}  | whole turn median {figures['turn_ms']['median']:6.1f}"
            )
        print(f"  written to {out}")
    assert all(figures["action_call_ms"]["count"] > 0 for figures in report.values())


def _latency(comparison: Comparison, name: str) -> Dict[str, Any]:
    run = comparison.runs[name]
    return {
        "python": launcher.python_version(run.python),
        "interpreter": run.python,
        "action_call_ms": _summary([call.seconds for call in comparison.calls_of(name)]),
        "turn_ms": _summary(run.turn_seconds),
    }


def _summary(seconds: List[float]) -> Dict[str, float]:
    ms = sorted(value * 1000 for value in seconds)
    return {
        "count": len(ms),
        "median": round(statistics.median(ms), 2),
        "p90": round(ms[min(len(ms) - 1, int(0.9 * len(ms)))], 2),
        "max": round(ms[-1], 2),
    }
