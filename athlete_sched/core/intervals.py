"""Half-open [start, end) intervals of aware UTC datetimes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from .errors import InvalidPeriod


class Interval(NamedTuple):
    """A half-open period: starts inclusive, stops exclusive.

    Both ends aware (UTC by convention).
    """

    start: datetime
    end: datetime

    @classmethod
    def of(cls, start: datetime, end: datetime) -> Interval:
        """Build an interval, raising InvalidPeriod if end is not after start."""
        if not end > start:
            raise InvalidPeriod(start, end)
        return cls(start, end)

    def __str__(self) -> str:
        return f"[{self.start:%Y-%m-%dT%H:%M:%SZ}, {self.end:%Y-%m-%dT%H:%M:%SZ})"


def overlaps(a: Interval, b: Interval) -> bool:
    """True when `a` and `b` share at least one instant.

    Half-open: [9:00, 10:00) and [10:00, 11:00) touch but do not overlap, and an empty
    interval (start == end) overlaps nothing.
    """
    return max(a.start, b.start) < min(a.end, b.end)


def contains(outer: Interval, inner: Interval) -> bool:
    """True when every instant of `inner` lies in `outer` (`outer.start <= inner.start` and
    `inner.end <= outer.end`); an interval contains itself."""
    return outer.start <= inner.start and inner.end <= outer.end


def pieces(interval: Interval, longest: timedelta) -> list[Interval]:
    """`interval` cut into consecutive pieces of at most `longest` each, from its start (the
    last one may be shorter): they touch, so together they hold exactly its instants. An
    empty interval has no pieces. Raises ValueError unless `longest` is positive."""
    if longest <= timedelta(0):
        raise ValueError(f"longest must be positive, not {longest!r}")
    start, end = interval
    found: list[Interval] = []
    while start < end:
        found.append(Interval(start, min(start + longest, end)))
        start = found[-1].end
    return found


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sort and coalesce: overlapping or touching intervals become one; empty ones are dropped.

    The result is sorted by start and its intervals are pairwise disjoint and non-touching.
    """
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i.start < i.end):
        if merged and start <= merged[-1].end:
            if end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, end)
        else:
            merged.append(Interval(start, end))
    return merged


def subtract(base: Sequence[Interval], cuts: Iterable[Interval]) -> list[Interval]:
    """The instants of `base` that lie in none of `cuts`, as sorted, disjoint intervals.

    `base` is merged first, so overlapping base intervals are fine; pieces left empty by a
    cut vanish, and a cut that only touches a base interval leaves it whole.
    """
    merged_cuts = merge(cuts)
    result: list[Interval] = []
    i = 0
    for start, end in merge(base):
        while i < len(merged_cuts) and merged_cuts[i].end <= start:
            i += 1
        cursor, j = start, i
        while j < len(merged_cuts) and merged_cuts[j].start < end:
            if merged_cuts[j].start > cursor:
                result.append(Interval(cursor, merged_cuts[j].start))
            cursor = max(cursor, merged_cuts[j].end)
            j += 1
        if cursor < end:
            result.append(Interval(cursor, end))
    return result
