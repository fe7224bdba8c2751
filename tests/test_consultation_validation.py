"""Validation of what patients type for a consultation request: normal forms and reasons they can read."""

from __future__ import annotations

import pytest

from bot.consultations.validation import (
    InvalidContact,
    contact_kind,
    validate_email,
    validate_free_text,
    validate_name,
    validate_phone,
)

# input -> normalised form, per validator
VALID = {
    validate_email: {
        "  Ana.Lopez@Example.COM ": "ana.lopez@example.com",
        "ana+pores@mail.example.co.uk": "ana+pores@mail.example.co.uk",
        "o'brien@clinic-example.ie": "o'brien@clinic-example.ie",
        "x@xn--mnchen-3ya.de": "x@xn--mnchen-3ya.de",
    },
    validate_phone: {
        "+44 20 7946 0958": "+442079460958",
        "(020) 7946-0958": "02079460958",
        "020.7946.0958": "02079460958",
        "+1 (555) 123-4567": "+15551234567",
        "1234567": "1234567",
        "+123456789012345": "+123456789012345",
        "\uff10\uff12\uff10 \uff17\uff19\uff14\uff16 \uff10\uff19\uff15\uff18": "02079460958",  # full-width digits
    },
    validate_name: {
        "  Ana   López ": "Ana López",
        "O'Brien-Smith": "O'Brien-Smith",
        "李小龙": "李小龙",
        "Jose\u0301": "Jos\u00e9",  # combining accent composed, so equal names are stored equally
        '=HYPERLINK("http://x.example","x")': '=HYPERLINK("http://x.example","x")',  # made safe at export
        "A" * 100: "A" * 100,
    },
}

# reason (or part of it) -> inputs refused with it, per validator
INVALID = {
    validate_email: {
        "that email address is missing an @": ["ana.example.com"],
        "the part after @ doesn't look like a domain": [
            "ana@localhost",
            "ana@example.c",
            "ana@-example.com",
            "ana@example..com",
            "ana@example.com.",
            "ana@[127.0.0.1]",
            "ana@",
        ],
        "nothing before the @": ["@example.com"],
        "more than one @": ["ana@home@example.com"],
        "can't contain spaces": ["ana lopez@example.com"],
        "can't start or end with a dot or have two dots in a row": ["ana..lopez@example.com", ".ana@example.com"],
        "characters an email address can't contain": ["ana(lopez)@example.com"],
        "at most 64 characters": ["a" * 65 + "@example.com"],
        "can't be empty": ["   "],
        "too long": ["a" * 250 + "@example.com"],
    },
    validate_phone: {
        "a phone number needs between 7 and 15 digits": ["123456", "+1234567890123456", "+ () - ."],
        "can only contain digits": ["0800-FLOWERS", "020 7946 0958 ext 12"],
        "a + can only come at the start": ["44+20 7946 0958"],
        "brackets": ["(020 7946 0958", "020) 7946 (0958", "((020)) 7946 0958"],
        "country code": ["+0 20 7946 0958"],
        "can't be empty": [""],
        "too long": ["1" * 255],
    },
    validate_name: {
        "can't be empty": ["", "   "],
        "at least one letter": ["12345"],
        "can't contain < or >": ["<script>alert(1)</script>"],
        "control characters": ["Ana\x00", "Ana\tLopez", "Ana\x1b[2J", "Ana\u202eziL"],
        "at most 100 characters": ["A" * 101],
        "too long": ["A" * 255],
    },
}


def _ids(value):
    return value.__name__ if callable(value) else None


@pytest.mark.parametrize(
    "validator,text,expected",
    [(validator, text, expected) for validator, cases in VALID.items() for text, expected in cases.items()],
    ids=_ids,
)
def test_valid_input_is_normalised(validator, text, expected):
    assert validator(text) == expected


@pytest.mark.parametrize(
    "validator,text,reason",
    [
        (validator, text, reason)
        for validator, cases in INVALID.items()
        for reason, texts in cases.items()
        for text in texts
    ],
    ids=_ids,
)
def test_invalid_input_gives_a_reason(validator, text, reason):
    with pytest.raises(InvalidContact) as caught:
        validator(text)
    assert reason in caught.value.reason
    assert str(caught.value) == caught.value.reason


def test_free_text_is_optional_bounded_and_cleaned():
    assert validate_free_text(None, "a preferred time") is None
    assert validate_free_text("  ", "a preferred time") is None
    assert validate_free_text(" Tuesday   mornings ", "a preferred time") == "Tuesday mornings"
    with pytest.raises(InvalidContact, match="a preferred time can be at most 100 characters"):
        validate_free_text("x" * 101, "a preferred time")
    with pytest.raises(InvalidContact, match="control characters"):
        validate_free_text("after\n5pm", "a preferred time")


@pytest.mark.parametrize(
    "text,kind",
    [("ana@example.com", "email"), ("  ana@", "email"), ("+44 20 7946 0958", "phone"), ("07946 095 800", "phone")],
)
def test_contact_kind_picks_the_validator(text, kind):
    assert contact_kind(text) == kind


def test_invalid_contact_is_a_value_error():
    with pytest.raises(ValueError):
        validate_phone("12")
