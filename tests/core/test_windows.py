"""Pre and post windows, from the domain notes, as literal UTC instants.

pre = local 00:00 of D-3 to local 00:00 of D-1; post = finish + 60 min (or local 00:00 of
E+1 without a finish time) to local 00:00 of E+4, in the event's zone. 2027 changes:
US spring forward 03-14, EU spring forward 03-28, EU fall back 10-31, US fall back 11-07.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from athlete_sched.core.errors import InvalidPeriod
from athlete_sched.core.intervals import Interval
from athlete_sched.core.windows import (
    EventTiming,
    event_span,
    event_windows,
    local_midnight,
)


def z(text: str) -> datetime:
    """A literal UTC instant such as '2027-05-11T22:00Z'."""
    return datetime.fromisoformat(text)


def when(text: str | None, tz: ZoneInfo) -> date | datetime | None:
    """'2027-05-15' -> a date (all-day); '2027-05-15T08:00' -> local time in tz; an
    explicit offset is kept as given."""
    if text is None:
        return None
    if len(text) == 10:
        return date.fromisoformat(text)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def timing(zone: str, start: str, end: str | None = None) -> EventTiming:
    tz = ZoneInfo(zone)
    return EventTiming(tz, when(start, tz), when(end, tz))


WINDOWS = [
    pytest.param("Europe/Berlin", "2027-05-15T08:00", "2027-05-15T12:30",
                 "2027-05-11T22:00Z", "2027-05-13T22:00Z", "2027-05-15T11:30Z", "2027-05-18T22:00Z",
                 id="contract example: Berlin race with a finish time"),
    pytest.param("Europe/Berlin", "2027-05-15", None,
                 "2027-05-11T22:00Z", "2027-05-13T22:00Z", "2027-05-15T22:00Z", "2027-05-18T22:00Z",
                 id="date only: post starts on E+1"),
    pytest.param("Europe/Berlin", "2027-05-15T08:00", None,
                 "2027-05-11T22:00Z", "2027-05-13T22:00Z", "2027-05-15T22:00Z", "2027-05-18T22:00Z",
                 id="timed start without finish: day E left out"),
    pytest.param("Europe/Berlin", "2027-05-15T08:00", "2027-05-15",
                 "2027-05-11T22:00Z", "2027-05-13T22:00Z", "2027-05-15T22:00Z", "2027-05-18T22:00Z",
                 id="timed start, date end: still no finish time"),
    pytest.param("Europe/Berlin", "2027-06-10", "2027-06-13",
                 "2027-06-06T22:00Z", "2027-06-08T22:00Z", "2027-06-13T22:00Z", "2027-06-16T22:00Z",
                 id="stage race, date end: post after the last day"),
    pytest.param("Europe/Berlin", "2027-06-10T09:00", "2027-06-13T16:00",
                 "2027-06-06T22:00Z", "2027-06-08T22:00Z", "2027-06-13T15:00Z", "2027-06-16T22:00Z",
                 id="stage race, datetime end: post from the final finish"),
    pytest.param("UTC", "2027-05-15T08:00", "2027-05-15T12:30",
                 "2027-05-12T00:00Z", "2027-05-14T00:00Z", "2027-05-15T13:30Z", "2027-05-19T00:00Z",
                 id="UTC event"),
    pytest.param("Europe/Berlin", "2027-05-14T23:30+00:00", None,
                 "2027-05-11T22:00Z", "2027-05-13T22:00Z", "2027-05-15T22:00Z", "2027-05-18T22:00Z",
                 id="start given in UTC counts on its Berlin day (May 15)"),
    pytest.param("America/Los_Angeles", "2027-05-15T18:00", "2027-05-15T21:00",
                 "2027-05-12T07:00Z", "2027-05-14T07:00Z", "2027-05-16T05:00Z", "2027-05-19T07:00Z",
                 id="west of UTC: evening race is on the next UTC day"),
    pytest.param("Europe/Berlin", "2027-05-15T20:00", "2027-05-15T23:30",
                 "2027-05-11T22:00Z", "2027-05-13T22:00Z", "2027-05-15T22:30Z", "2027-05-18T22:00Z",
                 id="late finish: recovery gap runs into E+1"),
    pytest.param("Asia/Kathmandu", "2027-05-15T07:00", "2027-05-15T10:00",
                 "2027-05-11T18:15Z", "2027-05-13T18:15Z", "2027-05-15T05:15Z", "2027-05-18T18:15Z",
                 id="Kathmandu UTC+05:45"),
    # --- daylight-saving weeks --------------------------------------------------------
    pytest.param("America/New_York", "2027-03-16", None,
                 "2027-03-13T05:00Z", "2027-03-15T04:00Z", "2027-03-17T04:00Z", "2027-03-20T04:00Z",
                 id="New York: pre spans US spring forward (23 h Sunday)"),
    pytest.param("America/New_York", "2027-03-12T10:00", "2027-03-12T14:00",
                 "2027-03-09T05:00Z", "2027-03-11T05:00Z", "2027-03-12T20:00Z", "2027-03-16T04:00Z",
                 id="New York: post spans US spring forward"),
    pytest.param("Europe/Berlin", "2027-03-16", None,
                 "2027-03-12T23:00Z", "2027-03-14T23:00Z", "2027-03-16T23:00Z", "2027-03-19T23:00Z",
                 id="Berlin: unaffected by the US change"),
    pytest.param("Europe/Berlin", "2027-03-30", None,
                 "2027-03-26T23:00Z", "2027-03-28T22:00Z", "2027-03-30T22:00Z", "2027-04-02T22:00Z",
                 id="Berlin: pre spans EU spring forward (23 h Sunday)"),
    pytest.param("Europe/Berlin", "2027-03-26T18:00", "2027-03-26T20:00",
                 "2027-03-22T23:00Z", "2027-03-24T23:00Z", "2027-03-26T20:00Z", "2027-03-29T22:00Z",
                 id="Berlin: post spans EU spring forward"),
    pytest.param("Europe/Berlin", "2027-03-28T10:00", "2027-03-28T14:00",
                 "2027-03-24T23:00Z", "2027-03-26T23:00Z", "2027-03-28T13:00Z", "2027-03-31T22:00Z",
                 id="Berlin: race on the spring-forward day itself"),
    pytest.param("America/New_York", "2027-03-30", None,
                 "2027-03-27T04:00Z", "2027-03-29T04:00Z", "2027-03-31T04:00Z", "2027-04-03T04:00Z",
                 id="New York: already on EDT during the EU change"),
    pytest.param("Europe/Berlin", "2027-11-02", None,
                 "2027-10-29T22:00Z", "2027-10-31T23:00Z", "2027-11-02T23:00Z", "2027-11-05T23:00Z",
                 id="Berlin: pre spans EU fall back (25 h Sunday)"),
    pytest.param("Europe/Berlin", "2027-10-29T10:00", "2027-10-29T15:00",
                 "2027-10-25T22:00Z", "2027-10-27T22:00Z", "2027-10-29T14:00Z", "2027-11-01T23:00Z",
                 id="Berlin: post spans EU fall back"),
    pytest.param("America/New_York", "2027-11-02", None,
                 "2027-10-30T04:00Z", "2027-11-01T04:00Z", "2027-11-03T04:00Z", "2027-11-06T04:00Z",
                 id="New York: still on EDT during the EU fall back"),
    pytest.param("America/New_York", "2027-11-09", None,
                 "2027-11-06T04:00Z", "2027-11-08T05:00Z", "2027-11-10T05:00Z", "2027-11-13T05:00Z",
                 id="New York: pre spans US fall back (25 h Sunday)"),
    pytest.param("America/New_York", "2027-11-05T09:00", "2027-11-05T11:30",
                 "2027-11-02T04:00Z", "2027-11-04T04:00Z", "2027-11-05T16:30Z", "2027-11-09T05:00Z",
                 id="New York: post spans US fall back"),
]


@pytest.mark.parametrize(("zone", "start", "end", "pre_start", "pre_end", "post_start",
                          "post_end"), WINDOWS)
def test_event_windows(zone: str, start: str, end: str | None, pre_start: str, pre_end: str,
                       post_start: str, post_end: str) -> None:
    windows = event_windows(timing(zone, start, end))
    assert windows.pre == Interval(z(pre_start), z(pre_end))
    assert windows.post == Interval(z(post_start), z(post_end))
    assert windows.pre.start.tzinfo is UTC and windows.post.end.tzinfo is UTC


@pytest.mark.parametrize(("zone", "day", "pre_hours", "post_hours"), [
    pytest.param("America/New_York", "2027-03-16", 47, 72, id="NY pre holds the 23 h day"),
    pytest.param("America/New_York", "2027-03-12", 48, 71, id="NY post holds the 23 h day"),
    pytest.param("Europe/Berlin", "2027-03-30", 47, 72, id="Berlin pre holds the 23 h day"),
    pytest.param("Europe/Berlin", "2027-03-26", 48, 71, id="Berlin post holds the 23 h day"),
    pytest.param("Europe/Berlin", "2027-11-02", 49, 72, id="Berlin pre holds the 25 h day"),
    pytest.param("Europe/Berlin", "2027-10-29", 48, 73, id="Berlin post holds the 25 h day"),
    pytest.param("America/New_York", "2027-11-09", 49, 72, id="NY pre holds the 25 h day"),
    pytest.param("America/New_York", "2027-11-05", 48, 73, id="NY post holds the 25 h day"),
    pytest.param("Asia/Kathmandu", "2027-05-15", 48, 72, id="Kathmandu has no DST"),
])
def test_window_lengths_follow_local_days(zone: str, day: str, pre_hours: int,
                                          post_hours: int) -> None:
    windows = event_windows(timing(zone, day))
    assert windows.pre.end - windows.pre.start == timedelta(hours=pre_hours)
    assert windows.post.end - windows.post.start == timedelta(hours=post_hours)


def test_recovery_gap_is_a_parameter() -> None:
    windows = event_windows(timing("Europe/Berlin", "2027-05-15T08:00", "2027-05-15T12:30"),
                            recovery_gap=timedelta(hours=3))
    assert windows.post.start == z("2027-05-15T13:30Z")


@pytest.mark.parametrize(("zone", "start", "end", "span_start", "span_end"), [
    pytest.param("Europe/Berlin", "2027-05-15T08:00", "2027-05-15T12:30",
                 "2027-05-15T06:00Z", "2027-05-15T10:30Z", id="timed with finish"),
    pytest.param("Europe/Berlin", "2027-05-15", None,
                 "2027-05-14T22:00Z", "2027-05-15T22:00Z", id="all-day: the whole local day"),
    pytest.param("Europe/Berlin", "2027-05-15T08:00", None,
                 "2027-05-15T06:00Z", "2027-05-15T22:00Z", id="no finish: to the end of the day"),
    pytest.param("Europe/Berlin", "2027-06-10", "2027-06-13",
                 "2027-06-09T22:00Z", "2027-06-13T22:00Z", id="stage race: every day"),
    pytest.param("Europe/Berlin", "2027-03-28", None,
                 "2027-03-27T23:00Z", "2027-03-28T22:00Z", id="all-day on a 23 h day"),
])
def test_event_span(zone: str, start: str, end: str | None, span_start: str,
                    span_end: str) -> None:
    assert event_span(timing(zone, start, end)) == Interval(z(span_start), z(span_end))


@pytest.mark.parametrize(("zone", "day", "expected"), [
    pytest.param("Europe/Berlin", "2027-03-28", "2027-03-27T23:00Z", id="Berlin, 23 h day"),
    pytest.param("Europe/Berlin", "2027-03-29", "2027-03-28T22:00Z", id="Berlin, after it"),
    pytest.param("Asia/Kathmandu", "2027-05-15", "2027-05-14T18:15Z", id="Kathmandu"),
    pytest.param("America/Havana", "2027-03-14", "2027-03-14T05:00Z",
                 id="Havana springs forward at midnight: the day begins at 01:00"),
    pytest.param("America/Havana", "2027-11-07", "2027-11-07T04:00Z",
                 id="Havana falls back to midnight: the first 00:00"),
])
def test_local_midnight(zone: str, day: str, expected: str) -> None:
    assert local_midnight(date.fromisoformat(day), ZoneInfo(zone)) == z(expected)


@pytest.mark.parametrize(("start", "end"), [
    pytest.param("2027-05-15T12:00", "2027-05-15T08:00", id="datetime end before start"),
    pytest.param("2027-05-15T08:00", "2027-05-15T08:00", id="datetime end equal to start"),
    pytest.param("2027-05-15", "2027-05-14", id="date end a day early"),
    pytest.param("2027-05-15T08:00", "2027-05-14", id="date end before the start's day"),
    pytest.param("2027-05-15", "2027-05-14T23:00", id="datetime end on the day before"),
])
def test_reversed_event_is_an_invalid_period(start: str, end: str) -> None:
    with pytest.raises(InvalidPeriod) as caught:
        timing("Europe/Berlin", start, end)
    assert caught.value.field == "end"


@pytest.mark.parametrize(("start", "end"), [
    pytest.param("2027-05-15", "2027-05-15", id="date end on the start day"),
    pytest.param("2027-05-15T08:00", "2027-05-15", id="date end on the timed start's day"),
    pytest.param("2027-05-15", "2027-05-15T00:30", id="datetime end early on the start day"),
    pytest.param("2027-05-15", "2027-05-14T22:30+00:00",
                 id="end on the UTC day before, but the same Berlin day"),
])
def test_end_on_the_start_day_is_fine(start: str, end: str) -> None:
    event = timing("Europe/Berlin", start, end)
    assert event.last_day == event.first_day == date(2027, 5, 15)


@pytest.mark.parametrize(("start", "end"), [
    pytest.param(datetime(2027, 5, 15, 8), None, id="naive start"),  # noqa: DTZ001
    pytest.param(date(2027, 5, 15), datetime(2027, 5, 15, 12), id="naive end"),  # noqa: DTZ001
])
def test_naive_datetimes_are_refused(start: date | datetime, end: datetime | None) -> None:
    with pytest.raises(ValueError, match="naive"):
        EventTiming(ZoneInfo("Europe/Berlin"), start, end)


def test_timing_properties() -> None:
    event = timing("America/New_York", "2027-05-15T22:30", "2027-05-16T01:00")
    assert event.first_day == date(2027, 5, 15)
    assert event.last_day == date(2027, 5, 16)
    assert event.start_instant == z("2027-05-16T02:30Z")
    assert event.finish == z("2027-05-16T05:00Z")
    all_day = timing("America/New_York", "2027-05-15")
    assert all_day.start_instant == z("2027-05-15T04:00Z")
    assert all_day.finish is None
    assert all_day.last_day == date(2027, 5, 15)


def test_a_finish_in_the_repeated_hour_keeps_its_fold() -> None:
    """event_windows is memoized: a finish at 02:30 on the night Berlin falls back, first
    (fold 0, CEST) and second (fold 1, CET) occurrence, are equal datetimes an hour apart,
    and each post window starts an hour after its own finish."""
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2027, 10, 30, 20, 0, tzinfo=berlin)
    first = datetime(2027, 10, 31, 2, 30, tzinfo=berlin)
    posts = [event_windows(EventTiming(berlin, start, end), timedelta(hours=1)).post.start
             for end in (first, first.replace(fold=1), first)]
    assert posts == [z("2027-10-31T01:30Z"), z("2027-10-31T02:30Z"), z("2027-10-31T01:30Z")]
