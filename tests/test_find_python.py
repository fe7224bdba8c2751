"""scripts/find-python.sh picks a Python 3.8-3.10 or fails with a clear message."""
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
