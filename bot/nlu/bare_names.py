"""A message that is only a person's name ("Zebulon Quirkfeather") is an answer, not a command.

Unknown names share no words with the training data, so the intent classifier guesses from
character n-grams and can land on `stop` or `deny` with low confidence: at the booking form's name
step that ended the booking (rules leave the form on stop and deny). Two to four capitalised words,
none of them a word people use to stop, refuse or leave, are read as `inform` when the classifier
was unsure. The booking form takes the name from the text as typed."""

from __future__ import annotations

import re

NAME_WORD = re.compile(r"^[A-Z][a-z]*(?:[-'][A-Z]?[a-z]+)*\.?$")
LEAVING_WORDS = frozenset(
    "no not now nope stop cancel quit exit never mind bye goodbye later thanks thank you yes yeah ok okay "
    "please help hello hi hey what why how who which when where".split()
)
UNSURE_BELOW = 0.6  # the classifier's confidence under which a bare name overrules it


def is_a_bare_name(text: str) -> bool:
    """Two to four capitalised words and nothing else, none of them a leaving or question word."""
    words = text.strip().split()
    return (
        2 <= len(words) <= 4
        and all(NAME_WORD.match(word) for word in words)
        and not any(word.strip(".").lower() in LEAVING_WORDS for word in words)
    )
