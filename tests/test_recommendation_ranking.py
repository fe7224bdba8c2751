"""The ranking rules of the knowledge base, each one exercised, and the ranking logic itself."""

from __future__ import annotations

from typing import Dict, Optional

import pytest

from bot.knowledge.schema import RankingRule
from bot.recommendation.ranking import rank

# Answers that trigger no rule at all, so each rule can be tested on its own.
NEUTRAL: Dict[str, Optional[str]] = {
    "skin_type": "normal",
    "concern": "redness",
    "downtime": "few_days",
    "setting": "either",
    "safety": "none",
}


@pytest.fixture(scope="module")
def rules(knowledge):
    return knowledge.recommendation.rules


@pytest.fixture(scope="module")
def order(knowledge):
    return list(knowledge.treatments)


def test_neutral_answers_trigger_no_rule_and_keep_file_order(rules, order):
    result = rank(NEUTRAL, rules, order)
    assert result.applied_rules == ()
    assert [option.treatment for option in result.ranked] == order


def _answers_for(rule: RankingRule) -> Dict[str, Optional[str]]:
    return {**NEUTRAL, **{question: allowed[0] for question, allowed in rule.when.items()}}


def pytest_generate_tests(metafunc):
    if "rule_id" in metafunc.fixturenames:
        from bot import settings
        from bot.knowledge.schema import load_knowledge

        ids = [rule.id for rule in load_knowledge(settings.DEFAULT_KNOWLEDGE_FILE).recommendation.rules]
        metafunc.parametrize("rule_id", ids)


def test_every_rule_has_its_effect(rules, order, rule_id):
    rule = next(rule for rule in rules if rule.id == rule_id)
    result = rank(_answers_for(rule), rules, order)
    assert rule.id in result.applied_rules
    if rule.effect == "see_doctor_first":
        assert rule.reason in result.see_doctor_first
        assert result.ranked == () and result.avoided == ()
    elif rule.effect == "avoid":
        avoided = {option.treatment: option.reasons for option in result.avoided}
        for key in rule.treatments:
            assert rule.reason in avoided[key]
            assert key not in [option.treatment for option in result.ranked]
    else:
        ranked = {option.treatment: option for option in result.ranked}
        baseline = {option.treatment: option.score for option in rank(NEUTRAL, rules, order).ranked}
        for key in rule.treatments:
            assert rule.reason in ranked[key].reasons
            assert ranked[key].score >= baseline[key] + rule.weight


def test_oily_blackheads_no_downtime_at_home_gets_exfoliation_only(rules, order):
    result = rank(
        {"skin_type": "oily", "concern": "blackheads", "downtime": "none", "setting": "home", "safety": "none"},
        rules,
        order,
    )
    assert [option.treatment for option in result.ranked] == ["exfoliation"]
    assert {option.treatment for option in result.avoided} == {"microneedling", "laser_resurfacing"}


def test_texture_in_clinic_puts_procedures_first(rules, order):
    result = rank({**NEUTRAL, "concern": "texture", "setting": "clinic"}, rules, order)
    assert [option.treatment for option in result.ranked][:2] == ["microneedling", "laser_resurfacing"]


@pytest.mark.parametrize("safety", ["pregnant", "active_infection", "isotretinoin"])
def test_safety_answers_that_need_a_doctor_stop_the_ranking(rules, order, safety):
    result = rank({**NEUTRAL, "concern": "texture", "safety": safety}, rules, order)
    assert result.see_doctor_first and result.ranked == ()


def test_unanswered_questions_match_no_rule(rules, order):
    assert rank({}, rules, order).applied_rules == ()


def test_ties_keep_the_knowledge_file_order():
    rule = RankingRule("r", {"concern": ("texture",)}, "prefer", ("b", "a"), 1, "why", "general_guidance")
    result = rank({"concern": "texture"}, [rule], ["c", "a", "b"])
    assert [option.treatment for option in result.ranked] == ["a", "b", "c"]
