"""Season rules (issue 4, item 3) as literal 2027 cases: closed spans, the 48 h gap, shared
sessions, priorities and the suggestions that come out of them; then a property test.

Local times are Europe/Berlin unless a row says otherwise (CEST = UTC+2 in May). 2027
changes: US spring forward 03-14, EU spring forward 03-28, EU fall back 10-31, US fall
back 11-07.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from athlete_sched.core.intervals import Interval, contains, overlaps
from athlete_sched.core.season import (
    DEFAULT_MIN_GAP,
    SeasonEvent,
    Session,
    Shared,
    Suggestion,
    athlete_unavailable,
    closed_span,
    closed_spans,
    needed_kinds,
    season_plan,
    shared_windows,
    shared_with,
    unavailable_around_sessions,
)
from athlete_sched.core.windows import EventTiming, event_windows

BERLIN = "Europe/Berlin"
NOW = datetime.fromisoformat("2027-05-01T00:00Z")
MAY = Interval(NOW, datetime.fromisoformat("2027-06-01T00:00Z"))
SUMMER = Interval(NOW, datetime.fromisoformat("2027-08-01T00:00Z"))


def z(text: str) -> datetime:
    """A literal UTC instant such as '2027-05-16T11:00Z'."""
    return datetime.fromisoformat(text)


def iv(start: str, end: str) -> Interval:
    return Interval(z(start), z(end))


def when(text: str | None, tz: ZoneInfo) -> date | datetime | None:
    """'2027-05-16' -> a date; '2027-05-16T09:00' -> that local time in tz."""
    if text is None:
        return None
    if len(text) == 10:
        return date.fromisoformat(text)
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def race(event_id: int, start: str, end: str | None = None, priority: str = "A",
         zone: str = BERLIN) -> SeasonEvent:
    tz = ZoneInfo(zone)
    return SeasonEvent(event_id, EventTiming(tz, when(start, tz), when(end, tz)), priority)


def plan(events: list[SeasonEvent], sessions: list[Session] | tuple[()] = (),
         span: Interval = MAY, **options: object) -> list[tuple[str, tuple[int, ...], Interval]]:
    """season_plan without tune-ups (unless asked), as (kind, event ids, window) rows."""
    options = {"now": NOW, "tune_up_weeks": 0, **options}
    return [(s.kind, s.event_ids, s.window) for s in season_plan(events, sessions, span,
                                                                  **options)]


# Back-to-back weekends: A Sun 05-16 09:00-12:00, B Sun 05-23 09:00-12:00 (finish 10:00Z).
WEEKEND_A = race(1, "2027-05-16T09:00", "2027-05-16T12:00")
WEEKEND_B = race(2, "2027-05-23T09:00", "2027-05-23T12:00")
# Three days apart: A Sun 05-16 09:00-12:00, B Wed 05-19 09:00-12:00.
THREE_A = WEEKEND_A
THREE_B = race(2, "2027-05-19T09:00", "2027-05-19T12:00")
# A three-day stage race with date-only end, and a C race.
STAGE = race(3, "2027-06-10", "2027-06-12")
C_RACE = race(4, "2027-07-04", priority="C")


# --- closed spans ------------------------------------------------------------------------


@pytest.mark.parametrize(("event", "expected"), [
    pytest.param(race(1, "2027-05-16T09:00", "2027-05-16T12:00"),
                 iv("2027-05-14T22:00Z", "2027-05-16T11:00Z"),
                 id="finish known: D-1 00:00 to finish + 60 min"),
    pytest.param(race(1, "2027-05-16"), iv("2027-05-14T22:00Z", "2027-05-16T22:00Z"),
                 id="date only: D-1 00:00 to the end of day D"),
    pytest.param(race(1, "2027-05-16T09:00"), iv("2027-05-14T22:00Z", "2027-05-16T22:00Z"),
                 id="timed start, no finish: the whole of day D"),
    pytest.param(race(1, "2027-05-16T20:00", "2027-05-16T23:30"),
                 iv("2027-05-14T22:00Z", "2027-05-16T22:30Z"),
                 id="late finish: closed into E+1 until finish + gap"),
    pytest.param(STAGE, iv("2027-06-08T22:00Z", "2027-06-12T22:00Z"),
                 id="stage race 06-10..06-12: D-1 00:00 through the end of the last day"),
    pytest.param(race(1, "2027-03-29"), iv("2027-03-27T23:00Z", "2027-03-29T22:00Z"),
                 id="DST: D-1 is 03-28, 00:00 CET = 23:00Z"),
    pytest.param(race(1, "2027-03-30"), iv("2027-03-28T22:00Z", "2027-03-30T22:00Z"),
                 id="DST: D-1 is 03-29, 00:00 CEST = 22:00Z"),
    pytest.param(race(1, "2027-11-01"), iv("2027-10-30T22:00Z", "2027-11-01T23:00Z"),
                 id="DST: closed span holds the 25 h 10-31"),
    pytest.param(race(1, "2027-11-02"), iv("2027-10-31T23:00Z", "2027-11-02T23:00Z"),
                 id="DST: D-1 is 11-01, 00:00 CET = 23:00Z"),
    pytest.param(race(1, "2027-11-07T08:00", "2027-11-07T12:00", zone="America/New_York"),
                 iv("2027-11-06T04:00Z", "2027-11-07T18:00Z"),
                 id="New York marathon day: D-1 00:00 EDT, finish 12:00 EST + 60 min"),
])
def test_closed_span(event: SeasonEvent, expected: Interval) -> None:
    assert closed_span(event.timing) == expected
    assert closed_spans([event]) == [expected]


def test_closed_span_is_the_gap_between_the_windows() -> None:
    windows = event_windows(THREE_A.timing)
    assert closed_span(THREE_A.timing) == Interval(windows.pre.end, windows.post.start)


@pytest.mark.parametrize(("events", "expected"), [
    pytest.param([THREE_B, THREE_A],
                 [iv("2027-05-14T22:00Z", "2027-05-16T11:00Z"),
                  iv("2027-05-17T22:00Z", "2027-05-19T11:00Z")],
                 id="sorted whatever the input order"),
    pytest.param([race(1, "2027-05-16"), race(2, "2027-05-17")],
                 [iv("2027-05-14T22:00Z", "2027-05-17T22:00Z")],
                 id="races on consecutive days: one merged span"),
    pytest.param([], [], id="no events"),
])
def test_closed_spans_sorted_and_merged(events: list[SeasonEvent],
                                        expected: list[Interval]) -> None:
    assert closed_spans(events) == expected


# --- needs and priorities ------------------------------------------------------------------


@pytest.mark.parametrize(("priority", "include_pre", "expected"), [
    pytest.param("A", False, ("pre", "post"), id="A: pre and post"),
    pytest.param("B", False, ("pre", "post"), id="B: pre and post"),
    pytest.param("C", False, ("post",), id="C: recovery only"),
    pytest.param("C", True, ("pre", "post"), id="C asked for a pre"),
    pytest.param("A", True, ("pre", "post"), id="the flag changes nothing for A"),
])
def test_needed_kinds(priority: str, include_pre: bool, expected: tuple[str, ...]) -> None:
    assert needed_kinds(race(1, "2027-05-16", priority=priority), include_pre) == expected


def test_unknown_priority_is_refused() -> None:
    with pytest.raises(ValueError, match="priority"):
        race(1, "2027-05-16", priority="D")


# --- the 48 h gap and athlete_unavailable --------------------------------------------------------

A_POST_WED = Session(1, "post", iv("2027-05-19T16:00Z", "2027-05-19T17:00Z"))  # Wed 18:00


@pytest.mark.parametrize(("target", "sessions", "expected"), [
    pytest.param(2, [A_POST_WED],
                 [iv("2027-05-14T22:00Z", "2027-05-16T11:00Z"),
                  iv("2027-05-17T16:00Z", "2027-05-21T17:00Z"),
                  iv("2027-05-21T22:00Z", "2027-05-23T11:00Z")],
                 id="for B: both closed spans and A's Wed post +/-48 h (to Fri 19:00)"),
    pytest.param(1, [A_POST_WED],
                 [iv("2027-05-14T22:00Z", "2027-05-16T11:00Z"),
                  iv("2027-05-21T22:00Z", "2027-05-23T11:00Z")],
                 id="for A: its own post does not block it"),
    pytest.param(1, [Session(1, "course", iv("2027-05-06T08:00Z", "2027-05-06T09:00Z"))],
                 [iv("2027-05-04T08:00Z", "2027-05-08T09:00Z"),
                  iv("2027-05-14T22:00Z", "2027-05-16T11:00Z"),
                  iv("2027-05-21T22:00Z", "2027-05-23T11:00Z")],
                 id="for A: its own course session does block"),
    pytest.param(1, [Session(None, "tune-up", iv("2027-05-10T08:00Z", "2027-05-10T09:00Z"))],
                 [iv("2027-05-08T08:00Z", "2027-05-12T09:00Z"),
                  iv("2027-05-14T22:00Z", "2027-05-16T11:00Z"),
                  iv("2027-05-21T22:00Z", "2027-05-23T11:00Z")],
                 id="a tune-up blocks every event"),
])
def test_athlete_blocks_back_to_back(target: int, sessions: list[Session],
                                     expected: list[Interval]) -> None:
    assert athlete_unavailable(target, [WEEKEND_A, WEEKEND_B], sessions) == expected


SHARED_BOOKING = [Session(1, "post", iv("2027-05-17T08:00Z", "2027-05-17T09:00Z")),
                  Session(2, "pre", iv("2027-05-17T08:00Z", "2027-05-17T09:00Z"))]


@pytest.mark.parametrize(("exempt", "expected"), [
    pytest.param({1}, [], id="the shared booking belongs to A"),
    pytest.param({2}, [], id="the shared booking belongs to B"),
    pytest.param({5}, [iv("2027-05-15T08:00Z", "2027-05-19T09:00Z")],
                 id="it blocks any other event, once, +/-48 h"),
    pytest.param((), [iv("2027-05-15T08:00Z", "2027-05-19T09:00Z")], id="no exemption"),
])
def test_shared_booking_blocks_neither_of_its_events(exempt: set[int],
                                                     expected: list[Interval]) -> None:
    assert unavailable_around_sessions(SHARED_BOOKING, exempt, DEFAULT_MIN_GAP) == expected


# --- shared windows ---------------------------------------------------------------------------


@pytest.mark.parametrize(("events", "expected"), [
    pytest.param([THREE_A, THREE_B], [Shared(1, 2, iv("2027-05-16T11:00Z", "2027-05-17T22:00Z"))],
                 id="three days apart: A finish + 60 min to B's D-1 00:00"),
    pytest.param([THREE_B, THREE_A], [Shared(1, 2, iv("2027-05-16T11:00Z", "2027-05-17T22:00Z"))],
                 id="order of the input does not matter"),
    pytest.param([WEEKEND_A, WEEKEND_B], [], id="back-to-back weekends: windows only touch"),
    pytest.param([race(1, "2027-05-16"), race(2, "2027-05-20")],
                 [Shared(1, 2, iv("2027-05-16T22:00Z", "2027-05-18T22:00Z"))],
                 id="four days apart, date only: B's whole pre window (E+1, E+2)"),
    pytest.param([race(1, "2027-05-16"), race(2, "2027-05-17")], [],
                 id="consecutive days: the overlap is all closed"),
    pytest.param([race(1, "2027-05-16"), race(2, "2027-05-19"), race(3, "2027-05-22")],
                 [Shared(1, 2, iv("2027-05-16T22:00Z", "2027-05-17T22:00Z")),
                  Shared(2, 3, iv("2027-05-19T22:00Z", "2027-05-20T22:00Z"))],
                 id="three races, three days apart: each pair of neighbours"),
    pytest.param([race(1, "2027-05-16"), race(2, "2027-05-17"), race(3, "2027-05-20")],
                 [Shared(2, 3, iv("2027-05-17T22:00Z", "2027-05-18T22:00Z"))],
                 id="only consecutive events share: 1's post meets 3's pre, but 2 is between"),
])
def test_shared_windows(events: list[SeasonEvent], expected: list[Shared]) -> None:
    assert shared_windows(events) == expected


THREE_SHARED = shared_windows([THREE_A, THREE_B])


@pytest.mark.parametrize(("event_id", "kind", "slot", "expected"), [
    pytest.param(1, "post", iv("2027-05-17T08:00Z", "2027-05-17T09:00Z"), 2,
                 id="A's post on Mon serves B's pre"),
    pytest.param(2, "pre", iv("2027-05-17T08:00Z", "2027-05-17T09:00Z"), 1,
                 id="B's pre on Mon serves A's post"),
    pytest.param(1, "post", iv("2027-05-19T14:00Z", "2027-05-19T15:00Z"), None,
                 id="A's post after B: only A"),
    pytest.param(1, "post", iv("2027-05-17T21:30Z", "2027-05-17T22:30Z"), None,
                 id="slot running out of the shared window"),
    pytest.param(2, "post", iv("2027-05-17T08:00Z", "2027-05-17T09:00Z"), None,
                 id="wrong kind for the pair"),
    pytest.param(1, "pre", iv("2027-05-17T08:00Z", "2027-05-17T09:00Z"), None,
                 id="A's pre is never shared with B"),
])
def test_shared_with(event_id: int, kind: str, slot: Interval, expected: int | None) -> None:
    assert shared_with(event_id, kind, slot, THREE_SHARED) == expected


# --- season plans -------------------------------------------------------------------------------

A_PRE = ("pre", (1,), iv("2027-05-12T22:00Z", "2027-05-14T22:00Z"))
A_POST = ("post", (1,), iv("2027-05-16T11:00Z", "2027-05-19T22:00Z"))
B_PRE = ("pre", (2,), iv("2027-05-19T22:00Z", "2027-05-21T22:00Z"))
B_POST = ("post", (2,), iv("2027-05-23T11:00Z", "2027-05-26T22:00Z"))
THREE_PLAN = [A_PRE, ("shared", (1, 2), iv("2027-05-16T11:00Z", "2027-05-17T22:00Z")),
              ("post", (2,), iv("2027-05-19T11:00Z", "2027-05-22T22:00Z"))]

SEASON_PLANS = [
    # back-to-back weekends
    pytest.param([WEEKEND_A, WEEKEND_B], [], {}, [A_PRE, A_POST, B_PRE, B_POST],
                 id="weekends: each event pre + post, no shared"),
    pytest.param([WEEKEND_A, WEEKEND_B], [A_POST_WED], {},
                 [A_PRE, ("pre", (2,), iv("2027-05-21T17:00Z", "2027-05-21T22:00Z")), B_POST],
                 id="weekends: A's post Wed 18:00 leaves B's pre from Fri 19:00"),
    pytest.param([WEEKEND_A, WEEKEND_B],
                 [Session(2, "pre", iv("2027-05-20T08:00Z", "2027-05-20T09:00Z"))], {},
                 [A_PRE, ("post", (1,), iv("2027-05-16T11:00Z", "2027-05-18T08:00Z")), B_POST],
                 id="weekends: B's pre Thu 10:00 ends A's post window Tue 10:00"),
    pytest.param([WEEKEND_A, WEEKEND_B],
                 [Session(1, "post", iv("2027-05-17T08:00Z", "2027-05-17T09:00Z"))], {},
                 [A_PRE, B_PRE, B_POST],
                 id="weekends: A's post Mon is more than 48 h before B's pre"),
    pytest.param([WEEKEND_A, WEEKEND_B], [], {"min_gap": timedelta(hours=24)},
                 [A_PRE, A_POST, B_PRE, B_POST], id="weekends: min_gap is a parameter"),
    # a race three days after another
    pytest.param([THREE_A, THREE_B], [], {}, THREE_PLAN,
                 id="3 days apart: one shared session, no separate A post / B pre"),
    pytest.param([THREE_A, THREE_B], SHARED_BOOKING, {}, [A_PRE, THREE_PLAN[2]],
                 id="3 days apart: a shared booking covers both, blocks neither"),
    pytest.param([THREE_A, THREE_B],
                 [Session(1, "post", iv("2027-05-16T15:00Z", "2027-05-16T16:00Z"))], {},
                 [A_PRE, THREE_PLAN[2]],
                 id="3 days apart: A's post booked alone leaves no 48 h room for B's pre"),
    pytest.param([THREE_A, race(2, "2027-05-19T09:00", "2027-05-19T12:00", "C")], [], {},
                 [A_PRE, ("post", (1,), iv("2027-05-16T11:00Z", "2027-05-17T22:00Z")),
                  ("post", (1,), iv("2027-05-19T11:00Z", "2027-05-19T22:00Z")),
                  THREE_PLAN[2]],
                 id="3 days apart, B a C race: no shared need; A's post cut in two by B"),
    # a stage race
    pytest.param([STAGE], [], {"span": SUMMER},
                 [("pre", (3,), iv("2027-06-06T22:00Z", "2027-06-08T22:00Z")),
                  ("post", (3,), iv("2027-06-12T22:00Z", "2027-06-15T22:00Z"))],
                 id="stage race: pre before D-1, post after the last day"),
    # a C race
    pytest.param([C_RACE], [], {"span": SUMMER},
                 [("post", (4,), iv("2027-07-04T22:00Z", "2027-07-07T22:00Z"))],
                 id="C race: recovery only"),
    pytest.param([C_RACE], [], {"span": SUMMER, "pre_for_c": {4}},
                 [("pre", (4,), iv("2027-06-30T22:00Z", "2027-07-02T22:00Z")),
                  ("post", (4,), iv("2027-07-04T22:00Z", "2027-07-07T22:00Z"))],
                 id="C race with a pre asked for"),
    # coverage, now and span
    pytest.param([WEEKEND_A], [Session(1, "pre", iv("2027-05-13T08:00Z", "2027-05-13T09:00Z"))],
                 {}, [A_POST], id="a booked pre covers the pre"),
    pytest.param([WEEKEND_A], [], {"now": z("2027-05-13T10:00Z")},
                 [("pre", (1,), iv("2027-05-13T10:00Z", "2027-05-14T22:00Z")), A_POST],
                 id="now inside the pre window: the past is cut off"),
    pytest.param([WEEKEND_A], [], {"now": z("2027-05-15T00:00Z")}, [A_POST],
                 id="a window wholly before now is dropped"),
    pytest.param([WEEKEND_A], [], {"span": iv("2027-05-18T00:00Z", "2027-05-30T00:00Z")},
                 [A_PRE, A_POST], id="an event reaching into the span: whole windows"),
    pytest.param([WEEKEND_A], [], {"span": iv("2027-05-21T00:00Z", "2027-05-30T00:00Z")},
                 [], id="an event outside the span: nothing"),
]


@pytest.mark.parametrize(("events", "sessions", "options", "expected"), SEASON_PLANS)
def test_season_plan(events: list[SeasonEvent], sessions: list[Session],
                     options: dict[str, object],
                     expected: list[tuple[str, tuple[int, ...], Interval]]) -> None:
    assert plan(events, sessions, **options) == expected


def test_season_plan_labels_name_the_events() -> None:
    labels = {s.kind: s.label for s in season_plan([THREE_A, THREE_B], [], MAY, now=NOW,
                                                   tune_up_weeks=0)}
    assert labels == {"pre": "pre session for event 1", "post": "post session for event 2",
                      "shared": "one session for both: post of event 1, pre of event 2"}


def test_no_suggestion_during_a_stage_race() -> None:
    found = season_plan([STAGE], [], SUMMER, now=NOW, course_sessions=6)
    closed = closed_span(STAGE.timing)
    assert found and not any(overlaps(s.window, closed) for s in found)


@pytest.mark.parametrize("options", [
    pytest.param({"min_gap": timedelta(hours=-1)}, id="negative gap"),
    pytest.param({"course_sessions": -1}, id="negative course"),
    pytest.param({"tune_up_weeks": -1}, id="negative tune-up period"),
])
def test_season_plan_refuses_negative_values(options: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="negative"):
        season_plan([WEEKEND_A], [], MAY, now=NOW, **options)


# --- property: suggestions respect closed spans, windows, bookings and now ---------------------

ZONES = ("UTC", "Europe/Berlin", "America/New_York")
SPAN_STARTS = (date(2027, 3, 1), date(2027, 10, 1), date(2027, 6, 1))  # both DST changes
KINDS = ("pre", "post", "course", "tune-up")


@st.composite
def seasons(draw: st.DrawFn) -> tuple[list[SeasonEvent], list[Session], Interval, dict]:
    first = draw(st.sampled_from(SPAN_STARTS))
    span = Interval(datetime(first.year, first.month, first.day, tzinfo=ZoneInfo("UTC")),
                    datetime(first.year, first.month, first.day, tzinfo=ZoneInfo("UTC"))
                    + timedelta(days=60))
    events = [draw(season_event(i, first)) for i in range(1, draw(st.integers(1, 4)) + 1)]
    sessions = [Session(draw(st.sampled_from([None, *range(1, len(events) + 1)])),
                        draw(st.sampled_from(KINDS)),
                        hour_at(span.start + timedelta(hours=draw(st.integers(0, 60 * 24)))))
                for _ in range(draw(st.integers(0, 3)))]
    options = {"now": span.start + timedelta(hours=draw(st.integers(-48, 30 * 24))),
               "min_gap": timedelta(hours=draw(st.sampled_from([0, 24, 48]))),
               "course_sessions": draw(st.integers(0, 8)),
               "tune_up_weeks": draw(st.integers(0, 4)),
               "pre_for_c": draw(st.sampled_from([(), (1, 2)]))}
    return events, sessions, span, options


def hour_at(start: datetime) -> Interval:
    return Interval(start, start + timedelta(hours=1))


@st.composite
def season_event(draw: st.DrawFn, event_id: int, first: date) -> SeasonEvent:
    tz = ZoneInfo(draw(st.sampled_from(ZONES)))
    day = first + timedelta(days=draw(st.integers(0, 59)))
    last = day + timedelta(days=draw(st.sampled_from([0, 0, 1, 2])))
    priority = draw(st.sampled_from("ABC"))
    if draw(st.booleans()):
        return SeasonEvent(event_id, EventTiming(tz, day, last), priority)
    start = datetime(day.year, day.month, day.day, draw(st.integers(6, 14)), tzinfo=tz)
    end = datetime(last.year, last.month, last.day, draw(st.integers(15, 23)), tzinfo=tz)
    return SeasonEvent(event_id, EventTiming(tz, start, end if draw(st.booleans()) else None),
                       priority)


def allowed_window(s: Suggestion, events: dict[int, SeasonEvent], span: Interval) -> Interval:
    """Where a suggestion of this kind may lie at all."""
    if s.kind in ("course", "tune-up"):
        return span
    windows = [event_windows(events[i].timing) for i in s.event_ids]
    if s.kind == "shared":
        post, pre = windows[0].post, windows[1].pre
        return Interval(max(post.start, pre.start), min(post.end, pre.end))
    return getattr(windows[0], s.kind)


def may_neighbour(s: Suggestion, session: Session, all_sessions: list[Session]) -> bool:
    """True when the booking need not be min_gap away from the suggestion: it is a pre or
    post (alone or shared) of one of the suggestion's pre/post/shared events."""
    if s.kind in ("course", "tune-up"):
        return False
    owners = [(x.event_id, x.kind) for x in all_sessions if x.interval == session.interval]
    return any(eid in s.event_ids and kind in ("pre", "post") for eid, kind in owners)


@settings(max_examples=150, deadline=None)
@given(seasons())
def test_property_suggestions_keep_every_rule(
        season: tuple[list[SeasonEvent], list[Session], Interval, dict]) -> None:
    events, sessions, span, options = season
    found = season_plan(events, sessions, span, **options)
    closed = closed_spans(events)
    by_id = {e.event_id: e for e in events}
    gap = options["min_gap"]
    for s in found:
        assert s.window.start < s.window.end
        assert s.window.start >= options["now"]
        assert not any(overlaps(s.window, c) for c in closed), s
        assert contains(allowed_window(s, by_id, span), s.window), s
        for session in sessions:
            if not may_neighbour(s, session, sessions):
                widened = Interval(session.interval.start - gap, session.interval.end + gap)
                assert not overlaps(s.window, widened), (s, session)
    assert found == sorted(found, key=lambda s: (s.window.start, s.kind, s.event_ids))
