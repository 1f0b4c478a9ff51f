"""Working hours -> UTC periods (DST-correct) and free session starts, as literal tables."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from athlete_sched.core.availability import (
    TherapistSchedule,
    WorkingPeriod,
    free_starts,
    working_intervals,
)
from athlete_sched.core.checks import working_period_containing
from athlete_sched.core.errors import InvalidPeriod
from athlete_sched.core.intervals import Interval

MON, TUE, FRI, SUN = 0, 1, 4, 6
LONG_AGO = datetime(2027, 1, 1, tzinfo=UTC)


def z(text: str) -> datetime:
    """A literal UTC instant, '2027-05-17T08:10Z'."""
    return datetime.fromisoformat(text)


def at(day: str, *clock: str) -> list[datetime]:
    """UTC instants on one day: at("2027-05-17", "08:10", "08:25")."""
    return [z(f"{day}T{hhmm}Z") for hhmm in clock]


def span(start: str, end: str) -> Interval:
    return Interval(z(start), z(end))


def hours(*periods: tuple[int, str, str]) -> tuple[WorkingPeriod, ...]:
    return tuple(WorkingPeriod(day, time.fromisoformat(s), time.fromisoformat(e))
                 for day, s, e in periods)


def schedule(zone: str, *periods: tuple[int, str, str], session: int = 45, buffer: int = 0,
             step: int = 15) -> TherapistSchedule:
    return TherapistSchedule(1, ZoneInfo(zone), hours(*periods), session, buffer, step)


MONDAY = span("2027-05-17T00:00Z", "2027-05-18T00:00Z")  # a Monday, whole UTC day


@pytest.mark.parametrize(("zone", "periods", "within", "expected"), [
    pytest.param("Europe/Berlin", [(MON, "09:00", "12:00")],
                 span("2027-03-22T00:00Z", "2027-04-04T22:00Z"),
                 [span("2027-03-22T08:00Z", "2027-03-22T11:00Z"),
                  span("2027-03-29T07:00Z", "2027-03-29T10:00Z")],
                 id="Berlin 09:00 stays 09:00 across EU spring forward"),
    pytest.param("Europe/Berlin", [(MON, "09:00", "12:00")],
                 span("2027-03-22T00:00Z", "2027-04-05T00:00Z"),
                 [span("2027-03-22T08:00Z", "2027-03-22T11:00Z"),
                  span("2027-03-29T07:00Z", "2027-03-29T10:00Z"),
                  span("2027-04-05T07:00Z", "2027-04-05T10:00Z")],
                 id="a span ending at 02:00 Berlin on a Monday touches that Monday: whole period"),
    pytest.param("America/New_York", [(FRI, "09:00", "17:00"), (MON, "09:00", "17:00")],
                 span("2027-03-12T05:00Z", "2027-03-16T04:00Z"),
                 [span("2027-03-12T14:00Z", "2027-03-12T22:00Z"),
                  span("2027-03-15T13:00Z", "2027-03-15T21:00Z")],
                 id="New York 09:00 stays 09:00 across US spring forward"),
    pytest.param("Europe/Berlin", [(FRI, "09:00", "12:00"), (MON, "09:00", "12:00")],
                 span("2027-10-29T00:00Z", "2027-11-02T00:00Z"),
                 [span("2027-10-29T07:00Z", "2027-10-29T10:00Z"),
                  span("2027-11-01T08:00Z", "2027-11-01T11:00Z")],
                 id="Berlin 09:00 stays 09:00 across EU fall back"),
    pytest.param("America/New_York", [(FRI, "09:00", "17:00"), (MON, "09:00", "17:00")],
                 span("2027-11-05T04:00Z", "2027-11-09T05:00Z"),
                 [span("2027-11-05T13:00Z", "2027-11-05T21:00Z"),
                  span("2027-11-08T14:00Z", "2027-11-08T22:00Z")],
                 id="New York 09:00 stays 09:00 across US fall back"),
    pytest.param("Europe/Berlin", [(SUN, "02:00", "03:00")],
                 span("2027-03-27T23:00Z", "2027-03-28T22:00Z"), [],
                 id="02:00-03:00 on the spring-forward day is the gap itself: skipped"),
    pytest.param("Europe/Berlin", [(SUN, "02:15", "02:45")],
                 span("2027-03-27T23:00Z", "2027-03-28T22:00Z"),
                 [span("2027-03-28T01:15Z", "2027-03-28T01:45Z")],
                 id="02:15-02:45 in the gap read with fold=0: 03:15-03:45 CEST"),
    pytest.param("Europe/Berlin", [(SUN, "01:00", "04:00")],
                 span("2027-03-27T23:00Z", "2027-03-28T22:00Z"),
                 [span("2027-03-28T00:00Z", "2027-03-28T02:00Z")],
                 id="01:00-04:00 on the spring-forward day lasts 2 h"),
    pytest.param("Europe/Berlin", [(SUN, "02:30", "05:00")],
                 span("2027-03-27T23:00Z", "2027-03-28T22:00Z"),
                 [span("2027-03-28T01:30Z", "2027-03-28T03:00Z")],
                 id="nonexistent 02:30 read with fold=0 (the CET offset)"),
    pytest.param("Europe/Berlin", [(SUN, "02:00", "03:00")],
                 span("2027-10-30T22:00Z", "2027-10-31T23:00Z"),
                 [span("2027-10-31T00:00Z", "2027-10-31T02:00Z")],
                 id="repeated 02:00 is its first occurrence: 02:00-03:00 lasts 2 h"),
    pytest.param("Asia/Kathmandu", [(MON, "09:00", "12:00")], MONDAY,
                 [span("2027-05-17T03:15Z", "2027-05-17T06:15Z")], id="Kathmandu +05:45"),
    pytest.param("Asia/Tokyo", [(TUE, "05:00", "08:00")], MONDAY,
                 [span("2027-05-17T20:00Z", "2027-05-17T23:00Z")],
                 id="a Tokyo Tuesday morning falls on the UTC Monday"),
    pytest.param("UTC", [(MON, "13:00", "18:00"), (MON, "08:00", "12:00")], MONDAY,
                 [span("2027-05-17T08:00Z", "2027-05-17T12:00Z"),
                  span("2027-05-17T13:00Z", "2027-05-17T18:00Z")], id="sorted by start"),
])
def test_working_intervals(zone: str, periods: list[tuple[int, str, str]], within: Interval,
                           expected: list[Interval]) -> None:
    assert working_intervals(ZoneInfo(zone), hours(*periods), within) == expected


FREE = [
    pytest.param(schedule("UTC", (MON, "08:10", "12:00")), MONDAY, [], [], LONG_AGO, None,
                 at("2027-05-17", "08:10", "08:25", "08:40", "08:55", "09:10", "09:25", "09:40",
                    "09:55", "10:10", "10:25", "10:40", "10:55", "11:10"),
                 id="grid counts from the period start (08:10, step 15)"),
    pytest.param(schedule("UTC", (MON, "08:00", "12:00"), buffer=10), MONDAY, [],
                 [span("2027-05-17T10:00Z", "2027-05-17T10:45Z")], LONG_AGO, None,
                 at("2027-05-17", "08:00", "08:15", "08:30", "08:45", "09:00", "11:00", "11:15"),
                 id="buffer of 10 min keeps a booking clear on both sides"),
    pytest.param(schedule("UTC", (MON, "08:00", "12:00"), buffer=10), MONDAY,
                 [span("2027-05-17T10:00Z", "2027-05-17T10:45Z")], [], LONG_AGO, None,
                 at("2027-05-17", "08:00", "08:15", "08:30", "08:45", "09:00", "09:15", "10:45",
                    "11:00", "11:15"),
                 id="time off blocks without a buffer"),
    pytest.param(schedule("UTC", (MON, "08:00", "12:00"), (MON, "13:00", "18:00"), session=60,
                          step=30), MONDAY, [], [], LONG_AGO, None,
                 at("2027-05-17", "08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00",
                    "13:00", "13:30", "14:00", "14:30", "15:00", "15:30", "16:00", "16:30",
                    "17:00"),
                 id="split day 08-12 and 13-18: nothing over lunch"),
    pytest.param(schedule("UTC", (MON, "08:00", "10:00"), (MON, "10:00", "12:00"), session=60,
                          step=30), MONDAY, [], [], LONG_AGO, None,
                 at("2027-05-17", "08:00", "08:30", "09:00", "10:00", "10:30", "11:00"),
                 id="touching periods: a session must fit in one of them (no 09:30)"),
    pytest.param(schedule("UTC", (MON, "08:00", "10:00"), (MON, "09:00", "11:00"), session=30,
                          step=30), MONDAY, [], [], LONG_AGO, None,
                 at("2027-05-17", "08:00", "08:30", "09:00", "09:30", "10:00", "10:30"),
                 id="overlapping periods give no duplicate starts"),
    pytest.param(schedule("UTC", (MON, "08:00", "12:00")), MONDAY, [], [],
                 z("2027-05-17T09:20Z"), None,
                 at("2027-05-17", "09:30", "09:45", "10:00", "10:15", "10:30", "10:45", "11:00",
                    "11:15"),
                 id="notice: nothing before not_before, grid kept"),
    pytest.param(schedule("UTC", (MON, "08:10", "12:00")),
                 span("2027-05-17T09:00Z", "2027-05-17T11:00Z"), [], [], LONG_AGO, None,
                 at("2027-05-17", "09:10", "09:25", "09:40", "09:55", "10:10"),
                 id="window clips, grid still counts from the period start"),
    pytest.param(schedule("UTC", (MON, "08:00", "12:00"), session=30, step=30), MONDAY,
                 [span("2027-05-17T10:00Z", "2027-05-17T10:20Z"),
                  span("2027-05-17T08:45Z", "2027-05-17T09:10Z"),
                  span("2027-05-17T09:00Z", "2027-05-17T09:40Z"),
                  span("2027-05-17T11:30Z", "2027-05-17T12:00Z")], [], LONG_AGO, None,
                 at("2027-05-17", "08:00", "10:30", "11:00"),
                 id="unsorted, overlapping busy intervals"),
    pytest.param(schedule("UTC", (MON, "08:00", "10:00"), session=30, step=30), MONDAY,
                 [span("2027-05-17T08:30Z", "2027-05-17T09:00Z")], [], LONG_AGO, None,
                 at("2027-05-17", "08:00", "09:00", "09:30"),
                 id="touching a busy interval is fine"),
    pytest.param(schedule("UTC", (MON, "08:00", "10:00")), MONDAY, [], [], LONG_AGO,
                 timedelta(minutes=90), at("2027-05-17", "08:00", "08:15", "08:30"),
                 id="duration argument overrides the session length"),
    pytest.param(schedule("UTC", (MON, "08:00", "12:00")),
                 span("2027-05-17T08:00Z", "2027-05-17T08:30Z"), [], [], LONG_AGO, None, [],
                 id="window shorter than a session"),
    pytest.param(schedule("Europe/Berlin", (MON, "09:00", "10:30"), session=60, step=30),
                 span("2027-03-22T00:00Z", "2027-03-30T00:00Z"), [], [], LONG_AGO, None,
                 at("2027-03-22", "08:00", "08:30") + at("2027-03-29", "07:00", "07:30"),
                 id="Berlin: 09:00 local before and after EU spring forward"),
    pytest.param(schedule("America/New_York", (FRI, "09:00", "10:00"), (MON, "09:00", "10:00"),
                          session=60, step=60),
                 span("2027-11-05T00:00Z", "2027-11-09T00:00Z"), [], [], LONG_AGO, None,
                 at("2027-11-05", "13:00") + at("2027-11-08", "14:00"),
                 id="New York: 09:00 local before and after US fall back"),
    pytest.param(schedule("America/New_York", (MON, "17:00", "20:00"), session=60, step=60),
                 span("2027-05-15T22:00Z", "2027-05-17T22:00Z"), [], [], LONG_AGO, None,
                 at("2027-05-17", "21:00"),
                 id="New York therapist, Berlin event's pre window cuts the evening"),
    pytest.param(schedule("Asia/Tokyo", (TUE, "05:00", "08:00"), session=60, step=60),
                 span("2027-05-15T22:00Z", "2027-05-17T22:00Z"), [], [], LONG_AGO, None,
                 at("2027-05-17", "20:00", "21:00"),
                 id="Tokyo therapist's Tuesday morning inside a Berlin Monday window"),
]


@pytest.mark.parametrize(("therapist", "window", "blocked", "bookings", "not_before",
                          "duration", "expected"), FREE)
def test_free_starts(therapist: TherapistSchedule, window: Interval, blocked: list[Interval],
                     bookings: list[Interval], not_before: datetime,
                     duration: timedelta | None, expected: list[datetime]) -> None:
    found = free_starts(therapist, window, blocked, bookings, not_before, duration)
    assert found == expected
    assert all(start.utcoffset() == timedelta(0) for start in found)


@pytest.mark.parametrize(("session", "expected"), [
    pytest.param(span("2027-05-17T09:00Z", "2027-05-17T09:45Z"),
                 span("2027-05-17T08:00Z", "2027-05-17T12:00Z"), id="inside the morning"),
    pytest.param(span("2027-05-17T13:00Z", "2027-05-17T18:00Z"),
                 span("2027-05-17T13:00Z", "2027-05-17T18:00Z"), id="exactly the afternoon"),
    pytest.param(span("2027-05-17T11:30Z", "2027-05-17T12:15Z"), None, id="over lunch"),
    pytest.param(span("2027-05-18T09:00Z", "2027-05-18T09:45Z"), None, id="on a Tuesday"),
])
def test_working_period_containing(session: Interval, expected: Interval | None) -> None:
    therapist = schedule("UTC", (MON, "08:00", "12:00"), (MON, "13:00", "18:00"))
    assert working_period_containing(therapist, session) == expected


def test_working_period_must_end_after_it_starts() -> None:
    with pytest.raises(InvalidPeriod):
        WorkingPeriod(MON, time(12), time(8))
    with pytest.raises(InvalidPeriod):
        WorkingPeriod(MON, time(9), time(9))
    with pytest.raises(ValueError, match="day"):
        WorkingPeriod(7, time(8), time(9))
