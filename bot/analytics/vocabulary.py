"""The names the report may show: intents declared in the domain (plus Rasa's own) and treatment
keys from the knowledge base. Anything else a message carried (an invented `/intent` payload, a
free-text entity value) is counted as "other" and never shown, so it cannot leak personal data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import FrozenSet, Set

import yaml

from bot import settings

OTHER = "other"
RASA_INTENTS = frozenset({"nlu_fallback", "restart", "back", "out_of_scope", "session_start"})
# Input channel names of PoreGuide's connectors (bot/channels/) and Rasa's own.
CHANNELS = frozenset({"rest", "website", "socketio", "telegram", "slack", "cmdline", "callback", "rasa"})


@dataclass(frozen=True)
class Vocabulary:
    intents: FrozenSet[str]
    treatments: FrozenSet[str]

    def intent(self, name: object) -> str:
        return name if isinstance(name, str) and name in self.intents else OTHER

    def treatment(self, value: object) -> str:
        return value if isinstance(value, str) and value in self.treatments else OTHER

    @staticmethod
    def channel(name: object) -> str:
        return name if isinstance(name, str) and name in CHANNELS else OTHER


def domain_intents(domain_file: Path) -> FrozenSet[str]:
    domain = yaml.safe_load(domain_file.read_text(encoding="utf-8")) or {}
    names: Set[object] = set()
    for item in domain.get("intents") or []:
        names.update(item if isinstance(item, dict) else [item])
    return frozenset(str(name) for name in names)


def load_vocabulary(domain_file: Path = settings.PROJECT_ROOT / "domain.yml") -> Vocabulary:
    from bot.knowledge.schema import load_knowledge

    treatments = frozenset(load_knowledge(settings.knowledge_file()).treatments)
    return Vocabulary(domain_intents(domain_file) | RASA_INTENTS, treatments)
