"""Writes a validated knowledge base into the database in one transaction."""

from __future__ import annotations

import hashlib
import logging
from typing import Iterator, List, Optional, Tuple

from sqlalchemy import inspect, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from bot.knowledge.models import (
    AnswerRow,
    AspectRow,
    ClinicRow,
    FactRow,
    KnowledgeModel,
    KnowledgeVersion,
    QuestionRow,
    RankingRuleRow,
    RedFlagLevelRow,
    RedFlagTermRow,
    SourceRow,
    TreatmentRow,
    TreatmentTermRow,
)
from bot.knowledge.schema import GENERAL_GUIDANCE, Fact, KnowledgeBase

logger = logging.getLogger(__name__)


# Bump when the tables change shape: the knowledge tables are then rebuilt even for an unchanged file.
SCHEMA_VERSION = "3"


def checksum(knowledge: KnowledgeBase) -> str:
    return hashlib.sha256(f"{SCHEMA_VERSION}\n{knowledge.raw_text}".encode("utf-8")).hexdigest()


def seed_database(engine: Engine, knowledge: KnowledgeBase, force: bool = False) -> bool:
    """Rebuild the knowledge tables from `knowledge` in one transaction; False when already current.

    The tables hold nothing but what the file says, so they are dropped and recreated: that also
    follows any change in their shape."""
    digest = checksum(knowledge)
    with engine.begin() as connection:
        if not force and _seeded_checksum(connection) == digest:
            logger.info("Knowledge base already seeded (checksum %s).", digest[:12])
            return False
        KnowledgeModel.metadata.drop_all(connection)
        KnowledgeModel.metadata.create_all(connection)
        with Session(bind=connection, future=True) as session:
            for rows in _row_groups(knowledge):
                session.add_all(rows)
                session.flush()  # parents before children: the ORM has no relationships to order by
            session.add(KnowledgeVersion(id=1, checksum=digest))
            session.flush()
    logger.info(
        "Seeded knowledge base: %d treatments, %d facts.", len(knowledge.treatments), len(knowledge.all_facts())
    )
    return True


def _seeded_checksum(connection: Connection) -> Optional[str]:
    if not inspect(connection).has_table(KnowledgeVersion.__tablename__):
        return None
    return connection.execute(select(KnowledgeVersion.checksum)).scalar_one_or_none()


def _row_groups(knowledge: KnowledgeBase) -> Iterator[List[object]]:
    """Rows to insert, in groups that only reference rows of earlier groups."""
    clinic = knowledge.clinic
    yield [
        *(
            SourceRow(key=source.key, title=source.title, location=source.location)
            for source in knowledge.sources.values()
        ),
        ClinicRow(
            id=1,
            name=clinic.name,
            phone=clinic.phone,
            email=clinic.email,
            address=clinic.address,
            hours=clinic.hours,
            booking_url=clinic.booking_url,
        ),
        *(
            AspectRow(key=aspect.key, label=aspect.label, position=position)
            for position, aspect in enumerate(knowledge.aspects.values())
        ),
        *(
            QuestionRow(key=question.key, prompt=question.prompt, position=position)
            for position, question in enumerate(knowledge.recommendation.questions.values())
        ),
    ]
    yield [
        TreatmentRow(key=treatment.key, name=treatment.name, position=position)
        for position, treatment in enumerate(knowledge.treatments.values())
    ]
    yield [
        TreatmentTermRow(term=term, treatment_key=treatment.key)
        for treatment in knowledge.treatments.values()
        for term in dict.fromkeys((treatment.key, *treatment.terms))
    ]
    yield [
        FactRow(
            topic=topic,
            treatment_key=treatment_key,
            position=position,
            text=fact.text,
            source_key=fact.source,
            quote=fact.quote,
            general_guidance=fact.source == GENERAL_GUIDANCE,
        )
        for topic, treatment_key, facts in _fact_groups(knowledge)
        for position, fact in enumerate(facts)
    ]
    yield [
        *(
            AnswerRow(
                question_key=question.key,
                value=value,
                title=title,
                position=position,
                words=list(question.words.get(value, ())),
            )
            for question in knowledge.recommendation.questions.values()
            for position, (value, title) in enumerate(question.answers.items())
        ),
        *(
            RankingRuleRow(
                id=rule.id,
                position=position,
                effect=rule.effect,
                when={key: list(values) for key, values in rule.when.items()},
                treatments=list(rule.treatments),
                weight=rule.weight,
                reason=rule.reason,
                source_key=rule.source,
            )
            for position, rule in enumerate(knowledge.recommendation.rules)
        ),
        *_red_flag_rows(knowledge),
    ]


def _red_flag_rows(knowledge: KnowledgeBase) -> Iterator[object]:
    flags = knowledge.red_flags
    for level, entry in (("emergency", flags.emergency), ("urgent", flags.urgent)):
        yield RedFlagLevelRow(level=level, advice=entry.advice, source_key=entry.source)
        yield from (RedFlagTermRow(level=level, phrase=phrase) for phrase in dict.fromkeys(entry.phrases))
    yield from (RedFlagTermRow(level="personal", phrase=phrase) for phrase in dict.fromkeys(flags.personal_markers))


def _fact_groups(knowledge: KnowledgeBase) -> Iterator[Tuple[str, Optional[str], Tuple[Fact, ...]]]:
    """(topic, treatment key or None, facts): topics first, then each treatment's aspects."""
    for topic, facts in knowledge.topics.items():
        yield topic, None, facts
    for treatment in knowledge.treatments.values():
        for aspect, facts in treatment.facts.items():
            yield aspect, treatment.key, facts
