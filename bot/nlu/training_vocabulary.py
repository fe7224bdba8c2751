"""Generates data/vocabulary.yml (synonyms and lookup tables) so Rasa's EntitySynonymMapper and
RegexFeaturizer use the knowledge base vocabulary without anyone copying it by hand.

Every entity label gets a lookup table (treatment, skin type, concern, aspect, ...): the
RegexFeaturizer uses them, and the TextNormalizer learns from them, with the synonyms, the phrases
it corrects near-misses to."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Dict, List

from bot.knowledge.schema import KnowledgeBase
from bot.nlu.patterns import entity_terms

HEADER = (
    "# GENERATED from bot/knowledge/treatments.yml by `make setup` (python -m bot.nlu build).\n"
    "# Do not edit: change the knowledge file instead. A test checks that this file is current.\n"
)


def render_vocabulary(knowledge: KnowledgeBase) -> str:
    synonyms: Dict[str, List[str]] = defaultdict(list)
    lookups: Dict[str, List[str]] = defaultdict(list)
    for term in entity_terms(knowledge):
        if term.phrase != term.value:
            synonyms[term.value].append(term.phrase)
        lookups[term.label].append(term.phrase)
    lines = [HEADER.rstrip("\n"), 'version: "3.1"', "nlu:"]
    for value, phrases in synonyms.items():
        lines += [f"- synonym: {value}", "  examples: |"] + [f"    - {phrase}" for phrase in phrases]
    for name, phrases in lookups.items():
        lines += [f"- lookup: {name}", "  examples: |"] + [f"    - {phrase}" for phrase in phrases]
    return "\n".join(lines) + "\n"


def write_vocabulary(knowledge: KnowledgeBase, path: Path) -> bool:
    """Write the file if its content changed; True if written (so training reruns only then)."""
    content = render_vocabulary(knowledge)
    if path.is_file() and path.read_text(encoding="utf-8") == content:
        return False
    path.write_text(content, encoding="utf-8")
    return True
