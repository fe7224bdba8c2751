"""The website channel (bot/rasa_overrides/socketio_channel.py) with a REAL python-socketio client against the REAL
Rasa server: persistent sessions across reconnects (Rasa 3.6 loses every reply there), origin
checks, bad input answered, and the demo page the channel serves. The first tests need no server."""

from __future__ import annotations

import asyncio
import html
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path
from typing import Iterator, Tuple

import pytest
import yaml

from bot import settings
from bot.channels import demo_page, reply_guard
from bot.channels.reply_guard import MAX_MESSAGE_CHARS, problem_reply
from bot.knowledge.schema import load_knowledge
from bot.rasa_overrides.socketio_channel import OriginPolicy, valid_session_id
from bot.security.allowed_origins import WebSettings

pytest.register_assert_rewrite("tests.web_fixtures")
from tests.web_fixtures import OTHER_ORIGIN, Site, SocketUser  # noqa: E402

pytest_plugins = ("tests.web_fixtures",)

EMBED_SNIPPET = '<script src="https://your-poreguide-host/chat/widget.js" defer></script>'


# --------------------------------------------------------------------------- no server needed


def test_session_ids_are_accepted_only_when_they_look_like_one() -> None:
    assert valid_session_id("0123456789abcdef0123456789abcdef") == "0123456789abcdef0123456789abcdef"
    for bad in (None, 42, "", "short", "../../etc/passwd-0123456789", "x" * 129, "a b" * 10):
        assert valid_session_id(bad) is None, bad


def test_origin_policy_allows_own_and_configured_origins_only() -> None:
    policy = OriginPolicy(WebSettings.from_env({"POREGUIDE_ALLOWED_ORIGINS": "https://a.example/, https://b.example"}))
    own = {"HTTP_HOST": "bot.example:5005", "wsgi.url_scheme": "http"}
    proxied = {
        "HTTP_HOST": "127.0.0.1:5005",
        "wsgi.url_scheme": "https",
        "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_X_FORWARDED_HOST": "chat.clinic.example",
    }
    assert policy("http://bot.example:5005", own)
    assert policy("https://a.example", own) and policy("https://b.example", own)
    assert policy("https://chat.clinic.example", proxied)
    assert not policy("https://evil.example", own)
    assert not policy("http://bot.example:5006", own)
    assert not OriginPolicy(WebSettings.from_env({}))("https://a.example", own)
    assert policy(None, own)  # no Origin header: not a browser, so no page to protect against


@pytest.fixture
def clinic_with_markup(tmp_path: Path) -> Iterator[Tuple[str, str]]:
    """The knowledge file with HTML in the clinic's name and a `javascript:` booking link."""
    knowledge = yaml.safe_load(settings.DEFAULT_KNOWLEDGE_FILE.read_text(encoding="utf-8"))
    name = 'Skin & Co <script>alert("x")</script>'
    knowledge["clinic"]["name"] = name
    knowledge["clinic"]["booking_url"] = "javascript:alert(1)"
    path = tmp_path / "treatments.yml"
    path.write_text(yaml.safe_dump(knowledge, allow_unicode=True), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("POREGUIDE_KNOWLEDGE", str(path))
        reply_guard.clinic_contact.cache_clear()
        demo_page.page_html.cache_clear()
        yield name, demo_page.page_html()
    reply_guard.clinic_contact.cache_clear()
    demo_page.page_html.cache_clear()


def test_demo_page_escapes_the_clinic_details(clinic_with_markup: Tuple[str, str]) -> None:
    name, page = clinic_with_markup
    assert html.escape(name) in page
    assert "<script>alert" not in page and "javascript:" not in page


# --------------------------------------------------------------------------- the real server


@pytest.mark.slow
def test_conversation_continues_on_the_same_session_after_reconnecting(web_bot_url: str) -> None:
    async def scenario() -> None:
        async with SocketUser(web_bot_url) as visitor:
            session_id = await visitor.start_session()
            answer = await visitor.say("what is microneedling?", expect="Microneedling")
            assert "needles" in answer.lower()
        async with SocketUser(web_bot_url) as visitor:  # the page was reloaded: a new socket
            assert await visitor.start_session(session_id) == session_id
            answer = await visitor.say("how long is the recovery?", expect="recovery")
            assert "microneedling" in answer.lower(), answer

    asyncio.run(scenario())


@pytest.mark.slow
def test_every_socket_of_a_session_gets_its_replies(web_bot_url: str) -> None:
    """Two tabs on one session: both see the answer (they share the session's room)."""

    async def scenario() -> None:
        async with SocketUser(web_bot_url) as first, SocketUser(web_bot_url) as second:
            session_id = await first.start_session()
            await second.start_session(session_id)
            await first.say("/ask_clinic_contact", expect="Phone")
            await second.wait_for(
                lambda: any("Phone" in str(r.get("text")) for r in second.received), "the reply in the second tab"
            )

    asyncio.run(scenario())


@pytest.mark.slow
def test_a_message_before_session_request_is_answered(web_bot_url: str) -> None:
    async def scenario() -> None:
        async with SocketUser(web_bot_url) as visitor:
            session_id = "f" * 32
            await visitor.say("what is microneedling?", expect="Microneedling", session_id=session_id)
            assert visitor.confirmed == [session_id]
        async with SocketUser(web_bot_url) as visitor:  # no session id at all: a fresh one
            await visitor.say("what is microneedling?", expect="Microneedling")
            assert valid_session_id(visitor.confirmed[-1])

    asyncio.run(scenario())


@pytest.mark.slow
def test_invalid_session_id_gets_a_fresh_one(web_bot_url: str) -> None:
    async def scenario() -> None:
        async with SocketUser(web_bot_url) as visitor:
            confirmed = await visitor.start_session("not a session id!")
            assert confirmed != "not a session id!" and valid_session_id(confirmed)
            await visitor.say("what is microneedling?", expect="Microneedling")

    asyncio.run(scenario())


@pytest.mark.slow
@pytest.mark.parametrize(
    "message, reply_key",
    [
        ("", "empty_message"),
        ("   ", "empty_message"),
        (12345, "unsupported_content"),
        ({"text": "hi"}, "unsupported_content"),
        ("x" * (MAX_MESSAGE_CHARS + 1), "message_too_long"),
    ],
)
def test_bad_input_gets_a_clear_reply(web_bot_url: str, message: object, reply_key: str) -> None:
    expected = problem_reply(reply_key, length=f"{MAX_MESSAGE_CHARS + 1:,}", limit=f"{MAX_MESSAGE_CHARS:,}")

    async def scenario() -> None:
        async with SocketUser(web_bot_url) as visitor:
            await visitor.start_session()
            assert expected in await visitor.say(message, expect=expected[:40])

    asyncio.run(scenario())


@pytest.mark.slow
def test_a_message_that_is_not_an_object_is_still_answered(web_bot_url: str) -> None:
    async def scenario() -> None:
        async with SocketUser(web_bot_url) as visitor:
            await visitor.start_session()
            await visitor.client.emit("user_uttered", None)
            expected = problem_reply("unsupported_content")
            await visitor.wait_for(lambda: any(r.get("text") == expected for r in visitor.received), expected)

    asyncio.run(scenario())


@pytest.mark.slow
def test_a_socket_from_another_origin_is_refused(web_bot_url: str) -> None:
    async def scenario() -> None:
        visitor = SocketUser(web_bot_url, origin=OTHER_ORIGIN)
        await visitor.connect(wait=False)
        await visitor.wait_for(lambda: bool(visitor.refusals), "refusal (connect_error)")
        assert not visitor.client.namespaces, "the socket.io connection was accepted"
        await visitor.close()

    asyncio.run(scenario())


@pytest.mark.slow
@pytest.mark.parametrize("origin", ["allowed", "own"])
def test_sockets_from_allowed_origins_talk_to_the_bot(web_bot_url: str, partner_site: Site, origin: str) -> None:
    async def scenario() -> None:
        async with SocketUser(
            web_bot_url, origin=partner_site.origin if origin == "allowed" else web_bot_url
        ) as visitor:
            await visitor.start_session()
            await visitor.say("what is microneedling?", expect="Microneedling")

    asyncio.run(scenario())


def fetch(url: str) -> Tuple[int, str, Message]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode("utf-8"), response.headers
    except urllib.error.HTTPError as error:
        return error.code, "", error.headers


@pytest.mark.slow
def test_the_server_serves_the_demo_page_and_widget_files(web_bot_url: str) -> None:
    status, page, headers = fetch(f"{web_bot_url}/chat")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    clinic = load_knowledge(settings.knowledge_file()).clinic
    for value in (clinic.name, clinic.phone, clinic.email, clinic.hours):
        assert html.escape(value) in page, value
    assert html.escape(EMBED_SNIPPET, quote=False) in page
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    for name, kind in (("widget.js", "javascript"), ("widget.css", "css"), ("socket.io.min.js", "javascript")):
        status, body, headers = fetch(f"{web_bot_url}/chat/{name}")
        assert status == 200 and kind in headers["Content-Type"] and body, name
    for name in ("nothing.js", "..%2F..%2Fcredentials.yml", "chat.html"):
        assert fetch(f"{web_bot_url}/chat/{name}")[0] == 404, name
