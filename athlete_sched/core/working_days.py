"""One-day changes of a therapist's working hours: a local date with its own working
periods (a race-weekend shift, a short day), or closed, in place of that weekday's weekly
periods.

A working day is a value: its date and its local wall-clock periods (none: closed that
day). On that date, and only on it, availability (core/availability.py) reads these
periods instead of the weekly ones, the same way: local wall-clock, so a 09:00 start is
09:00 local on a daylight-saving day too. Periods of one day are sorted and must not
overlap; each ends after it starts, on the same day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, time
from functools import lru_cache

from .errors import InvalidPeriod, InvalidValue

Hours = tuple[tuple[time, time], ...]
DayTable = Mapping[date, Hours]


class OverlappingPeriods(InvalidValue):
    code = "overlapping-periods"

    def __init__(self, day: date) -> None:
        super().__init__(f"the working periods of {day.isoformat()} overlap", field="periods",
                         day=day)


class NoPeriods(InvalidValue):
    code = "no-periods"

    def __init__(self, day: date) -> None:
        super().__init__(f"give {day.isoformat()} at least one working period, or mark it "
                         f"closed", field="periods", day=day)


@dataclass(frozen=True)
class WorkingDay:
    """The working periods of one local `day` in place of the weekly ones: naive
    wall-clock (start, end) pairs, sorted, disjoint, each start < end. No period: closed."""

    day: date
    periods: Hours = ()
    site_id: int | None = None  # where the periods are; None: the therapist's own site

    def __post_init__(self) -> None:
        for start, end in self.periods:
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("working hours are local wall-clock times without a zone")
            if not end > start:
                raise InvalidPeriod(start, end, field="periods")
        ordered = sorted(self.periods)
        if any(after[0] < before[1] for before, after in zip(ordered, ordered[1:],
                                                             strict=False)):
            raise OverlappingPeriods(self.day)
        object.__setattr__(self, "periods", tuple(ordered))

    @property
    def closed(self) -> bool:
        return not self.periods


def working_day(day: date, closed: bool, periods: Iterable[tuple[time, time]],
                site_id: int | None = None) -> WorkingDay:
    """The working day as a person states it: closed (no periods may be given), or open
    with at least one period."""
    found = tuple(periods)
    if closed and found:
        raise InvalidValue("a closed day has no working periods: remove them, or do not "
                           "mark the day closed", field="closed")
    if not closed and not found:
        raise NoPeriods(day)
    return WorkingDay(day, found, None if closed else site_id)


@lru_cache(maxsize=4096)
def day_table(days: tuple[WorkingDay, ...]) -> DayTable:
    """Local date -> that day's wall-clock periods (folds cleared, as the weekly hours are
    read: fold=0). Memoized: a value of values."""
    return {d.day: tuple((s.replace(fold=0), e.replace(fold=0)) for s, e in d.periods)
            for d in days}
