"""propose(): the ranking rule and what it passes through, as small literal cases."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from athlete_sched.core.availability import TherapistSchedule, WorkingPeriod
from athlete_sched.core.intervals import Interval, overlaps
from athlete_sched.core.proposals import (
    DEFAULT_NOTICE,
    PRE_TARGET,
    Slot,
    TherapistState,
    propose,
    rank_key,
    window_load,
)

UTC_ZONE = ZoneInfo("UTC")
NOW = datetime.fromisoformat("2027-05-01T00:00Z")
# A race in Berlin on Saturday 2027-05-15, 08:00-12:30 local (06:00Z-10:30Z).
EVENT_START = datetime.fromisoformat("2027-05-15T06:00Z")
PRE = Interval(datetime.fromisoformat("2027-05-11T22:00Z"),
               datetime.fromisoformat("2027-05-13T22:00Z"))
POST = Interval(datetime.fromisoformat("2027-05-15T11:30Z"),
                datetime.fromisoformat("2027-05-18T22:00Z"))


def z(text: str) -> datetime:
    return datetime.fromisoformat(text)


def therapist(tid: int, *periods: tuple[int, str, str], session: int = 60, step: int = 60,
              blocked: tuple[Interval, ...] = (), bookings: tuple[Interval, ...] = ()
              ) -> TherapistState:
    hours = tuple(WorkingPeriod(d, time.fromisoformat(s), time.fromisoformat(e))
                  for d, s, e in periods)
    return TherapistState(TherapistSchedule(tid, UTC_ZONE, hours, session, 0, step),
                          blocked, bookings)


def starts(slots: list[Slot]) -> list[tuple[int, str]]:
    return [(slot.therapist_id, f"{slot.start:%m-%dT%H:%M}") for slot in slots]


def test_pre_ranks_nearest_to_72_hours_before_the_start_then_earlier() -> None:
    # Target: 2027-05-12T06:00Z (Wednesday). Hours Wed 04:00-09:00 and Thu 05:00-07:00.
    ana = therapist(1, (2, "04:00", "09:00"), (3, "05:00", "07:00"))
    slots = propose("pre", PRE, EVENT_START, [ana], [], NOW, limit=10)
    assert starts(slots) == [(1, "05-12T06:00"), (1, "05-12T05:00"), (1, "05-12T07:00"),
                             (1, "05-12T04:00"), (1, "05-12T08:00"), (1, "05-13T05:00"),
                             (1, "05-13T06:00")]


def test_post_ranks_earliest_first() -> None:
    ana = therapist(1, (0, "08:00", "10:00"), (6, "14:00", "16:00"))
    slots = propose("post", POST, EVENT_START, [ana], [], NOW, limit=10)
    assert starts(slots) == [(1, "05-16T14:00"), (1, "05-16T15:00"), (1, "05-17T08:00"),
                             (1, "05-17T09:00")]


def test_at_the_same_start_the_less_loaded_therapist_comes_first() -> None:
    busy_elsewhere = (Interval(z("2027-05-17T14:00Z"), z("2027-05-17T15:00Z")),)
    outside_window = (Interval(z("2027-05-20T08:00Z"), z("2027-05-20T09:00Z")),) * 3
    loaded = therapist(1, (0, "08:00", "10:00"), (0, "13:00", "16:00"), bookings=busy_elsewhere)
    idle = therapist(2, (0, "08:00", "10:00"), bookings=outside_window)
    slots = propose("post", POST, EVENT_START, [loaded, idle], [], NOW, limit=3)
    assert starts(slots) == [(2, "05-17T08:00"), (1, "05-17T08:00"), (2, "05-17T09:00")]


def test_equal_load_falls_back_to_the_lower_therapist_id() -> None:
    first, second = therapist(4, (0, "08:00", "09:00")), therapist(9, (0, "08:00", "09:00"))
    for order in ([first, second], [second, first]):
        assert starts(propose("post", POST, EVENT_START, order, [], NOW)) == \
            [(4, "05-17T08:00"), (9, "05-17T08:00")]


def test_limit_and_slot_fields() -> None:
    ana = therapist(1, (0, "08:00", "12:00"), session=45, step=15)
    slots = propose("post", POST, EVENT_START, [ana], [], NOW, limit=2)
    assert slots == [
        Slot(1, z("2027-05-17T08:00Z"), z("2027-05-17T08:45Z"), "post"),
        Slot(1, z("2027-05-17T08:15Z"), z("2027-05-17T09:00Z"), "post"),
    ]
    assert propose("post", POST, EVENT_START, [ana], [], NOW, limit=0) == []


def test_the_athletes_own_commitments_and_notice_are_respected() -> None:
    ana = therapist(1, (0, "08:00", "12:00"))  # grid 08:00, 09:00, 10:00, 11:00
    athlete_busy = [Interval(z("2027-05-17T09:30Z"), z("2027-05-17T10:30Z"))]
    slots = propose("post", POST, EVENT_START, [ana], athlete_busy, z("2027-05-17T06:00Z"))
    assert starts(slots) == [(1, "05-17T08:00"), (1, "05-17T11:00")]
    # now + the default 2 h notice = 08:30: the 08:00 slot is gone.
    later = propose("post", POST, EVENT_START, [ana], athlete_busy, z("2027-05-17T06:30Z"))
    assert starts(later) == [(1, "05-17T11:00")]
    assert timedelta(hours=2) == DEFAULT_NOTICE
    shorter = propose("post", POST, EVENT_START, [ana], athlete_busy, z("2027-05-17T06:30Z"),
                      notice=timedelta(minutes=30))
    assert starts(shorter) == [(1, "05-17T08:00"), (1, "05-17T11:00")]


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        propose("during", PRE, EVENT_START, [], [], NOW)


@pytest.mark.parametrize(("kind", "start", "expected"), [
    pytest.param("pre", "2027-05-12T06:00Z", (timedelta(0), z("2027-05-12T06:00Z"), 2, 5),
                 id="pre: distance to the 72 h target first"),
    pytest.param("pre", "2027-05-12T04:30Z",
                 (timedelta(hours=1, minutes=30), z("2027-05-12T04:30Z"), 2, 5),
                 id="pre: distance is absolute"),
    pytest.param("post", "2027-05-16T09:00Z", (z("2027-05-16T09:00Z"), 2, 5),
                 id="post: start first"),
])
def test_rank_key(kind: str, start: str, expected: tuple[object, ...]) -> None:
    assert rank_key(kind, z(start), 2, 5, EVENT_START) == expected
    assert z("2027-05-12T06:00Z") == EVENT_START - PRE_TARGET


def _at(hour: int) -> datetime:
    return NOW + timedelta(hours=hour)


@pytest.mark.parametrize(("window", "bookings"), [
    ((2, 5), [(0, 2), (1, 3), (4, 6), (5, 7), (2, 5), (3, 3), (8, 9)]),  # touching, inside, empty
    ((2, 2), [(1, 3), (2, 2), (0, 9)]),  # an empty window overlaps nothing
    ((0, 9), []),
])
def test_window_load_counts_exactly_what_overlaps_counts(window, bookings) -> None:
    """window_load writes the half-open overlap test out for speed; it must agree with
    intervals.overlaps, empty intervals included."""
    win = Interval(_at(window[0]), _at(window[1]))
    state = therapist(1, (0, "09:00", "17:00"),
                      bookings=tuple(Interval(_at(a), _at(b)) for a, b in bookings))
    assert window_load(state, win) == sum(overlaps(b, win) for b in state.bookings)
