"""Finds red-flag phrases in a message with the knowledge base's phrase lists: the keyword safety
net behind the `report_red_flag` intent."""
from __future__ import annotations

import re
from typing import Iterable, Optional, Pattern

from bot.knowledge.schema import RedFlags

EMERGENCY = "emergency"
URGENT = "urgent"


def _pattern(phrases: Iterable[str]) -> Pattern[str]:
    """Whole-word, case-insensitive match of any phrase; apostrophes may be typed or curly."""
    parts = sorted((re.escape(p).replace("'", "['’]?") for p in phrases), key=len, reverse=True)
    return re.compile(r"(?<![\w])(?:" + "|".join(parts) + r")(?![\w])", re.IGNORECASE)


class RedFlagDetector:
    def __init__(self, red_flags: RedFlags) -> None:
        self._emergency = _pattern(red_flags.emergency.phrases)
        self._urgent = _pattern(red_flags.urgent.phrases)
        self._personal = _pattern(red_flags.personal_markers)

    def level(self, text: str) -> Optional[str]:
        """`emergency`, `urgent` or None, from the phrases alone."""
        if self._emergency.search(text or ""):
            return EMERGENCY
        if self._urgent.search(text or ""):
            return URGENT
        return None

    def is_personal(self, text: str) -> bool:
        """Whether the message speaks about the writer's own skin ("my face", "I have")."""
        return bool(self._personal.search(text or ""))

    def must_override(self, text: str, nlu_is_confident_elsewhere: bool) -> Optional[str]:
        """The red-flag level if this message must be treated as a red flag whatever the NLU said."""
        level = self.level(text)
        if level == EMERGENCY:
            return level
        if level == URGENT and (self.is_personal(text) or not nlu_is_confident_elsewhere):
            return level
        return None
