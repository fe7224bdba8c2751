"""The staff page in a REAL browser (Debian Chromium via Playwright, `make browser`) against the
real page on 127.0.0.1, over SQLite with requests stored by the booking code and conversations by
PoreGuide's tracker store: a wrong password, signing in, the list with its filter and search, a
status change with a note, the transcript, the CSV download, deleting one person's data, and a
hostile name and message shown as text. The screenshots go to docs/staff-*.png for the README.

The tests run in file order on one page and its data, as a receptionist's day would: the list
before any change, a status change, the transcript, the export (which sees that change), a
deletion, hostile input, and the audit log of all of it."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Iterator, List

import pytest
from argon2 import PasswordHasher

from bot import settings
from bot.consultations.models import CALLBACK
from bot.staff.links import conversation_key
from bot.staff_page.config import StaffPageSettings
from tests.staff_page_fixtures import (
    PASSWORD,
    Page,
    events_of,
    save_conversation,
    sqlite_databases,
    start_page,
    stop_page,
    store_raw_request,
    store_request,
)

pytest_plugins = ("tests.web_fixtures",)  # the `browser` fixture: Debian's Chromium
pytestmark = pytest.mark.slow

DOCS = settings.PROJECT_ROOT / "docs"
DESKTOP = {"width": 1280, "height": 860}
ACCOUNT = "reception"
MARIA, TOM, AIKO = "PG-7K3M9Q", "PG-T6DLT4", "PG-A2K5TN"
HOSTILE_REFERENCE = "PG-XSS234"
HOSTILE_NAME = "<script>window.pwned = 1</script>Eve"
HOSTILE_MESSAGE = '<img src=x onerror="window.pwned = 2">'
MARIA_TURNS = [
    (
        "Hi! What is microneedling?",
        "Microneedling – what it is: a pen with very fine needles makes tiny channels in the skin, which heals by "
        "making new collagen. It can make enlarged pores look smaller.",
    ),
    ("How long is the recovery?", "Microneedling – recovery: redness for 1–3 days, like a mild sunburn."),
    ("I'd like to book a consultation", "Of course. Which time suits you best?"),
]


@pytest.fixture(scope="module")
def page_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    """One staff page for the module, its account hashed with the page's real argon2 parameters."""
    databases = sqlite_databases(tmp_path_factory.mktemp("staff_page_browser"))
    page = start_page(
        databases, StaffPageSettings(time_zone="Europe/London"), hasher=PasswordHasher(), users=(ACCOUNT,)
    )
    tracker_url = databases.tracker_url
    save_conversation(tracker_url, "web-aiko", [("what is a chemical peel?", "A chemical peel removes ...")])
    store_request(
        page.engine,
        "Aiko Tanaka",
        "web-aiko",
        email="aiko@example.com",
        treatment="chemical peel",
        preferred_time="weekday mornings",
        reference=AIKO,
    )
    save_conversation(tracker_url, "web-tom", [("can someone call me back?", "What name should the clinic use?")])
    store_request(
        page.engine, "Tom Byrne", "web-tom", phone="+44 20 7946 0002", treatment=None, reference=TOM, kind=CALLBACK
    )
    save_conversation(tracker_url, "web-eve", [(HOSTILE_MESSAGE, "Sorry, I didn't understand that.")])
    store_raw_request(page.engine, HOSTILE_REFERENCE, HOSTILE_NAME, "web-eve", "eve@example.com")
    save_conversation(tracker_url, "web-maria", MARIA_TURNS, buttons=["Weekday mornings", "Evenings"])
    store_request(
        page.engine,
        "Maria López",
        "web-maria",
        email="maria.lopez@example.com",
        phone="+44 20 7946 0001",
        preferred_time="weekday mornings",
        reference=MARIA,
    )
    yield page
    stop_page(page)


class Staff:
    """One browser tab of a staff member, recording dialogs and script or CSP errors."""

    def __init__(self, tab: Any, url: str) -> None:
        self.tab, self.url = tab, url
        self.dialogs: List[str] = []
        self.errors: List[str] = []
        tab.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        tab.on("pageerror", lambda error: self.errors.append(str(error)))
        tab.on("console", self._console)

    def _console(self, message: Any) -> None:
        """Script errors and CSP refusals count; "Failed to load resource" is only Chromium noting a
        page's 4xx status (a refused password answers 401, an unconfirmed deletion 400)."""
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    def sign_in(self, password: str = PASSWORD) -> None:
        self.tab.get_by_label("Account name").fill(ACCOUNT)
        self.tab.get_by_label("Password").fill(password)
        self.tab.get_by_role("button", name="Sign in").click()

    def open(self, path: str) -> None:
        self.tab.goto(self.url + path)

    def references(self) -> List[str]:
        return self.tab.locator("table.requests tbody tr td:first-child").all_inner_texts()

    def kinds(self) -> List[str]:
        return self.tab.locator("table.requests tbody tr td.kind").all_inner_texts()


@pytest.fixture
def staff(browser: Any, page_server: Page) -> Iterator[Staff]:
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    staff = Staff(context.new_page(), page_server.url)
    staff.open("/requests")
    staff.sign_in()
    staff.tab.get_by_role("heading", name="Consultation requests").wait_for()
    yield staff
    assert staff.errors == [] and staff.dialogs == []
    context.close()


def test_a_wrong_password_is_refused_then_the_right_one_signs_in(browser: Any, page_server: Page) -> None:
    context = browser.new_context(viewport=DESKTOP)
    staff = Staff(context.new_page(), page_server.url)
    staff.open("/requests")
    assert staff.tab.url.endswith("/login?next=/requests")
    staff.tab.screenshot(path=str(DOCS / "staff-login.png"))
    staff.sign_in("this is not the password")
    error = staff.tab.locator("p.error")
    error.wait_for()
    assert error.inner_text() == "Wrong account name or password."
    assert staff.tab.get_by_label("Account name").input_value() == ACCOUNT
    assert staff.tab.get_by_label("Password").input_value() == ""  # never sent back
    assert context.cookies() and all(cookie["name"] != "poreguide_staff" for cookie in context.cookies())

    staff.sign_in()
    staff.tab.get_by_role("heading", name="Consultation requests").wait_for()
    assert staff.tab.url == f"{page_server.url}/requests"
    session = next(cookie for cookie in context.cookies() if cookie["name"] == "poreguide_staff")
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert staff.tab.evaluate("document.cookie") == ""  # HttpOnly: no script could read it
    assert staff.errors == [] and staff.dialogs == []
    context.close()


def test_the_list_is_newest_first_with_a_status_filter_and_a_reference_search(staff: Staff) -> None:
    assert staff.references() == [MARIA, HOSTILE_REFERENCE, TOM, AIKO]
    assert staff.kinds() == ["consultation", "consultation", "call back", "consultation"]
    assert staff.tab.locator("p.count").inner_text().startswith("4 requests, newest first.")
    row = staff.tab.locator("tr", has_text=MARIA)
    assert "Maria López" in row.inner_text() and "maria.lopez@example.com" in row.inner_text()
    assert row.locator(".status").inner_text() == "new"
    staff.tab.screenshot(path=str(DOCS / "staff-requests.png"))

    staff.tab.get_by_label("Reference").fill(TOM[3:].lower())
    staff.tab.get_by_role("button", name="Show").click()
    staff.tab.wait_for_url(lambda url: "q=" in url)
    assert staff.references() == [TOM]
    staff.tab.get_by_label("Reference").fill("")
    staff.tab.get_by_label("Status").select_option("closed")
    staff.tab.get_by_role("button", name="Show").click()
    staff.tab.locator("p.empty").wait_for()
    assert staff.tab.locator("p.empty").inner_text() == "No requests match this filter."


def test_a_status_change_with_a_note(staff: Staff) -> None:
    staff.tab.get_by_role("link", name=MARIA).click()
    staff.tab.get_by_role("heading", name=f"Request {MARIA}").wait_for()
    assert staff.tab.locator("dd.kind").inner_text() == "consultation"
    staff.tab.get_by_label("New status").select_option("contacted")
    staff.tab.get_by_label("Note (optional)").fill("Called back; she prefers Tuesday mornings.")
    staff.tab.get_by_role("button", name="Save status").click()
    staff.tab.locator("p.notice").wait_for()
    assert staff.tab.locator("p.notice").inner_text() == "Status saved."
    assert staff.tab.locator("h1 .status").inner_text() == "contacted"
    history = staff.tab.locator("ol.history li")
    assert history.count() == 1 and "by reception" in history.first.inner_text()
    assert history.first.locator(".note").inner_text() == "Called back; she prefers Tuesday mornings."

    staff.open("/requests?status=contacted")
    assert staff.references() == [MARIA]
    staff.open("/requests?status=new")
    assert staff.references() == [HOSTILE_REFERENCE, TOM, AIKO]


def test_the_transcript_of_the_conversation_behind_a_request(staff: Staff) -> None:
    staff.open(f"/requests/{MARIA}")
    transcript = staff.tab.locator("ol.transcript")
    patient = transcript.locator(".line.patient .text").all_inner_texts()
    bot = transcript.locator(".line.bot .text").all_inner_texts()
    assert patient == [said for said, _ in MARIA_TURNS]
    assert bot == [answer for _, answer in MARIA_TURNS]
    assert transcript.locator(".line.bot").last.locator(".button").all_inner_texts() == ["Weekday mornings", "Evenings"]
    assert transcript.locator(".session").count() == 1
    staff.tab.screenshot(path=str(DOCS / "staff-request.png"), full_page=True)

    staff.tab.get_by_role("link", name=conversation_key("web-maria")[:12] + "…").click()
    staff.tab.wait_for_url(f"**/conversations/{conversation_key('web-maria')}")
    assert staff.tab.locator(".line.patient .text").all_inner_texts() == patient
    assert staff.tab.get_by_role("link", name=MARIA).count() == 1


def test_the_csv_export_downloads_what_the_list_shows(staff: Staff, tmp_path: Path) -> None:
    with staff.tab.expect_download() as download:
        staff.tab.get_by_role("button", name="Export CSV").click()
    assert download.value.suggested_filename.startswith("consultation-requests-")
    saved = tmp_path / "export.csv"
    download.value.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert rows[0][:3] == ["Reference", "Created (UTC)", "Name"]
    assert [row[0] for row in rows[1:]] == [MARIA, HOSTILE_REFERENCE, TOM, AIKO]
    maria = rows[1]
    assert maria[2:5] == ["Maria López", "maria.lopez@example.com", "'+442079460001"]
    assert maria[7:9] == ["consultation", "contacted"] and maria[10] == "Called back; she prefers Tuesday mornings."
    assert rows[2][2] == HOSTILE_NAME  # a CSV is data, not a page: the name as stored
    assert rows[0][7] == "Kind" and [row[7] for row in rows[1:]] == [
        "consultation",
        "consultation",
        "callback",
        "consultation",
    ]


def test_deleting_one_persons_request_and_conversation(staff: Staff, page_server: Page) -> None:
    assert events_of(page_server.tracker_engine, "web-tom") > 0
    staff.open(f"/requests/{TOM}")
    assert staff.tab.locator("dd.kind").inner_text() == "call back"
    staff.tab.get_by_role("button", name="Delete request and conversation").click()
    staff.tab.locator("p.error").wait_for()
    assert "Tick the box to confirm the deletion; nothing was deleted." in staff.tab.locator("p.error").inner_text()

    staff.tab.get_by_label(f"I want to delete all data of {TOM}").check()
    staff.tab.get_by_role("button", name="Delete request and conversation").click()
    staff.tab.locator("p.notice").wait_for()
    assert staff.tab.locator("p.notice").inner_text() == f"All data of request {TOM} and its conversation was deleted."
    assert TOM not in staff.references() and "Tom Byrne" not in staff.tab.content()
    assert events_of(page_server.tracker_engine, "web-tom") == 0
    assert events_of(page_server.tracker_engine, "web-aiko") > 0
    staff.open(f"/requests/{TOM}")
    assert staff.tab.get_by_role("heading", name="Not found").is_visible()


def test_a_hostile_name_and_message_are_shown_as_text_and_never_run(staff: Staff) -> None:
    row = staff.tab.locator("tr", has_text=HOSTILE_REFERENCE)
    assert row.locator("td.name").inner_text() == HOSTILE_NAME
    staff.tab.get_by_role("link", name=HOSTILE_REFERENCE).click()
    staff.tab.get_by_role("heading", name=f"Request {HOSTILE_REFERENCE}").wait_for()
    assert staff.tab.locator("dd.name").inner_text() == HOSTILE_NAME
    assert staff.tab.locator(".line.patient .text").inner_text() == HOSTILE_MESSAGE
    staff.tab.get_by_label("Note (optional)").fill("</textarea><script>window.pwned = 3</script>")
    staff.tab.get_by_role("button", name="Save status").click()
    staff.tab.locator("p.notice").wait_for()
    assert staff.tab.locator("ol.history .note").inner_text() == "</textarea><script>window.pwned = 3</script>"
    assert staff.tab.locator("main img, main script").count() == 0
    assert staff.tab.evaluate("typeof window.pwned") == "undefined"
    assert staff.dialogs == []


def test_the_audit_log_shows_every_action(staff: Staff) -> None:
    staff.open("/audit")
    actions = staff.tab.locator("table.audit tbody tr td:nth-child(3)").all_inner_texts()
    for action in (
        "login_failed",
        "login",
        "view_list",
        "view_request",
        "status_change",
        "view_conversation",
        "export_csv",
        "delete_person",
        "view_audit",
    ):
        assert action in actions, action
    deletion = staff.tab.locator("tr", has_text="delete_person")
    assert TOM in deletion.inner_text() and "1 request(s), 1 conversation(s)" in deletion.inner_text()
    assert "Tom Byrne" not in staff.tab.content() and "Maria" not in staff.tab.content()
    staff.tab.screenshot(path=str(DOCS / "staff-audit.png"))
