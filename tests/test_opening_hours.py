"""Open now, closes at, opens next: bot/knowledge/opening_hours.py, and how the knowledge file's
clinic section declares the hours (bot/knowledge/schema.py). Across weekends, holidays and both
daylight-saving changes, for "now" given in any time zone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Dict
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from bot import settings
from bot.knowledge.opening_hours import (
    OpeningHours,
    describe_week,
    parse_periods,
    status_at,
    when,
)
from bot.knowledge.schema import KnowledgeError, parse_knowledge

CHICAGO = ZoneInfo("America/Chicago")
LONDON = ZoneInfo("Europe/London")
NINE_TO_FIVE = ((time(9), time(17)),)
# The knowledge file's week: Monday to Friday 9:00-17:00, Saturday 10:00-14:00, Sunday closed.
CLINIC = OpeningHours("America/Chicago", {**{day: NINE_TO_FIVE for day in range(5)}, 5: ((time(10), time(14)),)})


def chicago(*args: int) -> datetime:
    return datetime(*args, tzinfo=CHICAGO)


# --------------------------------------------------------------------------- open now, closes at


def test_open_on_a_weekday_until_five():
    status = status_at(CLINIC, chicago(2026, 6, 10, 10, 0))  # a Wednesday
    assert status.open_now and status.closes_at == chicago(2026, 6, 10, 17, 0)
    assert status.next_opening is None


def test_open_from_the_opening_minute_and_closed_from_the_closing_minute():
    assert status_at(CLINIC, chicago(2026, 6, 10, 9, 0)).open_now
    assert not status_at(CLINIC, chicago(2026, 6, 10, 8, 59)).open_now
    assert status_at(CLINIC, chicago(2026, 6, 10, 16, 59)).open_now
    closed = status_at(CLINIC, chicago(2026, 6, 10, 17, 0))
    assert not closed.open_now and closed.next_opening == chicago(2026, 6, 11, 9, 0)


def test_before_opening_it_opens_later_today():
    status = status_at(CLINIC, chicago(2026, 6, 10, 7, 30))
    assert not status.open_now and status.next_opening == chicago(2026, 6, 10, 9, 0)
    assert when(status.next_opening, chicago(2026, 6, 10, 7, 30)) == "today at 9:00 CDT"


def test_friday_evening_opens_tomorrow_saturday_at_ten():
    now = chicago(2026, 6, 12, 18, 0)
    status = status_at(CLINIC, now)
    assert status.next_opening == chicago(2026, 6, 13, 10, 0)
    assert when(status.next_opening, now) == "tomorrow at 10:00 CDT"


@pytest.mark.parametrize(
    "now,words",
    [
        (chicago(2026, 6, 13, 15, 0), "Monday at 9:00 CDT"),  # Saturday after closing
        (chicago(2026, 6, 13, 23, 59), "Monday at 9:00 CDT"),
        (chicago(2026, 6, 14, 0, 0), "tomorrow at 9:00 CDT"),  # Sunday
        (chicago(2026, 6, 14, 23, 59), "tomorrow at 9:00 CDT"),
    ],
)
def test_after_saturday_closing_it_opens_again_monday_at_nine(now, words):
    status = status_at(CLINIC, now)
    assert not status.open_now and status.next_opening == chicago(2026, 6, 15, 9, 0)
    assert when(status.next_opening, now) == words


# --------------------------------------------------------------------------- daylight saving time


def test_spring_forward_weekend_monday_nine_is_nine_in_summer_time():
    """Chicago moves to CDT on Sunday 8 March 2026: Monday 9:00 is 14:00 UTC, not 15:00."""
    now = chicago(2026, 3, 7, 15, 0)  # Saturday, CST (UTC-6) = 21:00 UTC
    status = status_at(CLINIC, now)
    assert status.next_opening.astimezone(timezone.utc) == datetime(2026, 3, 9, 14, 0, tzinfo=timezone.utc)
    assert (status.next_opening.hour, status.next_opening.tzname()) == (9, "CDT")
    # 42 hours of wall clock, one of them skipped. (Subtracting the two Chicago times directly would
    # say 42: Python ignores the offsets of two datetimes that share a tzinfo, hence UTC here.)
    assert status.next_opening.astimezone(timezone.utc) - now.astimezone(timezone.utc) == timedelta(hours=41)
    assert when(status.next_opening, now) == "Monday at 9:00 CDT"


def test_fall_back_weekend_monday_nine_is_nine_in_standard_time():
    """Chicago returns to CST on Sunday 1 November 2026: Monday 9:00 is 15:00 UTC."""
    now = chicago(2026, 10, 31, 15, 0)  # Saturday, CDT
    status = status_at(CLINIC, now)
    assert status.next_opening.astimezone(timezone.utc) == datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)
    assert status.next_opening.astimezone(timezone.utc) - now.astimezone(timezone.utc) == timedelta(hours=43)
    assert when(status.next_opening, now) == "Monday at 9:00 CST"


@pytest.mark.parametrize("utc_hour,open_in_winter,open_in_summer", [(14, False, True), (22, True, False)])
def test_the_same_utc_hour_is_open_in_one_season_and_not_the_other(utc_hour, open_in_winter, open_in_summer):
    """9:00-17:00 Chicago is 15:00-23:00 UTC in winter, 14:00-22:00 UTC in summer."""
    winter = datetime(2026, 1, 14, utc_hour, 30, tzinfo=timezone.utc)
    summer = datetime(2026, 7, 15, utc_hour, 30, tzinfo=timezone.utc)
    assert status_at(CLINIC, winter).open_now is open_in_winter
    assert status_at(CLINIC, summer).open_now is open_in_summer


def test_on_the_spring_forward_day_itself_the_hours_follow_the_wall_clock():
    sundays = OpeningHours("Europe/London", {6: ((time(10), time(16)),)})
    # Sunday 29 March 2026: London moves from GMT to BST at 1:00 GMT.
    status = status_at(sundays, datetime(2026, 3, 29, 9, 30, tzinfo=timezone.utc))  # 10:30 BST
    assert status.open_now and status.closes_at == datetime(2026, 3, 29, 16, 0, tzinfo=LONDON)
    assert status.closes_at.astimezone(timezone.utc).hour == 15


def test_a_period_starting_in_the_skipped_hour_opens_at_the_first_valid_minute():
    early = OpeningHours("America/Chicago", {6: ((time(2, 30), time(5)),)})
    status = status_at(early, chicago(2026, 3, 8, 0, 0))
    assert status.next_opening.astimezone(timezone.utc) == datetime(2026, 3, 8, 8, 30, tzinfo=timezone.utc)
    assert (status.next_opening.hour, status.next_opening.minute, status.next_opening.tzname()) == (3, 30, "CDT")


def test_now_in_any_time_zone_gives_the_same_answer():
    instant = chicago(2026, 6, 13, 15, 0)
    answers = {
        status_at(CLINIC, instant.astimezone(zone))
        for zone in (timezone.utc, ZoneInfo("Asia/Tokyo"), ZoneInfo("Pacific/Auckland"), CHICAGO)
    }
    assert len(answers) == 1
    # Seen from Tokyo it is already Sunday, but the clinic's Monday is still "Monday".
    assert when(answers.pop().next_opening, instant.astimezone(ZoneInfo("Asia/Tokyo"))) == "Monday at 9:00 CDT"


def test_a_naive_now_is_refused():
    with pytest.raises(ValueError, match="aware"):
        status_at(CLINIC, datetime(2026, 6, 10, 10, 0))


# --------------------------------------------------------------------------- breaks, holidays, no opening


def test_lunch_break_closes_at_its_start_and_opens_at_its_end():
    split = OpeningHours("Europe/London", {0: ((time(9), time(12, 30)), (time(13, 30), time(17)))})
    monday = datetime(2026, 6, 15, 11, 0, tzinfo=LONDON)
    assert status_at(split, monday).closes_at == monday.replace(hour=12, minute=30)
    lunch = status_at(split, monday.replace(hour=12, minute=45))
    assert not lunch.open_now and lunch.next_opening == monday.replace(hour=13, minute=30)
    assert status_at(split, monday.replace(hour=16)).closes_at == monday.replace(hour=17, minute=0)


def test_a_closed_date_is_skipped():
    holiday = OpeningHours(CLINIC.time_zone, CLINIC.week, frozenset({date(2026, 12, 25)}))  # a Friday
    now = chicago(2026, 12, 24, 18, 0)
    status = status_at(holiday, now)
    assert status.next_opening == chicago(2026, 12, 26, 10, 0)
    assert when(status.next_opening, now) == "Saturday at 10:00 CST"
    assert not status_at(holiday, chicago(2026, 12, 25, 10, 0)).open_now


def test_a_long_closure_names_the_date():
    closure = frozenset(date(2026, 12, 19) + timedelta(days=offset) for offset in range(16))  # to 3 January
    now = chicago(2026, 12, 18, 18, 0)
    status = status_at(OpeningHours(CLINIC.time_zone, CLINIC.week, closure), now)
    assert status.next_opening == chicago(2027, 1, 4, 9, 0)
    assert when(status.next_opening, now) == "Monday 4 January at 9:00 CST"


def test_no_opening_within_a_year_is_no_next_opening():
    always_closed = OpeningHours(
        "UTC", {0: NINE_TO_FIVE}, frozenset(date(2026, 1, 1) + timedelta(days=offset) for offset in range(800))
    )
    status = status_at(always_closed, datetime(2026, 1, 2, tzinfo=timezone.utc))
    assert status == status.__class__(False, None, None)


# --------------------------------------------------------------------------- against a plain reading


def _open_by_reading(hours: OpeningHours, moment: datetime) -> bool:
    """The obvious check, minute by minute in local wall-clock time (valid away from DST gaps)."""
    local = moment.astimezone(hours.zone)
    return any(
        start <= local.time().replace(second=0, microsecond=0) < end for start, end in hours.periods_on(local.date())
    )


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(timezone.utc)))
def test_agrees_with_reading_the_hours_and_the_next_opening_really_is_the_next(now):
    now = now.replace(second=0, microsecond=0)
    status = status_at(CLINIC, now)
    assert status.open_now == _open_by_reading(CLINIC, now)
    if status.open_now:
        assert status.closes_at > now and not _open_by_reading(CLINIC, status.closes_at)
        assert _open_by_reading(CLINIC, status.closes_at - timedelta(minutes=1))
    else:
        opening = status.next_opening
        assert opening > now and _open_by_reading(CLINIC, opening)
        assert not _open_by_reading(CLINIC, opening - timedelta(minutes=1))
        assert opening - now < timedelta(days=3)  # the longest gap: Saturday 14:00 to Monday 9:00


# --------------------------------------------------------------------------- words


def test_the_week_is_written_as_the_clinic_would():
    assert describe_week(CLINIC) == "Monday to Friday 9:00-17:00, Saturday 10:00-14:00"
    weekend = OpeningHours(
        "UTC", {0: NINE_TO_FIVE, 2: NINE_TO_FIVE, 5: ((time(10), time(14)),), 6: ((time(10), time(14)),)}
    )
    assert describe_week(weekend) == "Monday 9:00-17:00, Wednesday 9:00-17:00, Saturday and Sunday 10:00-14:00"
    split = OpeningHours("UTC", {0: ((time(9), time(12, 30)), (time(13, 30), time(17)))})
    assert describe_week(split) == "Monday 9:00-12:30 and 13:30-17:00"


def test_periods_are_read_from_text():
    assert parse_periods("9:00-17:00") == NINE_TO_FIVE
    assert parse_periods(" 09:00 - 12:30 , 13:30-17:00 ") == ((time(9), time(12, 30)), (time(13, 30), time(17)))


@pytest.mark.parametrize(
    "text,problem",
    [
        ("9-17", "is not a time like 9:00"),
        ("9:00 to 17:00", "is not a period like 9:00-17:00"),
        ("17:00-9:00", "must end after it starts"),
        ("22:00-2:00", "cannot pass midnight"),
        ("9:00-13:00, 12:00-17:00", "must start after the period before it ends"),
        ("9:00-12:00, 12:00-17:00", "must start after the period before it ends"),
        ("24:00-25:00", "is not a time"),
        ("9:60-17:00", "is not a time"),
    ],
)
def test_bad_periods_are_refused_with_the_reason(text, problem):
    with pytest.raises(ValueError, match=problem):
        parse_periods(text)


# --------------------------------------------------------------------------- the knowledge file


def _file() -> Dict[str, Any]:
    return yaml.safe_load(settings.DEFAULT_KNOWLEDGE_FILE.read_text(encoding="utf-8"))


def test_the_knowledge_file_declares_the_week_and_the_hours_text_is_made_from_it(knowledge):
    clinic = knowledge.clinic
    assert clinic.opening_hours.time_zone == "America/Chicago"
    assert clinic.opening_hours.week == CLINIC.week and clinic.opening_hours.closed_on == frozenset()
    assert clinic.hours == "Monday to Friday 9:00-17:00, Saturday 10:00-14:00"
    assert clinic.template_values()["clinic_hours"] == clinic.hours
    assert "opening_hours" not in " ".join(clinic.template_values())


def test_closed_dates_are_read_as_dates():
    data = _file()
    data["clinic"]["closed_on"] = ["2026-12-25", date(2027, 1, 1)]
    clinic = parse_knowledge(yaml.safe_dump(data)).clinic
    assert clinic.opening_hours.closed_on == {date(2026, 12, 25), date(2027, 1, 1)}


@pytest.mark.parametrize(
    "change,where,problem",
    [
        (lambda clinic: clinic.pop("hours"), "clinic.hours", "must map weekdays"),
        (lambda clinic: clinic.update(hours="Monday to Friday 9-5"), "clinic.hours", "must map weekdays"),
        (lambda clinic: clinic["hours"].update(funday="9:00-17:00"), "clinic.hours.funday", "is not a weekday"),
        (lambda clinic: clinic["hours"].update(monday="9-17"), "clinic.hours.monday", "is not a time like 9:00"),
        (
            lambda clinic: clinic["hours"].update(tuesday="17:00-9:00"),
            "clinic.hours.tuesday",
            "must end after it starts",
        ),
        (lambda clinic: clinic["hours"].update(sunday=""), "clinic.hours.sunday", "leave a closed day out"),
        (lambda clinic: clinic.pop("time_zone"), "clinic.time_zone", "must be a non-empty text"),
        (lambda clinic: clinic.update(time_zone="Springfield/Illinois"), "clinic.time_zone", "unknown time zone"),
        (lambda clinic: clinic.update(time_zone="CST"), "clinic.time_zone", "unknown time zone"),
        (lambda clinic: clinic.update(closed_on="2026-12-25"), "clinic.closed_on", "must be a list of dates"),
        (lambda clinic: clinic.update(closed_on=["25/12/2026"]), "clinic.closed_on[0]", "is not a date"),
    ],
)
def test_a_bad_clinic_section_names_the_field(change, where, problem):
    data = _file()
    change(data["clinic"])
    with pytest.raises(KnowledgeError) as raised:
        parse_knowledge(yaml.safe_dump(data))
    assert raised.value.where == where and problem in raised.value.problem


def test_the_zone_database_is_found_here():
    """The system's zone files (Debian's tzdata) or the tzdata package: without either,
    the knowledge file would not load (the test above shows the message)."""
    assert ZoneInfo("America/Chicago").utcoffset(datetime(2026, 7, 1)) == timedelta(hours=-5)
