"""The two ways a channel can fail, because they call for different retries: when the channel
itself is down, every notice waits; when one notice is refused, the others still go."""

from __future__ import annotations


class DeliveryFailed(Exception):
    """This notice was not delivered; its message is an error class and code, never data."""


class ChannelDown(DeliveryFailed):
    """The channel cannot deliver anything now (server unreachable, login or token refused)."""
