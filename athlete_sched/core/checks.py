"""The rules of time a booking must pass, before its conflicts are asked of the database
(db/guard.py): enough notice, inside the kind's window, inside one working period of the
therapist (local wall-clock, availability.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from .availability import TherapistSchedule, working_intervals
from .errors import OutsideWindow, OutsideWorkingHours, TooSoon
from .intervals import Interval, contains


def working_period_containing(schedule: TherapistSchedule,
                              session: Interval) -> Interval | None:
    """The working period (UTC) that wholly contains `session`, or None (the day's own
    periods on a date with a one-day change)."""
    for period in working_intervals(schedule.tz, schedule.working_hours, session,
                                    schedule.working_days):
        if contains(period, session):
            return period
    return None


def session_site(schedule: TherapistSchedule, session: Interval) -> tuple[bool, int | None]:
    """(True, the site) of the working period that wholly holds `session`, or (False, None)
    when none does (core/sites.py: a period is at its own site or the therapist's)."""
    for site, at_site in schedule.by_site.items():
        if working_period_containing(at_site, session) is not None:
            return True, site
    return False, None


def check_bookable(schedule: TherapistSchedule, kind: str, window: Interval, start: datetime,
                   duration: timedelta, now: datetime, notice: timedelta) -> Interval:
    """The session [start, start + duration) if the rules of time allow booking it.

    Raises, in this order: TooSoon (start before now + notice), OutsideWindow (not wholly
    inside the kind's window), OutsideWorkingHours (no single working period holds it).
    Off-grid starts are allowed. Whether the therapist and the athlete are free is the
    booking guard's question (db/guard.py), asked of the database.
    """
    session = Interval.of(start, start + duration)
    if start < now + notice:
        raise TooSoon(start, now + notice)
    if not contains(window, session):
        raise OutsideWindow(kind, start, window)
    if working_period_containing(schedule, session) is None:
        raise OutsideWorkingHours(schedule.therapist_id, session.start, session.end)
    return session
