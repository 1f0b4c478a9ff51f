"""Free starts of several therapists -> ranked session slots for one window.

Ranking, best first (deterministic: every key ends in values that break all ties):

- pre: nearest to 72 hours before the event's start first (an earlier session leaves more
  time for soreness to pass), so the key is
  ``(abs(start - (event_start - 72h)), start, load, therapist_id)``;
  of two starts equally far from the target, the earlier one wins.
- post: earliest first (recovery is best early in its window), so the key is
  ``(start, load, therapist_id)``.

`load` is the number of the therapist's bookings that overlap the window: at the same
time, the less-loaded therapist comes first; then the lower therapist id.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from itertools import islice
from operator import itemgetter

from .availability import FreeStarts, TherapistSchedule, Unavailable, unavailable_of
from .intervals import Interval, subtract
from .kinds import WINDOW_KINDS
from .sites import Places, clip

DEFAULT_NOTICE = timedelta(hours=2)
PRE_TARGET = timedelta(hours=72)

RankKey = tuple[timedelta, datetime, int, int] | tuple[datetime, int, int]


@dataclass(frozen=True)
class Slot:
    """A proposed session: [start, end) in UTC with one therapist, for a `pre` or `post`
    kind, at the site of the working period it lies in (None: a therapist without a site)."""

    therapist_id: int
    start: datetime
    end: datetime
    kind: str
    site_id: int | None = None


@dataclass(frozen=True)
class TherapistState:
    """One therapist's schedule and what already occupies it.

    `blocked` holds time off and imported busy intervals (not buffered); `bookings` holds
    the therapist's confirmed bookings, unbuffered (the schedule's buffer is applied here).
    """

    schedule: TherapistSchedule
    blocked: tuple[Interval, ...] = ()
    bookings: tuple[Interval, ...] = ()

    @cached_property
    def unavailable(self) -> Unavailable:
        """`blocked` and the buffered bookings, merged: worked out once for every window
        the state is asked about (a proposal's pre and post)."""
        return unavailable_of(self.blocked, self.bookings, self.schedule.buffer_minutes)


def rank_key(kind: str, start: datetime, load: int, therapist_id: int,
             event_start: datetime) -> RankKey:
    """The sort key of a slot (smaller is better); see the module docstring."""
    if kind == "pre":
        return (abs(start - (event_start - PRE_TARGET)), start, load, therapist_id)
    return (start, load, therapist_id)


def window_load(state: TherapistState, window: Interval) -> int:
    """How many of the therapist's bookings overlap the window (half-open, as `overlaps`;
    written out: it runs for every booking near every window of every request)."""
    start, end = window
    if not start < end:
        return 0  # an empty window overlaps nothing
    return sum(1 for b_start, b_end in state.bookings
               if b_start < end and start < b_end and b_start < b_end)


_Candidate = tuple[RankKey, int, datetime, timedelta, int | None]


def _ranked_runs(kind: str, window: Interval, event_start: datetime,
                 therapists: Sequence[TherapistState],
                 segments: Sequence[tuple[datetime, datetime]],
                 where: Places = None) -> Iterator[Iterator[_Candidate]]:
    """Each therapist's free starts in `segments` as (rank key, therapist id, start,
    length), in runs that are each already in rank order (post: one ascending run; pre: the
    starts before the target walking back, and those from it walking forward), so that
    merging the runs yields every candidate in rank order. The runs are lazy
    (availability.FreeStarts): a therapist's starts are worked out one working period at
    a time, as the merge takes them, and keys are computed only for those taken.

    With a site rule (`where`, core/sites.py), each site a therapist works at is a schedule
    of its own (TherapistSchedule.by_site), skipped when the athlete cannot be there, and
    its starts clipped to the time the athlete is there."""
    target = event_start - PRE_TARGET
    for state in therapists:
        schedule = state.schedule
        tid, length = schedule.therapist_id, timedelta(minutes=schedule.session_minutes)
        load = None
        for site, at_site in schedule.by_site.items():
            if where is not None and site not in where:
                continue
            clipped = segments if where is None else clip(segments, where[site])
            if not clipped:
                continue
            if load is None:
                load = window_load(state, window)
            free = FreeStarts(at_site, state.unavailable, clipped)
            runs = ((free.falling(target), free.rising(target)) if kind == "pre"
                    else (free.rising(),))
            for run in runs:
                yield _keyed(kind, run, load, tid, length, event_start, site)


def _keyed(kind: str, starts: Iterator[datetime], load: int, tid: int, length: timedelta,
           event_start: datetime, site: int | None) -> Iterator[_Candidate]:
    for start in starts:
        yield rank_key(kind, start, load, tid, event_start), tid, start, length, site


def propose(kind: str, window: Interval, event_start: datetime,
            therapists: Sequence[TherapistState], athlete_unavailable: Sequence[Interval],
            now: datetime, notice: timedelta = DEFAULT_NOTICE, limit: int = 20,
            where: Places = None) -> list[Slot]:
    """The best `limit` free slots of the given therapists inside `window`, best first.

    A slot starts no earlier than `now + notice`, avoids the athlete's own busy intervals
    as well as each therapist's blocked intervals and buffered bookings, lies on its
    therapist's slot grid (see availability.free_starts), and is at a site where the
    athlete is at that time (`where`, core/sites.py; None: any site). Raises ValueError
    for an unknown kind.
    """
    if kind not in WINDOW_KINDS:
        raise ValueError(f"kind must be one of {WINDOW_KINDS}, not {kind!r}")
    if limit <= 0:
        return []
    lo = max(window.start, now + notice)
    segments = [tuple(span) for span in subtract([Interval(lo, window.end)], athlete_unavailable)
                ] if lo < window.end else []
    runs = _ranked_runs(kind, window, event_start, therapists, segments, where)
    best = islice(heapq.merge(*runs, key=itemgetter(0)), limit)  # keys are unique
    return [Slot(tid, start, start + length, kind, site)
            for _, tid, start, length, site in best]
