"""Rasa's shell (`rasa shell`) shows buttons as numbered lines and always lets the person type.

Rasa changed: `rasa.core.channels.console._get_user_input` (3.6.21) turns the last bot message's
buttons into a `questionary.select` menu. The arrow-key menu takes over the terminal: a person who
starts typing a question is in the menu, and Enter picks the highlighted first option instead of
sending what they typed (the greeting's button did this to the first question in `make chat`).

Here the buttons are printed as numbered choices under the message and the prompt is always the
free-text one: typing a choice's number sends its payload, anything else is sent as typed."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import questionary
from prompt_toolkit.styles import Style
from rasa.core.channels import console
from rasa.shared.utils.cli import print_color
from rasa.shared.utils.io import bcolors

PROMPT_STYLE = Style([("qmark", "#b373d6"), ("", "#b373d6")])


def numbered_choices(buttons: Sequence[Dict[str, Any]]) -> List[str]:
    """The lines shown under a message: "  1. Book a consultation"."""
    return [f"  {number}. {button.get('title', '')}" for number, button in enumerate(buttons, start=1)]


def message_for(typed: str, buttons: Sequence[Dict[str, Any]]) -> str:
    """The payload of the button whose number was typed; otherwise the text as typed."""
    text = typed.strip()
    if text.isdigit() and 1 <= int(text) <= len(buttons):
        return str(buttons[int(text) - 1].get("payload") or buttons[int(text) - 1].get("title", ""))
    return text


def show(message: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Print a bot message with its buttons numbered; the buttons, for the answer that follows."""
    buttons = list(message.get("buttons") or [])
    console._print_bot_output({key: value for key, value in message.items() if key != "buttons"})
    if buttons:
        for line in numbered_choices(buttons):
            print_color(line, color=bcolors.OKBLUE)
        print_color("  (type a number, or your own message)", color=bcolors.OKBLUE)
    return buttons


async def get_user_input(previous_response: Optional[Dict[str, Any]]) -> Optional[str]:
    """Rasa's `_get_user_input` with numbered buttons and the free-text prompt only."""
    buttons = show(previous_response) if previous_response is not None else []
    typed = await questionary.text("", qmark="Your input ->", style=PROMPT_STYLE).ask_async()
    return None if typed is None else message_for(typed, buttons)


def install() -> None:
    console._get_user_input = get_user_input
