"""Bookings: lists and lookups, an athlete's sessions near some spans (a tuned read of the
season rules), and the flush that turns the database's own refusals into the same domain
errors as the guard's (db/guard.py). The rows a calendar feed is built from: feeds.py."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import ColumnElement, Select, bindparam, exists, select
from sqlalchemy.exc import IntegrityError

from ...core.errors import AlreadyBooked, AthleteBusy, SlotTaken
from ...core.intervals import Interval
from ...core.kinds import OTHER_WINDOW
from ...core.season import Session
from ...extensions import db
from ..models import Booking
from .spans import indexed, span_params, touching

# SQLite may otherwise read an athlete's bookings through the partial unique index (it
# holds status = 'confirmed'), every one of them, instead of the range on `end` (seen in
# bench/bookings.py: 0.77x instead of 0.89x).
ATHLETE_END_INDEX = "ix_booking_athlete_end"


@cache
def _athlete_sessions_statement(spans: int) -> Select:
    return indexed(select(Booking.event_id, Booking.kind, Booking.start, Booking.end,
                          Booking.shared_event_id, Booking.athlete_id).where(
        Booking.athlete_id.in_(bindparam("athlete_ids", expanding=True)),
        Booking.status == "confirmed",
        Booking.end < bindparam("reach"), *touching(Booking.start, Booking.end, spans)),
        Booking, ATHLETE_END_INDEX)


def athletes_sessions_in(athlete_ids: Sequence[int], spans: Sequence[Interval]
                         ) -> dict[int, list[Session]]:
    """Each athlete's confirmed sessions that overlap any of `spans` (core/season.py's
    Session: event, kind, interval), in one query; a session shared by two events comes
    twice, once for each (the core reads entries with the same interval as one session)."""
    params = {"athlete_ids": list(athlete_ids), **span_params(spans)}
    statement = _athlete_sessions_statement(len(spans))
    found: dict[int, list[Session]] = defaultdict(list)
    for event_id, kind, start, end, shared_event_id, athlete_id in \
            db.session.connection().execute(statement, params).all():
        found[athlete_id].append(Session(event_id, kind, Interval(start, end)))
        if shared_event_id is not None:
            found[athlete_id].append(
                Session(shared_event_id, OTHER_WINDOW[kind], Interval(start, end)))
    return found


def athlete_sessions_in(athlete_id: int, spans: Sequence[Interval]) -> list[Session]:
    """athletes_sessions_in for one athlete."""
    return athletes_sessions_in([athlete_id], spans).get(athlete_id, [])


def athlete_bookings_between(athlete_id: int, span: Interval) -> list[Booking]:
    """The athlete's confirmed bookings that overlap `span`, by start."""
    return list(db.session.scalars(indexed(select(Booking).where(
        Booking.athlete_id == athlete_id, Booking.status == "confirmed",
        Booking.end > span.start, Booking.start < span.end), Booking, ATHLETE_END_INDEX
    ).order_by(Booking.start, Booking.id)))


def confirmed(athlete_id: int, event_id: int, kind: str) -> Booking | None:
    """The athlete's confirmed booking of this kind for the event, if any: read through the
    event's bookings (a few), not the athlete's (their whole history)."""
    return db.session.scalars(indexed(select(Booking).where(
        Booking.athlete_id == athlete_id, Booking.event_id == event_id, Booking.kind == kind,
        Booking.status == "confirmed"), Booking, "ix_booking_event").limit(1)).first()


def booked_athletes(event_id: int) -> set[int]:
    """The athletes with a confirmed session of this event."""
    return set(db.session.scalars(select(Booking.athlete_id).where(
        Booking.event_id == event_id, Booking.status == "confirmed")))


def exists_between(therapist_id: int, athlete_id: int, confirmed_only: bool = False) -> bool:
    """Whether the therapist has (or, unless `confirmed_only`, had) a booking with the
    athlete."""
    where = [Booking.therapist_id == therapist_id, Booking.athlete_id == athlete_id]
    if confirmed_only:
        where.append(Booking.status == "confirmed")
    return bool(db.session.scalar(select(exists().where(*where))))


# --- lists ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filter:
    """Which bookings a list holds. `visible_to_*`: the caller's scope (None: no limit);
    the others: what the caller asked for. Times: the booking overlaps [from, to)."""

    visible_to_therapists: Collection[int] | None = None
    visible_to_athletes: Collection[int] | None = None
    athlete_id: int | None = None
    therapist_id: int | None = None
    event_id: int | None = None
    status: str | None = None
    ends_after: datetime | None = None
    starts_before: datetime | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.visible_to_therapists is not None:
            found.append(Booking.therapist_id.in_(sorted(self.visible_to_therapists)))
        if self.visible_to_athletes is not None:
            found.append(Booking.athlete_id.in_(sorted(self.visible_to_athletes)))
        for name in ("athlete_id", "therapist_id", "event_id", "status"):
            if getattr(self, name) is not None:
                found.append(getattr(Booking, name) == getattr(self, name))
        if self.ends_after is not None:
            found.append(Booking.end > self.ends_after)
        if self.starts_before is not None:
            found.append(Booking.start < self.starts_before)
        return found


def page(where: Filter, after_id: int, limit: int) -> list[Booking]:
    """Up to `limit` bookings after `after_id` that pass `where`, by id."""
    return list(db.session.scalars(select(Booking).where(*where.clauses(), Booking.id > after_id)
                                   .order_by(Booking.id).limit(limit)))


def listed(where: Filter, by_start: bool = True) -> list[Booking]:
    """Every booking that passes `where`, by start (or by id)."""
    order = (Booking.start, Booking.id) if by_start else (Booking.id,)
    return list(db.session.scalars(select(Booking).where(*where.clauses()).order_by(*order)))


# --- writing ------------------------------------------------------------------------------------

def flush_guarded(booking: Booking) -> None:
    """Flush; a constraint the database enforces by itself (a concurrent writer got past
    the guard's check) becomes the guard's own domain error."""
    try:
        db.session.flush()
    except IntegrityError as exc:
        text = str(exc.orig)
        if "athlete_overlap" in text:
            raise AthleteBusy(booking.athlete_id, booking.start) from None
        if "one_confirmed_per_kind" in text or "booking.athlete_id, booking.event_id" in text:
            raise AlreadyBooked(booking.athlete_id, booking.event_id, booking.kind) from None
        if "therapist_overlap" in text:
            raise SlotTaken(booking.therapist_id, booking.start) from None
        raise
