"""Rasa's warning for a "/..." message that does not parse as an intent, without the message.

Rasa changed: `YAMLStoryReader.unpack_regex_message` (run by the RegexMessageHandler for every
message starting with "/") and its helpers `_intent_name_from_regex_match` and
`_entities_from_regex_match` warn "Failed to parse arguments in line '<the whole message>'.
... but found <its first word> ... Continuing without <the rest of it>" through
`rasa.shared.utils.io.raise_warning`. Anyone can type "/my email is someone@example.com", so that
warning would write personal data to the log. `bot.security.log_privacy` routes warnings into
logging and applies `without_message_text` to every line: from the warning's fixed opening on,
the line is replaced by a text-free note. Nothing else in Rasa's parsing changes."""

from __future__ import annotations

import re

# The fixed opening of all five warnings in rasa/shared/core/training_data/story_reader/yaml_story_reader.py.
WARNING_OPENING = "Failed to parse arguments in line "
NOTE = "Failed to parse arguments of a message starting with '/' (the message is withheld from the log)."
_FROM_OPENING = re.compile(re.escape(WARNING_OPENING) + r".*", re.DOTALL)


def without_message_text(line: str) -> str:
    """`line` with Rasa's intent-parse warning (if it holds one) cut to a note without the text."""
    if WARNING_OPENING not in line:
        return line
    return _FROM_OPENING.sub(NOTE, line)
