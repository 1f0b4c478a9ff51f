"""The fast paths of availability, each against the plain computation it replaces.

- Working periods: the core turns a wall-clock time into UTC as `wall - tz.utcoffset(wall)`
  with `wall` stamped UTC. The oracle is the textbook
  `datetime.combine(day, at, tz).astimezone(UTC)`, on every daylight-saving change of
  2027 in every IANA zone, at every half hour and at the awkward times around it.
- free_starts: blocked intervals are merged with a single loop and each free piece yields
  its grid starts by division. The oracle walks every grid point with datetime arithmetic
  and tests every interval, on inputs the minute-based property tests never produce:
  microseconds, empty and reversed intervals, sessions of odd length, an interval that
  starts at `datetime.min`.
- FreeStarts (the lazy runs proposals merge): against free_starts of the same inputs, the
  athlete's commitments given as segments instead of as blocked intervals, split at a
  point.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from athlete_sched.core.availability import (
    FreeStarts,
    TherapistSchedule,
    WorkingPeriod,
    free_starts,
    unavailable_of,
    working_intervals,
)
from athlete_sched.core.intervals import Interval, subtract

FIRST_DAY, LAST_DAY = date(2027, 1, 1), date(2027, 12, 31)
# Every half hour, the times where a change most often happens or lands, and times marked
# fold=1 (the core reads them with fold=0). A set would merge those: time ignores fold in ==.
CLOCKS = sorted([*{time(h, m) for h in range(24) for m in (0, 30)},
                 time(0, 0, 0, 1), time(1, 59, 59), time(2, 0, 0, 1), time(23, 59, 59, 999999),
                 time(0, 30, fold=1), time(1, 30, fold=1), time(2, 30, fold=1)])


def change_days(tz: ZoneInfo) -> list[date]:
    """The local days of 2027 whose offset at midnight differs from the next midnight,
    with the day before and after each."""
    found: set[date] = set()
    day = FIRST_DAY
    before = datetime.combine(day, time(), tz).utcoffset()
    while day <= LAST_DAY:
        after = datetime.combine(day + timedelta(days=1), time(), tz).utcoffset()
        if after != before:
            found.update(day + timedelta(days=n) for n in (-1, 0, 1))
        before, day = after, day + timedelta(days=1)
    return sorted(found)


def expected_periods(tz: ZoneInfo, day: date, hours: tuple[WorkingPeriod, ...]) -> list[Interval]:
    """The textbook conversion, periods of `day` only, empty ones dropped."""
    found = []
    for period in hours:
        if period.day == day.weekday():
            start = datetime.combine(day, period.start.replace(fold=0), tz).astimezone(UTC)
            end = datetime.combine(day, period.end.replace(fold=0), tz).astimezone(UTC)
            if start < end:
                found.append(Interval(start, end))
    return sorted(found)


def one_day(tz: ZoneInfo, day: date) -> Interval:
    """The UTC span of local `day` shrunk to its middle hour, so no neighbour day touches it."""
    noon = datetime.combine(day, time(12), tz).astimezone(UTC)
    return Interval(noon, noon + timedelta(hours=1))


def half_hour_periods(weekday: int) -> tuple[WorkingPeriod, ...]:
    """Periods from each clock to each of the next three clocks on one weekday."""
    return tuple(WorkingPeriod(weekday, a, b) for i, a in enumerate(CLOCKS)
                 for b in CLOCKS[i + 1:i + 4] if b.replace(fold=0) > a.replace(fold=0))


@pytest.mark.parametrize("zone", sorted(available_timezones()))
def test_working_periods_match_astimezone_on_every_change(zone: str) -> None:
    tz = ZoneInfo(zone)
    for day in change_days(tz):
        hours = half_hour_periods(day.weekday())
        found = working_intervals(tz, hours, one_day(tz, day))
        assert found == expected_periods(tz, day, hours), (zone, day)
        assert all(p.start.tzinfo is UTC and p.end.tzinfo is UTC for p in found)


def test_the_change_days_include_the_eu_spring_forward() -> None:
    """The scan above does find changes (else the test would prove nothing)."""
    assert date(2027, 3, 28) in change_days(ZoneInfo("Europe/Berlin"))
    assert change_days(ZoneInfo("Asia/Tokyo")) == []


# --- free_starts against a walk over every grid point -------------------------------------------

BASE = datetime(2027, 3, 26, tzinfo=UTC)  # a Friday, two days before the EU change
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kathmandu")


def oracle(schedule: TherapistSchedule, window: Interval, blocked: list[Interval],
           bookings: list[Interval], not_before: datetime,
           duration: timedelta | None) -> list[datetime]:
    """Every grid point of every working period of the local days around the window,
    each checked against every rule directly."""
    dur = duration if duration is not None else timedelta(minutes=schedule.session_minutes)
    step = timedelta(minutes=schedule.slot_step_minutes)
    pad = timedelta(minutes=schedule.buffer_minutes)
    forbidden = [b for b in blocked if b.start < b.end]
    forbidden += [Interval(b.start - pad, b.end + pad) for b in bookings if b.start < b.end]
    found = set()
    day = window.start.astimezone(schedule.tz).date() - timedelta(days=1)
    while day <= window.end.astimezone(schedule.tz).date() + timedelta(days=1):
        for period in expected_periods(schedule.tz, day, schedule.working_hours):
            start = period.start
            while start + dur <= period.end:
                end = start + dur
                if (window.start <= start and end <= window.end and start >= not_before
                        and not any(f.start < end and start < f.end for f in forbidden)):
                    found.add(start)
                start += step
        day += timedelta(days=1)
    return sorted(found)


def moment(minutes: int, micros: int) -> datetime:
    return BASE + timedelta(minutes=minutes, microseconds=micros)


@st.composite
def intervals(draw: st.DrawFn, most: int) -> list[Interval]:
    """Intervals with microsecond ends; some empty, some reversed."""
    found = []
    for _ in range(draw(st.integers(0, most))):
        start = moment(draw(st.integers(-600, 4 * 1440)), draw(st.integers(0, 999_999)))
        length = timedelta(minutes=draw(st.integers(-30, 300)),
                           microseconds=draw(st.integers(0, 999_999)))
        found.append(Interval(start, start + length))
    return found


@st.composite
def schedules(draw: st.DrawFn) -> TherapistSchedule:
    periods = []
    for _ in range(draw(st.integers(1, 6))):
        begin = draw(st.integers(0, 22 * 60))
        end = draw(st.integers(begin + 1, min(begin + 600, 24 * 60 - 1)))
        periods.append(WorkingPeriod(draw(st.integers(0, 6)), time(begin // 60, begin % 60),
                                     time(end // 60, end % 60)))
    return TherapistSchedule(1, ZoneInfo(draw(st.sampled_from(ZONES))), tuple(periods),
                             draw(st.integers(5, 90)), draw(st.integers(0, 20)),
                             draw(st.sampled_from((5, 10, 15, 20, 30))))


@settings(max_examples=150, deadline=None)
@given(schedule=schedules(), blocked=intervals(25), bookings=intervals(6),
       begin=st.integers(-300, 2 * 1440), length=st.integers(0, 3 * 1440),
       late=st.integers(-600, 1440), micros=st.integers(0, 999_999),
       duration=st.none() | st.integers(1, 5400).map(lambda s: timedelta(seconds=s)))
def test_free_starts_match_a_walk_over_every_grid_point(
        schedule: TherapistSchedule, blocked: list[Interval], bookings: list[Interval],
        begin: int, length: int, late: int, micros: int, duration: timedelta | None) -> None:
    window = Interval(moment(begin, micros), moment(begin + length, 0))
    not_before = moment(begin + late, micros // 2)
    found = free_starts(schedule, window, blocked, bookings, not_before, duration)
    assert found == oracle(schedule, window, blocked, bookings, not_before, duration)


@settings(max_examples=150, deadline=None)
@given(schedule=schedules(), blocked=intervals(25), bookings=intervals(6),
       athlete=intervals(4), begin=st.integers(-300, 2 * 1440),
       length=st.integers(0, 3 * 1440), late=st.integers(-600, 1440),
       split=st.integers(-600, 4 * 1440), micros=st.integers(0, 999_999))
def test_lazy_runs_yield_what_free_starts_yields_split_at_a_point(
        schedule: TherapistSchedule, blocked: list[Interval], bookings: list[Interval],
        athlete: list[Interval], begin: int, length: int, late: int, split: int,
        micros: int) -> None:
    window = Interval(moment(begin, micros), moment(begin + length, 0))
    not_before = moment(begin + late, micros // 2)
    point = moment(split, micros // 3)
    expected = free_starts(schedule, window, blocked + athlete, bookings, not_before)
    lo = max(window.start, not_before)
    segments = [tuple(s) for s in subtract([Interval(lo, window.end)], athlete)
                ] if lo < window.end else []
    free = FreeStarts(schedule, unavailable_of(blocked, bookings, schedule.buffer_minutes),
                      segments)
    assert list(free.rising()) == expected
    assert list(free.rising(point)) == [s for s in expected if s >= point]
    assert list(free.falling(point)) == [s for s in reversed(expected) if s < point]


SCHEDULE = TherapistSchedule(1, ZoneInfo("UTC"), (WorkingPeriod(4, time(8), time(12)),),
                             session_minutes=60, slot_step_minutes=30)
FRIDAY = Interval(BASE, BASE + timedelta(days=1))


def at(*clocks: str) -> list[datetime]:
    return [datetime.fromisoformat(f"2027-03-26T{clock}Z") for clock in clocks]


def span(start: str, end: str) -> Interval:
    return Interval(*at(start, end))


@pytest.mark.parametrize(("blocked", "expected"), [
    pytest.param([], at("08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00"),
                 id="nothing blocked"),
    pytest.param([span("09:30", "09:30")],
                 at("08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00"),
                 id="an empty interval blocks nothing"),
    pytest.param([span("10:30", "09:15")],
                 at("08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00"),
                 id="a reversed interval blocks nothing"),
    pytest.param([Interval(datetime.min.replace(tzinfo=UTC), at("09:00")[0])],
                 at("09:00", "09:30", "10:00", "10:30", "11:00"),
                 id="an interval from datetime.min blocks up to its end"),
    pytest.param([span("09:00", "09:00:00.000001")], at("08:00", "09:30", "10:00", "10:30",
                                                         "11:00"),
                 id="one microsecond blocks every session over it"),
    pytest.param([span("09:00", "09:30"), span("09:30", "10:00"), span("09:45", "09:50")],
                 at("08:00", "10:00", "10:30", "11:00"),
                 id="touching and nested intervals merge"),
])
def test_free_starts_edge_intervals(blocked: list[Interval], expected: list[datetime]) -> None:
    assert free_starts(SCHEDULE, FRIDAY, blocked, [], BASE) == expected
