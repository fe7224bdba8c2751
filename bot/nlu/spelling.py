"""Typo-tolerant normalisation of a patient's message, before spaCy and the featurizers see it.

The spaCy EntityRuler matches exact phrases and DIET classifies from count features, so
"micro neddling", "exfolaition" or "side efects" would be missed. `SpellingCorrector` maps such
near-misses to the canonical phrase of the knowledge vocabulary (rapidfuzz), and other typos to
an ordinary English word (symspellpy and its shipped frequency dictionary; nothing is
downloaded). It is deliberately conservative: real words, short words, names, numbers, e-mail
addresses and links are never changed, because a wrong "correction" is worse than none.

Pure Python, no Rasa: `bot/nlu/text_normalizer.py` wraps it as a pipeline component.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA
from symspellpy import SymSpell, Verbosity

DICTIONARY_PACKAGE = "symspellpy"
DICTIONARY_FILE = "frequency_dictionary_en_82_765.txt"

FUZZY_CUTOFF = 87.0  # rapidfuzz fuzz.ratio for a near-miss of a vocabulary phrase
CONFIDENT_SIMILARITY = 90.0  # a symspell suggestion must look this much like what was typed (or be a swap)
LONG_WORD = 10  # two edits only for words this long; "retinoid" is not a typo of "retinol"
# symspell corrects into the 53,991 words seen at least 100,000 times (plus the training and
# vocabulary words): about 0.6 s to index, where all 82,765 take 1.1 s (2.7 s with symspell's
# default prefix of 7).
# Every dictionary word still counts as known, so a rare real word is never "corrected".
MIN_TARGET_COUNT = 100_000
MAX_EDIT_DISTANCE = 2
PREFIX_LENGTH = 5  # symspell's index prefix (default 7): indexes 2.5x faster; a lookup takes 0.5 ms, not 0.2
REAL_WORD_CUTOFF = 90.0  # "chemical peal": a phrase of real words, one of them wrong, must be this close
REAL_WORD_MIN_LENGTH = 10  # ... and this long (without spaces), the wrong word one edit from the right one
MIN_LENGTH = 4  # shorter tokens are never corrected ("pus", "rn", "tbh")
SEGMENT_MIN_LENGTH = 7  # only long unknown tokens are split into words ("sideefects" is fuzzy, "howlong" split)
SEGMENT_MIN_COUNT = 1_000_000  # ... into two common words: "how long", not "peri oral" or "lase red"
MAX_SPAN = 3  # vocabulary phrases have at most three words
MAX_WORD_LENGTH = 30  # longer "words" are not words (a pasted code, a key mash): left alone
MAX_LOOKUPS = 25  # spell-checked words per message, so a pasted page of gibberish stays fast

# Chat words and apostrophe-less contractions that no dictionary has; "correcting" them
# ("youre" -> "your", "smth" -> "smith") would change the meaning.
INFORMAL_WORDS: FrozenSet[str] = frozenset(
    """
    alot abit aswell atleast dunno gonna gotta kinda sorta wanna lemme gimme hiya heya heyy hmmm
    haha hahaha lmao lmfao rofl omfg imho imo afaik iirc asap thnx thanx thx thankyou tysm plz pls
    smth sth tmrw tmr tomo nvm ikr okay okey okie yeah yep yup nope nah nahh ugh ughh
    dont doesnt didnt isnt arent wasnt werent cant couldnt shouldnt wouldnt wont havent hasnt hadnt
    mustnt neednt aint ive youve weve theyve youre theyre whats thats whos wheres theres heres
    hows lets itll youll theyll shes hes youd theyd wouldve couldve shouldve donts wat wats wot wut
    appt appts mins hrs yrs wks mths approx info pics convo bday hubby
    """.split()
)
SHORT_WORD = 6  # below this, only two swapped letters are corrected ("thier"); "mins" is not "min", "math" not "match"

# symspellpy's dictionary spells the British way: an American spelling ("skeptic", "color",
# "analyze", "pediatric") is a word, not a typo of "septic". (pattern, British replacement)
_BRITISH = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"or(?=s?$|ed$|ing$|ite|ful|less|able)", "our"),
        (r"iz(?=e|ing|ation)", "is"),
        (r"yz(?=e|ing)", "ys"),
        (r"ter(?=s?$)", "tre"),
        (r"^e", "ae"),
        (r"(?<=[^aeiou])e(?=[^aeiou])", "ae"),
        (r"^e", "oe"),
        (r"^sk", "sc"),
        (r"og$", "ogue"),
        (r"(?<=[aeiou])l(?=ed$|ing$|er$)", "ll"),
        (r"ll(?=ments?$)", "l"),
        (r"ense$", "ence"),
        (r"^math$", "maths"),
        (r"^mom", "mum"),
    )
)

INFLECTIONS = ("s", "es", "ed", "ing", "er", "ers")  # "microneedles" is a word of its own, not a typo
# A word the dictionary lacks but made of one it has ("influencer", "whiteish", "puffier", "lasered",
# "bestie") is a word, not a typo of "influence", "whitefish" or "puffer".
DERIVATIONS = (
    "s",
    "es",
    "ed",
    "d",
    "ing",
    "er",
    "ers",
    "est",
    "ier",
    "iest",
    "ish",
    "y",
    "ly",
    "ily",
    "ness",
    "ie",
    "ies",
    "able",
    "ful",
    "less",
    "ment",
    "ments",
    "ist",
    "ists",
    "ism",
)

_CHUNK = re.compile(r"\S+")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
# Anything with a digit, @, a slash, markup or a dot between letters (e-mail, link, domain, "e.g.")
_PROTECTED_CHUNK = re.compile(r"[\d@/\\#_=<>{}\[\]|~^*+$%&]|[^\W\d_]\.[^\W\d_]|^www", re.IGNORECASE)
_JOINER = re.compile(r"\s+|\s*-\s*")
_SEPARATORS = re.compile(r"[\s-]+")
_ELONGATED = re.compile(r"(\w)\1{2,}")


@dataclass(frozen=True)
class Replacement:
    """One rewritten span: where it was in the original text and where it is in the corrected one."""

    original_start: int
    original_end: int
    start: int
    end: int
    original: str
    text: str


@dataclass(frozen=True)
class Correction:
    """The corrected text and the replacements, so offsets can be mapped back to what was typed."""

    original: str
    text: str
    replacements: Tuple[Replacement, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.replacements)

    def to_original(self, start: int, end: int) -> Tuple[int, int]:
        """A span of the corrected text as a span of the original (e.g. an entity found after correction)."""
        pairs = [(r.start, r.end, r.original_start, r.original_end) for r in self.replacements]
        return _map_span(start, end, pairs)

    def to_corrected(self, start: int, end: int) -> Tuple[int, int]:
        """A span of the original text as a span of the corrected one (e.g. a training annotation)."""
        pairs = [(r.original_start, r.original_end, r.start, r.end) for r in self.replacements]
        return _map_span(start, end, pairs)


def _map_span(start: int, end: int, pairs: Sequence[Tuple[int, int, int, int]]) -> Tuple[int, int]:
    """Map through sorted (from_start, from_end, to_start, to_end) spans; a span that starts or ends
    inside a replaced span is widened to the whole replacement."""
    return _map_position(start, pairs, is_end=False), _map_position(end, pairs, is_end=True)


def _map_position(position: int, pairs: Sequence[Tuple[int, int, int, int]], is_end: bool) -> int:
    shift = 0
    for from_start, from_end, to_start, to_end in pairs:
        if position < from_start or (is_end and position == from_start):
            break
        if position < from_end or (is_end and position == from_end):
            return to_end if is_end else to_start
        shift = to_end - from_end
    return position + shift


@lru_cache(maxsize=1)
def english_word_counts() -> Mapping[str, int]:
    """symspellpy's shipped English frequency dictionary (82,765 words), read once per process."""
    try:
        text = resources.files(DICTIONARY_PACKAGE).joinpath(DICTIONARY_FILE).read_text(encoding="utf-8")
    except AttributeError:  # Python 3.8: no importlib.resources.files
        text = resources.read_text(DICTIONARY_PACKAGE, DICTIONARY_FILE, encoding="utf-8")
    counts: Dict[str, int] = {}
    for line in text.splitlines():
        word, _, count = line.partition(" ")
        if word and count.strip().isdigit():
            counts[word] = max(counts.get(word, 0), int(count))
    return counts


def normalise_phrase(phrase: str) -> str:
    return " ".join(phrase.lower().split())


def _squash(phrase: str) -> str:
    """Spaces and hyphens removed, so "micro neddling" can meet "microneddling"."""
    return _SEPARATORS.sub("", phrase.lower())


def canonical_pairs(
    groups: Mapping[str, Iterable[str]], cutoff: float = FUZZY_CUTOFF, english: Optional[Mapping[str, int]] = None
) -> List[Tuple[str, str]]:
    """(phrase, canonical phrase) for every phrase of every entity value.

    `groups` maps an entity value ("laser_resurfacing") to its phrases. A phrase is its own
    canonical form when it is the value itself ("laser resurfacing") or made of English words;
    any other phrase is a misspelling whose canonical form is the nearest correctly spelled phrase
    of the same value, if one is near enough ("lazer resurfacing" -> "laser resurfacing";
    "lazer" is too far from "laser" and stays itself). A phrase that differs from a correct one
    only in spaces or hyphens ("dermaroller", "derma roller") is a spelling of its own."""
    english = english_word_counts() if english is None else english
    pairs: Dict[str, str] = {}
    for value, phrases in groups.items():
        value_phrase = normalise_phrase(value.replace("_", " "))
        normalised = sorted({normalise_phrase(phrase) for phrase in phrases if phrase.strip()})
        correct = [p for p in normalised if p == value_phrase or all(w in english for w in _WORD.findall(p))]
        targets: Dict[str, str] = {}
        for phrase in sorted(correct, key=lambda p: (p != value_phrase, bool(_SEPARATORS.search(p)), p)):
            targets.setdefault(_squash(phrase), phrase)  # "microneedling" before "micro needling"
        for phrase in normalised:
            canonical = phrase
            if phrase not in correct and targets and _squash(phrase) not in targets:  # "dermaroller" is no typo
                best = process.extractOne(_squash(phrase), list(targets), scorer=fuzz.ratio, score_cutoff=cutoff)
                if best and not _inflected(_squash(phrase), best[0]):  # "microneedles" is no typo either
                    canonical = targets[best[0]]
            pairs.setdefault(phrase, canonical)
    return sorted(pairs.items())


def _inflected(word: str, stem: str) -> bool:
    """`word` is `stem` with an ending ("microneedles", "influencer" from "influence")."""
    stems = (stem, stem[:-1]) if stem.endswith("e") else (stem,)
    return any(word == base + ending for base in stems for ending in INFLECTIONS)


@dataclass
class _Token:
    start: int
    end: int
    lower: str
    protected: bool  # never changed, never part of a phrase (names, numbers, links, contractions)
    vocabulary_only: bool  # capitalised (sentence start, shouting): vocabulary matches only, never symspell

    @property
    def long_enough(self) -> bool:
        return len(self.lower) >= MIN_LENGTH


class SpellingCorrector:
    """Corrects near-misses of the knowledge vocabulary and typos of ordinary words.

    `vocabulary`: (phrase, canonical phrase) pairs (see `canonical_pairs`). `known_words`: words
    that must never be changed by the English spell checker (the words of the training
    examples, "isotretinoin", "derm"); they do not protect a near-miss of a vocabulary phrase
    ("recovry" is in the training data, but "recovery" is what the entity ruler knows)."""

    def __init__(
        self,
        vocabulary: Iterable[Tuple[str, str]],
        known_words: Iterable[str] = (),
        fuzzy_cutoff: float = FUZZY_CUTOFF,
        min_target_count: int = MIN_TARGET_COUNT,
    ) -> None:
        self._cutoff = fuzzy_cutoff
        english = english_word_counts()
        self._counts = english
        self._canonical: Dict[str, str] = {normalise_phrase(p): normalise_phrase(c) for p, c in vocabulary if p.strip()}
        self._misspellings = {p: c for p, c in self._canonical.items() if p != c}
        vocabulary_words = {w for phrase in self._canonical for w in _WORD.findall(phrase)}
        self._dictionary_words: Set[str] = set(english) | vocabulary_words | INFORMAL_WORDS
        self._known_words: Set[str] = self._dictionary_words | {w.lower() for w in known_words}
        self._fuzzy_targets = self._fuzzy_choices()
        self._fuzzy_keys = list(self._fuzzy_targets)
        self._phrase_slots = self._one_word_slots()
        self._symspell = SymSpell(max_dictionary_edit_distance=MAX_EDIT_DISTANCE, prefix_length=PREFIX_LENGTH)
        domain_words = vocabulary_words | {w.lower() for w in known_words}  # commonness aside, words PoreGuide hears
        for word, count in english.items():
            if count >= min_target_count or word in domain_words:
                self._symspell.create_dictionary_entry(word, count)

    def _fuzzy_choices(self) -> Dict[str, List[str]]:
        """Squashed phrase -> canonical forms, correctly spelled phrases first."""
        choices: Dict[str, List[str]] = {}
        for phrase, canonical in sorted(self._canonical.items(), key=lambda item: (item[0] != item[1], item[0])):
            options = choices.setdefault(_squash(phrase), [])
            if canonical not in options:
                options.append(canonical)
        return choices

    def _one_word_slots(self) -> Dict[Tuple[int, int, Tuple[str, ...]], List[Tuple[str, str, str]]]:
        """(words, position, the other words) -> (word, phrase, canonical) for every multi-word
        phrase, to find "chemical peal" (real words, one of them wrong) in one look-up."""
        slots: Dict[Tuple[int, int, Tuple[str, ...]], List[Tuple[str, str, str]]] = {}
        for phrase, canonical in sorted(self._canonical.items()):
            words = _WORD.findall(phrase)
            for position, word in enumerate(words if len(words) > 1 else []):
                others = tuple(words[:position] + words[position + 1 :])
                slots.setdefault((len(words), position, others), []).append((word, phrase, canonical))
        return slots

    def _fuzzy_target(self, key: str, words: int) -> str:
        """Of equally good forms, the one written like the patient wrote it: "side efects" ->
        "side effects", "dermaroler" -> "dermaroller"."""
        options = self._fuzzy_targets[key]
        return next((option for option in options if len(_WORD.findall(option)) == words), options[0])

    def correct(self, text: str) -> Correction:
        tokens = self._tokens(text)
        edits: List[Tuple[int, int, str]] = []
        free = 0  # tokens before this one are already part of an edit
        lookups = 0
        index = 0
        while index < len(tokens):
            found = self._vocabulary_edit(text, tokens, index, free)
            if found:
                first, last, replacement = found
                if replacement != text[tokens[first].start : tokens[last].end]:
                    edits.append((tokens[first].start, tokens[last].end, replacement))
                    free = last + 1
                index = last + 1
                continue
            word = None
            if lookups < MAX_LOOKUPS and self._needs_spell_check(tokens[index]):
                lookups += 1
                word = self._word_edit(tokens[index].lower)
            if word is not None:
                edits.append((tokens[index].start, tokens[index].end, word))
                free = index + 1
            index += 1
        return _apply(text, edits)

    # -- tokens ---------------------------------------------------------------------------------

    def _tokens(self, text: str) -> List[_Token]:
        letters = [c for c in text if c.isalpha()]
        shouting = len(letters) > 3 and all(c.isupper() for c in letters)
        tokens: List[_Token] = []
        for chunk in _CHUNK.finditer(text):
            if _PROTECTED_CHUNK.search(chunk.group()):
                tokens.append(_Token(chunk.start(), chunk.end(), chunk.group().lower(), True, True))
                continue
            for match in _WORD.finditer(chunk.group()):
                start, end = chunk.start() + match.start(), chunk.start() + match.end()
                word = match.group()
                capitalised = word[0].isupper()
                sentence_start = _at_sentence_start(text, start)
                protected = (
                    not word.isascii()
                    or len(word) > MAX_WORD_LENGTH
                    or "'" in word
                    or "’" in word
                    or (capitalised and not sentence_start and not shouting)
                    or (not capitalised and not word.islower())  # "iPhone"
                )
                tokens.append(_Token(start, end, word.lower(), protected, capitalised))
        return tokens

    # -- vocabulary (rapidfuzz) -------------------------------------------------------------------

    def _vocabulary_edit(
        self, text: str, tokens: List[_Token], index: int, free: int
    ) -> Optional[Tuple[int, int, str]]:
        """An exact known misspelling starting at this token, or the best near-miss of a vocabulary
        phrase that contains this (unknown) token and starts no earlier than `free`."""
        for last in range(min(len(tokens), index + MAX_SPAN) - 1, index - 1, -1):
            span = self._span_text(text, tokens, index, last)
            if span is not None and normalise_phrase(span) in self._misspellings:
                return index, last, _match_case(span, self._misspellings[normalise_phrase(span)])
        if not self._unknown_to_dictionaries(tokens[index]):
            return self._real_word_edit(text, tokens, index)
        best: Optional[Tuple[float, int, int, int, str]] = None  # score, -words, first, last, canonical
        for first in range(max(free, index - MAX_SPAN + 1), index + 1):
            for last in range(index, min(len(tokens), first + MAX_SPAN)):
                span = self._span_text(text, tokens, first, last)
                if span is None or not self._may_join(tokens[first : last + 1]):
                    continue
                match = process.extractOne(
                    _squash(span), self._fuzzy_keys, scorer=fuzz.ratio, score_cutoff=self._cutoff
                )
                if match is not None:
                    candidate = (match[1], first - last, first, last, self._fuzzy_target(match[0], last - first + 1))
                    best = candidate if best is None or candidate[:2] > best[:2] else best
        if best is None:
            return None
        _, _, first, last, canonical = best
        return first, last, _match_case(text[tokens[first].start : tokens[last].end], canonical)

    def _real_word_edit(self, text: str, tokens: List[_Token], index: int) -> Optional[Tuple[int, int, str]]:
        """A vocabulary phrase typed with one real but wrong word: "chemical peal", "side affects".
        Only for long phrases, a long wrong word and a close match: "time of" never becomes
        "time off", "who dies" never "who does", "laser treatments" keeps its plural."""
        best: Optional[Tuple[float, int, str]] = None
        for last in range(index + 1, min(len(tokens), index + MAX_SPAN)):
            span = self._span_text(text, tokens, index, last)
            words = [t.lower for t in tokens[index : last + 1]]
            if span is None or not all(w in self._dictionary_words for w in words):
                break
            if len(_squash(span)) < REAL_WORD_MIN_LENGTH or normalise_phrase(span) in self._canonical:
                continue  # too short to be sure, or a vocabulary phrase itself ("chemical peels")
            for position, typed in enumerate(words):
                others = tuple(words[:position] + words[position + 1 :])
                for word, phrase, canonical in self._phrase_slots.get((len(words), position, others), []):
                    if (
                        typed == word
                        or len(typed) < MIN_LENGTH
                        or len(word) < MIN_LENGTH
                        or _inflected(typed, word)
                        or _inflected(word, typed)
                        or OSA.distance(typed, word) > 1
                    ):  # "normal kind" is no "normal skin"
                        continue
                    score = fuzz.ratio(_squash(span), _squash(phrase))
                    if score >= REAL_WORD_CUTOFF and (best is None or score > best[0]):
                        best = (score, last, canonical)
        if best is None:
            return None
        _, last, canonical = best
        return index, last, _match_case(text[tokens[index].start : tokens[last].end], canonical)

    def _may_join(self, tokens: Sequence[_Token]) -> bool:
        """Every word known or a correctable unknown one (so a 3-letter typo is never swallowed)."""
        return all(t.lower in self._dictionary_words or (t.long_enough and t.lower.isalpha()) for t in tokens)

    def _unknown_to_dictionaries(self, token: _Token) -> bool:
        return (
            not token.protected
            and token.long_enough
            and token.lower.isascii()
            and token.lower not in self._dictionary_words
        )

    @staticmethod
    def _span_text(text: str, tokens: List[_Token], first: int, last: int) -> Optional[str]:
        """The text from token `first` to `last` if they are joined only by spaces or hyphens."""
        if any(t.protected for t in tokens[first : last + 1]):
            return None
        for left, right in zip(tokens[first:last], tokens[first + 1 : last + 1]):
            if not _JOINER.fullmatch(text[left.end : right.start]):
                return None
        return text[tokens[first].start : tokens[last].end]

    # -- ordinary words (symspellpy) -----------------------------------------------------------------

    def _needs_spell_check(self, token: _Token) -> bool:
        return (
            not token.vocabulary_only and self._unknown_to_dictionaries(token) and token.lower not in self._known_words
        )

    def _word_edit(self, word: str) -> Optional[str]:
        for collapsed in (_ELONGATED.sub(r"\1\1", word), _ELONGATED.sub(r"\1", word)):
            if collapsed != word and collapsed in self._known_words:
                return collapsed  # "hellooooo" -> "hello"
        if self._american(word) or self._derived(word):
            return None
        distance = 1 if len(word) < LONG_WORD else MAX_EDIT_DISTANCE
        suggestions = [
            (s.count, s.term)
            for s in self._symspell.lookup(word, Verbosity.CLOSEST, max_edit_distance=distance)
            if s.term[0] == word[0]
            and _similarity(word, s.term) >= CONFIDENT_SIMILARITY
            and (len(word) >= SHORT_WORD or sorted(s.term) == sorted(word))
        ]
        if suggestions:
            # Among the closest, only a swap or a missing/extra letter ("swolen" -> "swollen", not the
            # commoner "stolen"; "thier" -> "their", not "tier"); then the commonest word.
            return max(suggestions)[1]
        return self._split(word)  # "howlong" -> "how long"

    def _derived(self, word: str) -> bool:
        for ending in DERIVATIONS:
            base = word[: -len(ending)]  # "puffier" -> "puff", "whistly" -> "whistl(e)", "tidier" -> "tid(y)"
            if word.endswith(ending) and len(base) >= 4 and not base.endswith(("ed", "ing")):  # "bled-ing" is a typo
                bases = (
                    base,
                    base + "e",
                    base[:-1] + "y" if base.endswith("i") else base,
                    base[:-1] if base[-1:] == base[-2:-1] else base,
                )
                if any(candidate in self._known_words for candidate in bases):
                    return True
        return False

    def _american(self, word: str) -> bool:
        """True if the British spelling of `word` is a known word."""
        for pattern, british in _BRITISH:
            for match in pattern.finditer(word):
                if word[: match.start()] + british + word[match.end() :] in self._known_words:
                    return True
        return False

    def _split(self, word: str) -> Optional[str]:
        """Two common words run together, found by symspell's word segmentation without edits."""
        if len(word) < SEGMENT_MIN_LENGTH:
            return None
        parts = self._symspell.word_segmentation(word, max_edit_distance=0).corrected_string.split()
        if (
            len(parts) == 2
            and "".join(parts) == word
            and all(self._counts.get(p, 0) >= SEGMENT_MIN_COUNT for p in parts)
        ):
            return " ".join(parts)
        return None


def _similarity(typed: str, word: str) -> float:
    """rapidfuzz's ratio (a changed letter costs twice a missing one), except that two swapped
    letters count as a near-certain typo."""
    return 100.0 if sorted(typed) == sorted(word) else fuzz.ratio(typed, word)


def _at_sentence_start(text: str, start: int) -> bool:
    position = start - 1
    while position >= 0 and text[position].isspace():
        if text[position] == "\n":
            return True
        position -= 1
    return position < 0 or text[position] in ".!?"


def _match_case(original: str, replacement: str) -> str:
    letters = [c for c in original if c.isalpha()]
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return replacement.upper()
    if original[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def _apply(text: str, edits: List[Tuple[int, int, str]]) -> Correction:
    pieces: List[str] = []
    replacements: List[Replacement] = []
    cursor = 0
    length = 0
    for start, end, new in sorted(edits):
        pieces.append(text[cursor:start])
        length += start - cursor
        replacements.append(Replacement(start, end, length, length + len(new), text[start:end], new))
        pieces.append(new)
        length += len(new)
        cursor = end
    pieces.append(text[cursor:])
    return Correction(text, "".join(pieces), tuple(replacements))
