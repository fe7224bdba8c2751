"""The table of consultation requests, with its own metadata so it is created independently of the knowledge base."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Boolean, CheckConstraint, Column, DateTime, Integer, String
from sqlalchemy.orm import declarative_base

ConsultationModel = declarative_base()


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class ConsultationRequest(ConsultationModel):
    """One patient's request to be contacted for a consultation."""

    __tablename__ = "consultation_requests"
    __table_args__ = (
        # The database itself refuses a request stored without consent or without any way to reach the patient.
        CheckConstraint("consent_given", name="ck_consultation_requests_consent"),
        CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="ck_consultation_requests_contact"),
    )

    id = Column(Integer, primary_key=True)
    reference = Column(String(16), nullable=False, unique=True)
    name = Column(String(100), nullable=False)
    email = Column(String(254), nullable=True, index=True)
    phone = Column(String(16), nullable=True)
    preferred_treatment = Column(String(100), nullable=True)
    preferred_time = Column(String(100), nullable=True)
    consent_given = Column(Boolean, nullable=False)
    conversation_id = Column(String(255), nullable=False)
    # sha256 hex of conversation, contact and treatment: a resent request finds its first record.
    idempotency_key = Column(String(64), nullable=False, unique=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utc_now)
