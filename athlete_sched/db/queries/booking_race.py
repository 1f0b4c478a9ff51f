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
from typing import Any, NamedTuple

from sqlalchemy import Boolean, TextualSelect, bindparam, column, text

from ...extensions import db
from ..types import UTCDateTime
from . import MAX_BOOKING_SPAN
from .rows import MAX_ID


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


SETTINGS = ("clinic_name", "booking_notice_minutes", "cancel_notice_hours",
            "recovery_gap_minutes")
# A typed text statement, as db/guard.py's: SQLAlchemy only looks up its compiled form per
# call (a select of this size costs more to key than to run). The indexes each part reads:
# event, athlete, screening, schedule_version, clinic_settings by primary key; SAME_KIND
# as the guard's (the partial unique index, or ix_booking_event); the booking holding the
# start along (therapist_id, block_end): it has block_end >= end > start, and block_end <=
# its start + MAX_BOOKING_SPAN <= :reach (migration 0002). `{hint}`: SQLite reads that
# index whatever its statistics say (db/queries/spans.indexed).
RACE_SQL = f"""
SELECT e.id, e.athlete_id, e.team_id, e.timezone, e.start, e.start_is_date, e."end",
       e.end_is_date, e.venue_site_id, e.travel_depart, e.travel_return,
       (SELECT a.home_site_id FROM athlete a WHERE a.id = e.athlete_id) AS home_site_id,
       (SELECT s.decision FROM screening s WHERE s.athlete_id = e.athlete_id) AS decision,
       {", ".join(f"c.{name}" for name in SETTINGS)},
       (SELECT v.n FROM schedule_version v WHERE v.id = 1) AS schedule_version,
       CASE
         WHEN EXISTS (
           SELECT 1 FROM booking b
            WHERE b.athlete_id = e.athlete_id AND b.event_id = e.id AND b.kind = :kind
              AND b.status = 'confirmed')
         THEN 'already-booked'
         WHEN EXISTS (
           SELECT 1 FROM booking b {{hint}}
            WHERE b.therapist_id = :therapist_id AND b.status = 'confirmed'
              AND b.block_end > :start AND b.block_end <= :reach
              AND b.start <= :start AND b."end" > :start)
         THEN 'slot-taken'
       END AS taken
  FROM event e LEFT OUTER JOIN clinic_settings c ON c.id = 1
 WHERE e.id = :event_id
"""
# Every column in order, typed where a value needs converting: with all of them listed,
# SQLAlchemy keeps the result's description with the compiled statement (keyword types
# alone would match the columns by name again at every call).
COLUMNS = ("id", "athlete_id", "team_id", "timezone", "start", "start_is_date", "end",
           "end_is_date", "venue_site_id", "travel_depart", "travel_return", "home_site_id",
           "decision", *SETTINGS, "schedule_version", "taken")
TYPES: dict[str, Any] = {**dict.fromkeys(("start", "end", "travel_depart", "travel_return"),
                                         UTCDateTime()),
                         "start_is_date": Boolean(), "end_is_date": Boolean()}


@cache
def _statement(sqlite: bool) -> TextualSelect:
    hint = "INDEXED BY ix_booking_therapist_block_end" if sqlite else ""
    return (text(RACE_SQL.format(hint=hint))
            .bindparams(bindparam("start", type_=UTCDateTime),
                        bindparam("reach", type_=UTCDateTime))
            .columns(*(column(name, TYPES.get(name)) for name in COLUMNS)))


def race_context(event_id: int, therapist_id: int, kind: str,
                 start: datetime) -> RaceContext | None:
    """The booking attempt's context (see the module doc), or None when the event does not
    exist (or an id no column can hold)."""
    if not (0 < event_id <= MAX_ID and 0 < therapist_id <= MAX_ID):
        return None
    connection = db.session.connection()
    row = connection.execute(_statement(connection.dialect.name == "sqlite"), {
        "event_id": event_id, "therapist_id": therapist_id, "kind": kind, "start": start,
        "reach": start + MAX_BOOKING_SPAN}).first()
    if row is None:
        return None
    n = len(RaceEvent._fields)
    saved = row[n + 1:n + 1 + len(SETTINGS)]
    return RaceContext(RaceEvent(*row[:n]), row[n],
                       {k: v for k, v in zip(SETTINGS, saved, strict=True) if v is not None},
                       row[-2], row[-1])
