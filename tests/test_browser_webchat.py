"""rasa-webchat 1.0.1 (the widget many Rasa sites already use; from web/node_modules, socket.io
client 3) in a REAL browser against our website channel on the REAL Rasa server: its
session_request/session_confirm handshake, its init payload and a typed question get answers."""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest

from bot import settings

pytest.register_assert_rewrite("tests.web_fixtures")
from tests.web_fixtures import REPLY_TIMEOUT, Site  # noqa: E402

pytest_plugins = ("tests.web_fixtures",)
pytestmark = pytest.mark.slow

WEBCHAT_BUNDLE = settings.PROJECT_ROOT / "web" / "node_modules" / "rasa-webchat" / "lib" / "index.js"
WAIT_MS = REPLY_TIMEOUT * 1000


def webchat_page(server_url: str) -> str:
    """A partner site using rasa-webchat the way its README shows, pointed at our server."""
    options = {
        "socketUrl": server_url,
        "socketPath": "/socket.io/",
        "initPayload": "/greet",
        "title": "PoreGuide",
        "embedded": True,
        "params": {"storage": "session"},
    }
    return (
        "<!DOCTYPE html><html><head><title>rasa-webchat</title></head><body><div id='webchat'></div>"
        "<script src='/rasa-webchat.js'></script>"
        f"<script>WebChat.default({json.dumps(options)}, document.getElementById('webchat'));</script>"
        "</body></html>"
    )


@pytest.fixture
def page(browser: Any, web_bot_url: str, partner_site: Site) -> Iterator[Any]:
    """The partner site's page with rasa-webchat, in a fresh browser context."""
    if not WEBCHAT_BUNDLE.exists():
        pytest.fail(f"{WEBCHAT_BUNDLE} missing: run `cd web && npm ci`", pytrace=False)
    partner_site.serve("/rasa-webchat.js", "application/javascript", WEBCHAT_BUNDLE.read_bytes())
    url = partner_site.serve("/webchat.html", "text/html", webchat_page(web_bot_url))
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    yield page
    context.close()
    assert not errors, errors


def test_rasa_webchat_talks_to_our_channel(page: Any) -> None:
    responses = page.locator(".rw-response")
    responses.filter(has_text="PoreGuide").first.wait_for(timeout=WAIT_MS)  # the init payload's greeting
    assert page.locator(".rw-reply").count() > 0  # its quick replies
    session_id = page.evaluate("JSON.parse(sessionStorage.getItem('chat_session') || '{}').session_id || null")
    page.locator(".rw-new-message").fill("what is microneedling?")
    page.locator(".rw-new-message").press("Enter")
    responses.filter(has_text="needles").first.wait_for(timeout=WAIT_MS)
    assert page.locator(".rw-client").filter(has_text="what is microneedling?").count() == 1
    assert session_id, "rasa-webchat stored no session id from session_confirm"
