"""Issue 13, finding 4: no message text or personal data in either server's log, whichever library
writes the line. Messages starting with "/" that do not parse as an intent (Rasa's "Failed to parse
arguments in line '...'" warning used to quote them whole), unreadable and refused payloads and two
bookings go through REST, the website socket, Telegram and Slack; then both logs are searched."""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import List

import pytest

from bot import settings
from bot.security import log_privacy
from tests.e2e import Conversation
from tests.persistence_fixtures import get_json, tracker_postgres_url  # noqa: F401 - HARDENING_TRACKER
from tests.test_hardening_channels import (  # noqa: F401 - `hardened` is the shared servers' fixture
    Hardened,
    deliver_slack,
    deliver_telegram,
    hardened,
    new_sender,
    rest,
    slack_event,
    slack_person,
    telegram_update,
)
from tooling.ports import free_ports

NAME, EMAIL, PHONE = "Ottoline Ashgrove", "o.ashgrove@pii-probe.example", "+1 555 013 4488"
SLASH_MESSAGES = [
    f"/my email is {EMAIL}",
    f"/greet my phone is {PHONE}",
    '/inform{"treatment": "microneedling", "person": "Ottoline Ashgrove"}',
    "/inform{not json at all, Ottoline Ashgrove",
    "/greet@0.9 trailing Quillsecret words",
    "/",
    "/@@@ Ashgrove",
]
# Any trace of them, whatever formatting the logs use (the phone with or without separators).
TRACES = [
    "Ashgrove",
    "pii-probe",
    "o.ashgrove",
    "0134488",
    "013 4488",
    "013-4488",
    "my email is",
    "my phone is",
    "Quillsecret",
    "not json at all",
]


def _found(text: str) -> List[str]:
    return [trace for trace in TRACES if re.search(re.escape(trace), text, re.IGNORECASE)]


def _book(base_url: str, name: str, contact: str) -> None:
    chat = Conversation(base_url)
    said = []
    for message in (
        "i'd like to book a consultation",
        name,
        contact,
        "I'm interested in microneedling",
        "weekday mornings",
        "yes, I agree",
    ):
        said.append(f"> {message}\n{chat.say(message)[0]}")
    assert "your reference is" in said[-1].lower(), "the booking was not confirmed:\n" + "\n".join(said)


@pytest.mark.slow
def test_slash_messages_bad_payloads_and_bookings_leave_no_text_in_either_log(hardened: Hardened) -> None:
    from tests.web_fixtures import SocketUser

    sender = new_sender()
    for message in SLASH_MESSAGES:
        status, replies = rest(hardened, {"sender": sender, "message": message})
        assert status == 200 and replies, (message, replies)
    # Refused or unreadable, each naming the person somewhere.
    rest(hardened, json.dumps({"sender": new_sender(), "message": f"\ud800 {EMAIL}"}).encode("ascii"))
    rest(hardened, {"sender": EMAIL, "message": f"hello, I am {NAME}"})
    rest(hardened, {"sender": new_sender(), "message": f"I am {NAME}", "metadata": {"who": [[[[[[[[[[NAME]]]]]]]]]]}})
    rest(hardened, {"sender": new_sender(), "message": f"{NAME} " * 500})
    rest(hardened, f'{{"sender": "{NAME}", "message": "{EMAIL}"'.encode())
    for message in SLASH_MESSAGES[:2]:
        deliver_telegram(hardened, telegram_update(int(uuid.uuid4().int % 10**9), message))
        who = slack_person()
        deliver_slack(hardened, slack_event(who["user"], who["channel"], message))
    deliver_telegram(hardened, telegram_update(EMAIL, NAME))
    deliver_slack(hardened, slack_event(EMAIL, NAME, NAME))

    async def website() -> None:
        async with SocketUser(hardened.base_url) as visitor:
            session_id = await visitor.start_session()
            for data in ({"message": f"/my email is {EMAIL}"}, {"message": NAME, "metadata": {"email": [EMAIL] * 900}}):
                start = len(visitor.received)
                await visitor.client.emit("user_uttered", {**data, "session_id": session_id})
                await visitor.wait_for(lambda start=start: len(visitor.received) > start, "a reply")

    asyncio.run(website())
    _book(hardened.base_url, NAME, PHONE)
    _book(hardened.base_url, "Zebulon Ashgrove", EMAIL)
    assert get_json(hardened.base_url + "/health")[0] == 200

    logs = {
        path.name: path.read_text(encoding="utf-8", errors="replace")
        for path in (hardened.servers.action_log, hardened.servers.rasa_log)
    }
    assert all(logs.values()), "a server wrote no log at all"
    found = {name: _found(text) for name, text in logs.items()}
    assert found == {name: [] for name in logs}, {
        name: [line for line in text.splitlines() if _found(line)][:10] for name, text in logs.items()
    }


# --------------------------------------------------------------------------- the filter itself


def test_the_filter_withholds_the_current_text_personal_data_and_secrets(caplog: pytest.LogCaptureFixture) -> None:
    log_privacy.install()
    log = logging.getLogger("some.library")
    with caplog.at_level(logging.INFO):
        with log_privacy.withheld("I am Quill, the tall one"):
            log.warning("could not handle %r", "I am Quill, the tall one")
            log.info(json.dumps({"event": "x", "user_text": "anything at all", "other": 1}))
        log.info("contact %s or %s", EMAIL, PHONE)
        log.error("GET /webhooks/rest/webhook?token=abc123SECRET&x=1 failed")
        log.info("listening on 127.0.0.1:5055, pid 4242, took 12.5 s")
        try:
            raise ValueError(f"bad value {EMAIL}")
        except ValueError:
            log.exception("failed")
        log.info("lone %s", "\ud800")
    text = caplog.text
    for secret in ("Quill", "tall one", "anything at all", "pii-probe", "013 4488", "abc123SECRET"):
        assert secret not in text, (secret, text)
    assert "127.0.0.1:5055, pid 4242, took 12.5 s" in text, text
    assert "[message text]" in text and "[email]" in text and "[number]" in text and "[secret]" in text


PROBE_SERVER = """
import logging, sys
from sanic import Sanic, response
from bot import action_server

app = Sanic("withhold_probe")


@app.post("/webhook")
async def webhook(request):
    text = request.json["tracker"]["latest_message"]["text"]
    logging.getLogger("some.library").warning("could not run the action for %s", text)
    return response.json({"events": []})


action_server.attach_sanic_app_extensions(app)
logging.basicConfig(stream=sys.stdout, level=logging.INFO, force=True)
app.run(host="127.0.0.1", port=int(sys.argv[1]), access_log=False)
"""


@pytest.mark.slow
def test_the_action_server_withholds_each_requests_texts_on_a_keep_alive_connection(tmp_path: Path) -> None:
    """The action server's hook (a Sanic signal) withholds the texts of the request being handled,
    the next request on the same connection included, whatever library writes the line."""
    (port,) = free_ports(1)
    script, output = tmp_path / "probe.py", tmp_path / "probe.log"
    script.write_text(PROBE_SERVER, encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key != "ACTION_SERVER_TOKEN"}
    with open(output, "wb") as sink:
        process = subprocess.Popen(
            [sys.executable, str(script), str(port)],
            cwd=settings.PROJECT_ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "Starting worker" not in output.read_text(errors="replace"):
            assert process.poll() is None, output.read_text(errors="replace")
            time.sleep(0.2)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for text in ("first I am Zephyrine Quolt", "then call me Barnaby Vexil"):
            body = json.dumps({"next_action": "x", "tracker": {"latest_message": {"text": text}, "slots": {}}})
            connection.request("POST", "/webhook", body=body, headers={"Content-Type": "application/json"})
            assert connection.getresponse().read() == b'{"events":[]}'
        connection.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
    log = output.read_text(encoding="utf-8", errors="replace")
    assert log.count("could not run the action for [message text]") == 2, log
    assert "Zephyrine" not in log and "Barnaby" not in log, log
