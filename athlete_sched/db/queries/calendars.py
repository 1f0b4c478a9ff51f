"""Calendars: a therapist's busy calendars (the uploaded export, subscriptions by URL) with
the busy intervals each brought in, and the secret tokens of calendar feeds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, insert, select

from ...extensions import db
from ..models import Athlete, BusyCalendar, BusyInterval, CalendarFeed, Team, Therapist

UPLOAD, URL = "upload", "url"

# --- busy calendars ---------------------------------------------------------------------------


def upload_of(therapist_id: int, *, lock: bool = False) -> BusyCalendar | None:
    """The therapist's upload calendar, if any (locked for the transaction with `lock`)."""
    query = select(BusyCalendar).where(BusyCalendar.therapist_id == therapist_id,
                                       BusyCalendar.kind == UPLOAD)
    return db.session.scalar(query.with_for_update() if lock else query)


def subscriptions(therapist_id: int) -> list[BusyCalendar]:
    return list(db.session.scalars(
        select(BusyCalendar).where(BusyCalendar.therapist_id == therapist_id,
                                   BusyCalendar.kind == URL).order_by(BusyCalendar.id)))


def locked(calendar_id: int) -> BusyCalendar | None:
    """The calendar, read afresh and locked for the rest of the transaction."""
    return db.session.get(BusyCalendar, calendar_id, with_for_update=True,
                          populate_existing=True)


def due_subscriptions(at: datetime, everything: bool = False
                      ) -> list[tuple[BusyCalendar, str]]:
    """The subscriptions due at `at` (all of them with `everything`), oldest due first,
    each with its therapist's time zone."""
    query = (select(BusyCalendar, Therapist.timezone)
             .join(Therapist, Therapist.id == BusyCalendar.therapist_id)
             .where(BusyCalendar.kind == URL).order_by(BusyCalendar.due_at, BusyCalendar.id))
    if not everything:
        query = query.where(BusyCalendar.due_at <= at)
    return [(calendar, zone) for calendar, zone in db.session.execute(query).all()]


def replace_busy_intervals(calendar: BusyCalendar, rows: Sequence[dict]) -> None:
    """Replace the calendar's busy intervals with `rows` (therapist_id, start, end, source,
    calendar_id), as one unit of the caller's transaction."""
    db.session.execute(delete(BusyInterval).where(BusyInterval.calendar_id == calendar.id))
    if rows:
        db.session.execute(insert(BusyInterval), list(rows))


def delete_calendar(calendar: BusyCalendar) -> None:
    """Remove the calendar and the busy intervals it brought in."""
    db.session.execute(delete(BusyInterval).where(BusyInterval.calendar_id == calendar.id))
    db.session.delete(calendar)
    db.session.flush()


# --- feeds ------------------------------------------------------------------------------------

Owner = Therapist | Athlete | Team
_OWNER_COLUMNS = {Therapist: "therapist_id", Athlete: "athlete_id", Team: "team_id"}


def owner_column(owner: Owner) -> str:
    """The CalendarFeed column that names this kind of owner."""
    return _OWNER_COLUMNS[type(owner)]


def feed_of(owner: Owner) -> CalendarFeed | None:
    column = getattr(CalendarFeed, owner_column(owner))
    return db.session.scalar(select(CalendarFeed).where(column == owner.id))


def feed_by_token_hash(token_hash: str) -> CalendarFeed | None:
    """The feed whose token hashes to `token_hash` (the unique index finds it)."""
    return db.session.scalar(select(CalendarFeed)
                             .where(CalendarFeed.token_hash == token_hash))
