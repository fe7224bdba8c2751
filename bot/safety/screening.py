"""Screens a message for safety: a reported complication (emergency or urgent), a mild effect the
article expects, or a request for medical advice PoreGuide must not give.

This is the keyword floor under the NLU classifier: it works on its own, with every phrase and
marker kept as data in the knowledge file (`red_flags` and `screening`). A symptom word alone is not
a report: "can microneedling cause an infection?" asks about a possibility, "I saw a video of a girl
whose face blistered" is hearsay, "I had a reaction years ago but I'm fine now" is over, and
"hay fever" is an idiom. Everything is judged sentence by sentence, so a long message is read as
the patient wrote it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, List, Optional, Pattern, Sequence, Tuple

import pysbd

from bot.knowledge.schema import Combination, RedFlags, ScreeningRules

EMERGENCY = "emergency"
URGENT = "urgent"
# Within a sentence: clauses after a semicolon, a dash, a line break, or a comma before a new subject.
_CLAUSE_END = re.compile(
    r"(?<=;)\s+|\s+-+\s+|\s*\n\s*|(?<=\w)\s*,\s*(?=(?:and\s+)?(?:now|but|since|then|its|it's|is|my|her|his|im|i'm|i)\b)"
)
# "can I", "would my", "will it": a question about what could happen, not what is happening.
_MODAL_SUBJECT = re.compile(
    r"\b(?:can|could|will|would|might|may|should|gonna|going to)\s+"
    r"(?:i|my|me|she|he|her|his|they|it|you|the|a|this|that|there)\b",
    re.IGNORECASE,
)


# "not spreading, not painful": a sign denied is no sign; "not settling", "not healing" and "not
# able to" are kept, as they say something is wrong.
_DENIED_SIGN = re.compile(
    r"\b(?:not|no|nothing|none|without|never|isn['’]?t|aren['’]?t)\s+(?!able|stop|better|go|settl|heal|improv|calm|fad|eas|clear|sure)\w+",
    re.IGNORECASE,
)
_CONDITION = re.compile(r"\b(?:if|in case|unless|what if)\b", re.IGNORECASE)
# "Is it normal that...", "is this ok?": asks about what someone has, not what could happen.
_ABOUT_SOMEONE = re.compile(
    r"(?:is|are)\s+(?:it|this|that|these|they)\s+(?:normal|ok|okay|expected|usual|bad)\b", re.IGNORECASE
)


def phrase_pattern(phrases: Iterable[str]) -> Optional[Pattern[str]]:
    """Whole-word, case-insensitive match of any phrase; `*` ends a word with any letters,
    an apostrophe may be typed, curly or left out, and spaces may be any run of white space.
    A word is whole when no letter, nor an apostrophe and a letter ("can" in "can't"), follows."""
    parts = []
    for phrase in sorted(set(phrases), key=len, reverse=True):
        if phrase == "?":
            parts.append(r"\?")
            continue
        parts.append(re.escape(phrase).replace(r"\*", r"\w*").replace("'", "['’]?").replace(r"\ ", r"\s+"))
    if not parts:
        return None
    return re.compile(r"(?<![\w'’])(?:" + "|".join(parts) + r")(?![\w]|['’]\w)", re.IGNORECASE)


class _Matcher:
    """Phrases that match alone, or combinations (one phrase of each group) that match together."""

    def __init__(self, phrases: Sequence[str], combinations: Sequence[Combination] = ()) -> None:
        self._phrases = phrase_pattern(phrases)
        self._combinations = [[phrase_pattern(group) for group in groups] for groups in combinations]

    def search(self, text: str) -> bool:
        if self._phrases is not None and self._phrases.search(text):
            return True
        return any(
            all(pattern is not None and pattern.search(text) for pattern in groups) for groups in self._combinations
        )


@dataclass(frozen=True)
class Screening:
    """What the safety guard should do with a message."""

    red_flag: Optional[str] = None  # EMERGENCY, URGENT or None
    expected_effect: bool = False  # an effect the article expects, reported after a treatment (no red flag)
    said_to_be_mild: bool = False  # "a little", "slight": the writer calls the effect mild
    medical_request: bool = False  # prescription, dose, drug, diagnosis or product pick
    mentions_symptom: bool = False  # a red-flag word is there, reported or not ("can it blister?", "hay fever")
    supposition: bool = False  # every sentence asks what could happen, or tells hearsay or the past


def either(first: Screening, second: Screening) -> Screening:
    """What screening two readings of one message (as typed, and spell-corrected) finds together:
    a sign either reading finds counts, so a correction can add a catch ("blistring") but never
    take one away ("differin" corrected into "differing")."""
    levels = (first.red_flag, second.red_flag)
    red_flag = EMERGENCY if EMERGENCY in levels else URGENT if URGENT in levels else None
    return Screening(
        red_flag=red_flag,
        expected_effect=red_flag is None and (first.expected_effect or second.expected_effect),
        said_to_be_mild=first.said_to_be_mild or second.said_to_be_mild,
        medical_request=red_flag is None and (first.medical_request or second.medical_request),
        mentions_symptom=first.mentions_symptom or second.mentions_symptom,
        supposition=first.supposition and second.supposition,
    )


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False)


@lru_cache(maxsize=64)
def _segmented(text: str) -> Tuple[str, ...]:
    # pysbd is the costliest step of screening, and one message is read several times: each sign
    # list, as typed and as spell-corrected. The answer depends on the text alone.
    return tuple(sentence.strip() for sentence in _segmenter().segment(text) if sentence.strip())


def full_sentences(text: str) -> List[str]:
    """Sentences as pysbd reads them ("Dr. Smith said..." stays one)."""
    return list(_segmented(text or ""))


def sentences(text: str) -> List[str]:
    """Sentences, and clauses within them: a symptom and the words that frame it are judged together."""
    return [
        part.strip()
        for sentence in full_sentences(text)
        for part in _CLAUSE_END.split(sentence)
        if part and part.strip()
    ]


class Screener:
    def __init__(self, red_flags: RedFlags, rules: ScreeningRules) -> None:
        self._emergency = _Matcher(red_flags.emergency.phrases, rules.emergency_combinations)
        self._urgent = _Matcher(red_flags.urgent.phrases, rules.urgent_combinations)
        self._expected = _Matcher(rules.expected_effects)
        self._after_treatment = phrase_pattern(rules.expected_effect_context)
        self._mild = phrase_pattern(rules.mild_words)
        self._medical = _Matcher(rules.medical_requests.phrases, rules.medical_requests.combinations)
        self._personal = phrase_pattern((*red_flags.personal_markers, *rules.personal_markers))
        self._present = phrase_pattern(rules.present_markers)
        self._second_hand = phrase_pattern((*rules.hearsay_markers, *rules.past_markers))
        self._opener = phrase_pattern(rules.hypothetical_openers)
        self._idioms = phrase_pattern(rules.idioms)
        self._everyday = phrase_pattern((*rules.everyday_contexts, *rules.over_markers))

    def screen(self, text: str) -> Screening:
        written = text or ""
        text = self._idioms.sub(" ", written) if self._idioms else written
        text = _DENIED_SIGN.sub(" ", text)
        red_flag = self._red_flag(text)
        parts = [part for part in (_before_a_condition(s) for s in sentences(text)) if part]
        return Screening(
            red_flag=red_flag,
            expected_effect=(
                red_flag is None and _has(self._after_treatment, text) and self._reports(self._expected, text)
            ),
            medical_request=red_flag is None and any(self._medical.search(s) for s in full_sentences(text)),
            said_to_be_mild=_has(self._mild, text),
            mentions_symptom=(
                red_flag is not None
                or self._emergency.search(written)
                or self._urgent.search(written)
                or _has(self._idioms, written)
            ),
            supposition=bool(parts) and all(self._only_asks(s) or self._second_hand_or_everyday(s) for s in parts),
        )

    def _red_flag(self, text: str) -> Optional[str]:
        if self._reports(self._emergency, text):
            return EMERGENCY
        if self._reports(self._urgent, text):
            return URGENT
        return None

    def _reports(self, matcher: _Matcher, text: str) -> bool:
        """Whether a sentence with a match reports it (rather than asking whether it could happen),
        in a message that is not hearsay or about something that is over."""
        return any(
            matcher.search(s) and not self._only_asks(s) and not self._second_hand_or_everyday(s)
            for s in (_before_a_condition(sentence) for sentence in sentences(text))
            if s
        )

    def _second_hand_or_everyday(self, sentence: str) -> bool:
        """Hearsay or the past ("my aunt swears it gave her a reaction in the 90s"), unless the same
        sentence tells of someone now; something that is over ("totally healed now"); or everyday
        skin ("yellow gunk when I squeeze")."""
        if _has(self._everyday, sentence):
            return True
        return _has(self._second_hand, sentence) and not (
            _has(self._present, sentence) and _has(self._personal, sentence)
        )

    def _only_asks(self, sentence: str) -> bool:
        """A sentence that opens like a question ("can", "is it possible", "what if") and does not
        tell of anyone it is happening to ("is it normal that my face is oozing?" does)."""
        opening = sentence.lstrip(" \"'([-*")
        if self._opener is None or not self._opener.match(opening) or _ABOUT_SOMEONE.match(opening):
            return False
        return not _has(self._personal, sentence) or bool(_MODAL_SUBJECT.search(sentence))


def _before_a_condition(sentence: str) -> str:
    """The part of a sentence before "if" or "in case": what follows is a supposition
    ("how long should I take antibiotics if my pores get infected")."""
    return _CONDITION.split(sentence, maxsplit=1)[0].strip()


def _has(pattern: Optional[Pattern[str]], text: str) -> bool:
    return bool(pattern and pattern.search(text))
