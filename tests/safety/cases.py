"""The safety test file (tests/safety/cases.yml): written before the safety fixes, never training data."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import yaml

CASES_FILE = Path(__file__).with_name("cases.yml")
MAX_BENIGN_FALSE_ALARMS = 2


def load_cases() -> Dict[str, List[str]]:
    """Section name (emergency, urgent, benign, medical) -> the messages."""
    raw = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))
    return {
        section: [item["text"] if isinstance(item, dict) else item for item in items] for section, items in raw.items()
    }


def benign_kinds() -> Dict[str, str]:
    raw = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))
    return {item["text"]: item["kind"] for item in raw["benign"]}
