"""Working hours, time off, busy intervals and bookings -> the starts a therapist has free.

Working hours are local wall-clock periods in the therapist's zone, so a 09:00 start stays
09:00 local across a daylight-saving change. A local time that does not exist (spring
forward) or occurs twice (fall back) is read with zoneinfo's fold=0: a nonexistent time
takes the offset in force before the change (02:30 in a 02:00->03:00 gap is 03:30 after
it), and a repeated time is its first occurrence. A period left empty that way (02:00-03:00
on a day that jumps from 02:00 to 03:00) is skipped.

A session start `s` of duration `dur` is free when `s` lies on the slot grid of one working
period P (`s = P.start + k * step`, k >= 0) and `[s, s + dur)` fits wholly inside P and
the window, `s >= not_before`, `[s, s + dur)` overlaps no blocked interval (time off,
imported busy, the athlete's own commitments) and keeps `buffer_minutes` clear of every
booking of the therapist. Intervals are half-open: touching is not overlapping.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate, repeat
from operator import itemgetter
from zoneinfo import ZoneInfo

from .errors import (
    AthleteBusy,
    InvalidPeriod,
    OutsideWindow,
    OutsideWorkingHours,
    SlotTaken,
    TooSoon,
)
from .intervals import Interval, contains, overlaps

_ONE_DAY = timedelta(days=1)
_TICK = timedelta(microseconds=1)
_ZERO = timedelta(0)


@dataclass(frozen=True)
class WorkingPeriod:
    """One weekly working period: `day` 0=Mon..6=Sun, naive local wall-clock `start` < `end`
    on that same day."""

    day: int
    start: time
    end: time

    def __post_init__(self) -> None:
        if not 0 <= self.day <= 6:
            raise ValueError(f"day must be 0 (Monday) to 6 (Sunday), not {self.day!r}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("working hours are local wall-clock times without a zone")
        if not self.end > self.start:
            raise InvalidPeriod(self.start, self.end, field="end")


@dataclass(frozen=True)
class TherapistSchedule:
    """What fixes a therapist's slots: zone, weekly hours and the session settings."""

    therapist_id: int
    tz: ZoneInfo
    working_hours: tuple[WorkingPeriod, ...]
    session_minutes: int = 45
    buffer_minutes: int = 0
    slot_step_minutes: int = 15

    def __post_init__(self) -> None:
        if self.session_minutes <= 0 or self.slot_step_minutes <= 0:
            raise ValueError("session_minutes and slot_step_minutes must be positive")
        if self.buffer_minutes < 0:
            raise ValueError("buffer_minutes must not be negative")


def _local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock `at` on local `day` in `tz`, read with fold=0."""
    return datetime.combine(day, at.replace(fold=0) if at.fold else at, tzinfo=tz).astimezone(UTC)


def working_intervals(tz: ZoneInfo, working_hours: Sequence[WorkingPeriod],
                      span: Interval) -> list[Interval]:
    """Every working period, in UTC, of every local day (in `tz`) that overlaps `span`.

    Periods are whole, not clipped to `span`: the slot grid counts from a period's own
    start. Sorted by start; periods emptied by a daylight-saving gap are left out.
    """
    if not span.start < span.end:
        return []
    by_day: dict[int, list[WorkingPeriod]] = {}
    for period in working_hours:
        by_day.setdefault(period.day, []).append(period)
    day = span.start.astimezone(tz).date()
    last = (span.end - _TICK).astimezone(tz).date()
    found: list[Interval] = []
    while day <= last:
        for period in by_day.get(day.weekday(), ()):
            start = _local_instant(day, period.start, tz)
            end = _local_instant(day, period.end, tz)
            if start < end:
                found.append(Interval(start, end))
        day += _ONE_DAY
    found.sort()
    return found


def _forbidden(blocked: Iterable[Interval], bookings: Iterable[Interval], pad: timedelta,
               lo: datetime, hi: datetime) -> tuple[list[datetime], list[datetime]]:
    """Blocked intervals and bookings widened by `pad` that reach into [lo, hi), merged, as
    two parallel ascending lists of starts and ends (touching intervals coalesce)."""
    spans = [b for b in blocked if b[0] < hi and lo < b[1] and b[0] < b[1]]
    spans += [(s - pad, e + pad) for s, e in bookings if s - pad < hi and lo < e + pad and s < e]
    spans.sort(key=itemgetter(0))
    starts: list[datetime] = []
    ends: list[datetime] = []
    for start, end in spans:
        if ends and start <= ends[-1]:
            if end > ends[-1]:
                ends[-1] = end
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


@dataclass(frozen=True)
class _Grid:
    """The slot grid of one working period: origin + k * step, sessions of length `dur`."""

    origin: datetime
    step: timedelta
    dur: timedelta

    def starts_within(self, lo: datetime, hi: datetime) -> Iterable[datetime]:
        """The grid starts s with lo <= s and s + dur <= hi (lo is never before the origin).

        The first and last grid index are computed, not searched for.
        """
        first = -((self.origin - lo) // self.step)
        last = (hi - self.dur - self.origin) // self.step
        if first > last:
            return ()
        return accumulate(repeat(self.step, last - first),
                          initial=self.origin + self.step * first)


def _period_starts(grid: _Grid, lo: datetime, hi: datetime, starts: list[datetime],
                   ends: list[datetime]) -> list[datetime]:
    """The grid starts within [lo, hi) that avoid every forbidden [starts[i], ends[i])."""
    found: list[datetime] = []
    i = bisect_right(ends, lo)
    cursor, dur = lo, grid.dur
    while i < len(starts) and starts[i] < hi:
        if starts[i] - cursor >= dur:
            found.extend(grid.starts_within(cursor, starts[i]))
        cursor = ends[i]
        i += 1
    if hi - cursor >= dur:
        found.extend(grid.starts_within(cursor, hi))
    return found


def free_starts(schedule: TherapistSchedule, window: Interval, blocked: Sequence[Interval],
                bookings: Sequence[Interval], not_before: datetime,
                duration: timedelta | None = None) -> list[datetime]:
    """Every free session start (aware UTC), ascending and without duplicates.

    `duration` defaults to the schedule's session length. `blocked` and `bookings` may be
    unsorted and overlapping: they are merged once, then each working period is swept and
    each free piece yields its grid starts arithmetically.
    """
    dur = duration if duration is not None else timedelta(minutes=schedule.session_minutes)
    lo, hi = max(window.start, not_before), window.end
    if dur <= _ZERO or hi - lo < dur:
        return []
    pad = timedelta(minutes=schedule.buffer_minutes)
    starts, ends = _forbidden(blocked, bookings, pad, lo, hi)
    step = timedelta(minutes=schedule.slot_step_minutes)
    periods = working_intervals(schedule.tz, schedule.working_hours, Interval(lo, hi))
    found: list[datetime] = []
    for period in periods:
        start, end = max(period.start, lo), min(period.end, hi)
        if end - start >= dur:
            found += _period_starts(_Grid(period.start, step, dur), start, end, starts, ends)
    # Disjoint periods yield ascending, distinct starts; overlapping ones need a clean-up.
    disjoint = all(a.end <= b.start for a, b in zip(periods, periods[1:], strict=False))
    return found if disjoint else sorted(set(found))


def working_period_containing(schedule: TherapistSchedule,
                              session: Interval) -> Interval | None:
    """The working period (UTC) that wholly contains `session`, or None."""
    for period in working_intervals(schedule.tz, schedule.working_hours, session):
        if contains(period, session):
            return period
    return None


def check_bookable(schedule: TherapistSchedule, kind: str, window: Interval, start: datetime,
                   duration: timedelta, now: datetime, notice: timedelta) -> Interval:
    """The session [start, start + duration) if the rules of time allow booking it.

    Raises, in this order: TooSoon (start before now + notice), OutsideWindow (not wholly
    inside the kind's window), OutsideWorkingHours (no single working period holds it).
    Off-grid starts are allowed. Freedom is checked separately (check_therapist_free).
    """
    session = Interval.of(start, start + duration)
    if start < now + notice:
        raise TooSoon(start, now + notice)
    if not contains(window, session):
        raise OutsideWindow(kind, start, window)
    if working_period_containing(schedule, session) is None:
        raise OutsideWorkingHours(schedule.therapist_id, session.start, session.end)
    return session


def check_therapist_free(schedule: TherapistSchedule, session: Interval,
                         blocked: Sequence[Interval], bookings: Sequence[Interval]) -> None:
    """Raise SlotTaken if `session` overlaps a blocked interval, or a booking widened by
    `buffer_minutes` on both sides."""
    pad = timedelta(minutes=schedule.buffer_minutes)
    taken = any(overlaps(session, b) for b in blocked) or any(
        overlaps(session, Interval(b.start - pad, b.end + pad)) for b in bookings)
    if taken:
        raise SlotTaken(schedule.therapist_id, session.start)


def check_athlete_free(athlete_id: int, session: Interval,
                       athlete_busy: Sequence[Interval]) -> None:
    """Raise AthleteBusy if `session` overlaps any of the athlete's own commitments."""
    if any(overlaps(session, busy) for busy in athlete_busy):
        raise AthleteBusy(athlete_id, session.start)
