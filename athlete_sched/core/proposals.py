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
from bisect import insort
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby, islice
from operator import attrgetter, itemgetter

from .availability import (
    FreeStarts,
    TherapistSchedule,
    Unavailable,
    plan_best_start,
    plan_best_starts,
    unavailable_of,
)
from .intervals import Interval, subtract
from .kinds import WINDOW_KINDS
from .sites import Places, clip

DEFAULT_NOTICE = timedelta(hours=2)
_UNKNOWN = object()  # not yet in a memo
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

    @property
    def unavailable(self) -> Unavailable:
        """`blocked` and the buffered bookings, merged: worked out once for every window
        the state is asked about (a proposal's pre and post). Kept in the instance's
        dict by hand: functools.cached_property takes a lock on every first use (Python
        3.11), and a proposals request makes a state per therapist it reads."""
        found = self.__dict__.get("_unavailable")
        if found is None:
            found = self.__dict__["_unavailable"] = unavailable_of(
                self.blocked, self.bookings, self.schedule.buffer_minutes)
        return found


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
_KEY = itemgetter(0)


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
    """The starts with their rank keys (`rank_key`'s, written out: a key per start)."""
    if kind == "pre":
        target = event_start - PRE_TARGET
        for start in starts:
            yield (abs(start - target), start, load, tid), tid, start, length, site
    else:
        for start in starts:
            yield (start, load, tid), tid, start, length, site


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
    _check(kind)
    if limit <= 0:
        return []
    segments = _segments(window, athlete_unavailable, now, notice)
    return [_slot(kind, candidate)
            for candidate in _best(kind, window, event_start, therapists, segments, where,
                                   limit)]


def _check(kind: str) -> None:
    if kind not in WINDOW_KINDS:
        raise ValueError(f"kind must be one of {WINDOW_KINDS}, not {kind!r}")


def _segments(window: Interval, athlete_unavailable: Sequence[Interval], now: datetime,
              notice: timedelta) -> list[tuple[datetime, datetime]]:
    """The window from `now + notice` on, less the athlete's commitments: ascending,
    disjoint (start, end) pairs, worked out once for every therapist."""
    lo = max(window.start, now + notice)
    return [tuple(span) for span in subtract([Interval(lo, window.end)], athlete_unavailable)
            ] if lo < window.end else []


def _best(kind: str, window: Interval, event_start: datetime,
          therapists: Sequence[TherapistState], segments: Sequence[tuple[datetime, datetime]],
          where: Places, limit: int) -> list[_Candidate]:
    runs = _ranked_runs(kind, window, event_start, therapists, segments, where)
    return list(islice(heapq.merge(*runs, key=itemgetter(0)), limit))  # keys are unique


def _slot(kind: str, candidate: _Candidate) -> Slot:
    _, tid, start, length, site = candidate
    return Slot(tid, start, start + length, kind, site)


# --- best first: read only the therapists who can make the answer -----------------------------
#
# The exhaustive `propose` needs every therapist's blocked time and bookings, and reading
# them is most of a proposal's cost (a database round trip's rows, turned into intervals):
# at 1,000 therapists, 0.1 ms each, whatever the answer. But the ranking is by time: a
# pre slot's key starts with its distance from the target, a post slot's with its start.
# From a therapist's schedule alone (weekly hours, one-day changes, grid, session length:
# no bookings) `best_grid_start` gives the best start it could possibly offer, and blocked
# time and bookings only take starts away. The load, the tie-break, is the same for all
# of a therapist's slots in the window; where it is known before the bookings are read
# (a count, in the schedules' read) it enters the bound as it is, else as 0, the least
# there is. So no slot of the therapist has a key below its bound
#
#     (distance, start, load, therapist_id)  (pre)   or   (start, load, therapist_id)  (post),
#
# a key of the slot the therapist would have if nothing took its best start. `Ranking`
# orders the therapists by their bounds (those without any start in the window drop out:
# they offer nothing); `propose_best_first` reads their states in that order, a batch at
# a time (the first FIRST_READ, then twice as many as read so far, ...), ranks what it
# has read exactly as `propose` does, and stops as soon as it has `limit` slots and the
# last of them ranks strictly before the next unread therapist's bound: every slot of
# that therapist and of all after it (their bounds are no lower) ranks after the
# limit-th slot, so the answer is `propose`'s over all of them
# (tests/core/test_best_first.py compares the two). Keys and bounds end in the
# therapist's id, so neither ties.
#
# Ties of time are common (a clinic's therapists start their day at the same hours):
# without the loads, a therapist's bound with load 0 settles a tie against a read slot
# only by id, and a clinic where most therapists have some booking in the window reads
# through every tied therapist looking for an unbooked one (at 1,000 therapists, hundreds
# of them). With the loads counted up front the bound is exact for every therapist free
# at its best start, and the first batch nearly always settles the answer.

FIRST_READ = 32

Bound = tuple[timedelta, datetime, int, int] | tuple[datetime, int, int]  # as RankKey
Reader = Callable[[Sequence[TherapistSchedule]], Sequence[TherapistState]]


@dataclass(frozen=True)
class Ranking:
    """A kind's window with its therapists in the order of their bounds (best first), and
    what ranking their slots takes: the segments (`_segments`) and the site rule."""

    kind: str
    window: Interval
    event_start: datetime
    segments: tuple[tuple[datetime, datetime], ...]
    where: Places
    order: Sequence[tuple[Bound, TherapistSchedule]]

    def first(self, count: int = FIRST_READ) -> list[TherapistSchedule]:
        """The schedules of the first `count` therapists: what the first batch reads."""
        return [schedule for _, schedule in self.order[:count]]


Best = tuple[timedelta, datetime] | tuple[datetime]  # a bound before its load and id


@dataclass(frozen=True)
class Bounds:
    """A kind's window with its therapists ordered by their best start alone (`Best`: pre,
    distance from the target and start; post, the start), then id: a `Ranking` before the
    loads. The loads only break ties, so only the therapists at the top need theirs
    (`leading`); every bound after them is higher whatever its load."""

    kind: str
    window: Interval
    event_start: datetime
    segments: tuple[tuple[datetime, datetime], ...]
    where: Places
    order: tuple[tuple[Best, TherapistSchedule], ...]

    def leading(self, count: int) -> int:
        """How many therapists from the top cover the first `count` and every therapist
        tied with the last of them: a ranking that knows their loads is exact for them,
        and those after rank after them whatever their loads."""
        order = self.order
        if count >= len(order):
            return len(order)
        if count <= 0:
            return 0
        last, n = order[count - 1][0], count
        while n < len(order) and order[n][0] == last:
            n += 1
        return n


def bounds(kind: str, window: Interval, event_start: datetime,
           schedules: Sequence[TherapistSchedule], athlete_unavailable: Sequence[Interval],
           now: datetime, notice: timedelta = DEFAULT_NOTICE, where: Places = None) -> Bounds:
    """The therapists ordered by the best start their schedules allow in the window (see
    above; those without one drop out). A therapist at several sites is bounded by its
    best site among those where the athlete can be, its starts cut to the time the athlete
    is there. Schedules with one plan share their best start, worked out once."""
    _check(kind)
    segments = _segments(window, athlete_unavailable, now, notice)
    target = event_start - PRE_TARGET if kind == "pre" else None
    cut = {site: clip(segments, spans) for site, spans in where.items()
           if spans is not None} if where is not None else {}
    # The memo of each site's question (its starts cut by its spans, else `segments`).
    everywhere = plan_best_starts(segments, target)
    known = {site: plan_best_starts(spans, target) for site, spans in cut.items()}
    groups: dict[tuple, list[TherapistSchedule]] = {}
    for schedule in schedules:  # in a clinic, a few dozen signatures
        groups.setdefault(schedule.signature, []).append(schedule)
    ranked_groups = []
    for members in groups.values():
        best = None
        for site, at_site, plan in members[0].sites:
            if where is not None and site not in where:
                continue
            table = known.get(site, everywhere) if known else everywhere
            found = table.get(plan, _UNKNOWN)
            if found is _UNKNOWN:  # a site's spans cut its starts
                found = plan_best_start(at_site, cut.get(site, segments), target, table)
            if found is not None and (best is None or found < best):
                best = found
        if best is not None:
            ranked_groups.append((best if target is not None else (best[1],), members))
    ranked_groups.sort(key=itemgetter(0))
    order: list[tuple[Best, TherapistSchedule]] = []
    for best, tied in groupby(ranked_groups, key=itemgetter(0)):
        # by id (a clinic's schedules come by id: Timsort finds them sorted at once)
        members = sorted((s for _, group in tied for s in group), key=attrgetter("therapist_id"))
        order.extend((best, s) for s in members)
    return Bounds(kind, window, event_start, tuple(segments), where, tuple(order))


def ranked(bounds_: Bounds, loads: Mapping[int, int], known: int | None = None) -> Ranking:
    """The ranking of `bounds_` with the loads of its first `known` therapists (all by
    default; `Bounds.leading` says how many must be known: whole ties), each taken from
    `loads` (0 where missing: it must not exceed `window_load` of the therapist's state).
    The rest keep load 0, the least there is: their bounds stay true, and still come after
    every bound of the known, which end no later than the best start before theirs."""
    if not bounds_.window.start < bounds_.window.end:
        loads = {}
    order = bounds_.order
    n = len(order) if known is None else min(known, len(order))
    head = sorted((((*best, loads.get(s.therapist_id, 0), s.therapist_id), s)
                   for best, s in order[:n]), key=itemgetter(0))
    return Ranking(bounds_.kind, bounds_.window, bounds_.event_start, bounds_.segments,
                   bounds_.where, _Order(head, order, n))


class _Order(Sequence[tuple[Bound, TherapistSchedule]]):
    """A ranking's order: the sorted `head` with its loads, then the bounds' order from
    `n` on with load 0, each (bound, schedule) made when asked for (a ranking is rarely
    read past its first batches: at 1,000 therapists, making them all cost more than
    reading the bookings of the first)."""

    def __init__(self, head: list[tuple[Bound, TherapistSchedule]],
                 order: Sequence[tuple[Best, TherapistSchedule]], n: int) -> None:
        self._head, self._order, self._n = head, order, n

    def __len__(self) -> int:
        return len(self._head) + len(self._order) - self._n

    def _tail(self, i: int) -> tuple[Bound, TherapistSchedule]:
        best, schedule = self._order[self._n + i]
        return (*best, 0, schedule.therapist_id), schedule

    def __getitem__(self, index):  # type: ignore[no-untyped-def, override]
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            head = len(self._head)
            if step != 1 or start > stop:
                return [self[i] for i in range(start, stop, step)]
            # A ranking is read in prefixes (the batches): the head's part, then the tail's.
            return [*self._head[start:min(stop, head)],
                    *map(self._tail, range(max(start, head) - head, stop - head))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        head = len(self._head)
        return self._head[index] if index < head else self._tail(index - head)


def ranking(kind: str, window: Interval, event_start: datetime,
            schedules: Sequence[TherapistSchedule], athlete_unavailable: Sequence[Interval],
            now: datetime, notice: timedelta = DEFAULT_NOTICE, where: Places = None,
            loads: Mapping[int, int] | None = None) -> Ranking:
    """The therapists ordered by the best rank their slots could have (see above): `bounds`
    with every therapist's load where known (`loads`; it must not exceed `window_load` of
    the therapist's state: db/queries/therapists.loads_in counts it), else 0."""
    return ranked(bounds(kind, window, event_start, schedules, athlete_unavailable, now,
                         notice, where), loads or {})


def propose_best_first(ranking_: Ranking, read: Reader, limit: int = 20,
                       first: int = FIRST_READ) -> list[Slot]:
    """`propose`'s answer for the ranked therapists, reading (`read`: schedules -> their
    states, in order) only those that can make it (see above)."""
    if limit <= 0:
        return []
    order, taken = ranking_.order, 0
    while True:
        taken = min(len(order), max(first, 2 * taken))
        head = order[:taken]
        states = read([schedule for _, schedule in head])
        best = _best_bounded(ranking_, [bound for bound, _ in head], states, limit)
        if taken == len(order) or (len(best) == limit and best[-1][0] < order[taken][0]):
            return [_slot(ranking_.kind, candidate) for candidate in best]


def _best_bounded(ranking_: Ranking, bounds_: Sequence[Bound],
                  states: Sequence[TherapistState], limit: int) -> list[_Candidate]:
    """`_best` of the states, which come in the order of their bounds (`bounds_`, each no
    greater than any key of its therapist's slots: see above): the best `limit`
    candidates kept in order, each therapist's runs walked only while they beat the
    limit-th kept, and no therapist walked once its bound does not (nor any after it:
    their bounds are no lower). The same candidates in the same order as `_best` (its
    merge keeps, of equal keys, the earlier run's first, as insort_right does here), at
    the cost of the slots that can make the answer instead of a start of every run."""
    kind, window, event_start = ranking_.kind, ranking_.window, ranking_.event_start
    kept: list[_Candidate] = []
    for bound, state in zip(bounds_, states, strict=True):
        if len(kept) == limit and not bound < kept[-1][0]:
            break
        for run in _ranked_runs(kind, window, event_start, (state,), ranking_.segments,
                                ranking_.where):
            for candidate in run:
                if len(kept) == limit:
                    if not candidate[0] < kept[-1][0]:
                        break  # the run ascends: the rest of it ranks later still
                    kept.pop()
                insort(kept, candidate, key=_KEY)
    return kept
