"""Race calendars (issue 15): an athlete's uploaded race calendar or subscription
(race_calendar), the events each brought in (keyed by event.calendar_uid), and the
subscriptions due for a sync."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import exists, select, update

from ...extensions import db
from ..models import Athlete, Booking, Event, RaceCalendar

UPLOAD, URL = "upload", "url"


def of_athlete(athlete_id: int, kind: str, *, lock: bool = False) -> RaceCalendar | None:
    """The athlete's race calendar of `kind` (upload or url), locked with `lock`."""
    query = select(RaceCalendar).where(RaceCalendar.athlete_id == athlete_id,
                                       RaceCalendar.kind == kind).order_by(RaceCalendar.id)
    return db.session.scalars(query.with_for_update() if lock else query).first()


def locked(calendar_id: int) -> RaceCalendar | None:
    """The calendar, read afresh and locked for the rest of the transaction."""
    return db.session.get(RaceCalendar, calendar_id, with_for_update=True,
                          populate_existing=True)


def calendar_events(athlete_id: int) -> dict[str, Event]:
    """The athlete's events that came from a race calendar, by UID."""
    found = db.session.scalars(select(Event).where(Event.athlete_id == athlete_id,
                                                   Event.calendar_uid.is_not(None)))
    return {e.calendar_uid: e for e in found if e.calendar_uid is not None}


def has_bookings(event_id: int) -> bool:
    """Whether any session (confirmed or cancelled) was ever booked for the event."""
    return bool(db.session.scalar(select(exists().where(Booking.event_id == event_id))))


def due(at: datetime) -> list[int]:
    """The ids of the subscriptions due at `at`, oldest due first."""
    return list(db.session.scalars(
        select(RaceCalendar.id).where(RaceCalendar.kind == URL, RaceCalendar.due_at <= at)
        .order_by(RaceCalendar.due_at, RaceCalendar.id)))


def claim(calendar_id: int, at: datetime, until: datetime) -> bool:
    """Take the subscription for a sync if it is still due at `at`: its due time moves to
    `until` (a lease: if this worker dies, it is due again then). False if another worker
    took it first (the UPDATE's WHERE re-checks the due time under the row lock)."""
    taken = db.session.execute(
        update(RaceCalendar).where(RaceCalendar.id == calendar_id,
                                   RaceCalendar.due_at <= at)
        .values(due_at=until).execution_options(synchronize_session=False))
    return taken.rowcount == 1


def athlete_locked(athlete_id: int) -> Athlete | None:
    """The athlete, locked for the rest of the transaction (one import at a time)."""
    return db.session.get(Athlete, athlete_id, with_for_update=True)


def athlete_of(calendar: RaceCalendar) -> Athlete:
    return db.session.get_one(Athlete, calendar.athlete_id)


@contextmanager
def savepoint() -> Iterator[None]:
    """A savepoint: what the block wrote is undone if it raises (the error goes on)."""
    with db.session.begin_nested():
        yield
