"""The repository and the seeding against real SQLite and PostgreSQL databases."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from bot.knowledge.models import FactRow
from bot.knowledge.repository import KnowledgeRepository, KnowledgeUnavailable
from bot.knowledge.seed import seed_database


@pytest.fixture
def repo(any_engine, knowledge) -> KnowledgeRepository:
    seed_database(any_engine, knowledge)
    return KnowledgeRepository(any_engine)


def test_seeding_is_idempotent_and_reseeds_on_change(any_engine, knowledge):
    assert seed_database(any_engine, knowledge) is True
    assert seed_database(any_engine, knowledge) is False
    assert seed_database(any_engine, knowledge, force=True) is True
    with Session(any_engine) as session:
        count = session.execute(select(func.count()).select_from(FactRow)).scalar_one()
    assert count == len(knowledge.all_facts())


def test_clinic(repo, knowledge):
    clinic = repo.clinic()
    assert clinic.name == knowledge.clinic.name
    assert clinic.phone == knowledge.clinic.phone


def test_treatments_in_file_order(repo):
    assert [t.key for t in repo.treatments()] == ["microneedling", "laser_resurfacing", "exfoliation"]


@pytest.mark.parametrize(
    "text,key",
    [
        ("laser_resurfacing", "laser_resurfacing"),
        ("Lazer", "laser_resurfacing"),
        ("  chemical peel ", "exfoliation"),
        ("MIRCONEEDLING", "microneedling"),
        ("Microneedling", "microneedling"),
        ("botox", None),
        ("", None),
        (None, None),
    ],
)
def test_resolve_treatment(repo, text, key):
    assert repo.resolve_treatment(text) == key


def test_facts_of_one_aspect(repo):
    facts = repo.facts("recovery", "laser_resurfacing")
    assert [f.text for f in facts] == ["You may only need a day or two off work to recover from laser resurfacing."]
    assert facts[0].source == "seed_article" and not facts[0].general_guidance


def test_general_guidance_is_flagged(repo):
    facts = repo.facts("recovery", "exfoliation")
    assert facts and all(f.general_guidance for f in facts)


def test_topic_facts_are_not_mixed_with_treatment_facts(repo):
    assert len(repo.facts("why_smaller_pores")) == 3
    assert repo.facts("recovery") == []


def test_facts_by_treatment_keeps_every_requested_key(repo):
    grouped = repo.facts_by_treatment("at_home", ["exfoliation", "microneedling"])
    assert set(grouped) == {"exfoliation", "microneedling"}
    assert grouped["exfoliation"][0].text.startswith("Yes")
    assert grouped["microneedling"][0].text.startswith("No")


def test_aspect_labels(repo):
    assert repo.aspect_labels()["recovery"] == "Recovery"


def test_unseeded_database_is_reported_as_unavailable(sqlite_engine):
    with pytest.raises(KnowledgeUnavailable):
        KnowledgeRepository(sqlite_engine).clinic()


def test_unreachable_server_is_reported_as_unavailable():
    engine = create_engine(
        "postgresql+psycopg2://nobody@127.0.0.1:1/none", future=True, connect_args={"connect_timeout": 2}
    )
    with pytest.raises(KnowledgeUnavailable):
        KnowledgeRepository(engine).treatments()


def test_no_engine_is_created_at_import_or_construction(monkeypatch):
    import bot.persistence.database as database

    created = []
    monkeypatch.setattr(database, "create_sql_engine", lambda url: created.append(url))
    KnowledgeRepository()
    assert created == []


def test_recommendation_rules_round_trip(repo, knowledge):
    assert repo.recommendation() == knowledge.recommendation


def test_red_flags_round_trip(repo, knowledge):
    stored = repo.red_flags()
    assert stored.emergency.advice == knowledge.red_flags.emergency.advice
    assert set(stored.urgent.phrases) == set(knowledge.red_flags.urgent.phrases)
    assert set(stored.personal_markers) == set(knowledge.red_flags.personal_markers)
