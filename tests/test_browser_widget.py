"""The chat widget in a REAL browser (Debian Chromium via Playwright) against the REAL Rasa server:
the demo page at /chat, a conversation with quick replies, history and session kept over a
reload, text-only rendering of hostile input, keyboard use, a phone-sized screen, and the
one-script-tag embed on another website (allowed and refused origins)."""

from __future__ import annotations

from typing import Any, Iterator, List

import pytest

pytest.register_assert_rewrite("tests.web_fixtures")
from tests.web_fixtures import REPLY_TIMEOUT, Site, artifact  # noqa: E402

pytest_plugins = ("tests.web_fixtures",)
pytestmark = pytest.mark.slow

WAIT_MS = REPLY_TIMEOUT * 1000
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
HOSTILE = "<img src=x onerror=alert(1)>"


class Visitor:
    """One browser tab on a page with the widget, recording dialogs and script errors."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.dialogs: List[str] = []
        self.errors: List[str] = []
        self.websockets: List[str] = []
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("websocket", lambda socket: self.websockets.append(socket.url))
        self.widget = page.locator("#poreguide-widget")
        self.launcher = self.widget.locator(".pg-launcher")
        self.input = self.widget.locator(".pg-input")
        self.bot = self.widget.locator(".pg-bot .pg-text")  # the message without its screen-reader prefix
        self.user = self.widget.locator(".pg-user .pg-text")

    def open(self) -> None:
        self.launcher.click()
        self.input.wait_for(state="visible")

    def ask(self, text: str) -> None:
        self.input.fill(text)
        self.input.press("Enter")

    def bot_message_containing(self, text: str) -> Any:
        message = self.bot.filter(has_text=text).last
        message.wait_for(timeout=WAIT_MS)
        return message

    def bot_texts(self) -> str:
        return "\n".join(self.bot.all_inner_texts())


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=DESKTOP)
    yield context
    context.close()


@pytest.fixture
def visitor(context: Any, web_bot_url: str) -> Visitor:
    visitor = Visitor(context.new_page())
    visitor.page.goto(f"{web_bot_url}/chat")
    return visitor


def test_conversation_with_quick_replies_survives_a_reload(visitor: Visitor) -> None:
    visitor.open()
    visitor.bot_message_containing("PoreGuide")  # the greeting, with its quick replies
    visitor.ask("what is microneedling?")
    visitor.bot_message_containing("needles")
    assert visitor.user.last.inner_text() == "what is microneedling?"

    visitor.widget.locator(".pg-quick-button", has_text="Recovery").click()  # quick reply of that answer
    visitor.bot_message_containing("Microneedling – recovery")
    assert visitor.user.last.inner_text() == "Recovery"  # the title is shown, not the payload
    assert visitor.widget.locator(".pg-quick-button", has_text="Recovery").count() == 0
    visitor.page.screenshot(path=artifact("widget-desktop.png"))

    before = visitor.bot.count() + visitor.user.count()
    session_id = visitor.page.evaluate("localStorage.getItem('poreguide.session')")
    visitor.page.reload()
    visitor.input.wait_for(state="visible")  # it was open: it opens again
    assert visitor.bot.count() + visitor.user.count() == before
    assert "Microneedling – recovery" in visitor.bot_texts()
    assert visitor.page.evaluate("localStorage.getItem('poreguide.session')") == session_id
    visitor.ask("what are the side effects?")  # "it" is still microneedling: same Rasa conversation
    visitor.bot_message_containing("Microneedling – side effects")
    assert not visitor.errors and not visitor.dialogs  # no script error, no CSP violation
    assert any("/socket.io/" in url and "transport=websocket" in url for url in visitor.websockets)


def test_start_a_new_conversation(visitor: Visitor) -> None:
    visitor.open()
    visitor.bot_message_containing("PoreGuide")
    visitor.ask("what is microneedling?")
    visitor.bot_message_containing("needles")
    session_id = visitor.page.evaluate("localStorage.getItem('poreguide.session')")
    visitor.widget.get_by_role("button", name="Start a new conversation").click()
    visitor.bot_message_containing("PoreGuide")  # greeted again
    assert visitor.user.count() == 0 and visitor.bot.count() == 1
    assert visitor.page.evaluate("localStorage.getItem('poreguide.session')") not in (None, session_id)
    visitor.ask("how long is the recovery?")  # a new Rasa conversation: no treatment remembered
    visitor.bot.nth(1).wait_for(timeout=WAIT_MS)
    assert "microneedling" not in visitor.bot.nth(1).inner_text().lower()


def test_recommendation_buttons_send_their_payload(visitor: Visitor) -> None:
    visitor.open()
    visitor.bot_message_containing("PoreGuide")
    visitor.ask("which treatment suits me?")
    visitor.bot_message_containing("skin type")
    replies = visitor.bot.count()
    visitor.widget.locator(".pg-quick-button", has_text="Oily").click()
    assert visitor.user.last.inner_text() == "Oily"
    visitor.bot.nth(replies).wait_for(timeout=WAIT_MS)  # the form's next question: the payload was understood
    assert "skin type" not in visitor.bot.nth(replies).inner_text().lower()
    assert visitor.widget.locator(".pg-quick-button").count() > 0  # with its own answer buttons


def test_html_in_a_message_is_shown_as_text_and_never_runs(visitor: Visitor) -> None:
    visitor.open()
    visitor.bot_message_containing("PoreGuide")
    replies = visitor.bot.count()
    visitor.ask(HOSTILE)
    visitor.bot.nth(replies).wait_for(timeout=WAIT_MS)  # the bot answered it
    assert visitor.user.last.inner_text() == HOSTILE
    visitor.page.reload()  # the stored history is rendered as text too
    visitor.user.last.wait_for()
    assert visitor.user.last.inner_text() == HOSTILE
    assert visitor.widget.locator("img").count() == 0
    assert visitor.dialogs == [] and visitor.errors == []


def test_keyboard_only(visitor: Visitor) -> None:
    page = visitor.page
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('pg-launcher')"):
            break
    else:
        pytest.fail("Tab never reached the chat launcher")
    assert visitor.launcher.get_attribute("aria-label").startswith("Open chat")
    page.keyboard.press("Enter")
    visitor.input.wait_for(state="visible")
    assert page.evaluate("document.activeElement.classList.contains('pg-input')")
    page.keyboard.type("what is microneedling?")
    page.keyboard.press("Enter")
    visitor.bot_message_containing("needles")
    log = visitor.widget.locator("[aria-live]")
    assert log.get_attribute("aria-live") == "polite" and visitor.bot.last.is_visible()
    assert visitor.input.get_attribute("maxlength") == "2000"
    page.keyboard.press("Escape")
    assert visitor.input.is_hidden()
    assert page.evaluate("document.activeElement.classList.contains('pg-launcher')")


def test_phone_sized_screen(browser: Any, web_bot_url: str) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        visitor = Visitor(context.new_page())
        visitor.page.goto(f"{web_bot_url}/chat")
        visitor.open()
        visitor.bot_message_containing("PoreGuide")
        visitor.ask("what is microneedling?")
        visitor.bot_message_containing("needles")
        panel = visitor.widget.locator(".pg-panel").bounding_box()
        assert panel["width"] == PHONE["width"] and panel["height"] == PHONE["height"]  # full screen
        visitor.page.screenshot(path=artifact("widget-phone.png"))
    finally:
        context.close()


def embedding_page(server_url: str) -> str:
    """A clinic's own website that adds the widget with the one documented script tag."""
    return (
        "<!DOCTYPE html><html><head><title>Partner clinic</title></head><body><h1>Partner clinic</h1>"
        f'<script src="{server_url}/chat/widget.js" defer></script></body></html>'
    )


def open_embedding_site(context: Any, site: Site, server_url: str) -> Visitor:
    visitor = Visitor(context.new_page())
    visitor.page.goto(site.serve("/index.html", "text/html", embedding_page(server_url)))
    return visitor


def test_one_script_tag_embeds_the_widget_on_an_allowed_site(
    context: Any, web_bot_url: str, partner_site: Site
) -> None:
    visitor = open_embedding_site(context, partner_site, web_bot_url)
    visitor.open()
    visitor.bot_message_containing("PoreGuide")
    visitor.ask("what is microneedling?")
    visitor.bot_message_containing("needles")
    assert visitor.widget.evaluate("node => getComputedStyle(node).position") == "fixed"  # its CSS loaded


def test_a_site_that_is_not_allowed_gets_no_connection(context: Any, web_bot_url: str, other_site: Site) -> None:
    visitor = open_embedding_site(context, other_site, web_bot_url)
    visitor.open()
    status = visitor.widget.locator(".pg-status")
    status.filter(has_text="Can't reach the assistant").wait_for(timeout=WAIT_MS)
    assert visitor.bot.count() == 0
