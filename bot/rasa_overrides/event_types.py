"""Rasa's lookup of an event class by its type name, remembered once found.

Rasa changed: `rasa.shared.core.events.Event.resolve_by_type` (3.6.21) walks the whole tree of
`Event` subclasses (`rasa.shared.utils.common.all_subclasses`, recursive, with an `inspect.isabstract`
test per class) for every event it deserialises. Loading a tracker from the SQL store deserialises
each of its events, so that walk was about a tenth of a turn's CPU (cProfile, 2026-12-01, issue 18).

Here a type name, once Rasa has resolved it to a class of that name, is answered from a dictionary;
anything else (an unknown name, the `default`, the legacy "topic") is Rasa's own answer every time."""

from __future__ import annotations

from typing import Dict, Optional, Type

from rasa.shared.core.events import Event

RASA_RESOLVE_BY_TYPE = Event.resolve_by_type
_KNOWN: Dict[str, Type[Event]] = {}


def resolve_by_type(type_name: str, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
    """Rasa's `Event.resolve_by_type`, without the class-tree walk for a name already resolved."""
    known = _KNOWN.get(type_name)
    if known is not None:
        return known
    resolved = RASA_RESOLVE_BY_TYPE(type_name, default)
    if resolved is not None and resolved.type_name == type_name:
        _KNOWN[type_name] = resolved
    return resolved


def install() -> None:
    """Replace Rasa's method in this process (the Rasa server's, see bot.rasa_run)."""
    Event.resolve_by_type = staticmethod(resolve_by_type)
