"""Seasons (issue 4, item 3): an athlete's events, their priorities and the rules between them.

Each rule, and the line it comes from:

1. Closed to needling before and during an event. Issue: "never a needling session on day
   D-1 or D of any event or during one"; domain.md: pre window "Never D-1 or D". With the
   domain's post window (a same-day session after the finish plus a recovery gap), an
   event is closed from local 00:00 of D-1 to finish + recovery gap, or without a finish
   to local 00:00 of E+1, in the event's zone: the time between the end of its pre window
   and the start of its post window (windows.py). -> `closed_span`, `closed_spans`.
2. A minimum gap between two sessions of one athlete (issue: default 48 h; domain.md: no
   strenuous activity for 24-48 hours). It applies between sessions of different events
   and to course and tune-up sessions, not between the pre and post of one event (the
   domain prescribes both); a shared booking belongs to both its events.
   -> `unavailable_around_sessions`, `athlete_unavailable`.
3. Shared sessions. Issue: "where one event's post window overlaps the next event's pre
   window, propose one shared session labelled for both". For two consecutive events (by
   start, then id), the first's post window meets the second's pre window, minus every
   closed span, in a shared window: one session there serves both (with a 48 h gap, two
   could not both be booked anyway). -> `shared_windows`, `shared_with`.
4. Which sessions an event needs. Issue: priorities A, B, C (default A); "a C-priority
   event gets a recovery session only unless asked". A and B: pre and post; C: post, and
   pre only when asked. -> `needed_kinds`.
5. Suggestions: for each need no booking covers, the window to look for slots in;
   courses and tune-ups: courses.py. -> `season_plan`.

Bookings are given as `Session(event_id, kind, interval)` (kinds.py) or plain 3-tuples. A
shared booking is given twice, as the first event's post and as the second event's pre,
with the same interval: entries with equal intervals are read as one booking.

Pure and deterministic: `now` is passed in; aware UTC instants; half-open intervals.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import NamedTuple

from .courses import course_pieces, course_zone, tune_up_windows
from .intervals import Interval, contains, merge, overlaps, subtract
from .kinds import WINDOW_KINDS
from .windows import DEFAULT_RECOVERY_GAP, EventTiming, Windows, event_windows

DEFAULT_MIN_GAP = timedelta(hours=48)
DEFAULT_TUNE_UP_WEEKS = 3
PRIORITIES = ("A", "B", "C")  # an event's priority (db/models: CHECK)


@dataclass(frozen=True)
class SeasonEvent:
    """One event of an athlete's season: its id, timing and priority ("A", "B" or "C")."""

    event_id: int
    timing: EventTiming
    priority: str = "A"

    def __post_init__(self) -> None:
        if self.priority not in PRIORITIES:
            raise ValueError(f"priority must be one of {PRIORITIES}, not {self.priority!r}")


class Session(NamedTuple):
    """A confirmed booking of the athlete: which event (None for a tune-up), which kind
    (kinds.py) and when."""

    event_id: int | None
    kind: str
    interval: Interval


class Shared(NamedTuple):
    """Where one session serves both the first event's post and the second event's pre."""

    first_event_id: int
    second_event_id: int
    window: Interval


class Suggestion(NamedTuple):
    """Where to look for slots: kind "pre", "post", "shared", "course" or "tune-up"; the
    events served (first, second for "shared"; none for a tune-up); a readable label."""

    kind: str
    event_ids: tuple[int, ...]
    window: Interval
    label: str


def closed_span(timing: EventTiming, recovery_gap: timedelta = DEFAULT_RECOVERY_GAP) -> Interval:
    """The time one event is closed to needling: from local 00:00 of D-1 to its post
    window's start (finish + recovery gap, or local 00:00 of E+1)."""
    windows = event_windows(timing, recovery_gap)
    return Interval(windows.pre.end, windows.post.start)


def closed_spans(events: Iterable[SeasonEvent],
                 recovery_gap: timedelta = DEFAULT_RECOVERY_GAP) -> list[Interval]:
    """The closed spans of all events, sorted and merged."""
    return merge(closed_span(event.timing, recovery_gap) for event in events)


def needed_kinds(event: SeasonEvent, include_pre_for_c: bool = False) -> tuple[str, ...]:
    """The sessions an event needs: ("pre", "post") for A and B; ("post",) for C unless
    `include_pre_for_c`."""
    if event.priority == "C" and not include_pre_for_c:
        return ("post",)
    return WINDOW_KINDS


def _widen(interval: Interval, by: timedelta) -> Interval:
    return Interval(interval.start - by, interval.end + by)


def _bookings(sessions: Iterable[tuple[int | None, str, Interval]]
              ) -> dict[Interval, set[tuple[int | None, str]]]:
    """Entries grouped into bookings: interval -> the (event id, kind) pairs it serves."""
    grouped: dict[Interval, set[tuple[int | None, str]]] = defaultdict(set)
    for event_id, kind, interval in sessions:
        grouped[interval].add((event_id, kind))
    return grouped


def unavailable_around_sessions(sessions: Iterable[tuple[int | None, str, Interval]],
                   exempt_event_ids: Collection[int], min_gap: timedelta) -> list[Interval]:
    """Bookings widened by `min_gap` on both sides, sorted and merged, leaving out those
    that are the pre or post session of an event in `exempt_event_ids` (rule 2)."""
    blocks = [_widen(interval, min_gap) for interval, owners in _bookings(sessions).items()
              if not any(eid in exempt_event_ids and kind in WINDOW_KINDS
                         for eid, kind in owners)]
    return merge(blocks)


def athlete_unavailable(target_event_id: int, events: Iterable[SeasonEvent],
                   sessions: Iterable[tuple[int | None, str, Interval]],
                   min_gap: timedelta = DEFAULT_MIN_GAP,
                   recovery_gap: timedelta = DEFAULT_RECOVERY_GAP) -> list[Interval]:
    """The athlete's unavailable time for pre/post proposals of one event: every event's
    closed span, plus every booking except the target's own pre/post widened by `min_gap`
    (course and tune-up bookings of the target block too). Sorted and merged."""
    return merge([*closed_spans(events, recovery_gap),
                  *unavailable_around_sessions(sessions, {target_event_id}, min_gap)])


def _by_start(events: Iterable[SeasonEvent]) -> list[SeasonEvent]:
    return sorted(events, key=lambda e: (e.timing.start_instant, e.event_id))


def shared_windows(events: Sequence[SeasonEvent],
                   recovery_gap: timedelta = DEFAULT_RECOVERY_GAP) -> list[Shared]:
    """The shared windows of consecutive events (rule 3), in event order. A window cut in
    two by a closed span gives one Shared per piece; empty ones are left out."""
    closed = closed_spans(events, recovery_gap)
    found = []
    for first, second in pairwise(_by_start(events)):
        post = event_windows(first.timing, recovery_gap).post
        pre = event_windows(second.timing, recovery_gap).pre
        overlap = Interval(max(post.start, pre.start), min(post.end, pre.end))
        found += [Shared(first.event_id, second.event_id, piece)
                  for piece in subtract([overlap], closed)]
    return found


def shared_with(event_id: int, kind: str, slot: Interval,
                shared: Iterable[Shared]) -> int | None:
    """The other event a slot of this event's `kind` session would also serve: the slot
    lies wholly in a shared window whose post (kind "post") or pre (kind "pre") belongs to
    `event_id`. None when it serves only its own event."""
    for item in shared:
        if not contains(item.window, slot):
            continue
        if kind == "post" and item.first_event_id == event_id:
            return item.second_event_id
        if kind == "pre" and item.second_event_id == event_id:
            return item.first_event_id
    return None


@dataclass(frozen=True)
class _Plan:
    """The values every part of `season_plan` reads."""

    events: tuple[SeasonEvent, ...]
    windows: dict[int, Windows]
    closed: list[Interval]
    sessions: tuple[tuple[int | None, str, Interval], ...]
    span: Interval
    min_gap: timedelta
    now: datetime

    def hull(self, event_id: int) -> Interval:
        """The event's pre window, closed span and post window as one interval."""
        windows = self.windows[event_id]
        return Interval(windows.pre.start, windows.post.end)

    def free(self, window: Interval, blocks: Iterable[Interval]) -> list[Interval]:
        """`window` minus closed spans, `blocks` and everything before `now`."""
        past = [Interval(window.start, self.now)] if self.now > window.start else []
        return subtract([window], [*self.closed, *blocks, *past])

    def suggest(self, kind: str, event_ids: tuple[int, ...], window: Interval,
                label: str) -> list[Suggestion]:
        """One suggestion per free piece of a pre, post or shared window."""
        blocks = unavailable_around_sessions(self.sessions, event_ids, self.min_gap)
        return [Suggestion(kind, event_ids, piece, label) for piece in self.free(window, blocks)]


def _event_suggestions(plan: _Plan, pre_for_c: Collection[int],
                       recovery_gap: timedelta) -> list[Suggestion]:
    """Pre, post and shared suggestions for every need no booking covers (rules 3 and 4)."""
    covered = {(eid, kind) for eid, kind, _ in plan.sessions}
    needs = {(e.event_id, kind) for e in plan.events
             for kind in needed_kinds(e, e.event_id in pre_for_c)} - covered
    shared = [s for s in shared_windows(plan.events, recovery_gap)
              if {(s.first_event_id, "post"), (s.second_event_id, "pre")} <= needs]
    found = []
    for item in shared:
        needs -= {(item.first_event_id, "post"), (item.second_event_id, "pre")}
        label = (f"one session for both: post of event {item.first_event_id}, "
                 f"pre of event {item.second_event_id}")
        found += plan.suggest("shared", item[:2], item.window, label)
    for event_id, kind in sorted(needs):
        window = getattr(plan.windows[event_id], kind)
        found += plan.suggest(kind, (event_id,), window, f"{kind} session for event {event_id}")
    return found


def _course_suggestions(plan: _Plan, sessions: int) -> list[Suggestion]:
    """Course windows of every A race (courses.py), clipped to the span and to after the
    previous event's windows (a course runs between two events, so two courses never
    interleave), minus closed spans, every booking and every event's windows (each
    widened by the minimum gap) and the past."""
    blocks = [*plan.closed, *unavailable_around_sessions(plan.sessions, (), plan.min_gap),
              *(_widen(plan.hull(e.event_id), plan.min_gap) for e in plan.events),
              Interval(min(plan.span.start, plan.now), plan.now)]
    found = []
    ordered = _by_start(plan.events)
    for previous, event in zip([None, *ordered], ordered, strict=False):
        if event.priority != "A":
            continue
        start = plan.span.start if previous is None else max(
            plan.span.start, plan.hull(previous.event_id).end)
        booked = [iv.start for eid, kind, iv in plan.sessions
                  if eid == event.event_id and kind == "course"]
        label = f"course session {{}} of {sessions} before event {event.event_id}"
        found += [Suggestion("course", (event.event_id,), piece, label.format(number))
                  for number, piece in course_pieces(event.timing, sessions,
                                                     Interval(start, plan.span.end),
                                                     blocks, booked)]
    return found


def _tune_up_suggestions(plan: _Plan, sessions: int, weeks: int) -> list[Suggestion]:
    """Tune-ups clear of every event's windows, every A race's course zone and every
    booking (courses.py); closed spans lie inside the event windows."""
    needling = [*(plan.hull(e.event_id) for e in plan.events),
                *(course_zone(e.timing, sessions) for e in plan.events if e.priority == "A"),
                *(interval for _, _, interval in plan.sessions)]
    label = f"tune-up (every {weeks} weeks)"
    return [Suggestion("tune-up", (), window, label) for window
            in tune_up_windows(plan.span, needling, weeks, plan.min_gap, plan.now)]


def season_plan(events: Sequence[SeasonEvent],
                sessions: Iterable[tuple[int | None, str, Interval]], span: Interval, *,
                now: datetime, min_gap: timedelta = DEFAULT_MIN_GAP,
                recovery_gap: timedelta = DEFAULT_RECOVERY_GAP, course_sessions: int = 0,
                tune_up_weeks: int = DEFAULT_TUNE_UP_WEEKS,
                pre_for_c: Collection[int] = ()) -> list[Suggestion]:
    """Suggestions for the athlete's season, sorted by (window start, kind, event ids).

    - pre/post/shared: for every event whose windows overlap `span`, each needed kind
      (`needed_kinds`; C events in `pre_for_c` need a pre) that no booking covers. A pair
      with a shared window whose two needs are both open gets one "shared" suggestion per
      shared window instead of the first's post and the second's pre. The window is the
      event's window (not clipped to `span`) minus closed spans, minus other events'
      bookings widened by `min_gap`, minus the past.
    - course: with `course_sessions` = N >= 2, the N-1 course windows of every A race
      (courses.py), clipped to `span` and to after the previous event's windows.
    - tune-up: every `tune_up_weeks` weeks in quiet time within `span` (0: none).

    A window cut into pieces gives one suggestion per piece (a booking in any covers the
    need); a need with no free time left gives none. Raises ValueError for negative values.
    """
    if min_gap < timedelta(0) or course_sessions < 0 or tune_up_weeks < 0:
        raise ValueError("min_gap, course_sessions and tune_up_weeks must not be negative")
    events = tuple(events)
    windows = {e.event_id: event_windows(e.timing, recovery_gap) for e in events}
    plan = _Plan(events, windows, closed_spans(events, recovery_gap), tuple(sessions), span,
                 min_gap, now)
    in_span = {e.event_id for e in events if overlaps(plan.hull(e.event_id), span)}
    found = [s for s in _event_suggestions(plan, pre_for_c, recovery_gap)
             if in_span.intersection(s.event_ids)]
    found += _course_suggestions(plan, course_sessions)
    if tune_up_weeks:
        found += _tune_up_suggestions(plan, course_sessions, tune_up_weeks)
    return sorted(found, key=lambda s: (s.window.start, s.kind, s.event_ids))
