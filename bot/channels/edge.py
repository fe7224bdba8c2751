"""What every channel checks and normalises before anything reaches Rasa, the tracker store or a log.

Why here, at the edge: one request with a lone surrogate in its sender id ("\\ud800" in JSON)
used to end the Rasa process (the SQL driver raises a ValueError that Rasa's tracker store turns
into `sys.exit`), a missing sender put strangers into one shared "default" conversation, and
odd shapes (a list where an object belongs, JSON nested 100,000 deep) ended in HTTP 500s. Each
channel therefore passes what it received through these functions first:

- sender ids: strings of 1-128 characters from `A-Z a-z 0-9 _ - . :` (no spaces, no controls,
  nothing to confuse a log or a database); anything else is refused (`BadInput`, a 4xx);
- texts: well-formed Unicode (a lone surrogate is "unreadable"), NFC-normalised, without control
  characters other than tab and line breaks; a text that is not a string is "unsupported";
- metadata: a JSON object of plain, well-formed JSON, at most 8 KB and 8 levels deep;
- request bodies: UTF-8 JSON without NaN/Infinity; too deep a nesting is unreadable, not a crash.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any, Dict, List, Optional, Tuple

MAX_MESSAGE_CHARS = 2000
MAX_SENDER_CHARS = 128
SENDER_CHARACTERS = "A-Z a-z 0-9 _ - . :"
SENDER_ID = re.compile(r"[A-Za-z0-9_.:-]{1,%d}" % MAX_SENDER_CHARS)
CHANNEL_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MAX_METADATA_BYTES = 8 * 1024
MAX_METADATA_DEPTH = 8
# C0 controls except tab, line feed and carriage return; DEL; C1 controls. Kept: every printable
# character of every script, emoji, and the right-to-left marks people's keyboards insert.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
NORMALISE_UP_TO_CHARS = MAX_MESSAGE_CHARS * 4  # longer texts are refused anyway: no work spent on them


class BadInput(ValueError):
    """Input refused at the edge. The message says what is wrong in words a client developer can act
    on, and never repeats the input (it may be personal data, or crafted to break a log)."""


class UnusableInput(str):
    """An empty text that stands for a message a channel could not read (broken JSON, a number
    instead of text, ...): `reason` names its reply in messages.yml. Being an empty `str`, it
    passes through Rasa's `UserMessage` unchanged and reaches `guarded`, which answers it."""

    reason: str

    def __new__(cls, reason: str) -> "UnusableInput":
        instance = super().__new__(cls, "")
        instance.reason = reason
        return instance


def well_formed(text: str) -> bool:
    """False for a string with a lone surrogate: valid in a Python str and in escaped JSON, but not
    Unicode text, so no database driver, log file or NLU tokenizer can take it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_text(value: object) -> str:
    """The text to give the assistant, or an `UnusableInput` saying why there is none."""
    if isinstance(value, UnusableInput):
        return value
    if not isinstance(value, str):
        return UnusableInput("unsupported_content")
    if not well_formed(value):
        return UnusableInput("unreadable_message")
    if len(value) > NORMALISE_UP_TO_CHARS:
        return value  # the guard answers "too long" without this text going anywhere
    return unicodedata.normalize("NFC", CONTROL_CHARACTERS.sub("", value))


def clean_sender(value: object) -> str:
    """`value` if it can name a conversation, else `BadInput`. Never shortened, never defaulted:
    two clients must not end up in one conversation because their ids were cut or missing."""
    if value is None:
        raise BadInput("'sender' is missing: every message needs the id of its conversation")
    if not isinstance(value, str):
        raise BadInput("'sender' must be a string")
    if not value.strip():
        raise BadInput("'sender' must not be blank")
    if not SENDER_ID.fullmatch(value):
        raise BadInput(f"'sender' must be 1 to {MAX_SENDER_CHARS} characters from {SENDER_CHARACTERS}")
    return value


def valid_sender(value: object) -> Optional[str]:
    """`value` if it is a usable sender id, else None."""
    try:
        return clean_sender(value)
    except BadInput:
        return None


def clean_channel_name(value: object, default: str) -> str:
    """A client-chosen input channel name if it is a plain identifier, else `default`."""
    return value if isinstance(value, str) and CHANNEL_NAME.fullmatch(value) else default


def _depth_and_strings(value: Any) -> Tuple[int, List[str]]:
    """The nesting depth of a decoded JSON value and every string in it (keys included), without
    recursion, so an adversarial nesting cannot overflow the stack."""
    depth = 0
    strings: List[str] = []
    pending: List[Tuple[Any, int]] = [(value, 1)]
    while pending:
        item, level = pending.pop()
        depth = max(depth, level)
        if isinstance(item, dict):
            strings.extend(key for key in item if isinstance(key, str))
            pending.extend((child, level + 1) for child in item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend((child, level + 1) for child in item)
        elif isinstance(item, str):
            strings.append(item)
    return depth, strings


def clean_metadata(value: object) -> Optional[Dict[str, Any]]:
    """Metadata for Rasa's tracker (it is stored with the message): None, or a JSON object that is
    plain JSON (no NaN), well-formed Unicode, at most 8 KB and 8 levels deep. Else `BadInput`."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadInput("'metadata' must be a JSON object")
    try:
        encoded = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        raise BadInput("'metadata' must be plain JSON") from None
    if not well_formed(encoded):
        raise BadInput("'metadata' must be well-formed Unicode")
    if len(encoded.encode("utf-8")) > MAX_METADATA_BYTES:
        raise BadInput(f"'metadata' must be at most {MAX_METADATA_BYTES:,} bytes of JSON")
    depth, _ = _depth_and_strings(value)
    if depth > MAX_METADATA_DEPTH:
        raise BadInput(f"'metadata' may be nested at most {MAX_METADATA_DEPTH} levels deep")
    return json.loads(encoded)  # a plain copy: no shared references into the request


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def parse_json(body: bytes) -> Any:
    """The JSON value in `body`, or `BadInput` when it is not strict UTF-8 JSON (NaN and Infinity
    refused) or is nested too deeply for the parser."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise BadInput("the body is not UTF-8") from None
    except RecursionError:
        raise BadInput("the body's JSON is nested too deeply") from None
    except ValueError:
        raise BadInput("the body is not JSON") from None


def json_int(value: object, limit: int = 2**53) -> Optional[int]:
    """`value` if it is a JSON integer (not a bool, not a float) within +-`limit`, else None."""
    if isinstance(value, int) and not isinstance(value, bool) and -limit < value < limit:
        return value
    return None
