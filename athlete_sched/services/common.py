"""Conversions between stored rows and the core's values, and the clinic's policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app

from ..core.availability import TherapistSchedule, WorkingPeriod
from ..core.courses import course_window
from ..core.intervals import Interval
from ..core.windows import EventTiming, event_windows, local_midnight
from ..core.zones import load_zone
from ..db.models import Event, Therapist
from ..db.queries import HoursRow, TherapistRow

# The largest id an id column holds (PostgreSQL `integer`); larger ids cannot exist.
MAX_ID = 2**31 - 1
# The years an input date may fall in: wide enough for any season, narrow enough that
# every window and local-day computation stays inside what `datetime` can represent.
FIRST_YEAR, LAST_YEAR = 1970, 2999


@dataclass(frozen=True)
class Policy:
    recovery_gap: timedelta
    notice: timedelta


def policy() -> Policy:
    config = current_app.config
    return Policy(recovery_gap=timedelta(minutes=config["RECOVERY_GAP_MINUTES"]),
                  notice=timedelta(minutes=config["BOOKING_NOTICE_MINUTES"]))


def now() -> datetime:
    """The clock of the shell. FROZEN_NOW (ISO 8601, testing and demos only) pins it."""
    frozen = current_app.config.get("FROZEN_NOW")
    if frozen:
        value = frozen if isinstance(frozen, datetime) else datetime.fromisoformat(frozen)
        return value.astimezone(UTC)
    return datetime.now(UTC)


def stamp() -> datetime:
    """When a record is written: the real clock, whole seconds (FROZEN_NOW pins the clock
    the scheduling rules read, not this; an invite's DTSTAMP must move on every change)."""
    return datetime.now(UTC).replace(microsecond=0)


def localize(value: date | datetime, tz: ZoneInfo) -> datetime:
    """An input instant: aware stays as it is; naive is wall-clock in `tz`; a bare date is
    local midnight. Always returns aware UTC."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=tz)
        return aware.astimezone(UTC)
    return local_midnight(value, tz)


def clock_of(minutes: int) -> time:
    return time.max if minutes >= 1440 else time(minutes // 60, minutes % 60)


def schedule_of(therapist: Therapist | TherapistRow) -> TherapistSchedule:
    """The core's schedule of a therapist (a model or a plain row)."""
    if isinstance(therapist, TherapistRow):
        return _schedule(therapist)
    hours = tuple(HoursRow(p.day, p.start_minute, p.end_minute)
                  for p in therapist.working_hours)
    return _schedule(TherapistRow(therapist.id, therapist.timezone, therapist.session_minutes,
                                  therapist.buffer_minutes, therapist.slot_step_minutes, hours))


@lru_cache(maxsize=4096)
def _schedule(row: TherapistRow) -> TherapistSchedule:
    """Memoized on the row's values (a schedule is an immutable value): a proposals request
    needs every therapist's, and the schedule keeps its weekday table worked out."""
    periods = tuple(WorkingPeriod(p.day, clock_of(p.start_minute), clock_of(p.end_minute))
                    for p in row.working_hours)
    return TherapistSchedule(
        therapist_id=row.id, tz=load_zone(row.timezone), working_hours=periods,
        session_minutes=row.session_minutes, buffer_minutes=row.buffer_minutes,
        slot_step_minutes=row.slot_step_minutes)


def timing_of(event: Event) -> EventTiming:
    tz = load_zone(event.timezone)
    start: date | datetime = (event.start.astimezone(tz).date() if event.start_is_date
                              else event.start)
    end: date | datetime | None = event.end
    if event.end is not None and event.end_is_date:
        end = event.end.astimezone(tz).date()
    return EventTiming(tz=tz, start=start, end=end)


def windows_of(event: Event):
    return event_windows(timing_of(event), policy().recovery_gap)


# How far ahead a tune-up may be booked (as far as imported calendars are expanded).
TUNE_UP_HORIZON = timedelta(days=400)


def window_for(event: Event | None, kind: str) -> Interval:
    """Where a session of `kind` for the event must lie: its pre or post window; for a
    course session the weeks before the pre window (core/courses.py); a tune-up (no event)
    any time from now on, within TUNE_UP_HORIZON (the season rules place it further)."""
    if kind == "tune-up" or event is None:
        at = now()
        return Interval(at, at + TUNE_UP_HORIZON)
    if kind == "course":
        return course_window(timing_of(event))
    windows = windows_of(event)
    return windows.pre if kind == "pre" else windows.post
