"""data/vocabulary.yml is generated from the knowledge base and must be current."""

from __future__ import annotations

import yaml

from bot import settings
from bot.nlu.training_vocabulary import render_vocabulary


def test_committed_vocabulary_is_current(knowledge):
    committed = settings.VOCABULARY_TRAINING_FILE.read_text(encoding="utf-8")
    assert committed == render_vocabulary(knowledge), (
        "run `make setup` (python -m bot.nlu build) and commit data/vocabulary.yml"
    )


def test_synonyms_map_every_term_to_its_key(knowledge):
    nlu = yaml.safe_load(render_vocabulary(knowledge))["nlu"]
    synonyms = {entry["synonym"]: entry["examples"] for entry in nlu if "synonym" in entry}
    for treatment in knowledge.treatments.values():
        for term in treatment.terms:
            if term != treatment.key:
                assert f"- {term}\n" in synonyms[treatment.key]
    lookup = next(entry for entry in nlu if entry.get("lookup") == "treatment")
    assert "- lazer\n" in lookup["examples"]


def test_every_entity_label_has_a_lookup_table(knowledge):
    """The RegexFeaturizer and the TextNormalizer learn the skin types, concerns and aspects too."""
    nlu = yaml.safe_load(render_vocabulary(knowledge))["nlu"]
    lookups = {entry["lookup"]: entry["examples"] for entry in nlu if "lookup" in entry}
    assert {"treatment", "skin_type", "concern", "aspect"} <= set(lookups)
    assert "- oily\n" in lookups["skin_type"]
    assert "- enlarged pores\n" in lookups["concern"]
    assert "- downtime\n" in lookups["aspect"]
