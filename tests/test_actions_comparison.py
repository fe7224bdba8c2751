"""action_compare_treatments against a real, seeded SQLite knowledge base."""

from __future__ import annotations

from actions.comparison import ActionCompareTreatments
from tests.conftest import make_tracker, run_action, slot_events

ACTION = ActionCompareTreatments()


def _first_text(result) -> str:
    return result["messages"][0]["text"]


def test_overall_comparison_covers_all_three(seeded_repository):
    result = run_action(ACTION, make_tracker("compare_treatments"))
    text = _first_text(result)
    for name in ("Microneedling:", "Laser resurfacing:", "Exfoliation and peels:"):
        assert name in text
    assert "couple of days" in text and "a day or two off work" in text
    assert result["messages"][1]["response"] == "utter_not_medical_advice"
    assert slot_events(result["events"]) == {}


def test_least_downtime_compares_recovery(seeded_repository):
    result = run_action(ACTION, make_tracker("compare_treatments", [("aspect", "recovery")]))
    text = _first_text(result)
    assert text.startswith("Recovery, side by side:")
    assert text.count("•") == 3
    assert slot_events(result["events"]) == {"aspect": "recovery"}


def test_at_home_comparison(seeded_repository):
    text = _first_text(run_action(ACTION, make_tracker("compare_treatments", [("aspect", "at_home")])))
    assert "Exfoliation and peels: Yes." in text
    assert "Microneedling: No." in text


def test_two_named_treatments_only(seeded_repository):
    tracker = make_tracker(
        "compare_treatments", [("treatment", "microneedling"), ("treatment", "lazer"), ("aspect", "side_effects")]
    )
    text = _first_text(run_action(ACTION, tracker))
    assert "Microneedling:" in text and "Laser resurfacing:" in text
    assert "Exfoliation" not in text


def test_one_named_treatment_compares_all(seeded_repository):
    text = _first_text(run_action(ACTION, make_tracker("compare_treatments", [("treatment", "microneedling")])))
    assert text.count("•") == 3


def test_unknown_aspect_value_falls_back_to_overall(seeded_repository):
    text = _first_text(run_action(ACTION, make_tracker("compare_treatments", [("aspect", "colour")])))
    assert text.startswith("How the treatments compare:")
