"""SQLAlchemy tables that hold the seeded knowledge; the YAML file stays the source of truth."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Integer, String, Text
from sqlalchemy.orm import declarative_base

KnowledgeModel: Any = declarative_base()  # untyped: SQLAlchemy 1.4 ships no stubs


class KnowledgeVersion(KnowledgeModel):
    """The checksum of the knowledge file last seeded, so unchanged files are not seeded again."""

    __tablename__ = "kb_version"
    id = Column(Integer, primary_key=True)
    checksum = Column(String(64), nullable=False)


class SourceRow(KnowledgeModel):
    __tablename__ = "kb_sources"
    key = Column(String(64), primary_key=True)
    title = Column(Text, nullable=False)
    location = Column(Text, nullable=False, default="")


class ClinicRow(KnowledgeModel):
    __tablename__ = "kb_clinic"
    id = Column(Integer, primary_key=True)
    name = Column(Text, nullable=False)
    phone = Column(String(64), nullable=False)
    email = Column(String(254), nullable=False)
    address = Column(Text, nullable=False)
    hours = Column(Text, nullable=False)
    booking_url = Column(Text, nullable=False)


class TreatmentRow(KnowledgeModel):
    __tablename__ = "kb_treatments"
    key = Column(String(64), primary_key=True)
    name = Column(Text, nullable=False)
    position = Column(Integer, nullable=False)


class TreatmentTermRow(KnowledgeModel):
    """A synonym or misspelling, so raw text like 'lazer' still resolves to a treatment."""

    __tablename__ = "kb_treatment_terms"
    term = Column(String(128), primary_key=True)
    treatment_key = Column(String(64), ForeignKey("kb_treatments.key"), nullable=False)


class AspectRow(KnowledgeModel):
    __tablename__ = "kb_aspects"
    key = Column(String(64), primary_key=True)
    label = Column(Text, nullable=False)
    position = Column(Integer, nullable=False)


class FactRow(KnowledgeModel):
    """One sourced statement: about a topic (treatment_key NULL) or one aspect of a treatment."""

    __tablename__ = "kb_facts"
    id = Column(Integer, primary_key=True)
    topic = Column(String(64), nullable=False, index=True)
    treatment_key = Column(String(64), ForeignKey("kb_treatments.key"), nullable=True, index=True)
    position = Column(Integer, nullable=False)
    text = Column(Text, nullable=False)
    source_key = Column(String(64), ForeignKey("kb_sources.key"), nullable=False)
    quote = Column(Text, nullable=True)
    general_guidance = Column(Boolean, nullable=False, default=False)


class QuestionRow(KnowledgeModel):
    """A question of the guided recommendation."""

    __tablename__ = "kb_questions"
    key = Column(String(64), primary_key=True)
    prompt = Column(Text, nullable=False)
    position = Column(Integer, nullable=False)


class AnswerRow(KnowledgeModel):
    """A button answer to a recommendation question."""

    __tablename__ = "kb_answers"
    question_key = Column(String(64), ForeignKey("kb_questions.key"), primary_key=True)
    value = Column(String(64), primary_key=True)
    title = Column(Text, nullable=False)
    words = Column(JSON, nullable=False)
    position = Column(Integer, nullable=False)


class RankingRuleRow(KnowledgeModel):
    """A ranking rule; `when` and `treatments` are JSON so the rule stays data, as in the file."""

    __tablename__ = "kb_ranking_rules"
    id = Column(String(64), primary_key=True)
    position = Column(Integer, nullable=False)
    effect = Column(String(32), nullable=False)
    when = Column(JSON, nullable=False)
    treatments = Column(JSON, nullable=False)
    weight = Column(Integer, nullable=False)
    reason = Column(Text, nullable=False)
    source_key = Column(String(64), ForeignKey("kb_sources.key"), nullable=False)


class RedFlagLevelRow(KnowledgeModel):
    """Urgent-care advice for one red-flag level (emergency, urgent)."""

    __tablename__ = "kb_red_flag_levels"
    level = Column(String(32), primary_key=True)
    advice = Column(Text, nullable=False)
    source_key = Column(String(64), ForeignKey("kb_sources.key"), nullable=False)


class RedFlagTermRow(KnowledgeModel):
    """A red-flag phrase of a level, or (level `personal`) a word marking a personal report."""

    __tablename__ = "kb_red_flag_terms"
    level = Column(String(32), primary_key=True)
    phrase = Column(String(128), primary_key=True)
