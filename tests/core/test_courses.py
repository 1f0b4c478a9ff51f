"""Courses and tune-ups (issue 4, item 5) as literal 2027 cases.

Course of N before an A race: course session N-k targets local day P - 7k (P = D-3, the
first day of the pre window), window = that day +/- 1 local day. Guaranteed: windows are
three local days, 4 local days apart, the latest ends 5 local days before the pre window.
Tune-ups: due at the span start, then `weeks` after the previous one and `weeks` after the
end of any needling (event windows, A-race course zone, bookings); a one-day window of quiet
time (clear of all that +/- min gap).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from athlete_sched.core.courses import (
    course_pieces,
    course_windows,
    course_zone,
    tune_up_windows,
)
from athlete_sched.core.intervals import Interval, overlaps
from athlete_sched.core.season import (
    DEFAULT_MIN_GAP,
    SeasonEvent,
    Session,
    closed_spans,
    season_plan,
)
from athlete_sched.core.windows import EventTiming, event_windows

BERLIN = "Europe/Berlin"
NOW = datetime.fromisoformat("2027-05-01T00:00Z")
SPRING = Interval(NOW, datetime.fromisoformat("2027-07-01T00:00Z"))
WINTER = Interval(datetime.fromisoformat("2027-01-01T00:00Z"),
                  datetime.fromisoformat("2027-04-01T00:00Z"))


def z(text: str) -> datetime:
    """A literal UTC instant such as '2027-06-08T22:00Z'."""
    return datetime.fromisoformat(text)


def iv(start: str, end: str) -> Interval:
    return Interval(z(start), z(end))


def race(event_id: int, start: str, end: str | None = None, priority: str = "A",
         zone: str = BERLIN) -> SeasonEvent:
    """'2027-06-20' is all-day; '2027-06-20T09:00' is local time in the zone."""
    tz = ZoneInfo(zone)

    def when(text: str | None) -> date | datetime | None:
        if text is None or len(text) == 10:
            return None if text is None else date.fromisoformat(text)
        return datetime.fromisoformat(text).replace(tzinfo=tz)

    return SeasonEvent(event_id, EventTiming(tz, when(start), when(end)), priority)


# A race on Sunday 2027-06-20, 09:00-13:00 Berlin: P = 06-17, pre window from 06-16T22:00Z.
JUNE = race(1, "2027-06-20T09:00", "2027-06-20T13:00")
JUNE_COURSE = [(1, iv("2027-05-11T22:00Z", "2027-05-14T22:00Z")),
               (2, iv("2027-05-18T22:00Z", "2027-05-21T22:00Z")),
               (3, iv("2027-05-25T22:00Z", "2027-05-28T22:00Z")),
               (4, iv("2027-06-01T22:00Z", "2027-06-04T22:00Z")),
               (5, iv("2027-06-08T22:00Z", "2027-06-11T22:00Z"))]


@pytest.mark.parametrize(("event", "sessions", "expected"), [
    pytest.param(JUNE, 6, JUNE_COURSE, id="N=6: five weekly windows, Tue-Thu each week"),
    pytest.param(JUNE, 2, [(1, JUNE_COURSE[4][1])],
                 id="N=2: one window, session 1 of 2, the week before the pre"),
    pytest.param(JUNE, 1, [], id="N=1: the pre session alone"),
    pytest.param(JUNE, 0, [], id="N=0: no course"),
    pytest.param(race(1, "2027-04-18"), 4,
                 [(1, iv("2027-03-23T23:00Z", "2027-03-26T23:00Z")),
                  (2, iv("2027-03-30T22:00Z", "2027-04-02T22:00Z")),
                  (3, iv("2027-04-06T22:00Z", "2027-04-09T22:00Z"))],
                 id="Berlin, across the EU spring forward: CET then CEST midnights"),
    pytest.param(race(1, "2027-11-14"), 3,
                 [(1, iv("2027-10-26T22:00Z", "2027-10-29T22:00Z")),
                  (2, iv("2027-11-02T23:00Z", "2027-11-05T23:00Z"))],
                 id="Berlin, across the EU fall back"),
    pytest.param(race(1, "2027-11-07T08:00", "2027-11-07T12:00", zone="America/New_York"), 2,
                 [(1, iv("2027-10-27T04:00Z", "2027-10-30T04:00Z"))],
                 id="New York: EDT midnights the week before the US fall back"),
])
def test_course_windows(event: SeasonEvent, sessions: int,
                        expected: list[tuple[int, Interval]]) -> None:
    assert course_windows(event.timing, sessions) == expected


@pytest.mark.parametrize("event", [
    pytest.param(JUNE, id="June"),
    pytest.param(race(1, "2027-04-18"), id="spring forward inside"),
    pytest.param(race(1, "2027-11-21"), id="fall back inside"),
    pytest.param(race(1, "2027-04-11", zone="America/New_York"), id="US spring forward"),
])
@pytest.mark.parametrize("sessions", [2, 4, 6, 8])
def test_course_window_guarantees(event: SeasonEvent, sessions: int) -> None:
    """Three local days each; 4 local days (>= 95 h) apart; the latest ends 5 local days
    (>= 119 h) before the pre window; so always more than the 48 h minimum gap."""
    windows = [w for _, w in course_windows(event.timing, sessions)]
    pre = event_windows(event.timing).pre
    assert len(windows) == sessions - 1
    assert all(timedelta(hours=71) <= w.end - w.start <= timedelta(hours=73) for w in windows)
    gaps = [later.start - earlier.end for earlier, later in pairwise(windows)]
    assert all(timedelta(hours=95) <= g <= timedelta(hours=97) for g in gaps)
    assert timedelta(hours=119) <= pre.start - windows[-1].end <= timedelta(hours=121)
    assert min([*gaps, pre.start - windows[-1].end]) > DEFAULT_MIN_GAP


def test_course_windows_refuse_a_negative_count() -> None:
    with pytest.raises(ValueError, match="sessions"):
        course_windows(JUNE.timing, -1)


@pytest.mark.parametrize(("sessions", "expected"), [
    pytest.param(0, iv("2027-06-02T22:00Z", "2027-06-16T22:00Z"), id="no course: two weeks"),
    pytest.param(3, iv("2027-06-01T22:00Z", "2027-06-16T22:00Z"),
                 id="N=3: from the earliest course window (15 days)"),
    pytest.param(6, iv("2027-05-11T22:00Z", "2027-06-16T22:00Z"), id="N=6: 36 days"),
])
def test_course_zone(sessions: int, expected: Interval) -> None:
    assert course_zone(JUNE.timing, sessions) == expected


def test_course_pieces_skip_a_booked_window_and_cut_blocks() -> None:
    pieces = course_pieces(JUNE.timing, 3, iv("2027-05-20T00:00Z", "2027-07-01T00:00Z"),
                           [iv("2027-06-09T00:00Z", "2027-06-10T00:00Z")],
                           [z("2027-06-03T08:00Z")])
    assert pieces == [(2, iv("2027-06-08T22:00Z", "2027-06-09T00:00Z")),
                      (2, iv("2027-06-10T00:00Z", "2027-06-11T22:00Z"))]


# --- courses in a season plan ---------------------------------------------------------------

def courses(events: list[SeasonEvent], sessions: list[Session] | tuple[()] = (),
            span: Interval = SPRING, now: datetime = NOW,
            n: int = 6) -> list[tuple[tuple[int, ...], Interval]]:
    found = season_plan(events, sessions, span, now=now, course_sessions=n, tune_up_weeks=0)
    return [(s.event_ids, s.window) for s in found if s.kind == "course"]


def one(*rows: tuple[int, Interval]) -> list[tuple[tuple[int, ...], Interval]]:
    return [((1,), window) for _, window in rows]


@pytest.mark.parametrize(("events", "sessions", "options", "expected"), [
    pytest.param([JUNE], [], {}, one(*JUNE_COURSE), id="quiet spring: all five windows"),
    pytest.param([JUNE], [Session(1, "course", iv("2027-05-26T08:00Z", "2027-05-26T09:00Z"))],
                 {}, one(*JUNE_COURSE[:2], *JUNE_COURSE[3:]),
                 id="a booked course session serves its week"),
    pytest.param([JUNE], [Session(None, "tune-up", iv("2027-05-17T10:00Z", "2027-05-17T11:00Z"))],
                 {}, one(JUNE_COURSE[0], (2, iv("2027-05-19T11:00Z", "2027-05-21T22:00Z")),
                         *JUNE_COURSE[2:]),
                 id="a tune-up Mon 12:00 keeps the week's window 48 h away"),
    pytest.param([race(2, "2027-05-30", priority="B"), JUNE], [], {},
                 one(JUNE_COURSE[4]),
                 id="a B race on 05-30: the course starts after its windows (+48 h)"),
    pytest.param([race(1, "2027-06-17T09:00", "2027-06-17T12:00"), race(2, "2027-06-20")], [],
                 {}, [((1,), w) for _, w in course_windows(
                     race(1, "2027-06-17T09:00", "2027-06-17T12:00").timing, 6)],
                 id="two A races 3 days apart: only the first gets a course"),
    pytest.param([race(1, "2027-06-20", priority="B")], [], {}, [], id="B race: no course"),
    pytest.param([race(1, "2027-06-20", priority="C")], [], {}, [], id="C race: no course"),
    pytest.param([JUNE], [], {"n": 1}, [], id="N=1: no course window"),
    pytest.param([JUNE], [], {"now": z("2027-05-27T00:00Z")},
                 one((3, iv("2027-05-27T00:00Z", "2027-05-28T22:00Z")), *JUNE_COURSE[3:]),
                 id="now mid-course: past windows dropped, the current one cut"),
    pytest.param([JUNE], [], {"span": iv("2027-05-20T00:00Z", "2027-06-10T00:00Z")},
                 one((2, iv("2027-05-20T00:00Z", "2027-05-21T22:00Z")), *JUNE_COURSE[2:4],
                     (5, iv("2027-06-08T22:00Z", "2027-06-10T00:00Z"))),
                 id="clipped to the span"),
])
def test_courses_in_a_season(events: list[SeasonEvent], sessions: list[Session],
                             options: dict[str, object],
                             expected: list[tuple[tuple[int, ...], Interval]]) -> None:
    assert courses(events, sessions, **options) == expected


def test_course_labels_count_up_to_the_pre() -> None:
    found = season_plan([JUNE], [], SPRING, now=NOW, course_sessions=6, tune_up_weeks=0)
    assert [s.label for s in found if s.kind == "course"] == [
        f"course session {n} of 6 before event 1" for n in range(1, 6)]
    assert [s.kind for s in found][-2:] == ["pre", "post"]


# --- tune-ups ---------------------------------------------------------------------------------

def days(*starts: str) -> list[Interval]:
    """One-day windows from the given UTC starts ('2027-01-22' means 00:00Z)."""
    found = []
    for text in starts:
        start = z(text if "T" in text else f"{text}T00:00Z")
        found.append(Interval(start, start + timedelta(days=1)))
    return found


@pytest.mark.parametrize(("events", "sessions", "options", "expected"), [
    pytest.param([], [], {}, days("2027-01-01", "2027-01-22", "2027-02-12", "2027-03-05",
                                  "2027-03-26"), id="quiet season: every 3 weeks"),
    pytest.param([], [], {"tune_up_weeks": 2},
                 days("2027-01-01", "2027-01-15", "2027-01-29", "2027-02-12", "2027-02-26",
                      "2027-03-12", "2027-03-26"), id="every 2 weeks"),
    pytest.param([], [], {"tune_up_weeks": 0}, [], id="0 weeks: no tune-ups"),
    pytest.param([], [], {"now": z("2027-01-05T09:00Z")},
                 days("2027-01-05T09:00Z", "2027-01-26T09:00Z", "2027-02-16T09:00Z",
                      "2027-03-09T09:00Z", "2027-03-30T09:00Z"), id="the first is due now"),
    pytest.param([], [Session(None, "tune-up", iv("2027-01-10T10:00Z", "2027-01-10T11:00Z"))],
                 {}, days("2027-01-01", "2027-01-31T11:00Z", "2027-02-21T11:00Z",
                          "2027-03-14T11:00Z"), id="a booked session restarts the clock"),
    pytest.param([race(1, "2027-02-14", priority="C")], [], {},
                 days("2027-01-01", "2027-01-22", "2027-03-10T23:00Z"),
                 id="C race 02-14: none in its windows; next 3 weeks after its post window"),
    pytest.param([race(1, "2027-03-01", priority="B")], [], {},
                 days("2027-01-01", "2027-01-22", "2027-02-12", "2027-03-25T23:00Z"),
                 id="B race 03-01: 02-12 is quiet (no course zone)"),
    pytest.param([race(1, "2027-03-01")], [], {},
                 days("2027-01-01", "2027-01-22", "2027-03-25T23:00Z"),
                 id="A race 03-01: 02-12 falls in the 2 weeks kept for its course"),
])
def test_tune_ups(events: list[SeasonEvent], sessions: list[Session],
                  options: dict[str, object], expected: list[Interval]) -> None:
    options = {"now": WINTER.start, **options}
    found = [s for s in season_plan(events, sessions, WINTER, **options) if s.kind == "tune-up"]
    assert [s.window for s in found] == expected
    weeks = options.get("tune_up_weeks", 3)
    assert all(b.window.start - a.window.start >= timedelta(weeks=weeks)
               for a, b in pairwise(found))
    hulls = [Interval(w.pre.start, w.post.end) for w in
             (event_windows(e.timing) for e in events)]
    assert not any(overlaps(s.window, c) for s in found for c in [*hulls, *closed_spans(events)])
    assert all(s.event_ids == () and s.label == f"tune-up (every {weeks} weeks)" for s in found)


def test_tune_up_windows_need_a_period() -> None:
    with pytest.raises(ValueError, match="week"):
        tune_up_windows(WINTER, [], 0, DEFAULT_MIN_GAP, WINTER.start)


def test_tune_up_needs_a_whole_quiet_day() -> None:
    """Quiet pieces shorter than a day are passed over."""
    needling = [iv("2026-12-30T00:00Z", "2027-01-03T12:00Z")]  # busy to 01-05T12:00Z
    found = tune_up_windows(iv("2027-01-01T00:00Z", "2027-01-06T00:00Z"), needling, 3,
                            DEFAULT_MIN_GAP, WINTER.start)
    assert found == []
