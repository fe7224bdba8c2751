"""No message text or personal data in the logs, whichever library writes the line.

PoreGuide's own code never logs what people write, but libraries do: Rasa's "Failed to parse
arguments in line '...'" warning quotes a whole message that starts with "/" ("/my email is
someone@example.com"), its structlog events carry `user_text`, SQLAlchemy errors quote
parameters, and a traceback can hold any value. A logging filter on one logger would miss lines
that other loggers write, and Rasa replaces the root handlers while it starts; so `install()`
wraps the log record factory instead, which every record of every logger passes through, and
routes Python warnings (Rasa's `raise_warning`) into logging so they pass through it too.

Each record's final text (message, traceback, stack) is then rewritten:
- the text of the turn being handled (`withheld`, set by the channels' guard in the Rasa server and
  per request in the action server) and its JSON- and repr-escaped forms become "[message text]";
- values of structlog's text-bearing keys (Rasa's own anonymisation list) become "[withheld]";
- Rasa's intent-parse warning loses the quoted message (`bot.security.intent_parse_warning`);
- anything shaped like an email address or a phone number becomes "[email]" / "[number]", and
  `token=` / `secret=` values in URLs become "[secret]";
- lone surrogates (they would make the file handler fail and print the raw record) become "?".

Installed by both servers: `bot.rasa_run` and the tracker store (every Rasa process of
the project loads it) for Rasa, `bot.action_server` for the action server."""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import threading
from typing import Any, Callable, Iterable, Iterator, Match, Optional, Tuple

from bot.security.intent_parse_warning import without_message_text

MIN_WITHHELD_CHARS = 3  # shorter texts ("hi", "ok") would blank out ordinary words of log lines
MESSAGE_TEXT = "[message text]"
# Keys of Rasa's structlog events that hold what people wrote (rasa.utils.log_utils._anonymizer).
STRUCTLOG_TEXT_KEYS = (
    "text",
    "response_text",
    "user_text",
    "slot_values",
    "parse_data_text",
    "parse_data_entities",
    "prediction_events",
    "tracker_latest_message",
    "prefilled_slots",
    "message",
    "response",
    "slot_candidates",
    "rasa_event",
    "rasa_events",
    "tracker_states",
    "current_states",
    "old_states",
    "successes",
    "current_entity",
    "next_entity",
    "states",
    "entity",
    "token_text",
    "user_message",
    "json_message",
)
EMAIL = re.compile(r"[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
PHONE_CANDIDATE = re.compile(r"(?<![\w.:/])\+?\(?\d[\d ().-]{5,}\d(?![\w])")
IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
SECRET_QUERY = re.compile(r"((?:token|secret|password|api_key|apikey)=)[^&\s'\"]+", re.IGNORECASE)

_withheld: "contextvars.ContextVar[Tuple[str, ...]]" = contextvars.ContextVar("poreguide_withheld", default=())
_withheld_later: "contextvars.ContextVar[Optional[_Once]]" = contextvars.ContextVar(
    "poreguide_withheld_later", default=None
)
_install_lock = threading.Lock()


@contextlib.contextmanager
def withheld(*texts: Optional[str]) -> Iterator[None]:
    """Within the block (and the tasks it starts), none of `texts` appears in a log line."""
    token = _withheld.set(_withheld.get() + _keep(texts))
    try:
        yield
    finally:
        _withheld.reset(token)


def withhold_for_request(texts: Callable[[], Iterable[str]]) -> None:
    """Withhold what `texts()` returns from now on in the current context, for a web server hook
    that runs before the request body has arrived and cannot wrap its handler in a `with` block:
    `texts` is called (once) when a line is first logged. Replacing (not adding to) what was
    withheld matters: Sanic handles the requests of one keep-alive connection in one task."""
    _withheld.set(())
    _withheld_later.set(_Once(texts))


class _Once:
    def __init__(self, texts: Callable[[], Iterable[str]]) -> None:
        self._texts: Optional[Callable[[], Iterable[str]]] = texts
        self._value: Tuple[str, ...] = ()

    def __call__(self) -> Tuple[str, ...]:
        if self._texts is not None:
            texts, self._texts = self._texts, None
            try:
                self._value = _keep(texts())
            except Exception:  # noqa: BLE001 - an unreadable request holds nothing to withhold
                self._value = ()
        return self._value


def _keep(texts: Iterable[Optional[str]]) -> Tuple[str, ...]:
    return tuple(text for text in texts if isinstance(text, str) and len(text.strip()) >= MIN_WITHHELD_CHARS)


def _current_texts() -> Tuple[str, ...]:
    later = _withheld_later.get()
    return _withheld.get() + (later() if later is not None else ())


def _forms(text: str) -> Iterator[str]:
    """`text` as it may appear in a line: itself, JSON-escaped (ASCII or not), repr-escaped."""
    yield text
    yield json.dumps(text)[1:-1]
    yield json.dumps(text, ensure_ascii=False)[1:-1]
    yield repr(text)[1:-1]
    stripped = text.strip()
    if stripped != text:
        yield stripped


def _phone(match: Match[str]) -> str:
    candidate = match.group(0)
    digits = sum(character.isdigit() for character in candidate)
    if not 7 <= digits <= 15 or IPV4.fullmatch(candidate):
        return candidate
    return "[number]"


def _structlog_json(line: str) -> str:
    """A structlog JSON line with its text-bearing values withheld; other lines as they are."""
    stripped = line.strip()
    if not (stripped.startswith("{") and stripped.endswith("}")):
        return line
    try:
        event = json.loads(stripped)
    except ValueError:
        return line
    if not isinstance(event, dict) or not any(key in event for key in STRUCTLOG_TEXT_KEYS):
        return line
    return json.dumps({key: ("[withheld]" if key in STRUCTLOG_TEXT_KEYS else value) for key, value in event.items()})


def redact(text: str) -> str:
    """`text` without message texts, personal data or secrets (see the module doc)."""
    for secret in _current_texts():
        for form in _forms(secret):
            if len(form.strip()) >= MIN_WITHHELD_CHARS:
                text = text.replace(form, MESSAGE_TEXT)
    text = without_message_text(text)
    text = "\n".join(_structlog_json(line) for line in text.split("\n")) if "{" in text else text
    text = EMAIL.sub("[email]", text)
    text = PHONE_CANDIDATE.sub(_phone, text)
    text = SECRET_QUERY.sub(r"\1[secret]", text)
    return text.encode("utf-8", "replace").decode("utf-8")


def scrub(record: logging.LogRecord) -> None:
    """Rewrite `record` in place so that every handler, however it formats, writes `redact`ed text."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a broken format string: logging reports it, with our text
        message = str(record.msg)
    clean = redact(message)
    if clean != message or record.args:
        record.msg, record.args = clean, ()
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def _scrubbing(factory: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        try:
            scrub(record)
        except Exception:  # noqa: BLE001 - never lose a log line to the scrubber; keep the safe part
            record.msg, record.args, record.exc_info, record.exc_text = "[log line withheld]", (), None, None
        return record

    make_record.poreguide_scrubbing = True  # type: ignore[attr-defined]
    return make_record


def installed() -> bool:
    return bool(getattr(logging.getLogRecordFactory(), "poreguide_scrubbing", False))


def install() -> None:
    """Scrub every log record of this process from now on, and log Python warnings (idempotent)."""
    with _install_lock:
        if not installed():
            logging.setLogRecordFactory(_scrubbing(logging.getLogRecordFactory()))
        logging.captureWarnings(True)
