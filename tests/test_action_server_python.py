"""Issue 19: the action server runs from its own venv on a supported Python (`.venv-actions`, made
by `make setup` from actions/requirements.lock), the Rasa server stays on Python 3.10. Here: the
launcher's choice of interpreter, the lock, and the action, consultation and knowledge tests run
again on the action venv's interpreter (they run on the Rasa venv's as part of the whole suite)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bot import launcher, settings
from tests.test_action_server_python_worker import process_running

ROOT = settings.PROJECT_ROOT
ACTION_VENV_PYTHON = launcher.ACTION_VENV / "bin" / "python"
# Tests that need only what the action server has (rasa-sdk, SQLAlchemy, the actions and the bot
# modules they import), so they can run on both interpreters.
ACTION_RUNTIME_TESTS = sorted(
    {
        path.name
        for pattern in ("test_actions_*.py", "test_consultation_*.py")
        for path in (ROOT / "tests").glob(pattern)
    }
    | {
        "test_knowledge_schema.py",
        "test_repository.py",
        "test_recommendation_ranking.py",
        "test_seed_article_coverage.py",
        "test_action_server_python_worker.py",
    }
)
IMPORT_ALL_ACTIONS = """
import importlib, pkgutil, sys
import actions, rasa_sdk.endpoint
for module in pkgutil.iter_modules(actions.__path__):
    importlib.import_module("actions." + module.name)
print(" ".join(sorted({name.split(".")[0] for name in sys.modules})))
"""


def action_venv_installed() -> bool:
    return (launcher.ACTION_VENV / ".installed").exists()


requires_action_venv = pytest.mark.skipif(
    not action_venv_installed(), reason="no action venv: this machine has no Python 3.11-3.13 (see `make setup`)"
)


def _lock_pins(path: Path = ROOT / "actions" / "requirements.lock") -> Dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.strip().split("==")
            pins[canonicalize_name(name)] = version
    return pins


# --------------------------------------------------------------------------- which interpreter


def test_the_launcher_uses_the_action_venv_only_once_setup_completed_it(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(launcher.ACTION_PYTHON_ENV, raising=False)
    monkeypatch.setattr(launcher, "ACTION_VENV", tmp_path / ".venv-actions")
    assert launcher.action_python() == sys.executable  # none: the Rasa venv runs it, as before
    python = tmp_path / ".venv-actions" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.symlink_to(sys.executable)
    assert launcher.action_python() == sys.executable  # half-built (no .installed): not used
    (tmp_path / ".venv-actions" / ".installed").touch()
    assert launcher.action_python() == str(python)
    monkeypatch.setenv(launcher.ACTION_PYTHON_ENV, "/opt/other/python")
    assert launcher.action_python() == "/opt/other/python"
    assert launcher.action_server_command(5055)[:5] == ["/opt/other/python", "-m", "rasa_sdk", "--actions", "actions"]


def test_the_action_server_keeps_its_warnings_and_the_rasa_server_does_not(monkeypatch) -> None:
    monkeypatch.delenv("PYTHONWARNINGS", raising=False)
    command, env, health_url = launcher._action_server_command(5055, {"DATABASE_URL": "sqlite://"})
    assert "PYTHONWARNINGS" not in env  # bot.action_server filters the one known-harmless warning instead
    assert env["SANIC_HOST"] == "127.0.0.1" and env[launcher.TOKEN_ENV] == launcher.action_token()
    assert launcher.process_environment()["PYTHONWARNINGS"] == "ignore"
    assert command[0] == launcher.action_python() and health_url == "http://127.0.0.1:5055/health"


def test_setup_built_the_action_venv_wherever_a_newer_python_is_found() -> None:
    """So CI runs the action server on the newer Python whenever the machine has one."""
    found = subprocess.run(["bash", str(ROOT / "scripts" / "find-action-python.sh")], capture_output=True, text=True)
    if found.returncode != 0:
        pytest.skip("no Python 3.11-3.13 here: the action server runs from the Rasa venv")
    assert action_venv_installed(), (
        f"Python {found.stdout.split()[0]} is here but {launcher.ACTION_VENV} is not set up: run `make setup`"
    )


def test_a_killed_servers_leftover_processes_are_ended_with_it(tmp_path) -> None:
    """What a server spawned (rasa-sdk 3.21: a manager and a resource tracker) goes with it."""
    out = tmp_path / "out"
    process = launcher.launch(["sh", "-c", "sleep 60 & echo $!; wait"], {"PATH": "/usr/bin:/bin"}, out)
    deadline = time.monotonic() + 10
    while not out.read_text().strip() and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int(out.read_text().split()[0])
    process.kill()  # the server dies as in a crash: its child lives on
    process.wait()
    assert process_running(child)
    launcher.stop(process)
    deadline = time.monotonic() + 5
    while process_running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not process_running(child)


# --------------------------------------------------------------------------- the lock


def test_the_lock_pins_everything_the_dependency_list_asks_for() -> None:
    pins = _lock_pins()
    lines = (ROOT / "actions" / "requirements.in").read_text(encoding="utf-8").splitlines()
    for requirement in (Requirement(line) for line in lines if line.strip() and not line.startswith("#")):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in actions/requirements.lock: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"actions/requirements.lock pins {requirement.name}=={pins[name]}, outside {requirement}: run `make lock`"
        )
    assert not {"rasa", "tensorflow", "spacy"} & set(pins), "the action server needs none of Rasa's stack"


@requires_action_venv
def test_the_action_venv_holds_exactly_the_locked_versions() -> None:
    frozen = subprocess.run(
        [str(ACTION_VENV_PYTHON), "-m", "pip", "freeze", "--all"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    installed = {canonicalize_name(name): version for name, _, version in (line.partition("==") for line in frozen)}
    stale = {
        name: (version, installed.get(name)) for name, version in _lock_pins().items() if installed.get(name) != version
    }
    assert not stale, (
        f"{launcher.ACTION_VENV} differs from actions/requirements.lock (locked, installed): {stale}; run `make setup`"
    )


# --------------------------------------------------------------------------- both interpreters


def _interpreters() -> List[str]:
    return [sys.executable] + ([str(ACTION_VENV_PYTHON)] if action_venv_installed() else [])


@pytest.mark.parametrize(
    "python", _interpreters(), ids=lambda path: "action-venv" if ".venv-actions" in path else "rasa-venv"
)
def test_the_actions_load_neither_rasa_nor_its_machine_learning_stack(python: str) -> None:
    result = subprocess.run([python, "-c", IMPORT_ALL_ACTIONS], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert not {"rasa", "tensorflow", "spacy", "torch"} & set(result.stdout.split())


@requires_action_venv
@pytest.mark.server
def test_the_action_consultation_and_knowledge_tests_pass_on_the_action_venv(tmp_path) -> None:
    files = [f"tests/{name}" for name in ACTION_RUNTIME_TESTS]
    result = subprocess.run(
        [
            str(ACTION_VENV_PYTHON),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--basetemp",
            str(tmp_path / "inner"),
            *files,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    summary = result.stdout.strip().splitlines()[-1:] or ["(no output)"]
    details = "\n".join(result.stdout.splitlines()[-40:]) + result.stderr[-2000:]
    assert result.returncode == 0, f"{summary[0]}\n{details}"
    assert re.search(r"\d+ passed", summary[0]) and "failed" not in summary[0], summary[0]
