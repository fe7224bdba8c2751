"""Reference codes a patient can read out over the phone without mixing up 0/O or 1/I."""

from __future__ import annotations

import re
import secrets

PREFIX = "PG-"
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0, O, 1 or I
LENGTH = 6  # 32**6, about a billion codes: collisions are rare and retried
PATTERN = re.compile(rf"{PREFIX}[{ALPHABET}]{{{LENGTH}}}")


def new_reference() -> str:
    """A random code like `PG-7K3M9Q`; `secrets` so codes cannot be guessed from earlier ones."""
    return PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise_reference(code: str) -> str:
    """Upper case without surrounding spaces, since staff type codes as they hear them."""
    return code.strip().upper()


def is_reference(code: str) -> bool:
    return PATTERN.fullmatch(normalise_reference(code)) is not None
