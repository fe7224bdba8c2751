"""The project-built spaCy pipeline finds treatments (with synonyms and misspellings), skin types,
concerns and comparison aspects, normalised to one key each."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy

from bot.nlu.spacy_pipeline import FINGERPRINT_FILE, build_pipeline, save_pipeline


@pytest.fixture(scope="module")
def nlp(knowledge):
    return build_pipeline(knowledge)


def _entities(nlp, text):
    return [(ent.text, ent.label_, ent.ent_id_) for ent in nlp(text).ents]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("What is microneedling?", [("microneedling", "treatment", "microneedling")]),
        (
            "how long to recover from LAZER",
            [("recover", "aspect", "recovery"), ("LAZER", "treatment", "laser_resurfacing")],
        ),
        ("is a chemical peel ok", [("chemical peel", "treatment", "exfoliation")]),
        (
            "mirconeedling vs laser resurfacing",
            [("mirconeedling", "treatment", "microneedling"), ("laser resurfacing", "treatment", "laser_resurfacing")],
        ),
        ("tell me about Micro-Needling", [("Micro-Needling", "treatment", "microneedling")]),
        ("i have oily skin and blackheads", [("oily", "skin_type", "oily"), ("blackheads", "concern", "blackheads")]),
        (
            "my big pores look blotchy",
            [("big pores", "concern", "large_pores"), ("blotchy", "concept", "blotchy_skin")],
        ),
        ("which has the least downtime", [("downtime", "aspect", "recovery")]),
        ("hello there", []),
    ],
)
def test_entities(nlp, text, expected):
    assert _entities(nlp, text) == expected


def test_every_misspelling_in_the_knowledge_base_is_recognised(nlp, knowledge):
    for treatment in knowledge.treatments.values():
        for term in treatment.terms:
            assert _entities(nlp, f"what about {term} please") == [(term, "treatment", treatment.key)], term


def test_pipeline_has_no_vectors_and_only_the_ruler(nlp):
    assert nlp.pipe_names == ["entity_ruler"]
    assert nlp.vocab.vectors_length == 0


def test_saved_pipeline_loads_and_is_rebuilt_only_when_the_vocabulary_changes(knowledge, tmp_path: Path):
    target = tmp_path / "pipeline"
    assert save_pipeline(knowledge, target) is True
    assert save_pipeline(knowledge, target) is False
    loaded = spacy.load(target)
    assert [ent.ent_id_ for ent in loaded("lazer or peels?").ents] == ["laser_resurfacing", "exfoliation"]
    (target / FINGERPRINT_FILE).write_text("stale")
    assert save_pipeline(knowledge, target) is True
