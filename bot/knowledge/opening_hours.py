"""Is the clinic open now, until when, and when does it open next: a pure function of the clinic's
weekly opening hours (bot/knowledge/treatments.yml, section `clinic`) and an aware datetime.

Times are wall-clock times in the clinic's own IANA time zone, so "9:00" stays 9:00 across a
daylight-saving change; every comparison is made in UTC, because Python compares two datetimes
that share one tzinfo object by their wall-clock readings, which is wrong across a change.
A period that starts in the hour skipped by a spring-forward change opens at the first valid
minute after it (2:30 becomes 3:30); one that starts in the hour repeated in autumn, at its
first occurrence. Nothing here reads a clock, a file or the environment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import FrozenSet, List, Mapping, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# How far ahead the next opening is looked for: a year covers any closure a clinic lists.
SEARCH_DAYS = 366

Period = Tuple[time, time]


@dataclass(frozen=True)
class OpeningHours:
    """The clinic's week: for each weekday (0 = Monday) its opening periods, in order and apart;
    a weekday without periods is closed, and so is every date in `closed_on`."""

    time_zone: str
    week: Mapping[int, Tuple[Period, ...]]
    closed_on: FrozenSet[date] = field(default_factory=frozenset)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def periods_on(self, day: date) -> Tuple[Period, ...]:
        return () if day in self.closed_on else tuple(self.week.get(day.weekday(), ()))


@dataclass(frozen=True)
class OpeningStatus:
    """`open_now`; if open, `closes_at`; if closed, `next_opening` (None when none within a year).
    Both are aware datetimes in the clinic's time zone."""

    open_now: bool
    closes_at: Optional[datetime] = None
    next_opening: Optional[datetime] = None


def status_at(hours: OpeningHours, now: datetime) -> OpeningStatus:
    """Whether the clinic is open at the instant `now` (any time zone, but aware), and until
    when, or when it opens next. A period includes its opening minute, not its closing one."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("`now` must be an aware datetime (with a time zone)")
    zone = hours.zone
    instant = now.astimezone(timezone.utc)
    today = instant.astimezone(zone).date()
    for offset in range(SEARCH_DAYS + 1):
        day = today + timedelta(days=offset)
        for start, end in hours.periods_on(day):
            opens, closes = _instant(day, start, zone), _instant(day, end, zone)
            if closes <= instant:
                continue
            if opens <= instant:
                return OpeningStatus(True, closes_at=closes.astimezone(zone))
            return OpeningStatus(False, next_opening=opens.astimezone(zone))
    return OpeningStatus(False)


def _instant(day: date, wall_clock: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time on `day` in `zone` (see the module's note on gaps)."""
    local = datetime.combine(day, wall_clock, tzinfo=zone)
    return local.astimezone(timezone.utc)


# --------------------------------------------------------------------------- words


def clock_time(value: "time | datetime") -> str:
    """`9:00`, `17:30`: the style of the clinic's hours text."""
    return f"{value.hour}:{value.minute:02d}"


def clock_time_with_zone(moment: datetime) -> str:
    """`17:00 CDT`: with the zone's abbreviation, which tells summer from winter time."""
    name = moment.tzname()
    return f"{clock_time(moment)} {name}" if name else clock_time(moment)


def when(moment: datetime, now: datetime) -> str:
    """`today at 9:00 CST`, `tomorrow at ...`, `Monday at ...` within a week, else
    `Monday 4 January at ...`; days are counted in the time zone of `moment`."""
    zone = moment.tzinfo
    days = (moment.date() - now.astimezone(zone).date()).days
    at = f"at {clock_time_with_zone(moment)}"
    if days == 0:
        return f"today {at}"
    if days == 1:
        return f"tomorrow {at}"
    weekday = WEEKDAYS[moment.weekday()].capitalize()
    if days < 7:
        return f"{weekday} {at}"
    return f"{weekday} {moment.day} {moment.strftime('%B')} {at}"


def describe_week(hours: OpeningHours) -> str:
    """`Monday to Friday 9:00-17:00, Saturday 10:00-14:00`: consecutive days with the same
    periods are joined; closed days are left out."""
    groups: List[Tuple[List[int], Tuple[Period, ...]]] = []
    for weekday in range(7):
        periods = tuple(hours.week.get(weekday, ()))
        if not periods:
            continue
        if groups and groups[-1][1] == periods and groups[-1][0][-1] == weekday - 1:
            groups[-1][0].append(weekday)
        else:
            groups.append(([weekday], periods))
    return ", ".join(f"{_days(days)} {_periods(periods)}" for days, periods in groups)


def _days(days: Sequence[int]) -> str:
    names = [WEEKDAYS[day].capitalize() for day in days]
    if len(names) == 1:
        return names[0]
    return f"{names[0]} and {names[1]}" if len(names) == 2 else f"{names[0]} to {names[-1]}"


def _periods(periods: Sequence[Period]) -> str:
    return " and ".join(f"{clock_time(start)}-{clock_time(end)}" for start, end in periods)


# --------------------------------------------------------------------------- reading the file

_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_periods(text: str) -> Tuple[Period, ...]:
    """`"9:00-12:30, 13:30-17:00"` -> its periods; ValueError naming the problem for the file's
    author. Periods must be in order and apart (two that touch are one period), each on one day."""
    periods: List[Period] = []
    for part in text.split(","):
        bounds = [bound.strip() for bound in part.split("-")]
        if len(bounds) != 2:
            raise ValueError(f"'{part.strip()}' is not a period like 9:00-17:00")
        start, end = (_clock(bound) for bound in bounds)
        if end <= start:
            raise ValueError(f"'{part.strip()}' must end after it starts (a period cannot pass midnight)")
        if periods and start <= periods[-1][1]:
            raise ValueError(f"'{part.strip()}' must start after the period before it ends")
        periods.append((start, end))
    return tuple(periods)


def _clock(text: str) -> time:
    match = _CLOCK.match(text)
    if not match:
        raise ValueError(f"'{text}' is not a time like 9:00 or 17:30 (24-hour clock)")
    return time(int(match.group(1)), int(match.group(2)))
