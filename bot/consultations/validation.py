"""Checks and normalises what a patient types, with a reason the bot can read back to them."""

from __future__ import annotations

import re
import unicodedata
from typing import Optional

MAX_INPUT_LENGTH = 254  # the longest valid email address; nothing a patient types here is longer
MAX_NAME_LENGTH = 100
MIN_PHONE_DIGITS, MAX_PHONE_DIGITS = 7, 15  # 15 is the E.164 maximum

_LOCAL_PART = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~.-]+")
_DOMAIN_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_TOP_LEVEL_DOMAIN = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")
_PHONE_CHARACTERS = re.compile(r"\+?[0-9 ().-]+")
# Invisible characters that reorder text could make a name read differently on the staff's screen.
_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class InvalidContact(ValueError):
    """Input the bot must ask for again; `reason` is phrased to be shown to the patient."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def contact_kind(text: str) -> str:
    """'email' when the text contains an @, otherwise 'phone': which validator to apply."""
    return "email" if "@" in text else "phone"


def validate_email(text: str) -> str:
    """The address in lower case, so the same person is recognised however they typed it."""
    address = _stripped(text, "an email address").lower()
    if any(character.isspace() for character in address):
        raise InvalidContact("an email address can't contain spaces")
    if "@" not in address:
        raise InvalidContact("that email address is missing an @")
    if address.count("@") > 1:
        raise InvalidContact("that email address has more than one @")
    local, domain = address.split("@")
    _check_local_part(local)
    if not _is_domain(domain):
        raise InvalidContact("the part after @ doesn't look like a domain")
    return address


def validate_phone(text: str) -> str:
    """`+digits` for international numbers, otherwise just the digits, so formatting never matters."""
    number = unicodedata.normalize("NFKC", _stripped(text, "a phone number"))  # full-width digits to ASCII
    if "+" in number[1:]:
        raise InvalidContact("a + can only come at the start of a phone number")
    if not _PHONE_CHARACTERS.fullmatch(number):
        raise InvalidContact("a phone number can only contain digits, spaces, dashes, dots, brackets and a leading +")
    if not _brackets_match(number):
        raise InvalidContact("the brackets in that phone number don't match")
    digits = re.sub(r"[^0-9]", "", number)
    if not MIN_PHONE_DIGITS <= len(digits) <= MAX_PHONE_DIGITS:
        raise InvalidContact(f"a phone number needs between {MIN_PHONE_DIGITS} and {MAX_PHONE_DIGITS} digits")
    if number.startswith("+"):
        if digits.startswith("0"):
            raise InvalidContact("an international number starts with a country code, which is never 0")
        return "+" + digits
    return digits


def validate_name(text: str) -> str:
    """The name with runs of spaces collapsed; it must be safe to show on screens and in files."""
    name = validate_free_text(text, "a name", MAX_NAME_LENGTH)
    if name is None:
        raise InvalidContact("a name can't be empty")
    if not any(character.isalpha() for character in name):
        raise InvalidContact("a name needs at least one letter")
    return name


def validate_free_text(text: Optional[str], what: str, max_length: int = 100) -> Optional[str]:
    """Short optional text (a preferred time, a treatment): None when blank, else cleaned and bounded."""
    if text is None or not text.strip():
        return None
    stripped = _stripped(text, what)
    if any(unicodedata.category(c) == "Cc" or c in _BIDI_CONTROLS for c in stripped):
        raise InvalidContact(f"{what} can't contain control characters")
    value = " ".join(unicodedata.normalize("NFC", stripped).split())
    if "<" in value or ">" in value:
        raise InvalidContact(f"{what} can't contain < or >")
    if len(value) > max_length:
        raise InvalidContact(f"{what} can be at most {max_length} characters long")
    return value


def _stripped(text: str, what: str) -> str:
    """Checked before any other work, so a pasted essay is refused quickly with a clear reason."""
    if len(text) > MAX_INPUT_LENGTH:
        raise InvalidContact(f"that's too long to be {what} (at most {MAX_INPUT_LENGTH} characters)")
    value = text.strip()
    if not value:
        raise InvalidContact(f"{what} can't be empty")
    return value


def _check_local_part(local: str) -> None:
    if not local:
        raise InvalidContact("there's nothing before the @ in that email address")
    if len(local) > 64:
        raise InvalidContact("the part before @ is too long (at most 64 characters)")
    if not _LOCAL_PART.fullmatch(local):
        raise InvalidContact("the part before @ has characters an email address can't contain")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise InvalidContact("the part before @ can't start or end with a dot or have two dots in a row")


def _is_domain(domain: str) -> bool:
    """At least two dot-separated labels, ending in a top-level domain such as `com` or `co.uk`."""
    labels = domain.split(".")
    return (
        len(domain) <= 253
        and len(labels) >= 2
        and all(_DOMAIN_LABEL.fullmatch(label) for label in labels)
        and bool(_TOP_LEVEL_DOMAIN.fullmatch(labels[-1]))
    )


def _brackets_match(number: str) -> bool:
    """Brackets come in non-nested pairs, as in `(020) 7946 0958`."""
    depth = 0
    for character in number:
        if character in "()":
            depth += 1 if character == "(" else -1
            if depth not in (0, 1):
                return False
    return depth == 0
