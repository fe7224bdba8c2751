"""Storing consultation requests in real SQLite and PostgreSQL databases."""

from __future__ import annotations

import logging
import traceback
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Dict, Iterator, List

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.consultations.models import ConsultationRequest
from bot.consultations.references import ALPHABET, PATTERN, new_reference
from bot.consultations.repository import ConsultationRepository, ConsultationStoreUnavailable
from bot.consultations.submission import NewConsultation, SubmitResult
from bot.consultations.validation import InvalidContact
from bot.persistence.database import dispose_engines


def consultation(**changes) -> NewConsultation:
    fields = dict(
        name="  Ana   López ",
        conversation_id="conv-1",
        consent_given=True,
        email="Ana@Example.com",
        phone="+44 20 7946 0958",
        preferred_treatment="microneedling",
        preferred_time="Tuesday mornings",
    )
    fields.update(changes)
    return NewConsultation(**fields)


def stored_rows(engine: Engine) -> List[ConsultationRequest]:
    with Session(engine, future=True) as session:
        return list(session.execute(select(ConsultationRequest).order_by(ConsultationRequest.id)).scalars())


def count_rows(engine: Engine) -> int:
    with Session(engine, future=True) as session:
        return session.execute(select(func.count()).select_from(ConsultationRequest)).scalar_one()


@contextmanager
def database_activity(engine: Engine) -> Iterator[Dict[str, int]]:
    """Counts commits and data-changing statements sent to the real database."""
    seen = {"commits": 0, "writes": 0}

    def on_statement(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            seen["writes"] += 1

    def on_commit(conn):
        seen["commits"] += 1

    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "commit", on_commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "commit", on_commit)


@pytest.fixture
def repo(any_engine: Engine) -> ConsultationRepository:
    repository = ConsultationRepository(any_engine)
    repository.create_tables()
    return repository


def test_submit_stores_one_normalised_record_in_one_transaction(repo, any_engine):
    before = datetime.now(timezone.utc)
    with database_activity(any_engine) as activity:
        result = repo.submit(consultation())
    assert result.created is True
    assert PATTERN.fullmatch(result.reference)
    # The request and its staff notice (bot.notices.outbox), in the same transaction.
    assert activity == {"commits": 1, "writes": 2}
    [row] = stored_rows(any_engine)
    assert (row.reference, row.name, row.email, row.phone) == (
        result.reference,
        "Ana López",
        "ana@example.com",
        "+442079460958",
    )
    assert (row.preferred_treatment, row.preferred_time, row.conversation_id) == (
        "microneedling",
        "Tuesday mornings",
        "conv-1",
    )
    assert row.consent_given is True
    assert len(row.idempotency_key) == 64
    [record] = repo.list_requests()
    assert record.created_at.tzinfo is not None
    assert before - timedelta(seconds=1) <= record.created_at <= datetime.now(timezone.utc) + timedelta(seconds=1)


def test_tables_are_created_on_first_use(any_engine):
    result = ConsultationRepository(any_engine).submit(consultation())
    assert [row.reference for row in stored_rows(any_engine)] == [result.reference]


def test_duplicate_submission_returns_the_same_reference_and_writes_nothing(repo, any_engine):
    first = repo.submit(consultation())
    with database_activity(any_engine) as activity:
        again = repo.submit(
            consultation(
                email="  ANA@example.COM",
                phone="+44 (20) 7946-0958",
                preferred_treatment="Microneedling",
                preferred_time="any time",
            )
        )
    assert again == SubmitResult(first.reference, created=False)
    assert activity["writes"] == 0
    assert count_rows(any_engine) == 1


@pytest.mark.parametrize(
    "change",
    [{"preferred_treatment": "laser"}, {"conversation_id": "conv-2"}, {"email": "ben@example.com"}, {"phone": None}],
)
def test_a_different_request_is_stored_separately(repo, any_engine, change):
    first = repo.submit(consultation())
    second = repo.submit(consultation(**change))
    assert second.created is True and second.reference != first.reference
    assert count_rows(any_engine) == 2


@pytest.mark.parametrize("consent", [False, None, "no"])
def test_without_consent_nothing_is_stored(repo, any_engine, consent):
    with database_activity(any_engine) as activity, pytest.raises(ValueError, match="consent"):
        repo.submit(consultation(consent_given=consent))
    assert activity["writes"] == 0
    assert count_rows(any_engine) == 0


@pytest.mark.parametrize(
    "change,reason",
    [
        ({"email": None, "phone": None}, "email address or a phone number"),
        ({"email": "ana.example.com"}, "missing an @"),
        ({"phone": "12"}, "between 7 and 15 digits"),
        ({"name": "<b>"}, "< or >"),
    ],
)
def test_invalid_details_are_refused_before_storing(repo, any_engine, change, reason):
    with pytest.raises(InvalidContact, match=reason):
        repo.submit(consultation(**change))
    assert count_rows(any_engine) == 0


def test_reference_codes_are_unique_and_readable(repo, any_engine):
    references = [repo.submit(consultation(conversation_id=f"conv-{n}")).reference for n in range(150)]
    assert len(set(references)) == 150
    assert all(PATTERN.fullmatch(reference) for reference in references)
    assert {row.reference for row in stored_rows(any_engine)} == set(references)
    assert not set(ALPHABET) & set("0O1I")
    assert all(PATTERN.fullmatch(new_reference()) for _ in range(1000))


def test_a_reference_collision_is_retried_with_a_new_code(any_engine):
    codes = iter(["PG-AAAAAA", "PG-AAAAAA", "PG-BBBBBB"])
    repository = ConsultationRepository(any_engine, reference_factory=lambda: next(codes))
    assert repository.submit(consultation()).reference == "PG-AAAAAA"
    assert repository.submit(consultation(conversation_id="conv-2")) == SubmitResult("PG-BBBBBB", created=True)
    assert [row.reference for row in stored_rows(any_engine)] == ["PG-AAAAAA", "PG-BBBBBB"]


def test_endless_collisions_report_the_store_unavailable(any_engine):
    repository = ConsultationRepository(any_engine, reference_factory=lambda: "PG-AAAAAA")
    repository.submit(consultation())
    with pytest.raises(ConsultationStoreUnavailable):
        repository.submit(consultation(conversation_id="conv-2"))
    assert count_rows(any_engine) == 1


def test_a_duplicate_saved_concurrently_is_recognised(any_engine):
    """Another process stores the same request between our check and our insert."""
    other = ConsultationRepository(any_engine)
    concurrent: List[SubmitResult] = []

    def reference_after_a_concurrent_submit() -> str:
        if not concurrent:
            concurrent.append(other.submit(consultation()))
        return new_reference()

    result = ConsultationRepository(any_engine, reference_factory=reference_after_a_concurrent_submit).submit(
        consultation()
    )
    assert concurrent and concurrent[0].created
    assert result == SubmitResult(concurrent[0].reference, created=False)
    assert count_rows(any_engine) == 1


def test_delete_by_reference(repo, any_engine):
    first = repo.submit(consultation())
    second = repo.submit(consultation(conversation_id="conv-2"))
    assert repo.delete_by_reference(f"  {first.reference.lower()} ") == 1
    assert [row.reference for row in stored_rows(any_engine)] == [second.reference]
    assert repo.delete_by_reference(first.reference) == 0


def test_delete_by_email_removes_all_of_one_persons_requests(repo, any_engine):
    repo.submit(consultation())
    repo.submit(consultation(preferred_treatment="laser"))
    kept = repo.submit(consultation(name="Ben", email="ben@example.com", phone=None))
    assert repo.delete_by_email(" ANA@example.com ") == 2
    assert [row.reference for row in stored_rows(any_engine)] == [kept.reference]
    assert repo.delete_by_email("ana@example.com") == 0
    with pytest.raises(InvalidContact):
        repo.delete_by_email("not an address")


def test_list_is_newest_first(repo):
    references = [repo.submit(consultation(conversation_id=f"conv-{n}")).reference for n in range(3)]
    records = repo.list_requests()
    assert [record.reference for record in records] == references[::-1]
    assert records[0].details == consultation(
        name="Ana López", email="ana@example.com", phone="+442079460958", conversation_id="conv-2"
    )


def test_unreachable_database_is_reported_as_unavailable():
    engine = create_engine(
        "postgresql+psycopg2://nobody@127.0.0.1:1/none", future=True, connect_args={"connect_timeout": 2}
    )
    repository = ConsultationRepository(engine)
    with pytest.raises(ConsultationStoreUnavailable, match="OperationalError"):
        repository.submit(consultation())
    with pytest.raises(ConsultationStoreUnavailable):
        repository.list_requests()
    engine.dispose()


def test_database_errors_do_not_carry_personal_data(sqlite_engine):
    """SQLAlchemy quotes statement parameters in its messages; none may reach a logged traceback."""
    with sqlite_engine.begin() as connection:  # an outdated table: the INSERT fails with the parameters in the error
        connection.execute(
            text("CREATE TABLE consultation_requests (id INTEGER PRIMARY KEY, reference TEXT, idempotency_key TEXT)")
        )
    with pytest.raises(ConsultationStoreUnavailable) as caught:
        ConsultationRepository(sqlite_engine).submit(consultation())
    logged = "".join(traceback.format_exception(caught.type, caught.value, caught.tb))
    assert "OperationalError" in logged
    assert "ana@example.com" not in logged and "López" not in logged and "442079460958" not in logged


def test_no_personal_data_is_logged(repo, caplog):
    caplog.set_level(logging.DEBUG, logger="bot")
    result = repo.submit(consultation())
    repo.list_requests()
    repo.delete_by_email("ana@example.com")
    assert result.reference in caplog.text
    for personal in ("Ana", "ana@example.com", "442079460958", "conv-1"):
        assert personal not in caplog.text


def test_engine_is_created_lazily_from_database_url(tmp_path, monkeypatch):
    database = tmp_path / "lazy" / "consultations.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    repository = ConsultationRepository()
    assert not database.parent.exists()
    try:
        result = repository.submit(consultation())
        assert database.exists()
        assert [record.reference for record in repository.list_requests()] == [result.reference]
    finally:
        dispose_engines()
