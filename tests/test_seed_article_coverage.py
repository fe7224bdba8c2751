"""Every sentence of the seed article is in the knowledge base, and every quote is verbatim from it."""

from __future__ import annotations

import re
from typing import List

import pytest

from bot import settings
from bot.knowledge.schema import SEED_ARTICLE

MIN_COVERAGE = 0.9


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture(scope="module")
def article(knowledge) -> str:
    path = settings.PROJECT_ROOT.parent / knowledge.sources[SEED_ARTICLE].location
    assert path.is_file(), f"seed article not found at {path}"
    return _normalise(path.read_text(encoding="utf-8"))


def _quotes(knowledge) -> List[str]:
    return [_normalise(fact.quote) for fact in knowledge.all_facts() if fact.source == SEED_ARTICLE]


def _fact_sentences(article: str) -> List[str]:
    """Sentences that state something: not questions, not headings."""
    sentences = re.split(r"(?<=[.!?:])\s+", article)
    return [s for s in sentences if not s.endswith("?") and len(s.split()) >= 4]


def test_every_quote_is_verbatim_from_the_article(knowledge, article):
    missing = [quote for quote in _quotes(knowledge) if quote not in article]
    assert not missing, f"quotes not found in the seed article: {missing}"


def test_every_sentence_of_the_article_is_covered_by_a_fact(knowledge, article):
    covered = [False] * len(article)
    for quote in _quotes(knowledge):
        for match in re.finditer(re.escape(quote), article):
            covered[match.start() : match.end()] = [True] * len(quote)
    uncovered = []
    for sentence in _fact_sentences(article):
        start = article.index(sentence)
        chars = [i for i in range(start, start + len(sentence)) if not article[i].isspace()]
        ratio = sum(covered[i] for i in chars) / len(chars)
        if ratio < MIN_COVERAGE:
            uncovered.append((round(ratio, 2), sentence))
    assert not uncovered, f"article sentences missing from the knowledge base: {uncovered}"


def test_the_article_has_the_expected_number_of_fact_sentences(article):
    # Guards the splitter itself: if it merged sentences, coverage would be meaningless.
    assert len(_fact_sentences(article)) >= 20


@pytest.mark.parametrize(
    "treatment,aspect,phrase",
    [
        ("microneedling", "who_performs", "dermatologist"),
        ("microneedling", "what", "tiny punctures"),
        ("microneedling", "how_it_works", "collagen"),
        ("microneedling", "recovery", "couple of days"),
        ("microneedling", "side_effects", "slight redness"),
        ("laser_resurfacing", "what", "dead skin"),
        ("laser_resurfacing", "how_it_works", "firmer"),
        ("laser_resurfacing", "who_performs", "dermatologist"),
        ("laser_resurfacing", "recovery", "a day or two off work"),
        ("laser_resurfacing", "side_effects", "swelling"),
        ("exfoliation", "who_performs", "at home"),
        ("exfoliation", "at_home", "prescribe the right exfoliation product"),
        ("exfoliation", "how_it_works", "dead skin and dirt"),
        ("exfoliation", "what", "peel"),
    ],
)
def test_each_article_fact_is_filed_under_the_right_aspect(knowledge, treatment, aspect, phrase):
    texts = " ".join(fact.text for fact in knowledge.treatments[treatment].facts[aspect])
    assert phrase.lower() in texts.lower()


def test_why_shrink_pores_facts(knowledge):
    texts = " ".join(fact.text for fact in knowledge.topics["why_smaller_pores"]).lower()
    for phrase in ("dirt", "acne", "blackheads", "blotchy", "sweat", "clear"):
        assert phrase in texts
