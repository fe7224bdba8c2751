"""Call-back requests: stored as consultation requests of kind "callback", in real SQLite and
PostgreSQL databases, including a table made before the `kind` column existed; and the staff
notice that says "call back"."""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import MetaData, Table, insert, inspect
from sqlalchemy.engine import Engine

from bot.consultations.models import ConsultationRequest
from bot.consultations.repository import ConsultationRepository
from bot.consultations.submission import ConsultationRecord, NewConsultation, idempotency_key, normalised
from bot.staff.messages import request_notice

CALL_BACK = NewConsultation(
    name="Sam Caller", conversation_id="web-sam", consent_given=True, phone="+1 555 010 0177", kind="callback"
)


def _old_table(engine: Engine) -> None:
    """consultation_requests as it was before the `kind` column, with one request in it."""
    metadata = MetaData()
    columns = [column._copy() for column in ConsultationRequest.__table__.columns if column.name != "kind"]
    table = Table(ConsultationRequest.__tablename__, metadata, *columns)
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            insert(table).values(
                reference="PG-ABCDEF",
                name="Old Request",
                email="old@example.com",
                consent_given=True,
                conversation_id="web-old",
                idempotency_key="0" * 64,
                created_at=datetime.now(timezone.utc),
            )
        )


def _columns(engine: Engine) -> set:
    return {column["name"] for column in inspect(engine).get_columns(ConsultationRequest.__tablename__)}


def test_a_table_without_the_kind_column_gets_it_and_its_requests_are_consultations(any_engine):
    _old_table(any_engine)
    assert "kind" not in _columns(any_engine)
    repository = ConsultationRepository(any_engine)
    [old] = repository.list_requests()
    assert (old.reference, old.details.kind) == ("PG-ABCDEF", "consultation")
    assert "kind" in _columns(any_engine)
    result = repository.submit(CALL_BACK)
    kinds = {record.reference: record.details.kind for record in repository.list_requests()}
    assert kinds == {"PG-ABCDEF": "consultation", result.reference: "callback"}


def test_adding_the_column_is_idempotent_and_safe_when_two_processes_do_it_at_once(any_engine):
    _old_table(any_engine)
    errors = []

    def create() -> None:
        try:
            ConsultationRepository(any_engine).create_tables()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    ConsultationRepository(any_engine).create_tables()
    assert "kind" in _columns(any_engine)


def test_a_new_table_has_the_column_and_a_consultation_is_the_default(any_engine):
    repository = ConsultationRepository(any_engine)
    result = repository.submit(
        NewConsultation(name="Ana", conversation_id="web-ana", consent_given=True, email="ana@example.com")
    )
    assert [record.details.kind for record in repository.list_requests()] == ["consultation"]
    assert repository.list_requests()[0].reference == result.reference


def test_an_unknown_kind_is_refused_before_the_database():
    with pytest.raises(ValueError, match="consultation, callback"):
        normalised(
            NewConsultation(name="Ana", conversation_id="c", consent_given=True, phone="5550100177", kind="walk-in")
        )


def test_the_kind_keeps_a_call_back_apart_and_the_keys_of_consultations_unchanged():
    call_back = normalised(CALL_BACK)
    consultation = normalised(NewConsultation(**{**vars(CALL_BACK), "kind": "consultation"}))
    assert idempotency_key(call_back) != idempotency_key(consultation)
    # the key of a consultation is what it was before kinds existed (stored rows still match)
    assert idempotency_key(consultation) == hashlib.sha256(b'["web-sam", "", "+15550100177", ""]').hexdigest()


def test_the_staff_notice_of_a_call_back_says_call_back():
    record = ConsultationRecord("PG-CALLME", datetime(2026, 6, 10, 15, 0, tzinfo=timezone.utc), normalised(CALL_BACK))
    notice = request_notice(record, "https://staff.example.com")
    assert notice.subject == "PoreGuide: call back request PG-CALLME"
    assert "would like a call back" in notice.email_body and "+15550100177" in notice.email_body
    assert "Please call them back" in notice.email_body and "Treatment" not in notice.email_body
    assert "call back request *PG-CALLME*" in notice.slack_text and "+1555" not in notice.slack_text
    consultation = request_notice(
        ConsultationRecord(
            "PG-CONSUL", record.created_at, NewConsultation(**{**vars(record.details), "kind": "consultation"})
        ),
        "https://staff.example.com",
    )
    assert (
        consultation.subject == "PoreGuide: consultation request PG-CONSUL"
        and "call back" not in consultation.email_body
    )
