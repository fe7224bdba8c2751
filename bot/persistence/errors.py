"""The persistence layer's failures, one class each, shared by Rasa's process and the report."""

from __future__ import annotations


class TrackerStoreUnavailable(RuntimeError):
    """The conversation database failed (unreachable, no `events` table yet, a value it refuses);
    the message names the kind of failure, never the data."""
