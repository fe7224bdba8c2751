"""Issue 19, item 2: what `bot.action_server` does for rasa-sdk 3.21's worker processes, checked in
real processes: a worker logs like its primary, dies with its primary, and only rasa-sdk's version
warning for Rasa 3.6 is silenced. Runs under both interpreters (tests/test_action_server_python.py
runs it again on the action venv's)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings
from typing import Dict, List

import pytest

from bot import action_server, settings

RASA_36_WARNING = (
    "Your versions of rasa and rasa_sdk might not be compatible. You are currently running "
    "rasa version 3.6.21 and rasa_sdk version 3.21.1.\nTo ensure compatibility use the same version"
)


def _warnings_shown(*messages_and_modules: tuple) -> List[str]:
    """The messages among `(message, module)` pairs that still show once the filter is installed."""
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        action_server.filter_rasa_36_version_warning()
        for message, module in messages_and_modules:
            warnings.warn_explicit(message, UserWarning, "utils.py", 1, module=module)
    return [str(warning.message) for warning in shown]


def test_only_the_version_warning_for_rasa_3_6_from_rasa_sdk_is_silenced() -> None:
    rasa_37 = RASA_36_WARNING.replace("rasa version 3.6.21", "rasa version 3.7.0")
    other_sdk = RASA_36_WARNING.replace("rasa_sdk version 3.21.1", "rasa_sdk version 3.22.0")
    shown = _warnings_shown(
        (RASA_36_WARNING, "rasa_sdk.utils"),
        (rasa_37, "rasa_sdk.utils"),
        (other_sdk, "rasa_sdk.utils"),
        (RASA_36_WARNING, "somewhere.else"),
        ("Something else went wrong", "rasa_sdk.utils"),
    )
    assert shown == [rasa_37, other_sdk, RASA_36_WARNING, "Something else went wrong"]


def test_rasa_sdks_own_check_is_silent_for_rasa_3_6_and_still_warns_for_others() -> None:
    from rasa_sdk.utils import check_version_compatibility

    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        action_server.filter_rasa_36_version_warning()
        check_version_compatibility("3.6.21")
        assert shown == []  # rasa-sdk 3.6 never warns here; rasa-sdk 3.21 does, and is filtered
        check_version_compatibility("2.8.0")
        check_version_compatibility(None)
    assert len(shown) == 2 and all("might not be compatible" in str(warning.message) for warning in shown)


# --------------------------------------------------------------------------- in a worker process

WORKER = """
import logging, os, sys, time, warnings
from sanic import Sanic
from bot import action_server

action_server.attach_sanic_app_extensions(Sanic("worker_probe", configure_logging=False))
logging.getLogger("bot.consultations.repository").info("Stored consultation request %s.", "PG-ABCDEF")
logging.getLogger("bot.consultations.repository").debug("hidden at INFO")
warnings.warn("a warning keeps its place")
print("ready", flush=True)
time.sleep(float(sys.argv[1]))
"""


def _worker_environment(**overrides: str) -> Dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONWARNINGS", "ACTION_SERVER_TOKEN")}
    env.update(
        {
            action_server.WORKER_ENV: "Sanic-Server-0-0",
            action_server.LOG_LEVEL_ENV: "INFO",
            action_server.PRIMARY_PID_ENV: str(os.getpid()),
        }
    )
    env.update(overrides)
    return env


def test_a_worker_logs_info_and_warnings_in_the_primarys_format() -> None:
    result = subprocess.run(
        [sys.executable, "-c", WORKER, "0"],
        cwd=settings.PROJECT_ROOT,
        env=_worker_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    stored = [line for line in lines if "Stored consultation request PG-ABCDEF." in line]
    assert len(stored) == 1 and " INFO " in stored[0] and "bot.consultations.repository  - " in stored[0], lines
    warned = [line for line in lines if "UserWarning: a warning keeps its place" in line]
    assert len(warned) == 1 and " WARNING " in warned[0] and "py.warnings  - " in warned[0], lines
    assert "hidden at INFO" not in result.stderr


def test_the_primary_hands_its_log_level_and_pid_to_its_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    from sanic import Sanic

    monkeypatch.delenv(action_server.WORKER_ENV, raising=False)
    monkeypatch.delenv(action_server.LOG_LEVEL_ENV, raising=False)
    monkeypatch.delenv(action_server.PRIMARY_PID_ENV, raising=False)
    action_server.attach_sanic_app_extensions(Sanic("primary_probe", configure_logging=False))
    assert os.environ[action_server.PRIMARY_PID_ENV] == str(os.getpid())
    assert os.environ[action_server.LOG_LEVEL_ENV] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_worker_dies_with_its_primary(tmp_path) -> None:
    """A stand-in primary starts a worker, then is SIGKILLed: the worker must not outlive it."""
    primary = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time\n"
            "worker = subprocess.Popen([sys.executable, '-c', sys.argv[1], '60'])\n"
            "print(worker.pid, flush=True)\ntime.sleep(60)",
            WORKER,
        ],
        cwd=settings.PROJECT_ROOT,
        env=_worker_environment(**{action_server.PRIMARY_PID_ENV: ""}),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        worker_pid = int(primary.stdout.readline())
        assert primary.stdout.readline().strip() == "ready"  # set up, so tied to the primary
        assert process_running(worker_pid), "the worker ended on its own"
    finally:
        primary.send_signal(signal.SIGKILL)
        primary.wait(timeout=30)
    deadline = time.monotonic() + 10
    while process_running(worker_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not process_running(worker_pid), "the worker outlived its SIGKILLed primary"


def test_a_worker_whose_primary_is_already_gone_exits() -> None:
    result = subprocess.run(
        [sys.executable, "-c", WORKER, "30"],
        cwd=settings.PROJECT_ROOT,
        timeout=60,
        env=_worker_environment(**{action_server.PRIMARY_PID_ENV: "999999999"}),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "ready" not in result.stdout


def process_running(pid: int) -> bool:
    """Whether `pid` runs (a zombie, dead but not yet reaped by init, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
