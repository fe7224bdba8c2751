"""Builds PoreGuide's own spaCy pipeline: blank English plus an EntityRuler from the knowledge base.

No pretrained model is needed (none can be downloaded here); intent features come from
Rasa's CountVectorsFeaturizer, and entities from this ruler.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, cast

import spacy
from spacy.language import Language

from bot.knowledge.schema import KnowledgeBase
from bot.nlu.patterns import entity_terms

if TYPE_CHECKING:
    from spacy.pipeline import EntityRuler

FINGERPRINT_FILE = "poreguide_fingerprint.json"


def ruler_patterns(knowledge: KnowledgeBase) -> List[Dict[str, Any]]:
    """Phrase patterns matched on lower-cased tokens; `id` carries the normalised value."""
    return [{"label": term.label, "pattern": term.phrase, "id": term.value} for term in entity_terms(knowledge)]


def build_pipeline(knowledge: KnowledgeBase) -> Language:
    nlp = spacy.blank("en")
    nlp.meta["name"] = "poreguide_en"
    nlp.meta["description"] = "PoreGuide: blank English + EntityRuler built from the knowledge base"
    # add_pipe is typed as returning any Pipe; "entity_ruler" makes an EntityRuler.
    ruler = cast(
        "EntityRuler", nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER", "overwrite_ents": True})
    )
    ruler.add_patterns(ruler_patterns(knowledge))
    return nlp


def patterns_fingerprint(knowledge: KnowledgeBase) -> str:
    payload = json.dumps(ruler_patterns(knowledge), sort_keys=True)
    return hashlib.sha256(f"{spacy.__version__}|{payload}".encode("utf-8")).hexdigest()


def save_pipeline(knowledge: KnowledgeBase, directory: Path) -> bool:
    """Write the pipeline to `directory` unless an identical one is there; True if written."""
    fingerprint = patterns_fingerprint(knowledge)
    marker = directory / FINGERPRINT_FILE
    if marker.is_file() and marker.read_text(encoding="utf-8") == fingerprint:
        return False
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    build_pipeline(knowledge).to_disk(staging)
    (staging / FINGERPRINT_FILE).write_text(fingerprint, encoding="utf-8")
    shutil.rmtree(directory, ignore_errors=True)
    staging.rename(directory)
    return True
