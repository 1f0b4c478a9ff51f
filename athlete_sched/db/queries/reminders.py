"""What reminders and check-ins read (services/reminders.py): the confirmed sessions that
start in a range of instants, with what their messages say, and which notices of a list
were already queued.

The sessions are read by a range of ix_booking_block_end (block_end, start, row_version):
a session starting in [lo, hi) has lo < start < block_end and block_end <= start +
MAX_BOOKING_SPAN < hi + MAX_BOOKING_SPAN (the database refuses longer blocked ranges,
migration 0002), so the index is read between those bounds and `start` filtered in it;
only the rows in range are then read from booking, and each one's athlete, therapist and
event by primary key. Its cost follows the sessions of a few days, not the clinic's history
(tests/test_reminder_plans.py checks the plan on both backends, with and without
statistics). The notices already queued are looked up by their unique key (kind, key).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import Select, bindparam, select

from ...core.intervals import Interval
from ...extensions import db
from ..models import Athlete, Booking, Event, SentNotice, Therapist
from .spans import MAX_BOOKING_SPAN, indexed

BLOCK_END_INDEX = "ix_booking_block_end"
KEYS_PER_READ = 100  # notice keys looked up per statement (an index probe each)


@dataclass(frozen=True)
class Due:
    """A confirmed session and what its reminder or check-in says. `written`: when the
    booking was last written (booked, moved)."""

    booking_id: int
    kind: str
    start: datetime
    end: datetime
    written: datetime
    site_id: int | None
    athlete_id: int
    athlete_name: str
    athlete_email: str
    athlete_timezone: str
    therapist_name: str
    therapist_email: str
    therapist_timezone: str
    event_name: str | None  # None: a tune-up


@cache
def _statement() -> Select:
    """Sessions starting in [lo, hi), confirmed, of athletes who take reminders; bound: lo,
    hi, reach (= hi + MAX_BOOKING_SPAN). No condition on the kind: on PostgreSQL without
    statistics it made the planner read every confirmed session of that kind through the
    partial unique index (athlete, event, kind) instead of the range; callers filter."""
    where = [Booking.block_end > bindparam("lo"), Booking.block_end < bindparam("reach"),
             Booking.start >= bindparam("lo"), Booking.start < bindparam("hi"),
             Booking.status == "confirmed", Athlete.reminders.is_(True)]
    query = (select(Booking.id, Booking.kind, Booking.start, Booking.end, Booking.updated_at,
                    Booking.site_id, Athlete.id, Athlete.name, Athlete.email,
                    Athlete.timezone, Therapist.name, Therapist.email, Therapist.timezone,
                    Event.name)
             .select_from(Booking)
             .join(Athlete, Athlete.id == Booking.athlete_id)
             .join(Therapist, Therapist.id == Booking.therapist_id)
             .outerjoin(Event, Event.id == Booking.event_id)
             .where(*where).order_by(Booking.start, Booking.id))
    return indexed(query, Booking, BLOCK_END_INDEX)


def sessions_starting(starts: Interval) -> list[Due]:
    """The confirmed sessions starting in `starts` whose athlete takes reminders, earliest
    first."""
    params = {"lo": starts.start, "hi": starts.end, "reach": starts.end + MAX_BOOKING_SPAN}
    return [Due(*row) for row in
            db.session.connection().execute(_statement(), params).all()]


@cache
def _sent_statement() -> Select:
    return select(SentNotice.key).where(SentNotice.kind == bindparam("kind"),
                                        SentNotice.key.in_(bindparam("keys", expanding=True)))


def already_sent(kind: str, keys: Sequence[str]) -> set[str]:
    """Which of `keys` have a notice of `kind` recorded (committed, or this unit's)."""
    found: set[str] = set()
    connection = db.session.connection()
    for i in range(0, len(keys), KEYS_PER_READ):
        found.update(connection.execute(
            _sent_statement(), {"kind": kind, "keys": list(keys[i:i + KEYS_PER_READ])}
        ).scalars())
    return found
