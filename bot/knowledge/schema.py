"""Reads and validates the knowledge file so that a clinic's typo fails loudly, naming the entry and field."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bot.knowledge.opening_hours import WEEKDAYS, OpeningHours, describe_week, parse_periods

GENERAL_GUIDANCE = "general_guidance"
SEED_ARTICLE = "seed_article"
# The clinic's details as replies show them; `hours` is the text made from `opening_hours`.
CLINIC_FIELDS = ("name", "phone", "email", "address", "hours", "booking_url")
REQUIRED_TOPICS = ("why_smaller_pores", "options", "dermatologist", "cost", "general_precautions")


class KnowledgeError(ValueError):
    """The knowledge file is invalid; the message names the entry and the field."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


@dataclass(frozen=True)
class Fact:
    """One statement PoreGuide may make, with where it comes from."""

    text: str
    source: str
    quote: Optional[str] = None

    @property
    def is_general_guidance(self) -> bool:
        return self.source == GENERAL_GUIDANCE


@dataclass(frozen=True)
class Source:
    key: str
    title: str
    location: str


@dataclass(frozen=True)
class Clinic:
    name: str
    phone: str
    email: str
    address: str
    hours: str
    booking_url: str
    # The structured week behind `hours`, from the knowledge file (the database keeps only the text).
    opening_hours: Optional[OpeningHours] = None

    def template_values(self) -> Dict[str, str]:
        """Values for `{clinic_*}` placeholders (domain responses, channel messages)."""
        return {f"clinic_{name}": getattr(self, name) for name in CLINIC_FIELDS}


# What `{clinic_*}` placeholders say when neither the database nor the knowledge file can be read:
# the reply still makes sense and points the person to the clinic, and names no contact it lacks.
UNKNOWN_CLINIC_VALUES: Dict[str, str] = {
    "clinic_name": "the clinic",
    "clinic_phone": "by phone",
    "clinic_email": "by email",
    "clinic_address": "the clinic",
    "clinic_hours": "its opening hours",
    "clinic_booking_url": "the clinic's website",
}


def clinic_template_values(clinic: Optional["Clinic"]) -> Dict[str, str]:
    """`clinic.template_values()`, or the placeholders' words for an unknown clinic."""
    return clinic.template_values() if clinic else dict(UNKNOWN_CLINIC_VALUES)


@dataclass(frozen=True)
class Aspect:
    key: str
    label: str
    keywords: Tuple[str, ...]


@dataclass(frozen=True)
class Treatment:
    key: str
    name: str
    synonyms: Tuple[str, ...]
    misspellings: Tuple[str, ...]
    facts: Mapping[str, Tuple[Fact, ...]]

    @property
    def terms(self) -> Tuple[str, ...]:
        """Every way of writing this treatment that PoreGuide should recognise."""
        return (self.name.lower(), *self.synonyms, *self.misspellings)


@dataclass(frozen=True)
class Question:
    """One question of the guided recommendation, with its button answers (value -> title)."""

    key: str
    prompt: str
    answers: Mapping[str, str]
    words: Mapping[str, Tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class RankingRule:
    """When every `when` question has one of the listed answers, apply `effect` to `treatments`."""

    id: str
    when: Mapping[str, Tuple[str, ...]]
    effect: str
    treatments: Tuple[str, ...]
    weight: int
    reason: str
    source: str

    def matches(self, answers: Mapping[str, Optional[str]]) -> bool:
        return all(answers.get(question) in allowed for question, allowed in self.when.items())


@dataclass(frozen=True)
class Recommendation:
    questions: Mapping[str, Question]
    rules: Tuple[RankingRule, ...]


@dataclass(frozen=True)
class RedFlagLevel:
    advice: str
    source: str
    phrases: Tuple[str, ...]


@dataclass(frozen=True)
class RedFlags:
    emergency: RedFlagLevel
    urgent: RedFlagLevel
    personal_markers: Tuple[str, ...]


Combination = Tuple[Tuple[str, ...], ...]


@dataclass(frozen=True)
class PhraseRule:
    """Phrases that match alone, and combinations (one phrase of each group) that match together."""

    phrases: Tuple[str, ...] = ()
    combinations: Tuple[Combination, ...] = ()


@dataclass(frozen=True)
class ScreeningRules:
    """How a report of a complication is told from a mention of one, and what a medical request is."""

    source: str
    emergency_combinations: Tuple[Combination, ...]
    urgent_combinations: Tuple[Combination, ...]
    personal_markers: Tuple[str, ...]
    present_markers: Tuple[str, ...]
    hypothetical_openers: Tuple[str, ...]
    hearsay_markers: Tuple[str, ...]
    past_markers: Tuple[str, ...]
    over_markers: Tuple[str, ...]
    idioms: Tuple[str, ...]
    everyday_contexts: Tuple[str, ...]
    expected_effects: Tuple[str, ...]
    expected_effect_context: Tuple[str, ...]
    mild_words: Tuple[str, ...]
    medical_requests: PhraseRule


@dataclass(frozen=True)
class KnowledgeBase:
    sources: Mapping[str, Source]
    clinic: Clinic
    topics: Mapping[str, Tuple[Fact, ...]]
    aspects: Mapping[str, Aspect]
    treatments: Mapping[str, Treatment]
    skin_types: Mapping[str, Tuple[str, ...]]
    concerns: Mapping[str, Tuple[str, ...]]
    concepts: Mapping[str, Tuple[str, ...]]
    recommendation: Recommendation
    red_flags: RedFlags
    screening: ScreeningRules
    raw_text: str = field(default="", compare=False, repr=False)

    def all_facts(self) -> List[Fact]:
        facts = [fact for topic in self.topics.values() for fact in topic]
        for treatment in self.treatments.values():
            facts.extend(fact for aspect in treatment.facts.values() for fact in aspect)
        return facts


def load_knowledge(path: Path) -> KnowledgeBase:
    """Parse and validate the knowledge file at `path`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise KnowledgeError(str(path), f"cannot read the file ({error.strerror})") from error
    return parse_knowledge(text, where=str(path))


def parse_knowledge(text: str, where: str = "knowledge") -> KnowledgeBase:
    """Validate the YAML text of a knowledge file and return it as typed objects."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise KnowledgeError(where, f"is not valid YAML ({error})") from error
    root = _mapping(data, where)
    sources = _sources(_mapping(root.get("sources"), "sources"))
    aspects = _aspects(_mapping(root.get("aspects"), "aspects"))
    treatments = _treatments(_mapping(root.get("treatments"), "treatments"), sources, aspects)
    skin_types = _vocabulary(root.get("skin_types"), "skin_types")
    concerns = _vocabulary(root.get("concerns"), "concerns")
    topics = _topics(_mapping(root.get("topics"), "topics"), sources)
    concepts = _concepts(root.get("concepts"), topics)
    knowledge = KnowledgeBase(
        sources=sources,
        clinic=_clinic(_mapping(root.get("clinic"), "clinic")),
        topics=topics,
        aspects=aspects,
        treatments=treatments,
        skin_types=skin_types,
        concerns=concerns,
        concepts=concepts,
        recommendation=_recommendation(
            _mapping(root.get("recommendation"), "recommendation"),
            sources,
            treatments,
            {"skin_types": skin_types, "concerns": concerns},
        ),
        red_flags=_red_flags(_mapping(root.get("red_flags"), "red_flags"), sources),
        screening=_screening(_mapping(root.get("screening"), "screening"), sources),
        raw_text=text,
    )
    _check_terms_unique(knowledge)
    return knowledge


SAFETY_SECTIONS = ("sources", "red_flags", "screening")


def safety_sections(text: str, where: str = "knowledge") -> str:
    """The YAML of the sections the red-flag screening needs, cut from a knowledge file's text: what
    a trained model keeps (bot/safety/red_flag_guard.py), so that editing the clinic's hours or a
    treatment's facts neither changes nor breaks the model's safety floor."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise KnowledgeError(where, f"is not valid YAML ({error})") from error
    root = _mapping(data, where)
    return yaml.safe_dump({key: root.get(key) for key in SAFETY_SECTIONS}, sort_keys=False, allow_unicode=True)


def parse_safety_rules(text: str, where: str = "knowledge") -> Tuple[RedFlags, ScreeningRules]:
    """The red flags and screening rules of `safety_sections` text, validated as in a whole file."""
    root = _mapping(yaml.safe_load(text), where)
    sources = _sources(_mapping(root.get("sources"), f"{where}: sources"))
    return (
        _red_flags(_mapping(root.get("red_flags"), "red_flags"), sources),
        _screening(_mapping(root.get("screening"), "screening"), sources),
    )


def _mapping(value: Any, where: str) -> Dict[str, Any]:
    if not isinstance(value, dict) or not value:
        raise KnowledgeError(where, "must be a non-empty mapping")
    return value


def _text(entry: Mapping[str, Any], key: str, where: str, allow_empty: bool = False) -> str:
    value = entry.get(key)
    if value is None and allow_empty:
        return ""
    if not isinstance(value, str) or (not value.strip() and not allow_empty):
        raise KnowledgeError(f"{where}.{key}", "must be a non-empty text")
    return value.strip()


def _terms(value: Any, where: str) -> Tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise KnowledgeError(where, "must be a list of non-empty texts")
    return tuple(item.strip().lower() for item in value)


def _sources(entries: Mapping[str, Any]) -> Dict[str, Source]:
    sources = {}
    for key, entry in entries.items():
        where = f"sources.{key}"
        entry = _mapping(entry, where)
        sources[key] = Source(key, _text(entry, "title", where), _text(entry, "location", where, True))
    if GENERAL_GUIDANCE not in sources:
        raise KnowledgeError("sources", f"must define '{GENERAL_GUIDANCE}'")
    return sources


def _clinic(entry: Mapping[str, Any]) -> Clinic:
    opening_hours = _opening_hours(entry)
    texts = {name: _text(entry, name, "clinic") for name in CLINIC_FIELDS if name != "hours"}
    return Clinic(**texts, hours=describe_week(opening_hours), opening_hours=opening_hours)


def _opening_hours(entry: Mapping[str, Any]) -> OpeningHours:
    """`time_zone` (an IANA name), `hours` (weekday -> "9:00-17:00", several periods separated by
    commas; a day left out is closed) and the optional `closed_on` (dates, YYYY-MM-DD)."""
    zone_name = _text(entry, "time_zone", "clinic")
    try:
        ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise KnowledgeError(
            "clinic.time_zone",
            f"unknown time zone '{zone_name}': use an IANA name such as Europe/London "
            "(and install the tzdata package where the system has no zone files)",
        ) from error
    days = entry.get("hours")
    if not isinstance(days, dict) or not days:
        raise KnowledgeError("clinic.hours", 'must map weekdays to opening times, e.g. monday: "9:00-17:00"')
    week = {}
    for day, periods in days.items():
        where = f"clinic.hours.{day}"
        if str(day).lower() not in WEEKDAYS:
            raise KnowledgeError(where, f"is not a weekday (one of {', '.join(WEEKDAYS)})")
        if not isinstance(periods, str) or not periods.strip():
            raise KnowledgeError(where, 'must be opening times such as "9:00-17:00" (leave a closed day out)')
        try:
            week[WEEKDAYS.index(str(day).lower())] = parse_periods(periods)
        except ValueError as error:
            raise KnowledgeError(where, str(error)) from None
    return OpeningHours(zone_name, week, _closed_on(entry.get("closed_on")))


def _closed_on(value: Any) -> frozenset:
    if value is None:
        return frozenset()
    if not isinstance(value, list):
        raise KnowledgeError("clinic.closed_on", "must be a list of dates (YYYY-MM-DD)")
    dates = set()
    for index, item in enumerate(value):
        if isinstance(item, datetime.date) and not isinstance(item, datetime.datetime):
            dates.add(item)
            continue
        try:
            dates.add(datetime.date.fromisoformat(str(item).strip()))
        except ValueError:
            raise KnowledgeError(f"clinic.closed_on[{index}]", f"'{item}' is not a date (YYYY-MM-DD)") from None
    return frozenset(dates)


def _facts(value: Any, where: str, sources: Mapping[str, Source]) -> Tuple[Fact, ...]:
    if not isinstance(value, list) or not value:
        raise KnowledgeError(where, "must be a non-empty list of facts")
    facts = []
    for index, entry in enumerate(value):
        fact_where = f"{where}[{index}]"
        entry = _mapping(entry, fact_where)
        source = _text(entry, "source", fact_where)
        if source not in sources:
            raise KnowledgeError(f"{fact_where}.source", f"unknown source '{source}'")
        quote = entry.get("quote")
        if source != GENERAL_GUIDANCE and not (isinstance(quote, str) and quote.strip()):
            raise KnowledgeError(
                f"{fact_where}.quote", "a fact from a source other than general guidance needs a quote"
            )
        facts.append(Fact(_text(entry, "text", fact_where), source, quote.strip() if quote else None))
    return tuple(facts)


def _topics(entries: Mapping[str, Any], sources: Mapping[str, Source]) -> Dict[str, Tuple[Fact, ...]]:
    missing = [name for name in REQUIRED_TOPICS if name not in entries]
    if missing:
        raise KnowledgeError("topics", f"missing {', '.join(missing)}")
    return {key: _facts(value, f"topics.{key}", sources) for key, value in entries.items()}


def _aspects(entries: Mapping[str, Any]) -> Dict[str, Aspect]:
    aspects = {}
    for key, entry in entries.items():
        where = f"aspects.{key}"
        entry = _mapping(entry, where)
        aspects[key] = Aspect(key, _text(entry, "label", where), _terms(entry.get("keywords"), f"{where}.keywords"))
    return aspects


def _treatments(
    entries: Mapping[str, Any], sources: Mapping[str, Source], aspects: Mapping[str, Aspect]
) -> Dict[str, Treatment]:
    treatments = {}
    for key, entry in entries.items():
        where = f"treatments.{key}"
        entry = _mapping(entry, where)
        facts = _mapping(entry.get("facts"), f"{where}.facts")
        missing = [aspect for aspect in aspects if aspect not in facts]
        if missing:
            raise KnowledgeError(f"{where}.facts", f"missing aspects: {', '.join(missing)}")
        unknown = [aspect for aspect in facts if aspect not in aspects]
        if unknown:
            raise KnowledgeError(f"{where}.facts", f"unknown aspects: {', '.join(unknown)}")
        treatments[key] = Treatment(
            key=key,
            name=_text(entry, "name", where),
            synonyms=_terms(entry.get("synonyms"), f"{where}.synonyms"),
            misspellings=_terms(entry.get("misspellings"), f"{where}.misspellings"),
            facts={aspect: _facts(facts[aspect], f"{where}.facts.{aspect}", sources) for aspect in aspects},
        )
    return treatments


def _vocabulary(value: Any, where: str) -> Dict[str, Tuple[str, ...]]:
    entries = _mapping(value, where)
    return {key: _terms(terms, f"{where}.{key}") for key, terms in entries.items()}


CONCEPT_TOPIC_PREFIX = "concept_"


def _concepts(value: Any, topics: Mapping[str, Tuple[Fact, ...]]) -> Dict[str, Tuple[str, ...]]:
    """The article's concepts: the words for each, whose facts are the topic `concept_<key>`."""
    concepts = _vocabulary(value, "concepts")
    for key, words in concepts.items():
        if not words:
            raise KnowledgeError(f"concepts.{key}", "must list at least one word")
        if CONCEPT_TOPIC_PREFIX + key not in topics:
            raise KnowledgeError(f"concepts.{key}", f"has no facts: add topics.{CONCEPT_TOPIC_PREFIX}{key}")
    return concepts


RULE_EFFECTS = ("see_doctor_first", "avoid", "prefer")


def _recommendation(
    entry: Mapping[str, Any],
    sources: Mapping[str, Source],
    treatments: Mapping[str, Treatment],
    vocabularies: Mapping[str, Mapping[str, Tuple[str, ...]]],
) -> Recommendation:
    questions = {
        key: _question(key, question, vocabularies)
        for key, question in _mapping(entry.get("questions"), "recommendation.questions").items()
    }
    rules = entry.get("rules")
    if not isinstance(rules, list) or not rules:
        raise KnowledgeError("recommendation.rules", "must be a non-empty list of rules")
    parsed = tuple(
        _rule(rule, f"recommendation.rules[{index}]", questions, sources, treatments)
        for index, rule in enumerate(rules)
    )
    ids = [rule.id for rule in parsed]
    if len(set(ids)) != len(ids):
        raise KnowledgeError("recommendation.rules", "rule ids must be unique")
    return Recommendation(questions, parsed)


def _question(key: str, entry: Any, vocabularies: Mapping[str, Mapping[str, Tuple[str, ...]]]) -> Question:
    """An answer is a title, or {title, words}; `vocabulary` takes the words from skin_types/concerns."""
    where = f"recommendation.questions.{key}"
    entry = _mapping(entry, where)
    vocabulary_name = entry.get("vocabulary")
    if vocabulary_name is not None and vocabulary_name not in vocabularies:
        raise KnowledgeError(f"{where}.vocabulary", f"must be one of {', '.join(vocabularies)}")
    vocabulary = vocabularies.get(vocabulary_name, {})
    titles, words = {}, {}
    for value, answer in _mapping(entry.get("answers"), f"{where}.answers").items():
        answer_where = f"{where}.answers.{value}"
        if isinstance(answer, dict):
            titles[str(value)] = _text(answer, "title", answer_where)
            words[str(value)] = _terms(answer.get("words"), f"{answer_where}.words")
        else:
            titles[str(value)] = _text({"title": answer}, "title", answer_where)
            words[str(value)] = vocabulary.get(str(value), ())
        if vocabulary_name and str(value) not in vocabulary:
            raise KnowledgeError(answer_where, f"is not in {vocabulary_name}")
    return Question(key, _text(entry, "prompt", where), titles, words)


def _rule(
    entry: Any,
    where: str,
    questions: Mapping[str, Question],
    sources: Mapping[str, Source],
    treatments: Mapping[str, Treatment],
) -> RankingRule:
    entry = _mapping(entry, where)
    when = {}
    for question, allowed in _mapping(entry.get("when"), f"{where}.when").items():
        if question not in questions:
            raise KnowledgeError(f"{where}.when", f"unknown question '{question}'")
        values = _terms(allowed, f"{where}.when.{question}")
        unknown = [value for value in values if value not in questions[question].answers]
        if not values or unknown:
            raise KnowledgeError(f"{where}.when.{question}", f"unknown answers: {', '.join(unknown) or 'none given'}")
        when[question] = values
    effect = _text(entry, "effect", where)
    if effect not in RULE_EFFECTS:
        raise KnowledgeError(f"{where}.effect", f"must be one of {', '.join(RULE_EFFECTS)}")
    named = _terms(entry.get("treatments"), f"{where}.treatments")
    unknown = [key for key in named if key not in treatments]
    if unknown or (effect != "see_doctor_first" and not named):
        raise KnowledgeError(
            f"{where}.treatments", f"must list known treatments (unknown: {', '.join(unknown) or 'none given'})"
        )
    weight = entry.get("weight", 0 if effect != "prefer" else None)
    if not isinstance(weight, int) or (effect == "prefer" and weight < 1):
        raise KnowledgeError(f"{where}.weight", "a prefer rule needs a whole-number weight of at least 1")
    source = _text(entry, "source", where)
    if source not in sources:
        raise KnowledgeError(f"{where}.source", f"unknown source '{source}'")
    return RankingRule(_text(entry, "id", where), when, effect, named, weight, _text(entry, "reason", where), source)


def _red_flags(entry: Mapping[str, Any], sources: Mapping[str, Source]) -> RedFlags:
    def level(name: str) -> RedFlagLevel:
        where = f"red_flags.{name}"
        item = _mapping(entry.get(name), where)
        source = _text(item, "source", where)
        if source not in sources:
            raise KnowledgeError(f"{where}.source", f"unknown source '{source}'")
        phrases = _terms(item.get("phrases"), f"{where}.phrases")
        if not phrases:
            raise KnowledgeError(f"{where}.phrases", "must list at least one phrase")
        return RedFlagLevel(_text(item, "advice", where), source, phrases)

    return RedFlags(
        level("emergency"), level("urgent"), _terms(entry.get("personal_markers"), "red_flags.personal_markers")
    )


def _combinations(value: Any, where: str) -> Tuple[Combination, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise KnowledgeError(where, "must be a list of combinations")
    combinations = []
    for index, groups in enumerate(value):
        if not isinstance(groups, list) or len(groups) < 2:
            raise KnowledgeError(f"{where}[{index}]", "must list at least two groups of phrases")
        parsed = tuple(_terms(group, f"{where}[{index}][{number}]") for number, group in enumerate(groups))
        if not all(parsed):
            raise KnowledgeError(f"{where}[{index}]", "every group needs at least one phrase")
        combinations.append(parsed)
    return tuple(combinations)


def _screening(entry: Mapping[str, Any], sources: Mapping[str, Source]) -> ScreeningRules:
    source = _text(entry, "source", "screening")
    if source not in sources:
        raise KnowledgeError("screening.source", f"unknown source '{source}'")
    expected = _mapping(entry.get("expected_effects"), "screening.expected_effects")
    medical = _mapping(entry.get("medical_requests"), "screening.medical_requests")

    def markers(name: str) -> Tuple[str, ...]:
        found = _terms(entry.get(name), f"screening.{name}")
        if not found:
            raise KnowledgeError(f"screening.{name}", "must list at least one phrase")
        return found

    return ScreeningRules(
        source=source,
        emergency_combinations=_combinations(entry.get("emergency_combinations"), "screening.emergency_combinations"),
        urgent_combinations=_combinations(entry.get("urgent_combinations"), "screening.urgent_combinations"),
        personal_markers=markers("personal_markers"),
        present_markers=markers("present_markers"),
        hypothetical_openers=markers("hypothetical_openers"),
        hearsay_markers=markers("hearsay_markers"),
        past_markers=markers("past_markers"),
        over_markers=markers("over_markers"),
        idioms=_terms(entry.get("idioms"), "screening.idioms"),
        everyday_contexts=_terms(entry.get("everyday_contexts"), "screening.everyday_contexts"),
        expected_effects=_terms(expected.get("phrases"), "screening.expected_effects.phrases"),
        expected_effect_context=_terms(expected.get("context"), "screening.expected_effects.context"),
        mild_words=_terms(expected.get("mild"), "screening.expected_effects.mild"),
        medical_requests=PhraseRule(
            phrases=_terms(medical.get("phrases"), "screening.medical_requests.phrases"),
            combinations=_combinations(medical.get("combinations"), "screening.medical_requests.combinations"),
        ),
    )


def _check_terms_unique(knowledge: KnowledgeBase) -> None:
    """A word that names two treatments would make answers ambiguous, so it is rejected."""
    owner: Dict[str, str] = {}
    for treatment in knowledge.treatments.values():
        for term in treatment.terms:
            if owner.setdefault(term, treatment.key) != treatment.key:
                raise KnowledgeError(
                    f"treatments.{treatment.key}", f"term '{term}' also names treatment '{owner[term]}'"
                )
