"""One-day changes of working hours in the core, as tables: the rules of a day, and the
day's own periods standing in for the weekly ones (working_intervals, free_starts,
check_bookable), daylight-saving days included. (Against a brute force, with random
changes: tests/core/test_properties.py.)"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from athlete_sched.core.availability import (
    TherapistSchedule,
    WorkingPeriod,
    free_starts,
    working_intervals,
)
from athlete_sched.core.checks import check_bookable
from athlete_sched.core.errors import InvalidPeriod, InvalidValue, OutsideWorkingHours
from athlete_sched.core.intervals import Interval
from athlete_sched.core.working_days import (
    NoPeriods,
    OverlappingPeriods,
    WorkingDay,
    day_table,
    working_day,
)

BERLIN = ZoneInfo("Europe/Berlin")
# Monday to Friday 08:00-12:00 and 13:00-18:00 Berlin; nothing at the weekend.
WEEK = tuple(WorkingPeriod(d, s, e) for d in range(5)
             for s, e in ((time(8), time(12)), (time(13), time(18))))


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def schedule(*days: WorkingDay) -> TherapistSchedule:
    return TherapistSchedule(therapist_id=1, tz=BERLIN, working_hours=WEEK, session_minutes=45,
                             buffer_minutes=0, slot_step_minutes=15, working_days=days)


def intervals(days: tuple[WorkingDay, ...], start: str, end: str) -> list[tuple[str, str]]:
    found = working_intervals(BERLIN, WEEK, Interval(z(start), z(end)), days)
    return [(f"{i.start:%Y-%m-%d %H:%M}", f"{i.end:%H:%M}") for i in found]


# --- the rules of a day -----------------------------------------------------------------------

def test_periods_are_sorted_and_an_empty_day_is_closed():
    day = WorkingDay(date(2027, 5, 15), ((time(14), time(18)), (time(8), time(9))))
    assert day.periods == ((time(8), time(9)), (time(14), time(18))) and not day.closed
    assert WorkingDay(date(2027, 5, 15)).closed


@pytest.mark.parametrize(("closed", "periods", "error"), [
    (False, [(time(10), time(9))], InvalidPeriod),          # reversed
    (False, [(time(10), time(10))], InvalidPeriod),         # empty
    (False, [(time(8), time(12)), (time(11), time(13))], OverlappingPeriods),
    (False, [], NoPeriods),                                 # open needs a period
    (True, [(time(8), time(9))], InvalidValue),             # closed has none
])
def test_a_day_that_breaks_a_rule_is_refused(closed, periods, error):
    with pytest.raises(error):
        working_day(date(2027, 5, 15), closed, periods)


def test_touching_periods_are_apart():
    day = working_day(date(2027, 5, 15), False, [(time(8), time(12)), (time(12), time(13))])
    assert len(day.periods) == 2


def test_a_zoned_time_is_refused():
    with pytest.raises(ValueError, match="wall-clock"):
        WorkingDay(date(2027, 5, 15), ((time(8, tzinfo=BERLIN), time(9)),))


def test_the_table_reads_times_with_fold_0():
    day = WorkingDay(date(2027, 10, 31), ((time(2, 30, fold=1), time(4)),))
    assert day_table((day,))[date(2027, 10, 31)] == ((time(2, 30), time(4)),)


# --- the day's periods stand in for the weekly ones -------------------------------------------

@pytest.mark.parametrize(("days", "expected"), [
    ((), [("2027-05-14 06:00", "10:00"), ("2027-05-14 11:00", "16:00")]),  # Fri, weekly
    ((WorkingDay(date(2027, 5, 14)),), []),                                 # Fri closed
    ((WorkingDay(date(2027, 5, 14), ((time(9), time(11)),)),),              # a short day
     [("2027-05-14 07:00", "09:00")]),
    ((WorkingDay(date(2027, 5, 15), ((time(14), time(18)),)),),             # Sat shift
     [("2027-05-14 06:00", "10:00"), ("2027-05-14 11:00", "16:00"),
      ("2027-05-15 12:00", "16:00")]),
    ((WorkingDay(date(2027, 5, 20)),),                                      # another date
     [("2027-05-14 06:00", "10:00"), ("2027-05-14 11:00", "16:00")]),
])
def test_a_change_replaces_its_date_only(days, expected):
    assert intervals(days, "2027-05-13T22:00Z", "2027-05-15T22:00Z") == expected


@pytest.mark.parametrize(("day", "start", "end", "expected"), [
    # Sun 28 Mar 2027: 02:00 CET -> 03:00 CEST. Wall-clock stays wall-clock.
    (date(2027, 3, 28), time(9), time(12), [("2027-03-28 07:00", "10:00")]),
    (date(2027, 3, 28), time(1), time(4), [("2027-03-28 00:00", "02:00")]),
    (date(2027, 3, 28), time(2), time(3), []),  # wholly in the gap: skipped
    (date(2027, 3, 27), time(9), time(12), [("2027-03-27 08:00", "11:00")]),
    # Sun 31 Oct 2027: 03:00 CEST -> 02:00 CET; 02:30 is read as its first occurrence.
    (date(2027, 10, 31), time(2, 30), time(4), [("2027-10-31 00:30", "03:00")]),
    (date(2027, 10, 31), time(9), time(12), [("2027-10-31 08:00", "11:00")]),
])
def test_a_change_on_a_daylight_saving_day_keeps_its_wall_clock(day, start, end, expected):
    lo = datetime.combine(day, time(), BERLIN).astimezone(UTC)  # the local day's start
    change = (WorkingDay(day, ((start, end),)),)
    assert intervals(change, f"{lo:%Y-%m-%dT%H:%M}Z",
                     f"{lo + timedelta(hours=23):%Y-%m-%dT%H:%M}Z") == expected


def test_free_starts_follow_the_day_change():
    window = Interval(z("2027-05-13T22:00Z"), z("2027-05-15T22:00Z"))  # Fri and Sat
    weekly = free_starts(schedule(), window, [], [], z("2027-05-01T00:00Z"))
    assert {s.date() for s in weekly} == {date(2027, 5, 14)}
    changed = free_starts(schedule(WorkingDay(date(2027, 5, 14)),
                                   WorkingDay(date(2027, 5, 15), ((time(14), time(16)),))),
                          window, [], [], z("2027-05-01T00:00Z"))
    # Saturday 14:00-16:00 Berlin (12:00Z-14:00Z), 45 minutes every 15: 12:00Z ... 13:15Z.
    assert changed == [z("2027-05-15T12:00Z") + timedelta(minutes=15 * k) for k in range(6)]


def test_booking_checks_read_the_day_change():
    window = Interval(z("2027-05-13T22:00Z"), z("2027-05-15T22:00Z"))
    now, notice, dur = z("2027-05-01T00:00Z"), timedelta(hours=2), timedelta(minutes=45)
    closed_friday = schedule(WorkingDay(date(2027, 5, 14)))
    assert check_bookable(schedule(), "pre", window, z("2027-05-14T07:00Z"), dur, now, notice)
    with pytest.raises(OutsideWorkingHours):
        check_bookable(closed_friday, "pre", window, z("2027-05-14T07:00Z"), dur, now, notice)
    saturday = schedule(WorkingDay(date(2027, 5, 15), ((time(14), time(16)),)))
    assert check_bookable(saturday, "post", window, z("2027-05-15T13:15Z"), dur, now,
                          notice) == Interval(z("2027-05-15T13:15Z"), z("2027-05-15T14:00Z"))
    with pytest.raises(OutsideWorkingHours):  # would end 16:15 local, after the shift
        check_bookable(saturday, "post", window, z("2027-05-15T13:30Z"), dur, now, notice)
