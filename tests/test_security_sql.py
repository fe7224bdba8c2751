"""Text from people reaches the database only as bound parameters, never inside SQL."""

from __future__ import annotations

from typing import List, Tuple

import pytest
from sqlalchemy import event

from tests.security_fixtures import INJECTIONS


@pytest.fixture
def statements(seeded_repository) -> List[Tuple[str, object]]:
    """Every (SQL, parameters) pair the repository's engine executes during the test."""
    captured: List[Tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    event.listen(seeded_repository.engine, "before_cursor_execute", capture)
    yield captured
    event.remove(seeded_repository.engine, "before_cursor_execute", capture)


@pytest.mark.parametrize("text", INJECTIONS)
def test_treatment_lookup_binds_the_text(seeded_repository, statements, text):
    assert seeded_repository.resolve_treatment(text) is None
    assert seeded_repository.treatments(), "the tables are intact after the lookup"
    term = text.strip().lower()
    lookups = [(sql, params) for sql, params in statements if term in map(str, params or ())]
    assert lookups, "the lookup did not reach the database"
    assert all(term not in sql for sql, _ in statements)
