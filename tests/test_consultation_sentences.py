"""Form answers typed as sentences: the value is found, then validated as before."""

from __future__ import annotations

import pytest

from bot.consultations.sentences import contact_in, name_in
from bot.consultations.validation import InvalidContact, validate_email, validate_name, validate_phone


@pytest.mark.parametrize(
    "text,value",
    [
        ("my phone is +1 212 555 0173", "+1 212 555 0173"),
        ("you can reach me on (020) 7946 0958 after 5", "(020) 7946 0958"),
        ("call 0151-496-0000 thanks", "0151-496-0000"),
        ("you can email me at jane@example.com", "jane@example.com"),
        ("Email: Jane.Doe@Example.co.uk.", "Jane.Doe@Example.co.uk"),
        ("jane@example.com", "jane@example.com"),
        ("+44 20 7946 0958", "+44 20 7946 0958"),
        ("i don't have one", "i don't have one"),
    ],
)
def test_the_contact_in_a_sentence(text, value):
    assert contact_in(text) == value


def test_a_phone_number_in_a_sentence_passes_the_validator():
    assert validate_phone(contact_in("my phone is +1 212 555 0173")) == "+12125550173"
    assert validate_email(contact_in("you can email me at jane@example.com")) == "jane@example.com"


def test_a_broken_address_in_a_sentence_still_gets_the_validators_reason():
    with pytest.raises(InvalidContact, match="domain"):
        validate_email(contact_in("it's jane@example"))


@pytest.mark.parametrize(
    "text,name",
    [
        ("I'm Jane Doe", "Jane Doe"),
        ("my name is Siobhan O'Neill", "Siobhan O'Neill"),
        ("hi, it's Tom", "Tom"),
        ("call me Jo, thanks", "Jo"),
        ("Name: Ana María López", "Ana María López"),
        ("im sam", "sam"),
        ("Jane Doe", "Jane Doe"),
        ("Imogen Poots", "Imogen Poots"),  # a name that starts like "im"
    ],
)
def test_the_name_in_a_sentence(text, name):
    assert validate_name(name_in(text)) == name
