"""Working hours, time off, busy intervals and bookings -> the starts a therapist has free.

Working hours are local wall-clock periods in the therapist's zone, so a 09:00 start stays
09:00 local across a daylight-saving change. A local time that does not exist (spring
forward) or occurs twice (fall back) is read with zoneinfo's fold=0: a nonexistent time
takes the offset in force before the change (02:30 in a 02:00->03:00 gap is 03:30 after
it), and a repeated time is its first occurrence. A period left empty that way (02:00-03:00
on a day that jumps from 02:00 to 03:00) is skipped.

A one-day change (core/working_days.py) gives a local date its own periods, or none
(closed): on that date they stand in for the weekday's weekly periods, read the same way.

A session start `s` of duration `dur` is free when `s` lies on the slot grid of one working
period P (`s = P.start + k * step`, k >= 0) and `[s, s + dur)` fits wholly inside P and
the window, `s >= not_before`, `[s, s + dur)` overlaps no blocked interval (time off,
imported busy, the athlete's own commitments) and keeps `buffer_minutes` clear of every
booking of the therapist. Intervals are half-open: touching is not overlapping.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property, lru_cache
from itertools import accumulate, count, repeat, starmap
from operator import itemgetter, le
from zoneinfo import ZoneInfo

from .errors import (
    InvalidPeriod,
)
from .intervals import Interval
from .memo import Memo
from .working_days import DayTable, WorkingDay, day_table

_ONE_DAY = timedelta(days=1)
_TICK = timedelta(microseconds=1)
_ZERO = timedelta(0)
_NEVER = datetime.min.replace(tzinfo=UTC)
_START = itemgetter(0)
_END = itemgetter(1)

WeekTable = tuple[tuple[tuple[time, time], ...], ...]


@dataclass(frozen=True)
class WorkingPeriod:
    """One weekly working period: `day` 0=Mon..6=Sun, naive local wall-clock `start` < `end`
    on that same day, at `site_id` (None: the therapist's own site)."""

    day: int
    start: time
    end: time
    site_id: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.day <= 6:
            raise ValueError(f"day must be 0 (Monday) to 6 (Sunday), not {self.day!r}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("working hours are local wall-clock times without a zone")
        if not self.end > self.start:
            raise InvalidPeriod(self.start, self.end, field="end")


@dataclass(frozen=True)
class TherapistSchedule:
    """What fixes a therapist's slots: zone, weekly hours and the session settings, and
    the one-day changes of the dates it is asked about (`working_days`; none: the weekly
    hours every day); `site_id` is where the therapist works (core/sites.py), unless a
    weekly period names its own site (a one-day change is at the therapist's site)."""

    therapist_id: int
    tz: ZoneInfo
    working_hours: tuple[WorkingPeriod, ...]
    session_minutes: int = 45
    buffer_minutes: int = 0
    slot_step_minutes: int = 15
    working_days: tuple[WorkingDay, ...] = ()
    site_id: int | None = None

    def __post_init__(self) -> None:
        if self.session_minutes <= 0 or self.slot_step_minutes <= 0:
            raise ValueError("session_minutes and slot_step_minutes must be positive")
        if self.buffer_minutes < 0:
            raise ValueError("buffer_minutes must not be negative")

    @cached_property
    def week(self) -> WeekTable:
        """The working hours as wall-clock (start, end) pairs per weekday (see
        _weekday_table), worked out once per schedule."""
        return _weekday_table(tuple(self.working_hours))

    @cached_property
    def days(self) -> DayTable:
        """The one-day changes: local date -> its wall-clock periods, worked out once per
        schedule."""
        return day_table(self.working_days)

    def site_of(self, period: WorkingPeriod) -> int | None:
        return self.site_id if period.site_id is None else period.site_id

    @cached_property
    def plan(self) -> int:
        """What fixes the schedule's grid starts, the therapist, buffer and site aside
        (zone, weekly hours, one-day changes, session length, step), as a number: equal
        numbers, equal starts. Schedules with one plan share their bound in a ranking
        (core/proposals.py); a clinic has a handful of plans. Worked out once."""
        return _plan_id(self.tz, self.week, self.working_days, self.session_minutes,
                        self.slot_step_minutes)

    @cached_property
    def sites(self) -> tuple[tuple[int | None, TherapistSchedule, int], ...]:
        """`by_site` as (site, schedule there, its plan) triples, worked out once."""
        return tuple((site, at_site, at_site.plan) for site, at_site in self.by_site.items())

    @cached_property
    def signature(self) -> tuple[tuple[int | None, int], ...]:
        """The (site, plan) pairs of `sites`: schedules with one signature offer the same
        starts at the same sites (a ranking bounds them together). Worked out once."""
        return tuple((site, plan) for site, _, plan in self.sites)

    @cached_property
    def by_site(self) -> dict[int | None, TherapistSchedule]:
        """The schedule split by site: each site the therapist works at -> the schedule of
        the periods there (its `site_id` that site). A one-day change stands in for the
        weekly periods of its date at every site: its periods at its own site (a
        race-weekend tent), none elsewhere. Worked out once per schedule; a therapist at
        one site (the usual case) is one entry, the schedule itself."""
        own = self.site_id
        sites = {self.site_of(period) for period in self.working_hours}
        sites |= {own if day.site_id is None else day.site_id for day in self.working_days}
        if sites <= {own}:
            return {own: self}
        found = {}
        for site in sorted(sites, key=lambda s: (s is None, s or 0)):
            hours = tuple(p for p in self.working_hours if self.site_of(p) == site)
            days = tuple(day if (own if day.site_id is None else day.site_id) == site
                         else WorkingDay(day.day) for day in self.working_days)
            found[site] = replace(self, working_hours=hours, working_days=days,
                                  site_id=site)
        return found


@lru_cache(maxsize=65_536)
def _plan_id(tz: ZoneInfo, week: WeekTable, working_days: tuple[WorkingDay, ...],
             session_minutes: int, slot_step_minutes: int) -> int:
    """A number for each distinct plan (see TherapistSchedule.plan): equal plans get
    equal numbers while they stay in this cache (one evicted and seen again gets a new
    one, which only means its schedules share less)."""
    return next(_PLAN_NUMBERS)


_PLAN_NUMBERS = count()


@lru_cache(maxsize=1024)
def _weekday_table(working_hours: tuple[WorkingPeriod, ...]) -> WeekTable:
    """The working hours as wall-clock (start, end) pairs per weekday 0..6, folds cleared
    (a working-hours time is always read with fold=0). Memoized: a value of values."""
    table: list[list[tuple[time, time]]] = [[], [], [], [], [], [], []]
    for period in working_hours:
        start, end = period.start, period.end
        if start.fold or end.fold:
            start, end = start.replace(fold=0), end.replace(fold=0)
        table[period.day].append((start, end))
    return tuple(map(tuple, table))


@lru_cache(maxsize=65_536)
def _day_periods(tz: ZoneInfo, hours: tuple[tuple[time, time], ...],
                 day: date) -> tuple[tuple[datetime, datetime], ...]:
    """The UTC (start, end) of each wall-clock period of `hours` on the local `day`, without
    the periods a daylight-saving gap leaves empty.

    A wall-clock time becomes UTC as `wall - tz.utcoffset(wall)`, with `wall` its date and
    time stamped UTC: zoneinfo reads only the fields and the fold (0 here) of what it is
    given, so this equals `datetime.combine(day, at, tz).astimezone(UTC)` (checked on every
    change in every zone by tests/core/test_availability_fast.py) in under half the time.
    Memoized on its values (a pure function; a clinic asks for the same therapists' days
    over and over): a few hundred bytes an entry, 65,536 entries at most.
    """
    found = []
    for start, end in hours:
        start_at, end_at = datetime.combine(day, start, UTC), datetime.combine(day, end, UTC)
        start_at -= tz.utcoffset(start_at)
        end_at -= tz.utcoffset(end_at)
        if start_at < end_at:
            found.append((start_at, end_at))
    return tuple(found)


def _utc_periods(tz: ZoneInfo, table: WeekTable, lo: datetime, hi: datetime,
                 days: DayTable) -> list[tuple[datetime, datetime]]:
    """(start, end) in UTC of every working period of every local day overlapping [lo, hi),
    sorted, without the periods a daylight-saving gap leaves empty (see _day_periods). A
    date of `days` has its own periods instead of its weekday's."""
    day, last = lo.astimezone(tz).date(), (hi - _TICK).astimezone(tz).date()
    found: list[tuple[datetime, datetime]] = []
    while day <= last:
        hours = days[day] if days and day in days else table[day.weekday()]
        if hours:
            found += _day_periods(tz, hours, day)
        day += _ONE_DAY
    found.sort()
    return found


# A schedule's plan (TherapistSchedule.plan) fixes its working periods: the periods of a
# plan between two instants, worked out once for every schedule with that plan and for
# both the bound (best_grid_start) and the starts (FreeStarts) of a ranking, and kept for
# the next request about the same window (a race day's athletes share theirs). Plan
# numbers are never reused, so an entry stays right; the table is emptied when full.
_PLAN_PERIODS: Memo[tuple[int, datetime, datetime], tuple[tuple[datetime, datetime], ...]] = \
    Memo(8_192)  # a few hundred bytes an entry


def _plan_periods(schedule: TherapistSchedule, lo: datetime, hi: datetime
                  ) -> tuple[tuple[datetime, datetime], ...]:
    """`_utc_periods` of the schedule between lo and hi, memoized on its plan."""
    key = (schedule.plan, lo, hi)
    found = _PLAN_PERIODS.get(key)
    if found is None:
        found = _PLAN_PERIODS.keep(key, tuple(
            _utc_periods(schedule.tz, schedule.week, lo, hi, schedule.days)))
    return found


def working_intervals(tz: ZoneInfo, working_hours: Sequence[WorkingPeriod],
                      span: Interval, working_days: tuple[WorkingDay, ...] = ()
                      ) -> list[Interval]:
    """Every working period, in UTC, of every local day (in `tz`) that overlaps `span`; a
    date of `working_days` has its own periods (or none) instead of the weekly ones.

    Periods are whole, not clipped to `span`: the slot grid counts from a period's own
    start. Sorted by start; periods emptied by a daylight-saving gap are left out.
    """
    if not span.start < span.end:
        return []
    table = _weekday_table(tuple(working_hours))
    return list(starmap(Interval, _utc_periods(tz, table, span.start, span.end,
                                               day_table(tuple(working_days)))))


def _unavailable(blocked: Iterable[Interval], bookings: Iterable[Interval],
               pad: timedelta) -> tuple[list[datetime], list[datetime]]:
    """The blocked intervals and the bookings widened by `pad` on both sides, merged, as two
    parallel ascending lists of starts and ends (touching intervals coalesce, empty or
    reversed ones vanish)."""
    spans = [(start - pad, end + pad) for start, end in bookings if start < end] if pad else [
        *bookings]
    spans += blocked
    spans.sort(key=_START)
    starts: list[datetime] = []
    ends: list[datetime] = []
    reach = _NEVER  # the end of the last merged interval
    for start, end in spans:
        if start > reach or not ends:
            if start < end:
                starts.append(start)
                ends.append(end)
                reach = end
        elif end > reach:
            reach = ends[-1] = end
    return starts, ends


def _grid_run(origin: datetime, step: timedelta, dur: timedelta, lo: datetime,
              hi: datetime) -> Iterable[datetime]:
    """The grid starts s = origin + k * step with lo <= s and s + dur <= hi (lo >= origin):
    lo rounded up to the grid, then as many steps as fit; nothing is searched for."""
    first = lo if lo == origin else lo + (origin - lo) % step
    count = (hi - dur - first) // step
    return accumulate(repeat(step, count), initial=first) if count >= 0 else ()


Unavailable = tuple[list[datetime], list[datetime]]  # merged intervals: starts, ends


def _period_starts(origin: datetime, end: datetime, segments: Sequence[tuple[datetime, datetime]],
                   step: timedelta, dur: timedelta, unavailable: Unavailable) -> list[datetime]:
    """The grid starts of the working period (origin, end), clipped to each of the
    ascending, disjoint `segments`, that stay clear of the merged unavailable intervals
    [starts[j], ends[j]): bisect finds the first unavailable interval a clipped period meets,
    and each free piece between them yields its run of starts. Ascending."""
    starts, ends = unavailable
    found: list[datetime] = []
    for lo, hi in segments:
        if hi <= origin:
            continue
        if lo >= end:
            break
        left, right = (origin if origin > lo else lo), (end if end < hi else hi)
        j = bisect_right(ends, left)
        while j < len(starts) and starts[j] < right:
            if starts[j] - left >= dur:
                found += _grid_run(origin, step, dur, left, starts[j])
            left = ends[j]
            j += 1
        if right - left >= dur:
            found += _grid_run(origin, step, dur, left, right)
    return found


def _disjoint(periods: Sequence[tuple[datetime, datetime]]) -> bool:
    return all(map(le, map(_END, periods), map(_START, periods[1:])))


def free_starts(schedule: TherapistSchedule, window: Interval, blocked: Sequence[Interval],
                bookings: Sequence[Interval], not_before: datetime,
                duration: timedelta | None = None) -> list[datetime]:
    """Every free session start (aware UTC), ascending and without duplicates.

    `duration` defaults to the schedule's session length. `blocked` and `bookings` may be
    unsorted and overlapping: they are sorted and merged once (so pass the ones near the
    window: the cost grows with all of them), then each working period is swept and each
    free piece yields its grid starts arithmetically.
    """
    dur = duration if duration is not None else timedelta(minutes=schedule.session_minutes)
    lo, hi = max(window.start, not_before), window.end
    if dur <= _ZERO or hi - lo < dur:
        return []
    periods = _utc_periods(schedule.tz, schedule.week, lo, hi, schedule.days)
    unavailable = unavailable_of(blocked, bookings, schedule.buffer_minutes)
    step, segments = timedelta(minutes=schedule.slot_step_minutes), ((lo, hi),)
    found = [start for origin, end in periods
             for start in _period_starts(origin, end, segments, step, dur, unavailable)]
    # Disjoint periods yield ascending, distinct starts; overlapping ones need a clean-up.
    return found if _disjoint(periods) else sorted(set(found))


class FreeStarts:
    """free_starts computed as they are taken, for ranking many therapists' starts when
    only the best few are wanted (core/proposals.py): one working period at a time, from
    the earliest on (`rising`) or from a point backwards (`falling`).

    The unavailable intervals come merged (`unavailable_of`, once per therapist for all its
    windows), and instead of one [not_before, window end) range the starts are clipped to
    ascending, disjoint `segments` (that range minus the athlete's commitments, worked out
    once for all therapists): a start whose session lies in a segment and clear of the
    unavailable intervals is exactly one clear of both. The runs yield what free_starts
    yields for the same inputs, split at the point (tests/core/test_availability_fast.py).
    """

    def __init__(self, schedule: TherapistSchedule, unavailable: Unavailable,
                 segments: Sequence[tuple[datetime, datetime]]) -> None:
        self._unavailable = unavailable
        self._segments = segments
        self._step = timedelta(minutes=schedule.slot_step_minutes)
        self._dur = timedelta(minutes=schedule.session_minutes)
        lo, hi = (segments[0][0], segments[-1][1]) if segments else (_NEVER, _NEVER)
        self._periods: Sequence[tuple[datetime, datetime]] = (
            _plan_periods(schedule, lo, hi) if hi - lo >= self._dur else ())
        self._merged: list[datetime] | None = None
        if not _disjoint(self._periods):
            # Overlapping periods have no order per period: their starts, worked out at
            # once and deduplicated, stand as one period spanning them all.
            self._merged = sorted({start for origin, end in self._periods
                                   for start in self._starts(origin, end)})
            self._periods = [(self._periods[0][0], max(map(_END, self._periods)))]

    def _starts(self, origin: datetime, end: datetime) -> list[datetime]:
        if self._merged is not None:
            return self._merged
        return _period_starts(origin, end, self._segments, self._step, self._dur,
                              self._unavailable)

    def rising(self, since: datetime | None = None) -> Iterator[datetime]:
        """The free starts >= `since` (None: all), ascending."""
        for origin, end in self._periods:
            if since is not None and end <= since:
                continue
            starts = self._starts(origin, end)
            yield from (starts if since is None or origin >= since else
                        starts[bisect_left(starts, since):])

    def falling(self, before: datetime) -> Iterator[datetime]:
        """The free starts < `before`, descending."""
        for origin, end in reversed(self._periods):
            if origin >= before:
                continue
            starts = self._starts(origin, end)
            yield from reversed(starts[:bisect_left(starts, before)])


def unavailable_of(blocked: Iterable[Interval], bookings: Iterable[Interval],
                   buffer_minutes: int) -> Unavailable:
    """The blocked intervals and the bookings widened by the buffer on both sides, merged
    (what FreeStarts takes)."""
    return _unavailable(blocked, bookings, timedelta(minutes=buffer_minutes))


_PLAN_BEST: Memo[tuple, dict[int, tuple[timedelta, datetime] | None]] = \
    Memo(4_096)  # (segments, target) questions, each with its plans' answers
_UNKNOWN = object()


def plan_best_starts(segments: Sequence[tuple[datetime, datetime]],
                     target: datetime | None = None
                     ) -> dict[int, tuple[timedelta, datetime] | None]:
    """The memo of `plan_best_start` for the segments and the target: plan -> best start,
    for the plans asked about so far (a ranking looks up each of its plans here, the
    question hashed once). Emptied when full, as _PLAN_PERIODS."""
    key = (tuple(segments), target)
    found = _PLAN_BEST.get(key)
    if found is None:
        found = _PLAN_BEST.keep(key, {})
    return found


def plan_best_start(schedule: TherapistSchedule, segments: Sequence[tuple[datetime, datetime]],
                    target: datetime | None = None,
                    known: dict[int, tuple[timedelta, datetime] | None] | None = None
                    ) -> tuple[timedelta, datetime] | None:
    """`best_grid_start`, memoized on the schedule's plan (which fixes its grid starts:
    TherapistSchedule.plan), the segments and the target: the athletes racing on one day
    ask about the same windows. `known`: `plan_best_starts(segments, target)`, looked up
    already."""
    if known is None:
        known = plan_best_starts(segments, target)
    found = known.get(schedule.plan, _UNKNOWN)
    if found is _UNKNOWN:
        found = known[schedule.plan] = best_grid_start(schedule, segments, target)
    return found  # type: ignore[return-value]


def best_grid_start(schedule: TherapistSchedule, segments: Sequence[tuple[datetime, datetime]],
                    target: datetime | None = None) -> tuple[timedelta, datetime] | None:
    """The best start the schedule's slot grid offers in the ascending, disjoint `segments`
    as if the therapist had nothing booked or blocked: with `target` the grid start
    nearest to it as (distance, start), the earlier of two equally near; without, the
    earliest as (0, start). None: no session fits a working period there.

    A bound, for the best-first proposals (core/proposals.py): blocked time and bookings
    only remove starts from these (FreeStarts yields a subset of them), so no free start
    of the therapist ranks before this one. Worked out from the schedule alone, one piece
    (a working period cut to a segment) at a time, arithmetically: nothing is listed."""
    if not segments:
        return None
    dur = timedelta(minutes=schedule.session_minutes)
    step = timedelta(minutes=schedule.slot_step_minutes)
    lo, hi = segments[0][0], segments[-1][1]
    if hi - lo < dur:
        return None
    best: tuple[timedelta, datetime] | None = None
    for origin, end in _plan_periods(schedule, lo, hi):
        if target is None and best is not None and origin >= best[1]:
            break  # later periods start later (sorted): none has an earlier start
        for seg_lo, seg_hi in segments:
            if seg_hi <= origin:
                continue
            if seg_lo >= end:
                break
            left, right = (origin if origin > seg_lo else seg_lo), (end if end < seg_hi
                                                                    else seg_hi)
            first = left if left == origin else left + (origin - left) % step
            if first + dur > right:
                continue
            if target is None:
                found = (_ZERO, first)
            else:
                last = first + (right - dur - first) // step * step
                if target <= first:
                    found = (first - target, first)
                elif target >= last:
                    found = (target - last, last)
                else:
                    below = first + (target - first) // step * step
                    found = (target - below, below)
                    if below != target and below + step - target < target - below:
                        found = (below + step - target, below + step)
            if best is None or found < best:
                best = found
            if target is None:
                break  # the segments ascend: the first piece's first start is the period's
    return best
