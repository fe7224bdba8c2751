"""The typo-tolerant normaliser on its own (no Rasa): near-misses of the knowledge vocabulary and
ordinary typos are corrected, real words, names, numbers and addresses never are, and offsets
map back to what the patient typed."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Dict, Set

import pytest

from bot.nlu.patterns import entity_terms
from bot.nlu.spelling import SpellingCorrector, canonical_pairs


def knowledge_groups(knowledge) -> Dict[str, Set[str]]:
    groups: Dict[str, Set[str]] = defaultdict(set)
    for term in entity_terms(knowledge):
        groups[term.value].add(term.phrase)
    groups["microneedling"].add("dermaroller")  # so the test does not depend on the knowledge file having it
    return groups


@pytest.fixture(scope="module")
def corrector(knowledge) -> SpellingCorrector:
    return SpellingCorrector(canonical_pairs(knowledge_groups(knowledge)))


@pytest.mark.parametrize(
    "typed,expected",
    [
        ("micro neddling", "microneedling"),
        ("micro-neddling", "microneedling"),
        ("microneedleing", "microneedling"),
        ("what is mirconeedling", "what is microneedling"),  # a known misspelling, normalised
        ("exfolaition", "exfoliation"),
        ("exfoliaton", "exfoliation"),
        ("is exfolliation safe", "is exfoliation safe"),
        ("chemcial peel", "chemical peel"),
        ("a chemcial peel or lazer resurfacing", "a chemical peel or laser resurfacing"),
        ("laser resurfacng", "laser resurfacing"),
        ("dermaroler", "dermaroller"),
        ("any side efects", "any side effects"),
        ("how long is the recovry", "how long is the recovery"),
        ("how much down tiem", "how much down time"),
        ("which has the least downtiem", "which has the least downtime"),
        ("i have sensitve skin", "i have sensitive skin"),
        ("i have oilly skin", "i have oily skin"),
        ("greasey skin", "greasy skin"),
        ("combinaton skin", "combination skin"),
        ("so many blackheds", "so many blackheads"),
        ("enlaged pores", "enlarged pores"),
        ("my enlarged poers", "my enlarged pores"),
        ("constant brekouts", "constant breakouts"),
        ("is it painfull", "is it painful"),
        ("any complicatons", "any complications"),
        ("can i do it if pregnent", "can i do it if pregnant"),
        ("do i need sunscren", "do i need sunscreen"),
        ("my face is swolen", "my face is swollen"),
        ("blistring after the peel", "blistering after the peel"),
        ("my skin is bleding", "my skin is bleeding"),
        ("an alergic reaction", "an allergic reaction"),
        ("i definately want to know", "i definitely want to know"),
        ("becuase of my pores", "because of my pores"),
        ("howlong does it take", "how long does it take"),
        ("recoverytime after laser", "recovery time after laser"),
        ("hellooooo", "hello"),
        ("thier pores", "their pores"),
        ("Exfolaition vs lazer?", "Exfoliation vs lazer?"),
        ("HOW LONG IS THE RECOVRY", "HOW LONG IS THE RECOVERY"),
        ("how long is the recovry after lazer resurfacng?", "how long is the recovery after laser resurfacing?"),
    ],
)
def test_misspellings_are_corrected(corrector, typed, expected):
    assert corrector.correct(typed).text == expected


@pytest.mark.parametrize(
    "text",
    [
        # names (capitalised in the middle of a sentence), with or without other typos around
        "is Siobhan working today",
        "my name is Niamh O'Connor",
        "Dr Aoife Byrne did my peel",
        "please ask Bjorn about it",
        # e-mail addresses, phone numbers, links, handles, numbers, slashes
        "siobhan.kelly@gmail.com",
        "my email is jane.doe@exampel.com",
        "call me on +44 7700 900123",
        "087-123-4567",
        "(555) 014-2234",
        "https://example.com/lazer-treatmnt",
        "www.exfolaition.ie",
        "see exfolaition.com",
        "@poreguide #lazer",
        "spf50 twice a day",
        "b4 the peel",
        "laser/peel",
        '/inform{"treatment": "lazer"}',
        # real English words are never turned into treatment words
        "peer",
        "layer",
        "later",
        "pill",
        "pills",
        "lover",
        "laser",
        "peal",
        "pus",
        "burn",
        "heal",
        "a layer of pus later",
        "laser skin resurfacing please",
        "two peel treatments",
        # American spellings (the dictionary is British), abbreviations and short words are not typos
        "im a bit of a skeptic",
        "my favorite color",
        "a pediatric esthetician",
        "help with my math homework",
        "an appt in 10 mins",
        "wats that",
        "an instagram influencer",
        "she vlogged it",
        # words the dictionary lacks, made of words it has, or medical and brand names
        "a whiteish patch",
        "puffier than yesterday",
        "my bestie",
        "it got lasered",
        "whistly breathing",
        "a retinoid",
        "comedones",
        "keratosis pilaris",
        "perioral dermatitis",
        # short words and chat words
        "ok",
        "lol",
        "tbh",
        "rn",
        "idk",
        "omg",
        "thx",
        "u ok",
        "ur peel",
        "dont know, youre right, smth like that, alot",
        "can't, i'm, it's, we'd",
        # vocabulary phrases as they are, known misspellings that have no nearer spelling
        "lazer",
        "down time",
        "downtime",
        "micro needling",
        "sideeffects",
        # words no dictionary has are left alone rather than "corrected" into a different word
        "accutane",
        "isotretinoin",
        "naïve café crème",
        ":) :( <3",
        "",
    ],
)
def test_never_changed(corrector, text):
    correction = corrector.correct(text)
    assert correction.text == text
    assert not correction.changed


def test_known_words_are_left_to_the_classifier_but_not_vocabulary_near_misses(knowledge):
    # "derm" and "recovry" are words of the training data: the English spell checker keeps "derm",
    # but "recovry" is a near-miss of the vocabulary, so the entity ruler gets "recovery".
    corrector = SpellingCorrector(canonical_pairs(knowledge_groups(knowledge)), known_words=["dermz", "recovry"])
    assert corrector.correct("my dermz said").text == "my dermz said"
    assert corrector.correct("the recovry").text == "the recovery"


REAL_WORD_PHRASES = [
    (phrase, phrase)
    for phrase in (
        "chemical peel",
        "chemical peels",
        "side effects",
        "time off",
        "who does",
        "laser treatment",
        "normal skin",
    )
]


@pytest.mark.parametrize(
    "typed,expected",
    [
        ("recovry time for a chemical peal", "recovery time for a chemical peel"),  # real words, one wrong
        ("any side affects", "any side effects"),
        # ... but only when the phrase is long, one word is one edit off and it is not a plural
        ("what time of day", "what time of day"),
        ("who dies", "who dies"),
        ("two laser treatments", "two laser treatments"),
        ("normal kind", "normal kind"),
        ("chemical peels", "chemical peels"),
    ],
)
def test_a_vocabulary_phrase_with_a_wrong_real_word(typed, expected):
    assert SpellingCorrector(REAL_WORD_PHRASES).correct(typed).text == expected


def test_long_run_together_words_are_split_when_the_vocabulary_does_not_know_them():
    corrector = SpellingCorrector([("side effects", "side effects")])
    assert corrector.correct("any sideeffects").text == "any side effects"
    assert corrector.correct("sideeffects").replacements[0].text == "side effects"


def test_canonical_pairs_normalise_misspellings_but_keep_words_and_spellings(knowledge):
    pairs = dict(canonical_pairs(knowledge_groups(knowledge)))
    assert pairs["microneddling"] == "microneedling"
    assert pairs["lazer resurfacing"] == "laser resurfacing"
    assert pairs["exfoliaton"] == "exfoliation"
    assert pairs["lazer"] == "lazer"  # no correctly spelled phrase is near enough
    assert pairs["dermaroller"] == "dermaroller"  # a spelling, not a typo
    assert pairs["micro needling"] == "micro needling"
    assert pairs["peels"] == "peels"


def test_replacements_record_both_texts(corrector):
    correction = corrector.correct("how long is the recovry after lazer resurfacng?")
    assert [(r.original, r.text) for r in correction.replacements] == [
        ("recovry", "recovery"),
        ("lazer resurfacng", "laser resurfacing"),
    ]
    for r in correction.replacements:
        assert correction.original[r.original_start : r.original_end] == r.original
        assert correction.text[r.start : r.end] == r.text


def test_offsets_map_back_to_the_original_text(corrector):
    original = "Exfolaition or micro neddling, and the recovry? ask Siobhan"
    correction = corrector.correct(original)
    assert correction.text == "Exfoliation or microneedling, and the recovery? ask Siobhan"
    # every corrected phrase maps onto what was typed
    for phrase, typed in (("Exfoliation", "Exfolaition"), ("microneedling", "micro neddling"), ("recovery", "recovry")):
        start = correction.text.index(phrase)
        mapped = correction.to_original(start, start + len(phrase))
        assert original[mapped[0] : mapped[1]] == typed
        assert correction.to_corrected(*mapped) == (start, start + len(phrase))
    # every untouched word maps onto itself
    for match in re.finditer(r"\w+", correction.text):
        if match.group() in ("or", "and", "the", "ask", "Siobhan"):
            start, end = correction.to_original(match.start(), match.end())
            assert original[start:end] == match.group()
    # a span that starts or ends inside a replacement covers all of it
    start = correction.text.index("microneedling")
    assert correction.to_original(start + 5, start + 8) == (
        original.index("micro neddling"),
        original.index("micro neddling") + len("micro neddling"),
    )


def test_unchanged_text_maps_to_itself(corrector):
    correction = corrector.correct("what is microneedling")
    assert correction.to_original(8, 21) == (8, 21)
    assert correction.to_corrected(0, 4) == (0, 4)
