"""How a notice points at a conversation without naming it: the sender id (a Telegram chat id, a
Slack user, a web session) is hashed, so a Slack message or a forwarded email does not carry it.
The staff page resolves `/conversations/<key>` by hashing the sender ids it knows the same way."""

from __future__ import annotations

import hashlib

KEY_LENGTH = 32  # hex characters: 128 bits, no collisions among a clinic's conversations


def conversation_key(sender_id: str) -> str:
    """The conversation's key in staff links: the first 32 hex characters of sha256(sender id)."""
    return hashlib.sha256(sender_id.encode("utf-8")).hexdigest()[:KEY_LENGTH]


def conversation_link(base_url: str, sender_id: str) -> str:
    """`<STAFF_PAGE_URL>/conversations/<key>`, or `conversation <key>` without a staff page URL."""
    key = conversation_key(sender_id)
    return f"{base_url}/conversations/{key}" if base_url else f"conversation {key} (set STAFF_PAGE_URL for a link)"
