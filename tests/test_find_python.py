"""scripts/find-python.sh picks a Python 3.8-3.10 (the Rasa venv) or fails with a clear message;
scripts/find-action-python.sh lists the Pythons 3.13, 3.12, 3.11 for the action venv, best first,
or says that the single venv stays."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot import settings

SCRIPT = settings.PROJECT_ROOT / "scripts" / "find-python.sh"


def _run(env_overrides, path="/usr/bin:/bin"):
    env = {"PATH": path, "HOME": "/nonexistent-home", "PYENV_ROOT": "/nonexistent-pyenv", **env_overrides}
    return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True)


def test_uses_the_interpreter_given_in_PYTHON():
    # The venv's interpreter is 3.8-3.10 by construction.
    result = _run({"PYTHON": sys.executable})
    assert result.returncode == 0
    assert Path(result.stdout.strip()).name.startswith("python")


def test_fails_clearly_when_none_is_found(tmp_path):
    fake = tmp_path / "python3.10"
    fake.write_text("#!/bin/sh\necho 'Python 3.11.7'\nexit 1\n")
    fake.chmod(0o755)
    result = _run({}, path=f"{tmp_path}:/usr/bin:/bin")
    if result.returncode == 0:
        pytest.skip(f"this machine has a system Python 3.8-3.10 in /usr/bin: {result.stdout.strip()}")
    assert result.returncode == 1
    assert "needs Python 3.8, 3.9 or 3.10" in result.stderr


def test_rejects_a_newer_python_given_in_PYTHON(tmp_path):
    newer = tmp_path / "python3"
    newer.write_text("#!/bin/sh\nexit 1\n")  # behaves like a 3.11 failing the version check
    newer.chmod(0o755)
    result = _run({"PYTHON": str(newer)})
    assert str(newer) not in result.stdout


def test_finds_pyenv_versions(tmp_path):
    version_dir = tmp_path / "versions" / "3.10.99" / "bin"
    version_dir.mkdir(parents=True)
    os.symlink(sys.executable, version_dir / "python")
    result = _run({"PYENV_ROOT": str(tmp_path)})
    assert result.returncode == 0
    assert result.stdout.strip()


# --------------------------------------------------------------------------- scripts/find-action-python.sh

ACTION_SCRIPT = settings.PROJECT_ROOT / "scripts" / "find-action-python.sh"


def _fake_python(path: Path) -> Path:
    """Stands in for a usable interpreter: exits 0 for the checks and names itself as sys.executable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('#!/bin/sh\necho "$0"\n')
    path.chmod(0o755)
    return path


def _tools(tmp_path: Path) -> str:
    """A PATH with only what the script needs: no python3.x of this machine's."""
    tools = tmp_path / "tools"
    tools.mkdir()
    for tool in ("bash", "ls", "sort", "cat", "dirname", "rm"):
        os.symlink(
            subprocess.run(["bash", "-c", f"command -v {tool}"], capture_output=True, text=True).stdout.strip(),
            tools / tool,
        )
    return str(tools)


def _find_action_python(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {"PATH": _tools(tmp_path), "HOME": "/nonexistent-home", "PYENV_ROOT": "/nonexistent-pyenv", **env}
    return subprocess.run(["/bin/bash", str(ACTION_SCRIPT)], env=environment, capture_output=True, text=True)


def test_action_python_prefers_3_13_then_3_12_then_3_11_and_never_3_10(tmp_path):
    root = tmp_path / "pyenv"
    for version in ("3.10.16", "3.11.9", "3.12.3", "3.13.1", "3.13.10"):
        _fake_python(root / "versions" / version / "bin" / "python")
    result = _find_action_python(tmp_path, PYENV_ROOT=str(root))
    assert result.returncode == 0, result.stderr
    assert [Path(line).parents[1].name for line in result.stdout.split()] == ["3.13.10", "3.13.1", "3.12.3", "3.11.9"]


def test_action_python_given_in_ACTION_PYTHON_comes_first(tmp_path):
    chosen = _fake_python(tmp_path / "elsewhere" / "python3")
    _fake_python(tmp_path / "pyenv" / "versions" / "3.13.1" / "bin" / "python")
    result = _find_action_python(tmp_path, PYENV_ROOT=str(tmp_path / "pyenv"), ACTION_PYTHON=str(chosen))
    assert result.stdout.split()[0] == str(chosen)


def test_action_python_says_clearly_that_the_single_venv_stays_when_none_is_found(tmp_path):
    result = _find_action_python(tmp_path, ACTION_PYTHON=sys.executable)  # the Rasa venv's 3.8-3.10: not usable
    assert result.returncode == 1 and not result.stdout
    assert "no Python 3.11, 3.12 or 3.13 found" in result.stderr and "runs in the Rasa venv" in result.stderr


def test_action_python_accepts_a_real_newer_interpreter(tmp_path):
    real = settings.PROJECT_ROOT / ".venv-actions" / "bin" / "python"
    if not real.exists():
        pytest.skip("no action venv on this machine")
    result = _find_action_python(tmp_path, ACTION_PYTHON=str(real))
    assert result.returncode == 0 and result.stdout.split()[0] == os.path.realpath(real)


def test_setup_without_a_newer_python_says_so_and_keeps_the_single_venv(tmp_path):
    """scripts/action-venv.sh (make setup): a note, no action venv (an old one removed), success."""
    old_venv = tmp_path / "old-action-venv"
    (old_venv / "bin").mkdir(parents=True)
    (old_venv / ".installed").touch()
    environment = {"PATH": _tools(tmp_path), "HOME": "/nonexistent-home", "PYENV_ROOT": "/nonexistent-pyenv"}
    result = subprocess.run(
        ["/bin/bash", str(settings.PROJECT_ROOT / "scripts" / "action-venv.sh"), str(old_venv)],
        env=environment,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "runs in the Rasa venv on Python 3.10" in result.stderr
    assert not old_venv.exists()
