"""The staff page over HTTP against a real server on 127.0.0.1 and real databases (SQLite, and
PostgreSQL where marked): accounts made by the command (argon2id), sign-in with session cookies,
CSRF tokens on every form, the sign-in limit, the list (newest first, status filter, reference
search), status changes with notes, the transcript from the tracker store, CSV export, deleting
one person's data, escaping, the audit log, and logs without personal data."""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterator, List

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import settings
from bot.consultations.models import CALLBACK
from bot.notices.outbox import OutboxNotice
from bot.staff.links import conversation_key
from bot.staff_page import audit
from bot.staff_page.__main__ import main as cli
from bot.staff_page.auth import Accounts
from bot.staff_page.config import StaffPageConfigError, StaffPageSettings
from bot.staff_page.models import AuditEntry, StaffUser, StatusChange
from bot.staff_page.sessions import IDLE, SESSION_COOKIE
from tests.staff_page_fixtures import (  # noqa: F401 - the databases fixture
    PASSWORD,
    Databases,
    Page,
    csrf_of,
    databases,
    events_of,
    kinds_listed,
    save_conversation,
    sqlite_databases,
    start_page,
    stop_page,
    store_raw_request,
    store_request,
)
from tooling.ports import free_ports

NAME, EMAIL = "Maria Lopez", "maria.lopez@example.com"
SAID = "I have pus and a fever since my peel on Monday"
NOTE = "Called back, booked for Tuesday 10:00 <b>bring results</b>"
HOSTILE = "<script>window.pwned = 1</script>"


@pytest.fixture
def sqlite_page(tmp_path: Path) -> Iterator[Page]:
    page = start_page(sqlite_databases(tmp_path))
    yield page
    stop_page(page)


@pytest.fixture
def any_page(databases: Databases) -> Iterator[Page]:  # noqa: F811 - the fixture
    """The page over SQLite (requests and conversations in two files) and over PostgreSQL."""
    page = start_page(databases)
    yield page
    stop_page(page)


def audit_rows(page: Page) -> List[AuditEntry]:
    with Session(page.engine, future=True) as session:
        return list(session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars())


def actions(page: Page) -> List[str]:
    return [row.action for row in audit_rows(page)]


def form_post(client: requests.Session, url: str, page_url: str, **data: str) -> requests.Response:
    """Post a form the way a browser does: with the CSRF token of the page it is on."""
    token = csrf_of(client.get(page_url, timeout=30).text)
    return client.post(url, data={"csrf_token": token, **data}, allow_redirects=False, timeout=30)


# --------------------------------------------------------------------------- accounts (the command)


def test_add_user_stores_an_argon2id_hash_never_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'poreguide.db'}"
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert cli(["add-user", "Ana", "--password-stdin", "--database-url", url]) == 0
    assert "Created the staff account 'ana'" in capsys.readouterr().out

    from sqlalchemy import create_engine

    engine = create_engine(url, future=True)
    with Session(engine, future=True) as session:
        user = session.execute(select(StaffUser)).scalar_one()
    assert user.username == "ana"
    assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")  # argon2-cffi's RFC 9106 profile
    assert PASSWORD not in user.password_hash
    assert Accounts(engine).verify("ANA", PASSWORD) == "ana"
    assert Accounts(engine).verify("ana", PASSWORD + "x") is None

    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert cli(["add-user", "ana", "--password-stdin", "--database-url", url]) == 2  # exists already
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli(["add-user", "bo", "--password-stdin", "--database-url", url]) == 2
    assert "at least 12 characters" in capsys.readouterr().err
    assert cli(["add-user", "<b>", "--password-stdin", "--database-url", url]) == 2
    assert cli(["list-users", "--database-url", url]) == 0
    assert capsys.readouterr().out.strip() == "ana"
    assert cli(["remove-user", "ana", "--database-url", url]) == 0
    assert Accounts(engine).names() == []
    with Session(engine, future=True) as session:
        logged = [(row.actor, row.action, row.detail) for row in session.execute(select(AuditEntry)).scalars()]
    assert logged == [("(command line)", audit.USER_ADDED, "ana"), ("(command line)", audit.USER_REMOVED, "ana")]
    engine.dispose()


def test_a_password_set_with_weaker_parameters_is_rehashed_at_sign_in(sqlite_page: Page) -> None:
    from argon2 import PasswordHasher

    stronger = Accounts(sqlite_page.engine, PasswordHasher(time_cost=2, memory_cost=16, parallelism=1))
    assert stronger.verify("ana", PASSWORD) == "ana"
    with Session(sqlite_page.engine, future=True) as session:
        stored = session.execute(select(StaffUser.password_hash).where(StaffUser.username == "ana")).scalar_one()
    assert stored.startswith("$argon2id$v=19$m=16,t=2,p=1$")


def test_changing_a_password_signs_the_account_out(sqlite_page: Page, monkeypatch: pytest.MonkeyPatch) -> None:
    client = sqlite_page.sign_in()
    assert client.get(f"{sqlite_page.url}/requests", allow_redirects=False, timeout=30).status_code == 200
    assert sqlite_page.accounts.set_password("ana", "a brand new password")
    assert client.get(f"{sqlite_page.url}/requests", allow_redirects=False, timeout=30).status_code == 303


# --------------------------------------------------------------------------- signing in


def test_every_page_but_sign_in_needs_a_session(sqlite_page: Page) -> None:
    url = sqlite_page.url
    response = requests.get(f"{url}/requests?status=new", allow_redirects=False, timeout=30)
    assert response.status_code == 303
    assert response.headers["Location"] == "/login?next=/requests?status%3Dnew"
    for path in ("/requests/PG-ABCDEF", "/audit", f"/conversations/{'a' * 32}", "/"):
        assert requests.get(url + path, allow_redirects=False, timeout=30).status_code == 303, path
    for path in ("/export", "/logout", "/requests/PG-ABCDEF/status", "/requests/PG-ABCDEF/delete"):
        assert requests.post(url + path, data={"csrf_token": "x"}, allow_redirects=False, timeout=30).status_code == 403
    assert requests.get(f"{url}/health", timeout=30).json() == {"status": "ok"}


def test_wrong_password_then_sign_in_sets_a_strict_session_cookie(sqlite_page: Page) -> None:
    client = sqlite_page.client()
    form = client.get(f"{sqlite_page.url}/login", timeout=30)
    wrong = client.post(
        f"{sqlite_page.url}/login",
        timeout=30,
        allow_redirects=False,
        data={"username": "ana", "password": "not it at all", "csrf_token": csrf_of(form.text)},
    )
    assert wrong.status_code == 401 and "Wrong account name or password." in wrong.text
    assert SESSION_COOKIE not in client.cookies

    unknown = client.post(
        f"{sqlite_page.url}/login",
        timeout=30,
        allow_redirects=False,
        data={"username": "my secret password", "password": "x" * 12, "csrf_token": csrf_of(wrong.text)},
    )
    assert unknown.status_code == 401

    right = client.post(
        f"{sqlite_page.url}/login",
        allow_redirects=False,
        timeout=30,
        data={
            "username": "Ana",
            "password": PASSWORD,
            "csrf_token": csrf_of(unknown.text),
            "next": "/requests?status=new",
        },
    )
    assert right.status_code == 303 and right.headers["Location"] == "/requests?status=new"
    cookie = right.headers["Set-Cookie"]
    assert f"{SESSION_COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # plain http on loopback: a Secure cookie would never come back
    assert client.get(f"{sqlite_page.url}/requests", timeout=30).status_code == 200

    rows = [(row.actor, row.action) for row in audit_rows(sqlite_page)]
    assert rows[:3] == [("ana", audit.LOGIN_FAILED), (audit.UNKNOWN_ACCOUNT, audit.LOGIN_FAILED), ("ana", audit.LOGIN)]
    assert not any("secret" in (row.actor + (row.detail or "")) for row in audit_rows(sqlite_page))


def test_the_cookie_is_secure_behind_https_and_next_never_leaves_the_site(sqlite_page: Page) -> None:
    client = sqlite_page.client()
    form = client.get(f"{sqlite_page.url}/login", headers={"X-Forwarded-Proto": "https"}, timeout=30)
    assert "Secure" in form.headers["Set-Cookie"]
    nonce = form.cookies["poreguide_staff_login"]  # a Secure cookie: no client sends it back over plain http
    response = requests.post(
        f"{sqlite_page.url}/login",
        headers={"X-Forwarded-Proto": "https"},
        timeout=30,
        cookies={"poreguide_staff_login": nonce},
        allow_redirects=False,
        data={"username": "ana", "password": PASSWORD, "csrf_token": csrf_of(form.text), "next": "//evil.test/x"},
    )
    assert "Secure" in response.headers["Set-Cookie"]
    assert response.headers["Location"] == "/requests"


def test_sign_in_without_its_form_token_is_refused(sqlite_page: Page) -> None:
    response = requests.post(
        f"{sqlite_page.url}/login", data={"username": "ana", "password": PASSWORD}, allow_redirects=False, timeout=30
    )
    assert response.status_code == 403 and "expired" in response.text
    other = requests.Session()
    token = csrf_of(other.get(f"{sqlite_page.url}/login", timeout=30).text)
    # A token from another browser's form does not match this browser's form cookie.
    response = requests.post(
        f"{sqlite_page.url}/login",
        allow_redirects=False,
        timeout=30,
        data={"username": "ana", "password": PASSWORD, "csrf_token": token},
        cookies={"poreguide_staff_login": "someone-elses"},
    )
    assert response.status_code == 403
    assert audit.LOGIN not in actions(sqlite_page)


def test_sign_in_attempts_are_limited_per_account_and_per_address(tmp_path: Path) -> None:
    page = start_page(sqlite_databases(tmp_path), per_account=3, per_address=5, users=("ana", "bo"))
    try:
        client = page.client()
        form = [client.get(f"{page.url}/login", timeout=30).text]

        def attempt(name: str, password: str) -> requests.Response:
            """As a browser does: each answer is a new form with a new token."""
            response = client.post(
                f"{page.url}/login",
                allow_redirects=False,
                timeout=30,
                data={"username": name, "password": password, "csrf_token": csrf_of(form[-1])},
            )
            if response.status_code != 303:
                form.append(response.text)
            else:
                client.cookies.clear()  # signed in: sign out by forgetting the session, to try again
                form.append(client.get(f"{page.url}/login", timeout=30).text)
            return response

        assert [attempt("ana", "wrong password!").status_code for _ in range(3)] == [401, 401, 401]
        limited = attempt("ana", PASSWORD)  # the right password, but the account is limited now
        assert limited.status_code == 429 and "Too many failed sign-ins" in limited.text
        assert 0 < int(limited.headers["Retry-After"]) <= 15 * 60 + 1
        assert attempt("bo", PASSWORD).status_code == 303  # another account from the same address
        assert [attempt("bo", "wrong password!").status_code for _ in range(2)] == [401, 401]
        assert attempt("bo", PASSWORD).status_code == 429  # 5 failures from this address in all
        assert actions(page).count(audit.LOGIN_LIMITED) == 2

        page.clock.advance(15 * 60 + 1)  # the failures leave the window
        assert attempt("ana", PASSWORD).status_code == 303
    finally:
        stop_page(page)


def test_sign_out_and_idle_sessions_end(sqlite_page: Page) -> None:
    client = sqlite_page.sign_in()
    response = form_post(client, f"{sqlite_page.url}/logout", f"{sqlite_page.url}/requests")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert client.get(f"{sqlite_page.url}/requests", allow_redirects=False, timeout=30).status_code == 303
    assert sqlite_page.sessions.count("ana") == 0

    client = sqlite_page.sign_in()
    sqlite_page.clock.advance(IDLE.total_seconds() + 1)
    assert client.get(f"{sqlite_page.url}/requests", allow_redirects=False, timeout=30).status_code == 303
    assert actions(sqlite_page).count(audit.LOGOUT) == 1


def test_a_second_sign_in_form_keeps_the_first_one_valid(sqlite_page: Page) -> None:
    """Another tab, or the browser fetching /favicon.ico, must not expire a form on screen."""
    client = sqlite_page.client()
    first = csrf_of(client.get(f"{sqlite_page.url}/login", timeout=30).text)
    assert client.get(f"{sqlite_page.url}/favicon.ico", allow_redirects=False, timeout=30).status_code == 204
    client.get(f"{sqlite_page.url}/login", timeout=30)
    response = client.post(
        f"{sqlite_page.url}/login",
        data={"username": "ana", "password": PASSWORD, "csrf_token": first},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 303


@pytest.mark.parametrize(
    "target", ["//evil.test/x", "/\\evil.test", "/\t/evil.test", "https://evil.test/", "/\n/evil.test", "requests"]
)
def test_after_sign_in_the_page_never_sends_the_browser_elsewhere(target: str) -> None:
    from bot.staff_page.shared import safe_next

    assert safe_next(target) == "/requests"
    assert safe_next("/requests/PG-7K3M9Q?x=1") == "/requests/PG-7K3M9Q?x=1"


def test_a_database_that_is_down_gives_a_503_page_and_comes_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    page = start_page(sqlite_databases(tmp_path))
    try:
        client = page.sign_in()
        database = tmp_path / "poreguide.db"
        database.rename(tmp_path / "away.db")
        database.mkdir()  # SQLite cannot open a directory: "unable to open database file"
        response = client.get(f"{page.url}/requests", timeout=30)
        assert response.status_code == 503 and "The database is not reachable right now." in response.text
        assert "Staff page: database unavailable for GET /requests (OperationalError)." in caplog.text
        database.rmdir()
        (tmp_path / "away.db").rename(database)
        assert client.get(f"{page.url}/requests", timeout=30).status_code == 200
    finally:
        stop_page(page)


# --------------------------------------------------------------------------- CSRF on every form


def test_forms_without_the_sessions_token_change_nothing(sqlite_page: Page) -> None:
    reference = store_request(sqlite_page.engine, NAME, "web-maria", email=EMAIL)
    page_url = f"{sqlite_page.url}/requests/{reference}"
    client, other = sqlite_page.sign_in(), sqlite_page.sign_in()
    foreign = csrf_of(other.get(page_url, timeout=30).text)  # valid, but for another session
    for token in ("", "0" * 64, foreign):
        for path, data in (("/status", {"status": "booked", "note": "x"}), ("/delete", {"confirm": "yes"})):
            response = client.post(
                page_url + path, data={"csrf_token": token, **data}, allow_redirects=False, timeout=30
            )
            assert response.status_code == 403 and "Form expired" in response.text
        assert client.post(f"{sqlite_page.url}/export", data={"csrf_token": token}, timeout=30).status_code == 403
        assert (
            client.post(
                f"{sqlite_page.url}/logout", data={"csrf_token": token}, allow_redirects=False, timeout=30
            ).status_code
            == 403
        )
    assert sqlite_page.accounts.exists("ana") and sqlite_page.sessions.count("ana") == 2
    with Session(sqlite_page.engine, future=True) as session:
        assert session.execute(select(StatusChange)).first() is None
    assert "Maria Lopez" in client.get(page_url, timeout=30).text  # still there
    assert audit.STATUS not in actions(sqlite_page) and audit.DELETE not in actions(sqlite_page)
    assert audit.EXPORT not in actions(sqlite_page)


# --------------------------------------------------------------------------- the list, statuses, transcript


def test_list_newest_first_filtered_by_status_and_searched_by_reference(any_page: Page) -> None:
    first = store_request(any_page.engine, "Ana First", "web-1", email="first@example.com")
    second = store_request(
        any_page.engine, "Bo Second", "web-2", phone="+44 20 7946 0001", treatment=None, kind=CALLBACK
    )
    third = store_request(any_page.engine, "Cy Third", "web-3", email="third@example.com", treatment=None)
    client = any_page.sign_in()
    listing = client.get(f"{any_page.url}/requests", timeout=30).text
    assert [listing.index(reference) for reference in (third, second, first)] == sorted(
        listing.index(reference) for reference in (third, second, first)
    )
    assert "3 requests" in listing and "+442079460001" in listing
    assert "<th>Kind</th>" in listing
    assert kinds_listed(listing) == {
        third: ("consultation", "consultation"),
        second: ("callback", "call back"),
        first: ("consultation", "consultation"),
    }

    assert (
        form_post(
            client,
            f"{any_page.url}/requests/{second}/status",
            f"{any_page.url}/requests/{second}",
            status="contacted",
            note="",
        ).status_code
        == 303
    )
    contacted = client.get(f"{any_page.url}/requests", params={"status": "contacted"}, timeout=30).text
    assert second in contacted and first not in contacted and third not in contacted
    new = client.get(f"{any_page.url}/requests", params={"status": "new"}, timeout=30).text
    assert first in new and third in new and second not in new
    found = client.get(f"{any_page.url}/requests", params={"q": third[3:7].lower()}, timeout=30).text
    assert third in found and "1 request matching" in found and first not in found
    nothing = client.get(f"{any_page.url}/requests", params={"q": "PG-0000"}, timeout=30).text
    assert "No requests match this filter." in nothing
    details = [row.detail for row in audit_rows(any_page) if row.action == audit.VIEW_LIST]
    assert "status=contacted search=- page=1" in details and f"status=all search={third[3:7]} page=1" in details


def test_a_request_shows_whether_it_is_a_consultation_or_a_call_back(any_page: Page) -> None:
    """A call back asks for a phone call, not a slot: the detail page says which one it is, and so
    do the conversation's list of requests."""
    call_back = store_request(
        any_page.engine, "Sam Caller", "web-sam", phone="+1 555 010 0177", treatment=None, kind=CALLBACK
    )
    consultation = store_request(any_page.engine, "Sam Caller", "web-sam", phone="+1 555 010 0177")
    client = any_page.sign_in()
    shown = client.get(f"{any_page.url}/requests/{call_back}", timeout=30).text
    assert '<dt>Kind</dt><dd class="kind"><span class="kind kind-callback">call back</span></dd>' in shown
    shown = client.get(f"{any_page.url}/requests/{consultation}", timeout=30).text
    assert '<dt>Kind</dt><dd class="kind"><span class="kind kind-consultation">consultation</span></dd>' in shown
    save_conversation(
        any_page.databases.tracker_url, "web-sam", [("call me back please", "What name should the clinic use?")]
    )
    conversation = client.get(f"{any_page.url}/conversations/{conversation_key('web-sam')}", timeout=30).text
    assert (
        f"{call_back}</a> (call back, new)" in conversation
        and f"{consultation}</a> (consultation, new)" in conversation
    )


def test_a_status_change_keeps_its_note_and_history(any_page: Page) -> None:
    reference = store_request(any_page.engine, NAME, "web-maria", email=EMAIL)
    client = any_page.sign_in()
    page_url = f"{any_page.url}/requests/{reference}"
    response = form_post(client, f"{page_url}/status", page_url, status="contacted", note=NOTE)
    assert response.status_code == 303 and response.headers["Location"] == f"/requests/{reference}?saved=1"
    form_post(client, f"{page_url}/status", page_url, status="booked", note="")
    shown = client.get(f"{page_url}?saved=1", timeout=30).text
    assert "Status saved." in shown
    assert "Called back, booked for Tuesday 10:00 &lt;b&gt;bring results&lt;/b&gt;" in shown
    assert shown.index(">booked<") < shown.index(">contacted<")  # newest first
    with Session(any_page.engine, future=True) as session:
        changes = [
            (row.status, row.note, row.changed_by)
            for row in session.execute(select(StatusChange).order_by(StatusChange.id)).scalars()
        ]
    assert changes == [("contacted", NOTE, "ana"), ("booked", None, "ana")]

    refused = form_post(client, f"{page_url}/status", page_url, status="cancelled", note="")
    assert refused.status_code == 400 and "a status is one of new, contacted, booked, closed" in refused.text
    details = [(row.reference, row.detail) for row in audit_rows(any_page) if row.action == audit.STATUS]
    assert details == [(reference, "new -> contacted, with a note"), (reference, "contacted -> booked")]


def test_the_transcript_comes_from_the_tracker_store(any_page: Page) -> None:
    sender = "web-3f9c2a"
    save_conversation(
        any_page.databases.tracker_url,
        sender,
        [
            ("what is microneedling?", "Microneedling – what it is: tiny needles..."),
            ("I'd like to book", "Which time suits you?"),
        ],
        buttons=["Morning", "Evening"],
    )
    reference = store_request(any_page.engine, NAME, sender, email=EMAIL)
    client = any_page.sign_in()
    shown = client.get(f"{any_page.url}/requests/{reference}", timeout=30).text
    for expected in (
        "what is microneedling?",
        "Microneedling – what it is: tiny needles...",
        "I&#39;d like to book",
        "Which time suits you?",
        "Morning",
        "Evening",
        "New session",
    ):
        assert expected in shown, expected
    assert shown.index("what is microneedling?") < shown.index("I&#39;d like to book")
    key = conversation_key(sender)
    assert f'href="/conversations/{key}"' in shown
    conversation = client.get(f"{any_page.url}/conversations/{key}", timeout=30)
    assert conversation.status_code == 200 and "Which time suits you?" in conversation.text
    assert reference in conversation.text
    assert client.get(f"{any_page.url}/conversations/{'0' * 32}", timeout=30).status_code == 404
    assert client.get(f"{any_page.url}/conversations/not-a-key", timeout=30).status_code == 404

    # A red flag's link: a conversation with no request, found among the tracker store's conversations.
    save_conversation(any_page.databases.tracker_url, "telegram-5550100", [(SAID, "Please call the clinic now.")])
    alert = client.get(f"{any_page.url}/conversations/{conversation_key('telegram-5550100')}", timeout=30).text
    assert SAID in alert and "No consultation request was made in this conversation." in alert
    keys = [row.reference for row in audit_rows(any_page) if row.action == audit.VIEW_CONVERSATION]
    assert keys == [key, conversation_key("telegram-5550100")]
    assert sender not in str([(row.reference, row.detail) for row in audit_rows(any_page)])


# --------------------------------------------------------------------------- export and deletion


def test_csv_export_with_statuses_and_no_formulas(any_page: Page) -> None:
    plain = store_request(any_page.engine, NAME, "web-1", email=EMAIL, preferred_time="mornings")
    formula = store_request(
        any_page.engine, "=HYPERLINK(x) Bob", "web-2", phone="+44 20 7946 0001", treatment=None, kind=CALLBACK
    )
    client = any_page.sign_in()
    form_post(
        client,
        f"{any_page.url}/requests/{plain}/status",
        f"{any_page.url}/requests/{plain}",
        status="booked",
        note="Tuesday",
    )
    response = form_post(client, f"{any_page.url}/export", f"{any_page.url}/requests")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="consultation-requests-\d{8}-\d{4}\.csv"', response.headers["Content-Disposition"]
    )
    assert response.headers["Cache-Control"] == "no-store"
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "Reference",
        "Created (UTC)",
        "Name",
        "Email",
        "Phone",
        "Treatment",
        "Preferred time",
        "Kind",
        "Status",
        "Status changed (UTC)",
        "Note",
    ]
    by_reference = {row[0]: row for row in rows[1:]}
    assert by_reference[plain][2:5] == [NAME, EMAIL, ""] and by_reference[plain][7:9] == ["consultation", "booked"]
    assert by_reference[plain][10] == "Tuesday"
    assert by_reference[formula][2] == "'=HYPERLINK(x) Bob" and by_reference[formula][4] == "'+442079460001"
    assert by_reference[formula][5] == "" and by_reference[formula][7:9] == ["callback", "new"]

    only_new = form_post(client, f"{any_page.url}/export", f"{any_page.url}/requests", status="new")
    assert [row[0] for row in csv.reader(io.StringIO(only_new.content.decode("utf-8-sig")))][1:] == [formula]
    details = [row.detail for row in audit_rows(any_page) if row.action == audit.EXPORT]
    assert details == ["2 request(s), status=all search=-", "1 request(s), status=new search=-"]


def test_deleting_one_person_removes_request_conversation_notices_and_notes(any_page: Page) -> None:
    save_conversation(any_page.databases.tracker_url, "web-maria", [(SAID, "Please call the clinic now.")])
    save_conversation(any_page.databases.tracker_url, "web-other", [("hello", "Hi! I'm PoreGuide.")])
    gone = store_request(any_page.engine, NAME, "web-maria", email=EMAIL)
    kept = store_request(any_page.engine, "Other Person", "web-other", email="other@example.com")
    client = any_page.sign_in()
    page_url = f"{any_page.url}/requests/{gone}"
    form_post(client, f"{page_url}/status", page_url, status="contacted", note="Maria asked to be forgotten")
    form_post(
        client, f"{any_page.url}/requests/{kept}/status", f"{any_page.url}/requests/{kept}", status="booked", note=""
    )

    unconfirmed = form_post(client, f"{page_url}/delete", page_url)
    assert unconfirmed.status_code == 400 and "nothing was deleted" in unconfirmed.text
    assert events_of(any_page.tracker_engine, "web-maria") > 0

    response = form_post(client, f"{page_url}/delete", page_url, confirm="yes")
    assert response.status_code == 303 and response.headers["Location"] == f"/requests?deleted={gone}"
    after = client.get(f"{any_page.url}{response.headers['Location']}", timeout=30).text
    assert f"All data of request {gone} and its conversation was deleted." in after
    assert NAME not in after and "Other Person" in after
    assert client.get(page_url, timeout=30).status_code == 404
    assert client.get(f"{any_page.url}/conversations/{conversation_key('web-maria')}", timeout=30).status_code == 404

    assert events_of(any_page.tracker_engine, "web-maria") == 0
    assert events_of(any_page.tracker_engine, "web-other") > 0
    with Session(any_page.engine, future=True) as session:
        assert [row.reference for row in session.execute(select(StatusChange)).scalars()] == [kept]
        notices = {row.conversation_id for row in session.execute(select(OutboxNotice)).scalars()}
    assert notices == {"web-other"}
    [entry] = [row for row in audit_rows(any_page) if row.action == audit.DELETE]
    assert entry.reference == gone
    assert re.fullmatch(r"1 request\(s\), 1 conversation\(s\) \(\d+ events\), 1 staff notice\(s\)", entry.detail)
    everything = str([(row.actor, row.reference, row.detail) for row in audit_rows(any_page)])
    for private in (NAME, "Maria", EMAIL, "web-maria", SAID):
        assert private not in everything


def test_statuses_of_requests_deleted_elsewhere_are_forgotten(sqlite_page: Page) -> None:
    from bot.consultations.repository import ConsultationRepository
    from bot.staff_page.store import StaffStore

    reference = store_request(sqlite_page.engine, NAME, "web-maria", email=EMAIL)
    store = StaffStore(sqlite_page.engine, sqlite_page.tracker_engine)
    store.change_status(reference, "contacted", "left a message", "ana")
    ConsultationRepository(sqlite_page.engine).delete_by_reference(reference)  # `make requests` CLI / purge path
    assert store.forget_orphans() == 1
    assert store.history(reference) == []


# --------------------------------------------------------------------------- escaping, headers, logs


def test_everything_shown_is_escaped(sqlite_page: Page) -> None:
    sender = "web-<hostile>"
    save_conversation(sqlite_page.databases.tracker_url, sender, [("<img src=x onerror=alert(1)>", "Sorry?")])
    reference = store_raw_request(sqlite_page.engine, "PG-XSS234", HOSTILE, sender, "a'b&c@example.com")
    client = sqlite_page.sign_in()
    page_url = f"{sqlite_page.url}/requests/{reference}"
    form_post(client, f"{page_url}/status", page_url, status="contacted", note='</textarea><script>alert("n")</script>')
    bodies = [
        client.get(f"{sqlite_page.url}/requests", timeout=30).text,
        client.get(page_url, timeout=30).text,
        client.get(f"{sqlite_page.url}/conversations/{conversation_key(sender)}", timeout=30).text,
        client.get(f"{sqlite_page.url}/requests?q=%3Cscript%3E", timeout=30).text,
    ]
    for body in bodies:
        assert "<script" not in body and "<img" not in body
    assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;" in bodies[0]
    assert "&lt;img src=x onerror=alert(1)&gt;" in bodies[1] and "a&#39;b&amp;c@example.com" in bodies[1]
    assert "&lt;/textarea&gt;&lt;script&gt;alert(&#34;n&#34;)&lt;/script&gt;" in bodies[1]


def test_pages_forbid_scripts_framing_and_caching(sqlite_page: Page) -> None:
    client = sqlite_page.sign_in()
    response = client.get(f"{sqlite_page.url}/requests", timeout=30)
    headers = response.headers
    assert headers["Content-Security-Policy"].startswith("default-src 'none'; style-src 'self'")
    assert "script-src" not in headers["Content-Security-Policy"]  # default-src 'none': no script at all
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store" and headers["Referrer-Policy"] == "no-referrer"
    assert "<script" not in response.text
    stylesheet = re.search(r'href="(/static/staff\.css)"', response.text)
    assert stylesheet and client.get(sqlite_page.url + stylesheet.group(1), timeout=30).status_code == 200


def test_the_audit_page_lists_staff_actions(sqlite_page: Page) -> None:
    reference = store_request(sqlite_page.engine, NAME, "web-maria", email=EMAIL)
    client = sqlite_page.sign_in()
    client.get(f"{sqlite_page.url}/requests/{reference}", timeout=30)
    shown = client.get(f"{sqlite_page.url}/audit", timeout=30).text
    for action in (audit.LOGIN, audit.VIEW_REQUEST, audit.VIEW_AUDIT):
        assert action in shown
    assert reference in shown and NAME not in shown


def test_logs_hold_no_names_contacts_notes_or_message_text(sqlite_page: Page, caplog: pytest.LogCaptureFixture) -> None:
    sender = "web-maria"
    save_conversation(sqlite_page.databases.tracker_url, sender, [(SAID, "Please call the clinic now.")])
    reference = store_request(sqlite_page.engine, NAME, sender, email=EMAIL, phone="+44 20 7946 0001")
    caplog.clear()
    caplog.set_level(logging.DEBUG)  # from here on, only what the page does is logged
    client = sqlite_page.sign_in()
    page_url = f"{sqlite_page.url}/requests/{reference}"
    client.get(f"{sqlite_page.url}/requests?q={reference}", timeout=30)
    client.get(page_url, timeout=30)
    form_post(client, f"{page_url}/status", page_url, status="contacted", note=NOTE)
    form_post(client, f"{sqlite_page.url}/export", f"{sqlite_page.url}/requests")
    form_post(client, f"{page_url}/delete", page_url, confirm="yes")
    logged = "\n".join(
        record.getMessage() for record in caplog.records if record.name.startswith(("bot", "aiohttp"))
    )  # the page's own and its server's
    assert f"POST /requests/{reference}/status status 303," in logged  # the access log is there...
    for private in (NAME, "Maria", EMAIL, "442079460001", SAID, "Called back", sender, PASSWORD, "q="):
        assert private not in logged, private  # ...without personal data or query strings


# --------------------------------------------------------------------------- settings and the real process


def test_settings_have_safe_defaults_and_refuse_bad_values() -> None:
    defaults = StaffPageSettings.from_env({})
    assert (defaults.port, defaults.interface, defaults.cookie_secure) == (5006, "127.0.0.1", "auto")
    assert not defaults.secret_from_env and len(defaults.secret) == 32
    chosen = StaffPageSettings.from_env(
        {
            "STAFF_PORT": "5016",
            "STAFF_SECRET": "s" * 40,
            "STAFF_TIME_ZONE": "Europe/Madrid",
            "STAFF_TRUSTED_PROXIES": "10.0.0.2",
        }
    )
    assert (chosen.port, chosen.secret, chosen.time_zone, chosen.trusted_proxies) == (
        5016,
        b"s" * 40,
        "Europe/Madrid",
        frozenset({"10.0.0.2"}),
    )
    for bad in (
        {"STAFF_PORT": "http"},
        {"STAFF_SECRET": "short"},
        {"STAFF_TIME_ZONE": "Mars/Olympus"},
        {"STAFF_COOKIE_SECURE": "maybe"},
        {"STAFF_TRUSTED_PROXIES": "nginx"},
    ):
        with pytest.raises(StaffPageConfigError) as refused:
            StaffPageSettings.from_env(bad)
        assert "short" not in str(refused.value) or "STAFF_SECRET" in str(refused.value)


@pytest.mark.server
def test_the_command_serves_the_page_on_loopback(tmp_path: Path) -> None:
    """`python -m bot.staff_page serve` as `make staff` runs it: 127.0.0.1 by default, STAFF_PORT."""
    url = f"sqlite:///{tmp_path / 'poreguide.db'}"
    port = free_ports(1)[0]
    env = {**os.environ, "DATABASE_URL": url, "STAFF_PORT": str(port), "STAFF_SECRET": "x" * 40, "STAFF_INTERFACE": ""}
    subprocess.run(
        [sys.executable, "-m", "bot.staff_page", "add-user", "ana", "--password-stdin"],
        input=PASSWORD,
        text=True,
        env=env,
        cwd=settings.PROJECT_ROOT,
        check=True,
        timeout=120,
    )
    log = tmp_path / "staff.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.staff_page", "serve"],
            env=env,
            cwd=settings.PROJECT_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        from bot.launcher import wait_until_healthy

        assert wait_until_healthy(f"http://127.0.0.1:{port}/health", process, 120), log.read_text()
        client = requests.Session()
        token = csrf_of(client.get(f"http://127.0.0.1:{port}/login", timeout=30).text)
        signed_in = client.post(
            f"http://127.0.0.1:{port}/login",
            timeout=30,
            data={"username": "ana", "password": PASSWORD, "csrf_token": token},
        )
        assert signed_in.status_code == 200 and "No requests." in signed_in.text
        listening = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout
        assert f"127.0.0.1:{port}" in listening and f"0.0.0.0:{port}" not in listening
    finally:
        process.terminate()
        process.wait(30)
    output = log.read_text()
    assert f"Staff page on http://127.0.0.1:{port}/" in output and "STAFF_SECRET is not set" not in output
    assert "POST /login status 303," in output and PASSWORD not in output

    bad = subprocess.run(
        [sys.executable, "-m", "bot.staff_page", "serve"],
        env={**env, "STAFF_SECRET": "short"},
        cwd=settings.PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "STAFF_SECRET must be at least 32 characters" in bad.stderr


def test_the_makefile_has_a_staff_target() -> None:
    makefile = (settings.PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^staff: \$\(INSTALLED\)\n\t@\$\(PY\) -m bot\.staff_page serve$", makefile, re.MULTILINE)


def test_no_table_is_shared_with_the_booking_code(tmp_path: Path) -> None:
    from bot.consultations.models import ConsultationModel
    from bot.staff_page.models import StaffPageModel

    assert not set(StaffPageModel.metadata.tables) & set(ConsultationModel.metadata.tables)
    assert all(name.startswith("staff_page_") for name in StaffPageModel.metadata.tables)
