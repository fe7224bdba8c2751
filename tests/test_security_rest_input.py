"""Bad and hostile input over the REAL REST channel: each gets one clear text reply in the usual
JSON list, and nothing in the database changes."""

from __future__ import annotations

import json
import uuid
from typing import Dict, List

import pytest
from sqlalchemy import MetaData, create_engine, select

from bot.channels.reply_guard import channel_messages
from tests.e2e import Conversation
from tests.security_fixtures import INJECTIONS, post_raw

pytestmark = pytest.mark.slow


def _snapshot(database_url: str) -> Dict[str, List[tuple]]:
    """Every row of every table (knowledge and consultations), to compare before and after."""
    engine = create_engine(database_url, future=True)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            return {
                name: sorted(map(tuple, connection.execute(select(table))), key=repr)
                for name, table in metadata.tables.items()
            }
    finally:
        engine.dispose()


def _first_sentence(key: str) -> str:
    """The fixed opening of channel message `key` (up to its first full stop or placeholder)."""
    return channel_messages()[key].split(".")[0].split("{")[0]


def _body(message: object) -> bytes:
    return json.dumps({"sender": f"bad-input-{uuid.uuid4().hex}", "message": message}).encode("utf-8")


BAD_BODIES = {
    "number": (_body(42), "unsupported_content"),
    "object": (_body({"text": "hi"}), "unsupported_content"),
    "list": (_body(["hi"]), "unsupported_content"),
    "null": (_body(None), "unsupported_content"),
    "missing": (json.dumps({"sender": "bad-input-missing"}).encode(), "unsupported_content"),
    "empty": (_body(""), "empty_message"),
    "whitespace": (_body(" \n\t "), "empty_message"),
    "too long": (_body("pores " * 400), "message_too_long"),
    "malformed JSON": (b'{"sender": "x", "message": "hi"', "unreadable_message"),
    "not an object": (b'["hi"]', "unreadable_message"),
    "invalid UTF-8": (b'{"sender": "x", "message": "\xff\xfe caf\xe9"}', "unreadable_message"),
    "empty body": (b"", "unreadable_message"),
}


@pytest.fixture(scope="module")
def untouched_database(e2e_database_url):
    """Asserts, after the module's tests, that no row of any table changed."""
    before = _snapshot(e2e_database_url)
    yield
    assert _snapshot(e2e_database_url) == before


@pytest.mark.parametrize("case", list(BAD_BODIES), ids=list(BAD_BODIES))
def test_unusable_input_gets_one_clear_reply(bot_url, untouched_database, case):
    body, reply_key = BAD_BODIES[case]
    status, replies = post_raw(bot_url, body)
    assert status == 200
    assert isinstance(replies, list) and len(replies) == 1, replies
    assert _first_sentence(reply_key) in replies[0]["text"]


def test_exactly_the_limit_is_accepted(bot_url, untouched_database):
    message = ("what is microneedling? " * 100)[:2000]
    status, replies = post_raw(bot_url, _body(message))
    assert status == 200 and replies
    assert not any(_first_sentence("message_too_long") in reply.get("text", "") for reply in replies)


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_strings_get_an_ordinary_reply(bot_url, untouched_database, text):
    reply, _ = Conversation(bot_url).say(text)
    assert reply.strip()
    assert _first_sentence("technical_problem") not in reply  # handled, not crashed
    assert "49" not in reply and "<script" not in reply.lower() and "jndi" not in reply.lower()
