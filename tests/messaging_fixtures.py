"""One REAL Rasa server (and action server) with the Telegram and Slack channels switched on and
pointed at fake Telegram/Slack APIs on 127.0.0.1, shared by test_channel_telegram.py and
test_channel_slack.py. Test modules import `messaging` from here; pytest then makes one fixture
per importing module, so the servers themselves are kept here and started only once."""

from __future__ import annotations

import contextlib
import logging
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Sequence, Tuple

import pytest
from sanic import Blueprint

from tests.e2e import SharedServers, start_servers
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegramApi

CHANNELS = [
    "bot.rasa_overrides.rest_channel.GuardedRestInput",
    "bot.channels.telegram.TelegramInput",
    "bot.channels.slack.SlackInput",
]
TELEGRAM_WEBHOOK_URL = "https://poreguide.example.org/webhooks/telegram/webhook"
SET_WEBHOOK_FAILURES = 2  # the first two setWebhook calls fail: the channel must retry
HTTP_TIMEOUT = 30.0


@dataclass(frozen=True)
class Messaging:
    bot_url: str
    telegram: FakeTelegramApi
    slack: FakeSlackApi
    telegram_secret: str
    slack_signing_secret: str

    @property
    def telegram_webhook(self) -> str:
        return f"{self.bot_url}/webhooks/telegram/webhook"

    @property
    def slack_webhook(self) -> str:
        return f"{self.bot_url}/webhooks/slack/webhook"


_servers: SharedServers[Messaging] = SharedServers("messaging")
_stack = _servers.stack


def credentials_file(directory: Path) -> Path:
    path = directory / "credentials.yml"
    path.write_text("".join(f"{channel}:\n" for channel in CHANNELS), encoding="utf-8")
    return path


def _start(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Messaging:
    telegram = _stack.enter_context(FakeTelegramApi(f"123456:{secrets.token_hex(8)}", SET_WEBHOOK_FAILURES))
    slack = _stack.enter_context(FakeSlackApi(f"xoxb-{secrets.token_hex(8)}"))
    telegram_secret, slack_secret = secrets.token_hex(16), secrets.token_hex(16)
    env = {
        "TELEGRAM_TOKEN": telegram.token,
        "TELEGRAM_WEBHOOK_URL": TELEGRAM_WEBHOOK_URL,
        "TELEGRAM_SECRET_TOKEN": telegram_secret,
        "TELEGRAM_API_BASE_URL": telegram.base_url,
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": slack_secret,
        "SLACK_API_BASE_URL": slack.base_url,
    }
    servers = contextlib.contextmanager(start_servers)(
        tmp_path_factory, database_url, credentials=credentials_file(tmp_path_factory.mktemp("messaging")), rasa_env=env
    )
    bot_url = _stack.enter_context(servers)
    return Messaging(bot_url, telegram, slack, telegram_secret, slack_secret)


@pytest.fixture(scope="session")
def messaging(tmp_path_factory: pytest.TempPathFactory, e2e_database_url: str) -> Iterator[Messaging]:
    """The shared servers, started by whichever messaging test runs first, stopped after the last."""
    yield from _servers.use(lambda: _start(tmp_path_factory, e2e_database_url))


def post(url: str, body: bytes, headers: Optional[Dict[str, str]] = None) -> Tuple[int, str]:
    """POST `body` to the bot; (HTTP status, response text), error statuses included."""
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")


def assert_switched_off(
    channel_class: Any,
    variables: Sequence[str],
    label: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With `variables` unset, the channel registers no route and says so in one log line."""
    for name in variables:
        monkeypatch.delenv(name, raising=False)
    with caplog.at_level(logging.INFO):
        blueprint = channel_class.from_credentials(None).blueprint(lambda message: None)
    assert isinstance(blueprint, Blueprint) and not blueprint._future_routes
    lines = [record.getMessage() for record in caplog.records if f"{label} channel off" in record.getMessage()]
    assert len(lines) == 1 and all(name in lines[0] for name in variables), lines
