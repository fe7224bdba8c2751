"""The held-out files measure what the bot does with wordings it was not trained on, so none of
their messages may appear in the training data (a copy, or a copy with another spelling)."""

from __future__ import annotations

import re
from typing import List

import pytest
from rapidfuzz import fuzz, process
from rasa.shared.nlu.training_data.loading import load_data

from bot import settings
from tests.safety.cases import load_cases

HELD_OUT = [settings.PROJECT_ROOT / "tests" / "nlu_wild.yml", settings.PROJECT_ROOT / "tests" / "nlu_heldout.yml"]
NEAR_COPY = 95  # rapidfuzz ratio on lower-cased letters, digits and spaces
MIN_WORDS = 4  # "thank you", "not now": short phrases recur by nature and say nothing of tuning


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^a-z0-9 ]", "", text.lower())).strip()


def _held_out_messages() -> List[str]:
    messages = [message.get("text") for path in HELD_OUT for message in load_data(str(path)).intent_examples]
    return messages + [text for texts in load_cases().values() for text in texts]


@pytest.fixture(scope="module")
def training_messages() -> List[str]:
    files = sorted((settings.PROJECT_ROOT / "data").glob("nlu*.yml"))
    return [_normal(message.get("text")) for path in files for message in load_data(str(path)).intent_examples]


def test_no_held_out_message_is_in_the_training_data(training_messages):
    copies = []
    for message in _held_out_messages():
        normal = _normal(message)
        if len(normal.split()) < MIN_WORDS:
            continue
        match = process.extractOne(normal, training_messages, scorer=fuzz.ratio, score_cutoff=NEAR_COPY)
        if match:
            copies.append(f"{message!r} ~ training {match[0]!r}")
    assert not copies, f"{len(copies)} held-out messages are (near) copies of training examples:\n" + "\n".join(copies)


def test_the_files_are_as_large_as_the_issues_ask():
    wild = load_data(str(HELD_OUT[0])).intent_examples
    cases = load_cases()
    assert len(wild) >= 300
    assert len(cases["emergency"]) + len(cases["urgent"]) >= 100 and len(cases["emergency"]) >= 25
    assert len(cases["benign"]) >= 100 and len(cases["medical"]) >= 60
