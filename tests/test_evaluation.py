"""The held-out scorer itself: macro-F1 and exact-span entity F1 computed correctly."""

from __future__ import annotations

import pytest

from tooling.evaluation import Example, HeldOutScores, Prediction, entity_f1_by_label, intent_macro_f1, score


def test_intent_macro_f1_averages_over_gold_intents():
    assert intent_macro_f1(["a", "a", "b", "b"], ["a", "a", "b", "b"]) == 1.0
    # a: tp1 fp0 fn1 -> 2/3 ; b: tp2 fp1 fn0 -> 4/5
    assert intent_macro_f1(["a", "a", "b", "b"], ["a", "b", "b", "b"]) == pytest.approx((2 / 3 + 4 / 5) / 2)


def test_entity_f1_needs_the_exact_span_and_label():
    gold = [((0, 5, "treatment"),), ((3, 8, "treatment"),)]
    predicted = [((0, 5, "treatment"),), ((3, 9, "treatment"),)]
    assert entity_f1_by_label(gold, predicted, {"treatment"})["treatment"] == pytest.approx(0.5)


def test_score_and_failures():
    examples = [Example("hi", "greet", ()), Example("laser?", "inform_treatment", ((0, 5, "treatment"),))]
    predictions = [Prediction("greet", ()), Prediction("greet", ())]
    scores = score(examples, predictions)
    assert scores.treatment_f1 == 0.0
    assert scores.errors == [{"text": "laser?", "intent": "inform_treatment", "predicted": "greet"}]
    assert len(scores.failures()) == 2
    assert HeldOutScores(0.96, {"treatment": 0.97}).failures() == []
