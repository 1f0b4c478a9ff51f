"""When a reminder and a check-in are due (domain.md, "Reminders and check-ins").

- **Reminder**: at `hour`:00 local time (the athlete's zone) on the local day before the
  session's local day (the session's day read in the athlete's zone too). It goes out only
  before the session starts, and not at all when the booking was written (booked or
  moved) after that instant: the invitation or the update has just told the athlete.
- **Check-in** (recovery sessions only): at `hour`:00 local time on the second local day
  after the session's day; it goes out only within CHECK_IN_LATENESS of that instant (a
  worker that was down for days sends no stale check-ins).

A wall-clock `hour` that a daylight-saving change skips (02:00 on a spring-forward night)
is read with zoneinfo's fold=0, which lands on the instant after the gap; one that occurs
twice is its first occurrence.

The reads (db/queries/reminders.py) find candidates by a range of session starts around
`now` (`reminder_starts`, `check_in_starts`), wide enough for every zone and hour; which
of them are due is decided here, from each athlete's zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .intervals import Interval

DAY = timedelta(days=1)
CHECK_IN_LATENESS = DAY  # a check-in not sent within this of its instant is dropped
# More than any daylight-saving shift or zone rule change of a day (at most 2 hours in
# the tz database since 1970), so the candidate ranges below never miss a session.
SLACK = timedelta(hours=3)


def local_instant(day: date, hour: int, tz: ZoneInfo) -> datetime:
    """The UTC instant of `hour`:00 on local `day` in `tz` (fold=0: see the module doc)."""
    return datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)


def session_day(start: datetime, tz: ZoneInfo) -> date:
    """The local day a session starting at `start` (aware) falls on in `tz`."""
    return start.astimezone(tz).date()


def reminder_due(start: datetime, tz: ZoneInfo, hour: int) -> datetime:
    """When the reminder of a session starting at `start` is due: `hour`:00 in `tz` on the
    local day before the session's."""
    return local_instant(session_day(start, tz) - DAY, hour, tz)


def check_in_due(start: datetime, tz: ZoneInfo, hour: int) -> datetime:
    """When the check-in after a recovery session starting at `start` is due: `hour`:00
    in `tz` on the second local day after the session's."""
    return local_instant(session_day(start, tz) + 2 * DAY, hour, tz)


def reminder_is_due(start: datetime, written: datetime, tz: ZoneInfo, hour: int,
                    now: datetime) -> bool:
    """Whether a confirmed session's reminder goes out at `now`: due, the session not yet
    started, and the booking not written (booked, moved) after the due instant."""
    due = reminder_due(start, tz, hour)
    return due <= now < start and written <= due


def check_in_is_due(start: datetime, tz: ZoneInfo, hour: int, now: datetime) -> bool:
    """Whether a recovery session's check-in goes out at `now`: due, and not more than
    CHECK_IN_LATENESS late."""
    due = check_in_due(start, tz, hour)
    return due <= now < due + CHECK_IN_LATENESS


def reminder_starts(now: datetime, hour: int) -> Interval:
    """The session starts whose reminder can be due at `now` in some zone: [now, now +
    48 h - hour + SLACK). A session starts at most 48 h - hour after its reminder's instant
    (local 24:00 of its day, from `hour`:00 two days before), give or take a shift."""
    return Interval(now, now + 2 * DAY - timedelta(hours=hour) + SLACK)


def check_in_starts(now: datetime, hour: int) -> Interval:
    """The session starts whose check-in can be due at `now` in some zone: a check-in is
    due 24 h + hour to 48 h + hour after the session starts (give or take a shift), and is
    sent up to CHECK_IN_LATENESS after that."""
    lead = timedelta(hours=hour)
    return Interval(now - CHECK_IN_LATENESS - 2 * DAY - lead - SLACK,
                    now - DAY - lead + SLACK)


def notice_key(booking_id: int, start: datetime) -> str:
    """The key of a booking's notice about the session starting at `start` (sent_notice):
    a moved session has a new key, so its reminder is due again for the new start."""
    return f"booking:{booking_id}:{start.astimezone(UTC):%Y%m%dT%H%M%SZ}"
