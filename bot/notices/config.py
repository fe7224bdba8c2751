"""Staff notification and retention settings: the single place that names their environment
variables. Read when used, never at import, so tests and `make purge` can set them per run.

A missing channel setting switches that channel off (its notices wait in the outbox until it is
set); a malformed one raises StaffConfigError with a message that never repeats a password."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping, Optional, Tuple
from urllib.parse import unquote, urlsplit

from bot.channels.config import SLACK_API_DEFAULT
from bot.settings import environment

SMTP_URL_ENV = "SMTP_URL"
SMTP_FROM_ENV = "SMTP_FROM"
SMTP_CA_FILE_ENV = "SMTP_CA_FILE"
STAFF_EMAIL_ENV = "STAFF_EMAIL"
SLACK_STAFF_CHANNEL_ENV = "SLACK_STAFF_CHANNEL"
SLACK_BOT_TOKEN_ENV = "SLACK_BOT_TOKEN"  # the Slack channel's own bot token (bot.channels.config)
SLACK_API_BASE_URL_ENV = "SLACK_API_BASE_URL"
STAFF_PAGE_URL_ENV = "STAFF_PAGE_URL"
RETENTION_CONVERSATION_DAYS_ENV = "RETENTION_CONVERSATION_DAYS"
RETENTION_REQUEST_DAYS_ENV = "RETENTION_REQUEST_DAYS"
RETENTION_OUTBOX_DAYS_ENV = "RETENTION_OUTBOX_DAYS"
STAFF_WORKER_ENV = "POREGUIDE_STAFF_WORKER"

DEFAULT_CONVERSATION_DAYS = 90
DEFAULT_REQUEST_DAYS = 180
DEFAULT_OUTBOX_DAYS = 30  # sent notices; an unsent one is kept as long as a request
SMTP_TIMEOUT_SECONDS = 20.0
_OFF = ("0", "off", "false", "no")


class StaffConfigError(ValueError):
    """A staff setting is present but unusable; the message names the variable, not its secret."""


def _get(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip()


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how staff mail is sent. `smtp://` always upgrades with STARTTLS before logging
    in (a server without it is refused, so a password never crosses the network in clear);
    `smtps://` speaks TLS from the first byte (port 465)."""

    host: str
    port: int
    implicit_tls: bool
    sender: str
    recipients: Tuple[str, ...]
    username: str = ""
    password: str = field(default="", repr=False)
    ca_file: Optional[str] = None  # a private CA for the mail server's certificate
    timeout: float = SMTP_TIMEOUT_SECONDS

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> Optional["SmtpSettings"]:
        """The settings, or None while SMTP_URL or STAFF_EMAIL is unset (email off)."""
        env = environment(env)
        url, recipients = _get(env, SMTP_URL_ENV), _addresses(_get(env, STAFF_EMAIL_ENV))
        if not url or not recipients:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise StaffConfigError(f"{SMTP_URL_ENV} must start with smtp:// (STARTTLS) or smtps:// (TLS)")
        try:
            port = parts.port
        except ValueError:
            raise StaffConfigError(f"{SMTP_URL_ENV} has a port that is not a number") from None
        if not parts.hostname:
            raise StaffConfigError(f"{SMTP_URL_ENV} names no mail server")
        ca_file = _get(env, SMTP_CA_FILE_ENV) or None
        if ca_file is not None and not os.path.isfile(ca_file):
            raise StaffConfigError(f"{SMTP_CA_FILE_ENV} names no file")
        username = unquote(parts.username or "")
        sender = _get(env, SMTP_FROM_ENV) or (username if "@" in username else recipients[0])
        return cls(
            host=parts.hostname,
            port=port or (465 if parts.scheme == "smtps" else 587),
            implicit_tls=parts.scheme == "smtps",
            sender=sender,
            recipients=recipients,
            username=username,
            password=unquote(parts.password or ""),
            ca_file=ca_file,
        )


@dataclass(frozen=True)
class SlackNoticeSettings:
    """The staff channel and the Slack app's bot token (the same app as the Slack channel)."""

    channel: str
    token: str = field(repr=False)
    api_base_url: str = SLACK_API_DEFAULT

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> Optional["SlackNoticeSettings"]:
        """The settings, or None while SLACK_STAFF_CHANNEL or SLACK_BOT_TOKEN is unset (Slack off)."""
        env = environment(env)
        channel, token = _get(env, SLACK_STAFF_CHANNEL_ENV), _get(env, SLACK_BOT_TOKEN_ENV)
        if not channel or not token:
            return None
        return cls(
            channel=channel,
            token=token,
            api_base_url=_get(env, SLACK_API_BASE_URL_ENV).rstrip("/") or SLACK_API_DEFAULT,
        )


@dataclass(frozen=True)
class RetentionSettings:
    """How many days each kind of data is kept (see README "Privacy")."""

    conversation_days: int = DEFAULT_CONVERSATION_DAYS
    request_days: int = DEFAULT_REQUEST_DAYS
    outbox_days: int = DEFAULT_OUTBOX_DAYS

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "RetentionSettings":
        env = environment(env)
        return cls(
            conversation_days=_days(env, RETENTION_CONVERSATION_DAYS_ENV, DEFAULT_CONVERSATION_DAYS),
            request_days=_days(env, RETENTION_REQUEST_DAYS_ENV, DEFAULT_REQUEST_DAYS),
            outbox_days=_days(env, RETENTION_OUTBOX_DAYS_ENV, DEFAULT_OUTBOX_DAYS),
        )


def staff_page_url(env: Optional[Mapping[str, str]] = None) -> str:
    """STAFF_PAGE_URL without a trailing slash; empty when unset (notices then name the
    conversation's key instead of linking to it)."""
    return _get(environment(env), STAFF_PAGE_URL_ENV).rstrip("/")


def worker_enabled(env: Optional[Mapping[str, str]] = None) -> bool:
    """POREGUIDE_STAFF_WORKER=0 keeps this action server from sending notices and purging
    (e.g. all replicas but one; running it in several is safe, only redundant)."""
    return _get(environment(env), STAFF_WORKER_ENV).lower() not in _OFF


def _addresses(value: str) -> Tuple[str, ...]:
    addresses = tuple(part.strip() for part in value.split(",") if part.strip())
    for address in addresses:
        if "@" not in address or any(character.isspace() for character in address):
            raise StaffConfigError(f"{STAFF_EMAIL_ENV} holds something that is not an email address")
    return addresses


def _days(env: Mapping[str, str], name: str, default: int) -> int:
    value = _get(env, name)
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise StaffConfigError(f"{name} must be a whole number of days, at least 1 (got {value!r})")
    return int(value)
