"""What a booking attempt needs to learn that it lost the race for a slot, in one statement
(services/lost_races.py): the event with its athlete's home site, the athlete's screening
decision, the clinic's saved settings, the schedules' commit counter, and whether a
committed confirmed booking already refuses the claim.

`taken` is a read of the guard's first two rules (db/guard.py), narrowed so that it never
says more than the guard would: 'already-booked' is the guard's SAME_KIND exactly;
'slot-taken' needs a confirmed booking of the therapist that holds the start instant
itself (b.start <= start < b.end), which any session starting then overlaps, whatever its
length and the buffer. A claim this read finds free still goes to the guard, which
decides for every booking that gets its slot.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import NamedTuple

from sqlalchemy import Select, and_, bindparam, case, exists, select

from ...extensions import db
from ..models import Booking, ClinicSettings, Event, ScheduleVersion, Screening
from ..types import UTCDateTime
from . import MAX_BOOKING_SPAN
from .rows import MAX_ID
from .spans import indexed

SETTINGS_ROW = 1  # clinic_settings has one row at most (CHECK id = 1)


class RaceEvent(NamedTuple):
    """The event as the rules of a booking read it (the attributes of db.models.Event that
    core timing, windows and sites take)."""

    id: int
    athlete_id: int | None
    team_id: int | None
    timezone: str
    start: datetime
    start_is_date: bool
    end: datetime | None
    end_is_date: bool
    venue_site_id: int | None
    travel_depart: datetime | None
    travel_return: datetime | None
    athlete_home_site_id: int | None


class RaceContext(NamedTuple):
    event: RaceEvent
    decision: str | None  # the athlete's recorded screening decision (None: none)
    settings: dict[str, object]  # the clinic's saved settings, NULL columns left out
    schedule_version: int
    taken: str | None  # 'already-booked', 'slot-taken' or None (see the module doc)


EVENT_COLUMNS = (Event.id, Event.athlete_id, Event.team_id, Event.timezone, Event.start,
                 Event.start_is_date, Event.end, Event.end_is_date, Event.venue_site_id,
                 Event.travel_depart, Event.travel_return, Event.athlete_home_site_id)
SETTINGS = ("clinic_name", "booking_notice_minutes", "cancel_notice_hours",
            "recovery_gap_minutes")


@cache
def _statement() -> Select:
    start = bindparam("start", type_=UTCDateTime)
    same_kind = exists().where(
        Booking.athlete_id == Event.athlete_id, Booking.event_id == Event.id,
        Booking.kind == bindparam("kind"), Booking.status == "confirmed")
    # Along (therapist_id, block_end): a booking holding `start` has block_end >= end >
    # start, and block_end <= its start + MAX_BOOKING_SPAN <= :reach (migration 0002).
    holding = indexed(select(Booking.id).where(
        Booking.therapist_id == bindparam("therapist_id"), Booking.status == "confirmed",
        Booking.block_end > start, Booking.block_end <= bindparam("reach", type_=UTCDateTime),
        Booking.start <= start, Booking.end > start), Booking,
        "ix_booking_therapist_block_end").exists()
    taken = case((same_kind, "already-booked"), (holding, "slot-taken"))
    decision = (select(Screening.decision).where(Screening.athlete_id == Event.athlete_id)
                .scalar_subquery())
    version = select(ScheduleVersion.n).where(ScheduleVersion.id == 1).scalar_subquery()
    saved = [getattr(ClinicSettings, name) for name in SETTINGS]
    return (select(*EVENT_COLUMNS, decision, *saved, version, taken)
            .outerjoin(ClinicSettings, and_(ClinicSettings.id == SETTINGS_ROW))
            .where(Event.id == bindparam("event_id")))


def race_context(event_id: int, therapist_id: int, kind: str,
                 start: datetime) -> RaceContext | None:
    """The booking attempt's context (see the module doc), or None when the event does not
    exist (or an id no column can hold)."""
    if not (0 < event_id <= MAX_ID and 0 < therapist_id <= MAX_ID):
        return None
    row = db.session.connection().execute(_statement(), {
        "event_id": event_id, "therapist_id": therapist_id, "kind": kind, "start": start,
        "reach": start + MAX_BOOKING_SPAN}).first()
    if row is None:
        return None
    n = len(EVENT_COLUMNS)
    saved = row[n + 1:n + 1 + len(SETTINGS)]
    return RaceContext(RaceEvent(*row[:n]), row[n],
                       {k: v for k, v in zip(SETTINGS, saved, strict=True) if v is not None},
                       row[-2], row[-1])
