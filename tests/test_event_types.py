"""bot.rasa_overrides.event_types: every event type name resolves to the class Rasa resolves it to,
anything else gets Rasa's own answer, and the class tree is walked once per name, not per event."""

from __future__ import annotations

from typing import List, Optional, Type

import pytest
import rasa.shared.utils.common
from rasa.shared.core.events import ActionExecuted, Event, UserUttered

from bot.rasa_overrides import event_types

TYPE_NAMES = sorted({cls.type_name for cls in rasa.shared.utils.common.all_subclasses(Event)})


@pytest.mark.parametrize("type_name", TYPE_NAMES)
def test_each_type_name_resolves_to_rasas_class(type_name: str) -> None:
    assert event_types.resolve_by_type(type_name) is event_types.RASA_RESOLVE_BY_TYPE(type_name)
    assert event_types.resolve_by_type(type_name) is event_types.RASA_RESOLVE_BY_TYPE(type_name)


@pytest.mark.parametrize("default", [None, UserUttered])
def test_other_names_get_rasas_answer(default: Optional[Type[Event]]) -> None:
    assert event_types.resolve_by_type("topic", default) is None
    if default is None:
        with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
            event_types.resolve_by_type("no_such_event")
    else:
        assert event_types.resolve_by_type("no_such_event", default) is default
    assert "no_such_event" not in event_types._KNOWN


def _walks(monkeypatch: pytest.MonkeyPatch) -> List[int]:
    """Records each walk from the top of the tree (the walk recurses through the same function)."""
    walks: List[int] = []
    walk = rasa.shared.utils.common.all_subclasses
    monkeypatch.setattr(
        rasa.shared.utils.common, "all_subclasses", lambda cls: (cls is Event and walks.append(1), walk(cls))[1]
    )
    return walks


def test_rasa_walks_the_class_tree_for_every_event(monkeypatch: pytest.MonkeyPatch) -> None:
    """Why `event_types` exists: if this stops failing, Rasa remembers the classes itself."""
    walks = _walks(monkeypatch)
    for _ in range(3):
        Event.from_parameters({"event": "action", "name": "action_listen"})
    assert len(walks) >= 3


def test_installed_events_deserialise_as_rasas_and_walk_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Event, "resolve_by_type", Event.__dict__["resolve_by_type"])
    monkeypatch.setattr(event_types, "_KNOWN", {})
    event_types.install()
    walks = _walks(monkeypatch)
    events = [Event.from_parameters({"event": "action", "name": "action_listen"}) for _ in range(3)]
    assert [(type(event), event.action_name) for event in events] == [(ActionExecuted, "action_listen")] * 3
    assert len(walks) == 1
