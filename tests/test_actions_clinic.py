"""Dermatologist, clinic-contact and a-person-to-talk-to actions against a real, seeded SQLite knowledge
base; "now" is handed to the last one as a clock."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from actions import clinic as clinic_actions
from actions.clinic import (
    CALL_BACK_PAYLOAD,
    ActionOfferHuman,
    ActionShowClinicContact,
    ActionSuggestDermatologist,
    current_time,
)
from tests.conftest import make_tracker, run_action


def test_suggest_dermatologist(seeded_repository, knowledge):
    messages = run_action(ActionSuggestDermatologist(), make_tracker("ask_dermatologist"))["messages"]
    assert "dermatologist can guide you" in messages[0]["text"]
    assert messages[1]["response"] == "utter_clinic_contact"
    assert messages[1]["clinic_name"] == knowledge.clinic.name


def test_clinic_contact_has_every_field(seeded_repository, knowledge):
    [message] = run_action(ActionShowClinicContact(), make_tracker("ask_clinic_contact"))["messages"]
    assert message["response"] == "utter_clinic_contact"
    for field in ("name", "phone", "email", "address", "hours", "booking_url"):
        assert message[f"clinic_{field}"] == getattr(knowledge.clinic, field)


def test_a_person_to_talk_to_gets_the_clinics_phone_and_a_call_back_offer(seeded_repository, knowledge):
    result = run_action(ActionOfferHuman(), make_tracker("ask_human"))  # the real clock: open or closed
    [message] = result["messages"]
    assert message["response"] in ("utter_human_handoff_open", "utter_human_handoff_closed")
    assert message["clinic_phone"] == knowledge.clinic.phone and message["clinic_hours"] == knowledge.clinic.hours
    assert message["buttons"][0]["title"] == "Request a call back"


# --------------------------------------------------------------------------- a person to talk to

CHICAGO = ZoneInfo("America/Chicago")


def _offer(now: datetime, active_loop=None, **slots):
    tracker = make_tracker("ask_human", slots=slots)
    if active_loop:
        tracker.active_loop = {"name": active_loop}
    [message] = run_action(ActionOfferHuman(clock=lambda: now), tracker)["messages"]
    return message


def test_open_now_says_until_when_with_the_phone_and_a_call_back_button(seeded_repository, knowledge):
    message = _offer(datetime(2026, 6, 10, 10, 0, tzinfo=CHICAGO))  # Wednesday morning
    assert message["response"] == "utter_human_handoff_open"
    assert message["closes_at"] == "17:00 CDT"
    assert message["clinic_phone"] == knowledge.clinic.phone and message["clinic_name"] == knowledge.clinic.name
    assert message["buttons"] == [
        {"title": "Request a call back", "payload": CALL_BACK_PAYLOAD},
        {"title": "No, thanks", "payload": "/deny"},
    ]
    assert CALL_BACK_PAYLOAD == '/book_consultation{"request_kind": "callback"}'


def test_closed_over_the_weekend_opens_again_monday_at_nine(seeded_repository, knowledge):
    message = _offer(datetime(2026, 3, 7, 15, 0, tzinfo=CHICAGO))  # Saturday after closing, before DST starts
    assert message["response"] == "utter_human_handoff_closed"
    assert message["opens_at"] == "Monday at 9:00 CDT"
    assert message["clinic_phone"] == knowledge.clinic.phone


def test_the_clinics_time_zone_decides_not_the_callers(seeded_repository):
    # 23:30 in Tokyo on a Wednesday is 9:30 in Chicago: open.
    message = _offer(datetime(2026, 6, 10, 23, 30, tzinfo=ZoneInfo("Asia/Tokyo")))
    assert message["response"] == "utter_human_handoff_open" and message["closes_at"] == "17:00 CDT"


def test_inside_a_form_the_offer_has_no_no_thanks_button(seeded_repository):
    now = datetime(2026, 6, 10, 10, 0, tzinfo=CHICAGO)
    for form in ("recommendation_form", "booking_form"):
        expected = [{"title": "Request a call back", "payload": CALL_BACK_PAYLOAD}]
        assert _offer(now, active_loop=form)["buttons"] == expected
    # already leaving a number for a call back: nothing more to offer
    assert _offer(now, active_loop="booking_form", request_kind="callback")["buttons"] == []


def test_no_call_back_button_while_a_red_flag_is_open(seeded_repository):
    message = _offer(datetime(2026, 6, 10, 10, 0, tzinfo=CHICAGO), red_flag_active=True)
    assert message["response"] == "utter_human_handoff_open" and message["buttons"] == []


def test_without_the_opening_hours_the_hours_text_is_given(seeded_repository, knowledge, monkeypatch):
    monkeypatch.setattr(clinic_actions, "knowledge_from_file", lambda: None)
    message = _offer(datetime(2026, 6, 10, 10, 0, tzinfo=CHICAGO))
    assert message["response"] == "utter_human_handoff" and message["clinic_hours"] == knowledge.clinic.hours


def test_now_can_be_frozen_for_the_servers_and_is_otherwise_the_real_time(monkeypatch):
    monkeypatch.setenv("POREGUIDE_NOW", "2026-03-07T15:00:00-06:00")
    assert current_time() == datetime(2026, 3, 7, 21, 0, tzinfo=ZoneInfo("UTC"))
    for unusable in ("2026-03-07T15:00:00", "saturday afternoon", ""):
        monkeypatch.setenv("POREGUIDE_NOW", unusable)
        assert current_time().tzinfo is not None
        assert abs((current_time() - datetime.now(ZoneInfo("UTC"))).total_seconds()) < 60


def test_the_call_back_button_travels_unchanged_on_telegram_and_slack():
    """On every channel: the payload fits Telegram's 64-byte callback_data as it is (no token to
    remember across a restart) and Slack's button value."""
    from bot.channels.buttons import CallbackPayloads, slack_blocks, telegram_keyboard

    button = {"title": "Request a call back", "payload": CALL_BACK_PAYLOAD}
    [[telegram]] = telegram_keyboard([button], CallbackPayloads())["inline_keyboard"]
    assert telegram == {"text": "Request a call back", "callback_data": CALL_BACK_PAYLOAD}
    blocks = slack_blocks("Call us", [button])
    values = [element.get("value") for block in blocks for element in block.get("elements", [])]
    assert CALL_BACK_PAYLOAD in values
