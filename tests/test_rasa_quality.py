"""Rasa's own checks on the training data, the conversation tests and the held-out NLU bar,
run as `make test` runs everything: through pytest, against the trained model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from bot import settings
from bot.launcher import process_environment, rasa_executable
from tests.rasa_component_fixtures import MODEL, require_trained_model

pytestmark = pytest.mark.slow


def _run(command: List[str], log: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        command,
        cwd=settings.PROJECT_ROOT,
        env=process_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    log.write_text(result.stdout)
    return result


@pytest.fixture(scope="module", autouse=True)
def trained_model():
    require_trained_model()


def test_training_data_validates_without_warnings(tmp_path):
    result = _run([rasa_executable(), "data", "validate", "--fail-on-warnings"], tmp_path / "validate.log")
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.parametrize(
    "stories",
    [
        "tests/test_stories.yml",
        # 35 unscripted digressions (interruptions, changes of mind, stop, red flags mid-flow),
        # written for issue 18 before the bot was changed for them.
        "tests/test_digressions.yml",
    ],
)
def test_conversation_stories_have_no_prediction_errors(tmp_path, stories):
    out = tmp_path / "core"
    result = _run(
        [
            rasa_executable(),
            "test",
            "core",
            "--stories",
            stories,
            "--model",
            str(MODEL),
            "--fail-on-prediction-errors",
            "--out",
            str(out),
        ],
        tmp_path / "core.log",
    )
    failed = out / "failed_test_stories.yml"
    assert result.returncode == 0, (failed.read_text() if failed.exists() else "") + result.stdout[-3000:]


def test_held_out_nlu_meets_the_bar(capsys, tmp_path):
    result = _run(
        [
            sys.executable,
            "-m",
            "tooling.evaluation",
            "--model",
            str(MODEL),
            "--out",
            str(settings.VAR_DIR / "results" / "heldout"),
        ],
        tmp_path / "evaluation.log",
    )
    summary = [line for line in result.stdout.splitlines() if line.startswith(("Held-out", "FAIL"))]
    with capsys.disabled():  # make test prints both numbers
        print("\n" + "\n".join(summary))
    assert result.returncode == 0, "\n".join(summary) or result.stdout[-3000:]


def test_patients_own_wording_meets_the_bar(capsys, tmp_path):
    """tests/nlu_wild.yml: typos, slang, long stories, third person; written before the bot was
    changed for it and never trained on (tests/test_held_out_files.py checks the second part)."""
    result = _run([sys.executable, "-m", "tooling.evaluation", "--wild", "--model", str(MODEL)], tmp_path / "wild.log")
    summary = [line for line in result.stdout.splitlines() if line.startswith(("Held-out", "FAIL"))]
    with capsys.disabled():
        print("\n" + "\n".join(summary))
    assert result.returncode == 0, "\n".join(summary) or result.stdout[-3000:]
