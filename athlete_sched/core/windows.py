"""The domain's pre and post windows around an event (a race or a ride).

From the domain notes, read as calendar days in the event's time zone, for an event that
starts on local day D and ends on local day E:

- pre window: local 00:00 of D-3 to local 00:00 of D-1 (the whole of days D-3 and D-2);
- post window: the finish plus a recovery gap when the finish time is known (the end is a
  date-time), otherwise local 00:00 of E+1; it runs to local 00:00 of E+4.

Days are local, so a window that spans a daylight-saving change holds a 23- or 25-hour day.
Every instant returned is an aware datetime in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from .errors import InvalidPeriod
from .intervals import Interval
from .memo import Memo

DEFAULT_RECOVERY_GAP = timedelta(minutes=60)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant at which local `day` begins in `tz` (local 00:00).

    zoneinfo's fold=0 reading is used. Where 00:00 does not exist (a zone that springs
    forward at midnight) it maps to the instant the day actually begins; where 00:00 occurs
    twice (falling back at midnight) it is the first occurrence. Either way the result is
    the first instant of the local day.
    """
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def _local_day(value: date | datetime, tz: ZoneInfo) -> date:
    """The local calendar day of a date (itself) or of an aware datetime (in `tz`)."""
    if isinstance(value, datetime):
        return value.astimezone(tz).date()
    return value


def _require_aware(value: date | datetime | None, name: str) -> None:
    """Raise ValueError for a naive datetime: its instant would depend on a guess."""
    if isinstance(value, datetime) and value.utcoffset() is None:
        raise ValueError(f"{name} must be a date or an aware datetime, not a naive datetime")


@dataclass(frozen=True)
class EventTiming:
    """When an event happens: `start` and optional `end`, each a date (all-day) or an aware
    datetime, read in the event's zone `tz`.

    A multi-day stage race ends on its last day. A finish time is known only when `end` is
    a datetime. Raises ValueError for a naive datetime and InvalidPeriod when the end comes
    before the start (two datetimes: the end must be strictly after the start; otherwise
    the local days are compared and the end may fall on the start's day).
    """

    tz: ZoneInfo
    start: date | datetime
    end: date | datetime | None = None

    def __post_init__(self) -> None:
        _require_aware(self.start, "start")
        _require_aware(self.end, "end")
        if self.end is None:
            return
        if isinstance(self.start, datetime) and isinstance(self.end, datetime):
            reversed_ = self.end <= self.start
        else:
            reversed_ = self.last_day < self.first_day
        if reversed_:
            raise InvalidPeriod(self.start, self.end, field="end")

    @property
    def first_day(self) -> date:
        """D: the local calendar day on which the event starts."""
        return _local_day(self.start, self.tz)

    @property
    def last_day(self) -> date:
        """E: the local calendar day on which the event ends (D when there is no end)."""
        return self.first_day if self.end is None else _local_day(self.end, self.tz)

    @property
    def finish(self) -> datetime | None:
        """The finish instant in UTC, known only when `end` is a datetime."""
        return self.end.astimezone(UTC) if isinstance(self.end, datetime) else None

    @property
    def start_instant(self) -> datetime:
        """The start in UTC; for an all-day start, local 00:00 of D."""
        if isinstance(self.start, datetime):
            return self.start.astimezone(UTC)
        return local_midnight(self.start, self.tz)


@dataclass(frozen=True)
class Windows:
    """The two windows of an event, as half-open UTC intervals."""

    pre: Interval
    post: Interval


def event_windows(timing: EventTiming,
                  recovery_gap: timedelta = DEFAULT_RECOVERY_GAP) -> Windows:
    """The pre and post windows of an event (see the module docstring for the rule).

    Raises InvalidPeriod if the recovery gap is so long that the post window would be empty.
    Memoized (`_WINDOWS`): a proposals request asks for one event's windows several times,
    and requests ask about the same events.
    """
    key = (timing, recovery_gap, getattr(timing.start, "fold", 0),
           getattr(timing.end, "fold", 0))
    found = _WINDOWS.get(key)
    if found is None:
        found = _WINDOWS.keep(key, _event_windows(timing, recovery_gap))
    return found


# Keyed with the folds as well: two datetimes of one zone that differ only in `fold` (a
# repeated local hour) are equal, an hour apart. Emptied when full.
_WINDOWS: Memo[tuple, Windows] = Memo(8_192)


def _event_windows(timing: EventTiming, recovery_gap: timedelta) -> Windows:
    first, last, tz = timing.first_day, timing.last_day, timing.tz
    pre = Interval.of(local_midnight(first - timedelta(days=3), tz),
                      local_midnight(first - timedelta(days=1), tz))
    finish = timing.finish
    post_start = (finish + recovery_gap if finish is not None
                  else local_midnight(last + timedelta(days=1), tz))
    post = Interval.of(post_start, local_midnight(last + timedelta(days=4), tz))
    return Windows(pre=pre, post=post)


def event_span(timing: EventTiming) -> Interval:
    """The instants the event itself occupies: from its start to its finish when known,
    otherwise to the end of its last local day (local 00:00 of E+1)."""
    end = timing.finish
    if end is None:
        end = local_midnight(timing.last_day + timedelta(days=1), timing.tz)
    return Interval(timing.start_instant, end)
