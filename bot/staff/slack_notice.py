"""Posts a notice to the staff's Slack channel (chat.postMessage with the Slack app's bot token).

urllib rather than the Slack channel's aiohttp client: this runs in the staff worker's thread,
outside any event loop, and the action server's venv needs no HTTP library for it. Slack answers
HTTP 200 with {"ok": false, "error": ...} for most failures: errors that concern the app or the
channel (token, channel, rate limit) are `ChannelDown`, the rest concern this one message."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, Dict

from bot.notices.config import SlackNoticeSettings
from bot.staff.delivery_errors import ChannelDown, DeliveryFailed
from bot.staff.messages import NoticeText

TIMEOUT_SECONDS = 10.0
# Slack's errors that say nothing can be posted until the app, token or channel is fixed.
CHANNEL_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "ratelimited",
        "team_access_not_granted",
        "service_unavailable",
        "fatal_error",
        "internal_error",
        "request_timeout",
    }
)


class SlackNotifier:
    channel = "slack"

    def __init__(self, settings: SlackNoticeSettings) -> None:
        self.settings = settings

    def deliver(self, text: NoticeText) -> None:
        """Post one notice; raises ChannelDown or DeliveryFailed."""
        body = json.dumps(
            {"channel": self.settings.channel, "text": text.slack_text, "unfurl_links": False, "unfurl_media": False}
        ).encode("utf-8")
        request = urllib.request.Request(
            f"{self.settings.api_base_url}/chat.postMessage",
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Authorization": f"Bearer {self.settings.token}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                answer = _json(response.read())
        except urllib.error.HTTPError as error:
            if error.code == 429 or error.code >= 500:
                raise ChannelDown(f"Slack HTTP {error.code}") from None
            raise DeliveryFailed(f"Slack HTTP {error.code}") from None
        except (urllib.error.URLError, OSError) as error:
            raise ChannelDown(f"Slack unreachable ({type(getattr(error, 'reason', error)).__name__})") from None
        if answer.get("ok") is not True:
            problem = str(answer.get("error") or "no ok in the answer")[:60]
            raise (ChannelDown if problem in CHANNEL_ERRORS else DeliveryFailed)(f"Slack {problem}")


def _json(raw: bytes) -> Dict[str, Any]:
    try:
        answer = json.loads(raw.decode("utf-8"))
    except ValueError:
        raise ChannelDown("Slack answered with something that is not JSON") from None
    return answer if isinstance(answer, dict) else {}
