"""The one way actions read the knowledge base; database failures surface as KnowledgeUnavailable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional, Tuple, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.knowledge.models import (
    AnswerRow,
    AspectRow,
    ClinicRow,
    FactRow,
    QuestionRow,
    RankingRuleRow,
    RedFlagLevelRow,
    RedFlagTermRow,
    TreatmentRow,
    TreatmentTermRow,
)
from bot.knowledge.schema import CLINIC_FIELDS, Clinic, Question, RankingRule, Recommendation, RedFlagLevel, RedFlags
from bot.persistence.database import UsesDatabase

T = TypeVar("T")


class KnowledgeUnavailable(RuntimeError):
    """The database could not be read (down, locked or not seeded)."""


@dataclass(frozen=True)
class TreatmentInfo:
    key: str
    name: str


@dataclass(frozen=True)
class FactInfo:
    text: str
    source: str
    general_guidance: bool


class KnowledgeRepository(UsesDatabase):
    """Reads treatments, facts and clinic details with SQLAlchemy 2.0-style queries."""

    def clinic(self) -> Clinic:
        def query(session: Session) -> Clinic:
            row = session.execute(select(ClinicRow)).scalars().first()
            if row is None:
                raise KnowledgeUnavailable("the knowledge base has not been seeded")
            return Clinic(**{name: getattr(row, name) for name in CLINIC_FIELDS})

        return self._read(query)

    def treatments(self) -> List[TreatmentInfo]:
        """All treatments in the order of the knowledge file."""
        return self._read(
            lambda session: [
                TreatmentInfo(row.key, row.name)
                for row in session.execute(select(TreatmentRow).order_by(TreatmentRow.position)).scalars()
            ]
        )

    def resolve_treatment(self, text: Optional[str]) -> Optional[str]:
        """The treatment key for a key, name, synonym or known misspelling; None if unknown."""
        term = (text or "").strip().lower()
        if not term:
            return None
        return self._read(
            lambda session: session.execute(
                select(TreatmentTermRow.treatment_key).where(TreatmentTermRow.term == term)
            ).scalar_one_or_none()
        )

    def aspect_labels(self) -> Dict[str, str]:
        return self._read(
            lambda session: {
                row.key: row.label for row in session.execute(select(AspectRow).order_by(AspectRow.position)).scalars()
            }
        )

    def facts(self, topic: str, treatment_key: Optional[str] = None) -> List[FactInfo]:
        """Facts of a topic (why_smaller_pores, cost, ...) or of one aspect of a treatment."""
        return self._read(lambda session: self._facts(session, topic, [treatment_key])[treatment_key])

    def facts_by_treatment(self, aspect: str, treatment_keys: Iterable[str]) -> Dict[str, List[FactInfo]]:
        """One aspect's facts for several treatments, read in a single query for comparisons."""
        keys: List[Optional[str]] = list(treatment_keys)
        return self._read(
            lambda session: {key: facts for key, facts in self._facts(session, aspect, keys).items() if key is not None}
        )

    def recommendation(self) -> Recommendation:
        """The recommendation questions and ranking rules, in file order."""

        def query(session: Session) -> Recommendation:
            answers: Dict[str, Dict[str, str]] = {}
            words: Dict[str, Dict[str, Tuple[str, ...]]] = {}
            for row in session.execute(select(AnswerRow).order_by(AnswerRow.position)).scalars():
                answers.setdefault(row.question_key, {})[row.value] = row.title
                words.setdefault(row.question_key, {})[row.value] = tuple(row.words)
            questions = {
                row.key: Question(row.key, row.prompt, answers.get(row.key, {}), words.get(row.key, {}))
                for row in session.execute(select(QuestionRow).order_by(QuestionRow.position)).scalars()
            }
            rules = tuple(
                RankingRule(
                    row.id,
                    {key: tuple(values) for key, values in row.when.items()},
                    row.effect,
                    tuple(row.treatments),
                    row.weight,
                    row.reason,
                    row.source_key,
                )
                for row in session.execute(select(RankingRuleRow).order_by(RankingRuleRow.position)).scalars()
            )
            return Recommendation(questions, rules)

        return self._read(query)

    def red_flags(self) -> RedFlags:
        """Red-flag phrases per level and the urgent-care advice for each level."""

        def query(session: Session) -> RedFlags:
            phrases: Dict[str, List[str]] = {}
            for row in session.execute(select(RedFlagTermRow).order_by(RedFlagTermRow.phrase)).scalars():
                phrases.setdefault(row.level, []).append(row.phrase)
            levels = {row.level: row for row in session.execute(select(RedFlagLevelRow)).scalars()}
            if set(levels) != {"emergency", "urgent"}:
                raise KnowledgeUnavailable("the knowledge base has not been seeded")
            level = {
                name: RedFlagLevel(row.advice, row.source_key, tuple(phrases.get(name, ())))
                for name, row in levels.items()
            }
            return RedFlags(level["emergency"], level["urgent"], tuple(phrases.get("personal", ())))

        return self._read(query)

    @staticmethod
    def _facts(
        session: Session, topic: str, treatment_keys: List[Optional[str]]
    ) -> Dict[Optional[str], List[FactInfo]]:
        statement = select(FactRow).where(FactRow.topic == topic)
        named = [key for key in treatment_keys if key is not None]
        if None in treatment_keys:
            statement = statement.where(FactRow.treatment_key.is_(None))
        else:
            statement = statement.where(FactRow.treatment_key.in_(named))
        grouped: Dict[Optional[str], List[FactInfo]] = {key: [] for key in treatment_keys}
        for row in session.execute(statement.order_by(FactRow.position)).scalars():
            grouped.setdefault(row.treatment_key, []).append(FactInfo(row.text, row.source_key, row.general_guidance))
        return grouped

    def _read(self, query: Callable[[Session], T]) -> T:
        try:
            with Session(self.engine, future=True) as session:
                return query(session)
        except SQLAlchemyError as error:
            raise KnowledgeUnavailable(f"knowledge database unavailable: {type(error).__name__}") from error
