"""The loader accepts the real knowledge file and rejects each kind of bad file, naming entry and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, Tuple

import pytest
import yaml

from bot import settings
from bot.knowledge.schema import KnowledgeError, load_knowledge, parse_knowledge


def _base() -> Dict[str, Any]:
    return yaml.safe_load(settings.DEFAULT_KNOWLEDGE_FILE.read_text(encoding="utf-8"))


def test_real_file_loads(knowledge):
    assert set(knowledge.treatments) == {"microneedling", "laser_resurfacing", "exfoliation"}
    assert knowledge.clinic.name == "Tracy Hudson Advanced Skin Care"
    assert all(fact.source in knowledge.sources for fact in knowledge.all_facts())


def test_clinic_contact_is_an_obvious_placeholder(knowledge):
    assert "555-01" in knowledge.clinic.phone
    assert knowledge.clinic.email.endswith("example.com")
    assert "example.com" in knowledge.clinic.booking_url


def test_general_guidance_facts_need_no_quote_but_seed_facts_do(knowledge):
    for fact in knowledge.all_facts():
        assert fact.is_general_guidance or fact.quote


def _parent(data: Dict[str, Any], path: str) -> Tuple[Any, Any]:
    """The container holding the last part of a dotted path (numbers index lists) and that key."""
    *parents, last = path.split(".")
    node: Any = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node, int(last) if isinstance(node, list) else last


def _drop(path: str) -> Callable[[Dict[str, Any]], None]:
    def mutate(data: Dict[str, Any]) -> None:
        node, key = _parent(data, path)
        del node[key]

    return mutate


def _set(path: str, value: Any) -> Callable[[Dict[str, Any]], None]:
    def mutate(data: Dict[str, Any]) -> None:
        node, key = _parent(data, path)
        node[key] = value

    return mutate


BAD_FILES = {
    "missing clinic phone": (_drop("clinic.phone"), "clinic.phone"),
    "empty clinic email": (_set("clinic.email", "  "), "clinic.email"),
    "unknown source": (_set("topics.cost.0.source", "a_blog"), "topics.cost[0].source"),
    "seed fact without quote": (
        _drop("treatments.microneedling.facts.what.0.quote"),
        "treatments.microneedling.facts.what[0].quote",
    ),
    "fact without text": (_drop("topics.why_smaller_pores.0.text"), "topics.why_smaller_pores[0].text"),
    "treatment missing an aspect": (
        _drop("treatments.laser_resurfacing.facts.recovery"),
        "treatments.laser_resurfacing.facts",
    ),
    "treatment with unknown aspect": (
        _set("treatments.exfoliation.facts.price", [{"text": "x", "source": "general_guidance"}]),
        "treatments.exfoliation.facts",
    ),
    "synonyms not a list": (_set("treatments.microneedling.synonyms", "needling"), "treatments.microneedling.synonyms"),
    "term naming two treatments": (_set("treatments.exfoliation.misspellings", ["lazer"]), "treatments.exfoliation"),
    "missing topic": (_drop("topics.cost"), "topics"),
    "empty fact list": (_set("topics.options", []), "topics.options"),
    "no general guidance source": (_drop("sources.general_guidance"), "sources"),
    "missing treatments": (_drop("treatments"), "treatments"),
    "rule with unknown question": (
        _set("recommendation.rules.0.when", {"age": ["young"]}),
        "recommendation.rules[0].when",
    ),
    "rule with unknown answer": (
        _set("recommendation.rules.0.when", {"safety": ["tired"]}),
        "recommendation.rules[0].when.safety",
    ),
    "rule with unknown effect": (_set("recommendation.rules.0.effect", "cure"), "recommendation.rules[0].effect"),
    "rule with unknown treatment": (
        _set("recommendation.rules.3.treatments", ["botox"]),
        "recommendation.rules[3].treatments",
    ),
    "prefer rule without weight": (_drop("recommendation.rules.6.weight"), "recommendation.rules[6].weight"),
    "question without prompt": (
        _drop("recommendation.questions.skin_type.prompt"),
        "recommendation.questions.skin_type.prompt",
    ),
}


@pytest.mark.parametrize("mutate,where", BAD_FILES.values(), ids=list(BAD_FILES))
def test_bad_file_names_entry_and_field(mutate, where):
    data = _base()
    mutate(data)
    with pytest.raises(KnowledgeError) as caught:
        parse_knowledge(yaml.safe_dump(data, sort_keys=False), where="kb.yml")
    assert caught.value.where == where


def test_invalid_yaml_is_reported():
    with pytest.raises(KnowledgeError, match="not valid YAML"):
        parse_knowledge("clinic: [unclosed", where="kb.yml")


def test_missing_file_is_reported(tmp_path: Path):
    with pytest.raises(KnowledgeError, match="cannot read"):
        load_knowledge(tmp_path / "nope.yml")


def test_cli_check_fails_with_message_on_bad_file(tmp_path: Path, monkeypatch, capsys):
    from bot.knowledge.__main__ import main

    bad = tmp_path / "kb.yml"
    data = _base()
    del data["clinic"]["hours"]
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    monkeypatch.setenv("POREGUIDE_KNOWLEDGE", str(bad))
    assert main(["check"]) == 2
    assert "clinic.hours" in capsys.readouterr().err
