"""The bot's replies (text + Rasa buttons) in the shapes Telegram and Slack accept, within their
limits: Telegram texts ≤ 4096 characters and callback_data ≤ 64 bytes; Slack section texts
≤ 3000 characters and button labels ≤ 75. Nothing is dropped: long texts are split, and a
payload too long for Telegram travels as a short token that maps back to it."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any, Dict, List, Optional

TELEGRAM_TEXT_LIMIT = 4096
TELEGRAM_CALLBACK_DATA_BYTES = 64
SLACK_SECTION_TEXT_LIMIT = 3000
SLACK_BUTTON_TEXT_LIMIT = 75
SLACK_BUTTON_VALUE_LIMIT = 2000
TOKEN_PREFIX = "#"  # no Rasa payload starts with it; one that does is sent as a token too
PAYLOADS_KEPT = 5000

Button = Dict[str, Any]


def split_text(text: str, limit: int) -> List[str]:
    """`text` in pieces of at most `limit` characters, cut at a line break or space where possible."""
    pieces: List[str] = []
    while len(text) > limit:
        cut = max(text.rfind("\n", 0, limit), text.rfind(" ", 0, limit))
        cut = cut if cut > 0 else limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    pieces.append(text)
    return pieces


def button_title(button: Button) -> str:
    return str(button.get("title") or button.get("payload") or "")


def button_payload(button: Button) -> str:
    return str(button.get("payload") or button.get("title") or "")


def shorten(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


class CallbackPayloads:
    """Turns button payloads into Telegram callback_data and back. Payloads that fit are sent
    as they are; longer ones as `#` + a hash, remembered here (the most recent `capacity` ones)."""

    def __init__(self, capacity: int = PAYLOADS_KEPT) -> None:
        self.capacity = capacity
        self._by_token: "OrderedDict[str, str]" = OrderedDict()

    def encode(self, payload: str) -> str:
        if len(payload.encode("utf-8")) <= TELEGRAM_CALLBACK_DATA_BYTES and not payload.startswith(TOKEN_PREFIX):
            return payload
        token = TOKEN_PREFIX + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:40]
        self._by_token[token] = payload
        self._by_token.move_to_end(token)
        if len(self._by_token) > self.capacity:
            self._by_token.popitem(last=False)
        return token

    def decode(self, data: str) -> Optional[str]:
        """The payload behind `data`, or None for a token no longer (or never) known here."""
        if not data.startswith(TOKEN_PREFIX):
            return data
        return self._by_token.get(data)


def telegram_keyboard(buttons: List[Button], payloads: CallbackPayloads) -> Dict[str, Any]:
    """reply_markup with one inline button per row (titles are often too long to share a row)."""
    return {
        "inline_keyboard": [
            [{"text": button_title(button), "callback_data": payloads.encode(button_payload(button))}]
            for button in buttons
        ]
    }


def telegram_button_title(reply_markup: Any, data: str) -> Optional[str]:
    """The label of the inline button carrying `data` (Telegram sends the message's keyboard back
    with each press), used when a token is no longer known, e.g. after a restart."""
    keyboard = reply_markup.get("inline_keyboard") if isinstance(reply_markup, dict) else None
    for row in keyboard if isinstance(keyboard, list) else []:
        for button in row if isinstance(row, list) else []:
            if isinstance(button, dict) and button.get("callback_data") == data:
                title = button.get("text")
                return title if isinstance(title, str) else None
    return None


def slack_blocks(text: str, buttons: List[Button]) -> List[Dict[str, Any]]:
    """Block Kit: the text in section blocks, then one actions block with a button per Rasa button."""
    blocks: List[Dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": piece}}
        for piece in split_text(text, SLACK_SECTION_TEXT_LIMIT)
        if piece
    ]
    if buttons:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": f"poreguide_button_{index}",
                        "text": {
                            "type": "plain_text",
                            "emoji": True,
                            "text": shorten(button_title(button), SLACK_BUTTON_TEXT_LIMIT),
                        },
                        "value": button_payload(button)[:SLACK_BUTTON_VALUE_LIMIT],
                    }
                    for index, button in enumerate(buttons)
                ],
            }
        )
    return blocks
