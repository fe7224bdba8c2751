"""The import layering of pyproject.toml's [tool.importlinter] holds (the runtime never imports the
developer tooling, nothing in bot/ imports a layer above it), and the contracts do catch a breach:
the same check run on a copy of the project with one forbidden import added must fail."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot import settings

ROOT = settings.PROJECT_ROOT
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(project: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(project), "COLUMNS": "200"}  # no wrapped lines
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(project / "pyproject.toml")],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_of_the_project(destination: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("bot", "actions", "tooling"):
        shutil.copytree(ROOT / package, destination / package, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", destination / "pyproject.toml")
    return destination


def test_the_project_keeps_its_import_layers() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    "module, line, contract",
    [
        ("bot/knowledge/breach.py", "from tooling.ports import free_ports", "never imports the developer tooling"),
        ("actions/breach.py", "import tooling.evaluation", "never imports the developer tooling"),
        ("bot/recommendation/breach.py", "import actions.shared", "bot never imports the actions"),
        ("bot/persistence/breach.py", "from bot import launcher", "bot's layers"),
        ("bot/channels/breach.py", "import bot.rasa_overrides.rest_channel", "bot's layers"),
    ],
)
def test_a_forbidden_import_breaks_a_contract(tmp_path: Path, module: str, line: str, contract: str) -> None:
    project = copy_of_the_project(tmp_path)
    (project / module).write_text(f'"""An import the layering forbids."""\n\n{line}\n', encoding="utf-8")
    result = lint_imports(project)
    assert result.returncode != 0, result.stdout
    broken = [text for text in result.stdout.splitlines() if "BROKEN" in text]
    assert any(contract in text for text in broken), result.stdout


def test_an_import_cycle_breaks_a_contract(tmp_path: Path) -> None:
    """tooling/ports.py importing the load test's command line, which (through the chaos run)
    imports tooling/ports.py: no layer is crossed, but it is a cycle."""
    project = copy_of_the_project(tmp_path)
    ports = project / "tooling" / "ports.py"
    ports.write_text(
        ports.read_text(encoding="utf-8") + "\nimport tooling.loadtest_command  # noqa\n", encoding="utf-8"
    )
    result = lint_imports(project)
    assert result.returncode != 0, result.stdout
    broken = [text for text in result.stdout.splitlines() if "BROKEN" in text]
    assert broken and "No cycles are allowed in tooling" in result.stdout, result.stdout
