"""The data handed to and returned by the store, and how two submissions are recognised as the same request."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Optional

from bot.consultations.models import CONSULTATION, REQUEST_KINDS
from bot.consultations.validation import (
    InvalidContact,
    validate_email,
    validate_free_text,
    validate_name,
    validate_phone,
)

MAX_CONVERSATION_ID_LENGTH = 255


class ConsentNotGiven(ValueError):
    """The patient has not agreed to their details being stored, so nothing may be stored."""


@dataclass(frozen=True)
class NewConsultation:
    """A request as collected in a conversation; `normalised()` validates it before it is stored."""

    name: str
    conversation_id: str
    consent_given: bool
    email: Optional[str] = None
    phone: Optional[str] = None
    preferred_treatment: Optional[str] = None
    preferred_time: Optional[str] = None
    # "consultation" or "callback" (bot.consultations.models.REQUEST_KINDS).
    kind: str = CONSULTATION


@dataclass(frozen=True)
class SubmitResult:
    """The reference to give the patient; `created` is False when the request was already stored."""

    reference: str
    created: bool


@dataclass(frozen=True)
class ConsultationRecord:
    """A stored request, detached from the database session; `details` as normalised when it was saved."""

    reference: str
    created_at: datetime
    details: NewConsultation


def require_consent(request: NewConsultation) -> None:
    if request.consent_given is not True:
        raise ConsentNotGiven("the patient has not consented to their details being stored")


def normalised(request: NewConsultation) -> NewConsultation:
    """A validated copy in canonical form; raises InvalidContact with a reason for the patient."""
    if request.email is None and request.phone is None:
        raise InvalidContact("please give an email address or a phone number")
    conversation_id = (request.conversation_id or "").strip()
    if not conversation_id or len(conversation_id) > MAX_CONVERSATION_ID_LENGTH:
        raise ValueError("a conversation id of 1 to 255 characters is required")
    if request.kind not in REQUEST_KINDS:
        raise ValueError(f"a request is one of {', '.join(REQUEST_KINDS)}, not {request.kind!r}")
    return replace(
        request,
        name=validate_name(request.name),
        conversation_id=conversation_id,
        email=None if request.email is None else validate_email(request.email),
        phone=None if request.phone is None else validate_phone(request.phone),
        preferred_treatment=validate_free_text(request.preferred_treatment, "a treatment"),
        preferred_time=validate_free_text(request.preferred_time, "a preferred time"),
    )


def idempotency_key(request: NewConsultation) -> str:
    """sha256 of conversation, contact and treatment of a *normalised* request (case and spacing ignored),
    and of its kind unless it is a consultation (so the keys stored before kinds existed still match)."""
    treatment = (request.preferred_treatment or "").casefold()
    parts = [request.conversation_id, request.email or "", request.phone or "", treatment]
    if request.kind != CONSULTATION:
        parts.append(request.kind)
    return hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()
