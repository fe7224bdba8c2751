"""Finds the value in what a patient types when a form asks for it: "I'm Jane Doe", "my phone is
+1 212 555 0173", "you can email me at jane@example.com". The validators then check the value alone,
so the reasons they give ("the part after @ doesn't look like a domain") stay about the value."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[^\s<>()\[\],;:\"']+@[^\s<>()\[\],;:\"']+")
# A run of digits with the separators people type, optionally after a +: at least 7 characters.
_PHONE = re.compile(r"(?<![\w+])\+?\(?\d[\d ()./-]{5,}\d")
_NAME_LEAD_IN = re.compile(
    r"^(?:(?:hi|hello|hey|ok|okay|sure|yes|yeah)\b[\s,!.]*)*"
    r"(?:(?:my|the)\s+(?:full\s+)?name\s*(?:is|'s|’s)|name\s*(?:is|'s|’s|:)|i\s*(?:am|'m|’m)|im|it\s*(?:is|'s|’s)|its|"
    r"this\s+is|call\s+me|you\s+can\s+call\s+me|it'?s\s+for)\s+",
    re.IGNORECASE,
)
_NAME_TAIL = re.compile(r"[\s,.!]*(?:(?:thanks|thank\s+you|thx|please|pls)[\s,.!]*)*$", re.IGNORECASE)
_TRAILING_PUNCTUATION = ".,;:!?)"


def contact_in(text: str) -> str:
    """The email address or phone number in a sentence; the text itself when it holds neither,
    so the validator can say what is wrong with it."""
    email = _EMAIL.search(text)
    if email:
        return email.group(0).rstrip(_TRAILING_PUNCTUATION)
    phone = _PHONE.search(text)
    if phone:
        return phone.group(0).strip()
    return text


def name_in(text: str) -> str:
    """The name in "I'm Jane Doe", "my name is Jane", "call me Jo, thanks"; the text otherwise."""
    name = _NAME_TAIL.sub("", _NAME_LEAD_IN.sub("", text.strip()))
    return name or text
