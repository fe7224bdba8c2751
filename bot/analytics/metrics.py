"""Aggregates tracker-store events into the report's figures. Only counts keyed by dates and by
names from the Vocabulary leave this module; sender ids are used to tell conversations apart and
are dropped once counted."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Optional, Set

from bot.analytics import markers
from bot.analytics.events import StoredEvent
from bot.analytics.vocabulary import Vocabulary


@dataclass(frozen=True)
class SafetyReply:
    """One red-flag or medical-referral reply, for the clinic's audit trail: no text, no sender."""

    time: str  # UTC, to the minute
    level: str  # emergency, urgent or "medical request"
    channel: str


@dataclass
class Figures:
    conversations: int = 0
    user_messages: int = 0
    fallback_turns: int = 0
    per_day: Counter = field(default_factory=Counter)  # "YYYY-MM-DD" -> conversations active that day
    messages_per_day: Counter = field(default_factory=Counter)
    fallbacks_per_day: Counter = field(default_factory=Counter)
    red_flags_per_day: Counter = field(default_factory=Counter)
    intents: Counter = field(default_factory=Counter)
    treatments_asked: Counter = field(default_factory=Counter)
    recommendations: int = 0
    see_doctor_first: int = 0
    recommended: Counter = field(default_factory=Counter)  # top-ranked treatment
    consultations_started: int = 0
    consultation_outcomes: Counter = field(default_factory=Counter)
    red_flag_messages: int = 0
    red_flag_answers: int = 0
    red_flags_cleared: int = 0
    red_flag_conversations: int = 0
    safety_replies: List[SafetyReply] = field(default_factory=list)

    @property
    def fallback_rate(self) -> float:
        return self.fallback_turns / self.user_messages if self.user_messages else 0.0

    def fallback_rate_per_day(self) -> Dict[str, float]:
        return {day: self.fallbacks_per_day[day] / count for day, count in sorted(self.messages_per_day.items())}


class _Counting:
    """Walks the events of one conversation after another, adding to one Figures."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self.figures = Figures()
        self.conversation_days: Set[str] = set()
        self.conversation: Optional[str] = None
        self.turn_is_fallback = True  # no user message yet: nothing to mark
        self.turn_day = ""
        self.red_flag_seen = False
        self.turn_time = 0.0
        self.turn_channel = "unknown"

    def add(self, event: StoredEvent) -> None:
        if event.conversation != self.conversation:
            self._start_conversation(event.conversation)
        handler = getattr(self, f"_on_{event.type_name}", None)
        if handler:
            handler(event)

    def finish(self) -> Figures:
        self._start_conversation(None)
        return self.figures

    def _start_conversation(self, conversation: Optional[str]) -> None:
        self.figures.red_flag_conversations += self.red_flag_seen
        self.figures.per_day.update(self.conversation_days)
        self.conversation_days = set()
        self.conversation, self.turn_is_fallback, self.red_flag_seen = conversation, True, False
        self.figures.conversations += conversation is not None

    def _on_user(self, event: StoredEvent) -> None:
        figures = self.figures
        parse_data = event.data.get("parse_data") or {}
        intent = self.vocabulary.intent((parse_data.get("intent") or {}).get("name"))
        self.turn_day = _day(event.timestamp)
        self.turn_time = event.timestamp
        self.turn_channel = self.vocabulary.channel(event.data.get("input_channel"))
        figures.user_messages += 1
        figures.messages_per_day[self.turn_day] += 1
        figures.intents[intent] += 1
        self.conversation_days.add(self.turn_day)
        self.turn_is_fallback = False
        if intent == markers.FALLBACK_INTENT:
            self._count_fallback()
        if intent == markers.RED_FLAG_INTENT:
            figures.red_flag_messages += 1
            figures.red_flags_per_day[self.turn_day] += 1
            self.red_flag_seen = True
        treatments = {
            self.vocabulary.treatment(entity.get("value"))
            for entity in _entities(parse_data)
            if entity.get("entity") == markers.TREATMENT_ENTITY
        }
        figures.treatments_asked.update(treatments)

    def _on_action(self, event: StoredEvent) -> None:
        name = event.data.get("name")
        figures = self.figures
        if name == markers.FALLBACK_ACTION and not self.turn_is_fallback:
            self._count_fallback()
        elif name == markers.RECOMMEND_ACTION:
            figures.recommendations += 1
        elif name == markers.RED_FLAG_ACTION:
            figures.red_flag_answers += 1
            self.red_flag_seen = True
            self._audit("urgent")  # the level slot that follows says if it was an emergency
        elif name == markers.MEDICAL_REFERRAL_ACTION:
            self._audit(markers.MEDICAL_REQUEST)
        elif name == markers.RED_FLAG_CLEARED_ACTION:
            figures.red_flags_cleared += 1

    def _count_fallback(self) -> None:
        self.turn_is_fallback = True
        self.figures.fallback_turns += 1
        self.figures.fallbacks_per_day[self.turn_day] += 1

    def _audit(self, level: str) -> None:
        time = datetime.fromtimestamp(self.turn_time, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")
        self.figures.safety_replies.append(SafetyReply(time, level, self.turn_channel))

    def _on_slot(self, event: StoredEvent) -> None:
        replies = self.figures.safety_replies
        if (
            event.data.get("name") == markers.RED_FLAG_LEVEL_SLOT
            and event.data.get("value") == "emergency"
            and replies
            and replies[-1].level == "urgent"
        ):
            replies[-1] = SafetyReply(replies[-1].time, "emergency", replies[-1].channel)
        if event.data.get("name") == markers.RECOMMENDED_SLOT and event.data.get("value") is not None:
            self.figures.recommended[self.vocabulary.treatment(event.data.get("value"))] += 1

    def _on_active_loop(self, event: StoredEvent) -> None:
        if event.data.get("name") == markers.BOOKING_FORM:
            self.figures.consultations_started += 1

    def _on_bot(self, event: StoredEvent) -> None:
        response = (event.data.get("metadata") or {}).get("utter_action")
        if response == markers.SEE_DOCTOR_FIRST_RESPONSE:
            self.figures.see_doctor_first += 1
        outcome = markers.CONSULTATION_OUTCOMES.get(response) if response is not None else None
        if outcome:
            self.figures.consultation_outcomes[outcome] += 1


def _entities(parse_data: Dict[str, Any]) -> Iterable[Dict[str, Any]]:
    return [entity for entity in parse_data.get("entities") or [] if isinstance(entity, dict)]


def _day(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).date().isoformat()


def compute(events: Iterable[StoredEvent], vocabulary: Vocabulary) -> Figures:
    """The report's figures for `events` grouped by conversation (as `read_events` yields them)."""
    counting = _Counting(vocabulary)
    for event in events:
        counting.add(event)
    return counting.finish()
