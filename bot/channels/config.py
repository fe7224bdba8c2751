"""Channel settings from environment variables: the single place that names them.

Telegram and Slack are optional: when their variables are missing the channel is switched off
(one log line, never a crash). `python -m bot.launcher serve` reports the same status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Mapping, Optional, Tuple, Type, TypeVar

from bot.settings import environment

TELEGRAM_API_DEFAULT = "https://api.telegram.org"
SLACK_API_DEFAULT = "https://slack.com/api"
C = TypeVar("C", bound="_OptionalChannel")


def _missing(env: Mapping[str, str], names: Tuple[str, ...]) -> List[str]:
    return [name for name in names if not env.get(name, "").strip()]


class _OptionalChannel:
    """A channel that is on only when all its REQUIRED variables are set."""

    REQUIRED: Tuple[str, ...] = ()

    @classmethod
    def missing(cls, env: Optional[Mapping[str, str]] = None) -> List[str]:
        return _missing(environment(env), cls.REQUIRED)

    @classmethod
    def from_env(cls: Type[C], env: Optional[Mapping[str, str]] = None) -> Optional[C]:
        """The settings, or None when any required variable is unset (channel off)."""
        env = environment(env)
        if cls.missing(env):
            return None
        return cls._from_complete_env(env)

    @classmethod
    def _from_complete_env(cls: Type[C], env: Mapping[str, str]) -> C:
        raise NotImplementedError


def _base_url(env: Mapping[str, str], name: str, default: str) -> str:
    return env.get(name, "").strip().rstrip("/") or default


@dataclass(frozen=True)
class TelegramSettings(_OptionalChannel):
    token: str
    webhook_url: str  # public https URL of /webhooks/telegram/webhook
    secret_token: str  # Telegram echoes it in X-Telegram-Bot-Api-Secret-Token
    api_base_url: str = TELEGRAM_API_DEFAULT

    REQUIRED = ("TELEGRAM_TOKEN", "TELEGRAM_WEBHOOK_URL", "TELEGRAM_SECRET_TOKEN")

    @classmethod
    def _from_complete_env(cls, env: Mapping[str, str]) -> "TelegramSettings":
        return cls(
            token=env["TELEGRAM_TOKEN"].strip(),
            webhook_url=env["TELEGRAM_WEBHOOK_URL"].strip(),
            secret_token=env["TELEGRAM_SECRET_TOKEN"].strip(),
            api_base_url=_base_url(env, "TELEGRAM_API_BASE_URL", TELEGRAM_API_DEFAULT),
        )


@dataclass(frozen=True)
class SlackSettings(_OptionalChannel):
    bot_token: str  # xoxb-...
    signing_secret: str
    api_base_url: str = SLACK_API_DEFAULT

    REQUIRED = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")

    @classmethod
    def _from_complete_env(cls, env: Mapping[str, str]) -> "SlackSettings":
        return cls(
            bot_token=env["SLACK_BOT_TOKEN"].strip(),
            signing_secret=env["SLACK_SIGNING_SECRET"].strip(),
            api_base_url=_base_url(env, "SLACK_API_BASE_URL", SLACK_API_DEFAULT),
        )
