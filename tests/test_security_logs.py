"""Personal data never reaches the logs: two consultation requests are booked over the REAL REST
channel, then both servers' logs are searched for the names, the email and the phone number."""

from __future__ import annotations

import re

import pytest

from tests.e2e import Conversation, assert_contains
from tests.security_fixtures import deployment

pytestmark = pytest.mark.slow

NAME, EMAIL_NAME = "Zebulon Quirkfeather", "Ottoline Vexworth"
EMAIL, PHONE = "o.vexworth@pii-probe.example", "+1 555 013 7799"
# Any trace of them, whatever formatting the logs use (the phone with or without separators).
TRACES = ["Quirkfeather", "Vexworth", "pii-probe", "o.vexworth", "0137799", "013 7799", "013-7799"]


def _book(base_url: str, name: str, contact: str) -> None:
    chat = Conversation(base_url)
    chat.say("i'd like to book a consultation")
    for message in (name, contact, "I'm interested in microneedling", "weekday mornings"):
        chat.say(message)
    reply, _ = chat.say("yes, I agree")
    assert_contains("booked", reply, ["Your reference is"])


def test_bookings_leave_no_personal_data_in_either_log(tmp_path, e2e_database_url):
    with deployment(tmp_path, e2e_database_url) as servers:
        _book(servers.base_url, NAME, PHONE)
        _book(servers.base_url, EMAIL_NAME, EMAIL)
        logs = {
            path.name: path.read_text(encoding="utf-8", errors="replace")
            for path in (servers.action_log, servers.rasa_log)
        }
    assert all(logs.values()), "a server wrote no log at all"
    found = {
        name: [trace for trace in TRACES if re.search(re.escape(trace), text, re.IGNORECASE)]
        for name, text in logs.items()
    }
    assert found == {name: [] for name in logs}
