"""Courses and tune-ups (issue 4, item 5): where the extra sessions of a season may go.

From domain.md: "a course of 4-8 sessions is typical" and "many athletes come back every
few weeks for a periodic tune-up". These are suggestions only; the rules are kept simple:

Course of N sessions before an A race (the pre session is the N-th, so N-1 course windows).
Let P be the first local day of the race's pre window (D-3, in the event's zone). Course
session N-k (k = 1 .. N-1) targets local day T_k = P - 7k days; its window is the three
local days T_k-1 .. T_k+1, i.e. ``[00:00 of T_k-1, 00:00 of T_k+2)``. So course windows are
weekly, each ends 4 local days before the next one begins, and the latest ends 5 local days
(D-8 00:00) before the pre window starts: two sessions in two different windows (or one in
the latest course window and one in the pre window) start more than 4 local days apart
(at least 95 h across a DST change), which keeps a 48 h minimum gap between sessions
shorter than 47 h. The season plan then removes closed spans, other sessions and other events from
these raw windows (see season.py).

A course session may be booked anywhere in the COURSE_BOOKING_WEEKS (12) weeks before the
race's pre window (`course_window`): a course of 8 weekly sessions fits, and the season
rules (closed days, the minimum gap, which applies between course sessions too) keep the
sessions apart; the windows above are where the suggestions look first.

Course zone: the time before an A race's pre window where a course would go, kept free of
tune-ups: 14 local days before P, or longer when the course asked for reaches further
(the start of its earliest window).

Tune-ups every K weeks in quiet time. Quiet time is the span minus the athlete's "needling"
intervals (every event's windows with its closed span, every A race's course zone, every
booking), each widened by the minimum gap, minus the past. Walking forward from the span's
start, a tune-up is due at the start of the span, then K weeks after the previous tune-up's
start, and never earlier than K weeks after the end of a needling interval before it (a
race or a booking resets the clock). Its window is the first TUNE_UP_WINDOW (one day) of
quiet time at or after the due instant. So tune-up windows start at least K weeks apart
and lie wholly in quiet time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from .intervals import Interval, subtract
from .windows import EventTiming, local_midnight

WEEK = timedelta(days=7)
COURSE_REACH = timedelta(days=1)  # a course window: target day +/- one local day
COURSE_ZONE = timedelta(days=14)  # at least two weeks before an A race's pre window
TUNE_UP_WINDOW = timedelta(days=1)
COURSE_BOOKING_WEEKS = 12


def _pre_first_day(timing: EventTiming) -> date:
    """P: the first local day of the event's pre window (D-3)."""
    return timing.first_day - timedelta(days=3)


def course_windows(timing: EventTiming, sessions: int) -> list[tuple[int, Interval]]:
    """The raw windows of a course of `sessions` sessions before a race, earliest first.

    Each item is (number, window): `number` counts the course from 1 (the earliest
    session); the pre session, which is the `sessions`-th, has no window here. Fewer than
    two sessions leave no course window. Raises ValueError for a negative count.
    """
    if sessions < 0:
        raise ValueError(f"a course cannot have {sessions} sessions")
    first, tz = _pre_first_day(timing), timing.tz
    found = []
    for k in range(sessions - 1, 0, -1):
        target = first - k * WEEK
        window = Interval(local_midnight(target - COURSE_REACH, tz),
                          local_midnight(target + 2 * COURSE_REACH, tz))
        found.append((sessions - k, window))
    return found


def course_pieces(timing: EventTiming, sessions: int, allowed: Interval,
                  blocks: Sequence[Interval], booked: Sequence[datetime]
                  ) -> list[tuple[int, Interval]]:
    """The free parts of a race's course windows as (number, piece), earliest first: each
    window clipped to `allowed`, minus `blocks`. A window in which one of the `booked`
    course session starts lies is already served and left out."""
    found = []
    for number, raw in course_windows(timing, sessions):
        if any(raw.start <= start < raw.end for start in booked):
            continue
        window = Interval(max(raw.start, allowed.start), min(raw.end, allowed.end))
        found += [(number, piece) for piece in subtract([window], blocks)]
    return found


def course_window(timing: EventTiming) -> Interval:
    """Where a course session of the race may be booked: from local 00:00 of day P - 12
    weeks to the start of the pre window (P = D-3, local 00:00, in the event's zone)."""
    first = _pre_first_day(timing)
    return Interval(local_midnight(first - COURSE_BOOKING_WEEKS * WEEK, timing.tz),
                    local_midnight(first, timing.tz))


def course_zone(timing: EventTiming, sessions: int = 0) -> Interval:
    """The period before the race's pre window kept for its course (and free of tune-ups):
    from 14 local days before the pre window, or from the start of the earliest course
    window when that is earlier, up to the pre window's start."""
    first = _pre_first_day(timing)
    reach = max(COURSE_ZONE, (sessions - 1) * WEEK + COURSE_REACH)
    return Interval(local_midnight(first - reach, timing.tz), local_midnight(first, timing.tz))


def _first_fit(quiet: Sequence[Interval], due: datetime, length: timedelta) -> datetime | None:
    """The earliest instant q >= due with [q, q + length) inside one quiet piece."""
    for piece in quiet:
        start = max(piece.start, due)
        if piece.end - start >= length:
            return start
    return None


def tune_up_windows(span: Interval, needling: Sequence[Interval], weeks: int,
                    min_gap: timedelta, now: datetime) -> list[Interval]:
    """Tune-up windows every `weeks` weeks in the quiet time of `span` (module docstring).

    Quiet time is `span` minus every `needling` interval widened by `min_gap` on both
    sides, minus the time before `now`. Raises ValueError when `weeks` is less than 1.
    """
    if weeks < 1:
        raise ValueError(f"tune-ups need a period of at least one week, not {weeks}")
    busy = [Interval(iv.start - min_gap, iv.end + min_gap) for iv in needling]
    quiet = subtract([span], [*busy, Interval(span.start, max(span.start, now))])
    period, found, due = weeks * WEEK, [], span.start
    while (q := _first_fit(quiet, due, TUNE_UP_WINDOW)) is not None:
        latest = max((iv.end for iv in needling if iv.end <= q), default=None)
        if latest is not None and latest + period > q:
            due = latest + period
            continue
        found.append(Interval(q, q + TUNE_UP_WINDOW))
        due = q + period
    return found
