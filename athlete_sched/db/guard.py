"""The booking guard: every conflict rule of a booking, checked in one statement.

A booking that passed the rules of time (notice, window, working hours; the core's
`check_bookable`) may still collide with what is already stored. `check` asks the database
once, inside the write transaction, and raises the first rule that refuses, in the
contract's order:

1. AlreadyBooked: the athlete has a confirmed session of this kind for this event;
2. SlotTaken: the therapist is not free: a confirmed booking of theirs within the
   therapist's buffer on either side, time off, or an imported busy interval;
3. SlotHeld ('held'): the therapist's time is held for another athlete: a live offer of
   the waiting list (waitlist_entry with offer_expires > `now`, services/waitlist.py) of
   another athlete on this therapist, within the buffer on either side as for bookings;
   the holder's own offer never refuses them;
4. AthleteBusy: the athlete is not free: a confirmed session of theirs, or an event of
   theirs or of one of their teams (up to `event.occupied_end`, which is
   core.windows.event_span's end, stored by services.events).

Intervals are half-open, so touching is allowed; cancelled bookings and the booking being
moved are ignored. The database's own constraints stay the last word (services.scheduling
maps their violations to the same errors).

Concurrent writers: on SQLite the write transaction began with BEGIN IMMEDIATE, so there
is no other writer and CHECK_SQL runs as it is. On PostgreSQL the same query runs inside
the function booking_refusal() (migration 0003; its query as of 0009; with `now` and the
'held' rule as of 0020), which first takes
the advisory locks of the therapist and the athlete (the keys and order of
services/unit_of_work.py's lock_booking_writers): a writer of the same rows has committed
by the time the query reads, and the function's queries read with a fresh snapshot, so
the check sees that writer's booking. One round trip.

The statements are built once, at import, with typed bind parameters: SQLAlchemy only
looks up their compiled form per call. They run through the session, so pending changes
are flushed first (autoflush), as for any query.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import TextClause, bindparam, text

from ..core.errors import AlreadyBooked, AthleteBusy, Conflict, SlotHeld, SlotTaken
from ..core.intervals import Interval
from ..extensions import db
from .models import Booking
from .queries import MAX_BOOKING_SPAN
from .types import UTCDateTime

# A new booking has no id yet; 0 is never one (ids start at 1), so `b.id <> 0` keeps all.
NO_BOOKING = 0

# Each branch and the index range it reads:
# - same kind: the partial unique index (athlete_id, event_id, kind) WHERE confirmed;
# - therapist bookings: (therapist_id, block_end) from near_start to near_reach. A
#   booking's [start, end) widened by the buffer on both sides meets the session iff
#   b.start < near_end and b.end > near_start (near = the session widened by the buffer);
#   block_end >= end bounds the range below, and block_end <= start + MAX_BOOKING_SPAN
#   (enforced by the database, migration 0002) bounds it above;
# - time off, busy intervals: (therapist_id, end, start) from the session's start on;
# - athlete bookings: (athlete_id, end) from the session's start to reach (same bound);
# - events: (athlete_id, occupied_end) and, through team_member, (team_id, occupied_end),
#   from the session's start on (the athlete's future events only). `CROSS JOIN` makes
#   SQLite read team_member first (it keeps the order of a CROSS JOIN; PostgreSQL reads
#   it as an inner join): after ANALYZE of a clinic without teams, SQLite's statistics say
#   a team_id matches every event (all NULL), and it read event first, every future
#   event of the clinic. Migration 0009 made booking_refusal() run this text.
# - held offers: ix_waitlist_entry_offer (offer_therapist_id, offer_block_end) from
#   near_start on (an offer is the slot a proposal found, its block within a day of its
#   start; live offers are a handful). Migration 0020 made booking_refusal() run this text.
SAME_KIND = """EXISTS (
    SELECT 1 FROM booking b
     WHERE b.athlete_id = :athlete_id AND b.event_id = :event_id AND b.kind = :kind
       AND b.status = 'confirmed' AND b.id <> :booking_id)"""
THERAPIST_BOOKED = """EXISTS (
    SELECT 1 FROM booking b
     WHERE b.therapist_id = :therapist_id AND b.status = 'confirmed' AND b.id <> :booking_id
       AND b.block_end > :near_start AND b.block_end < :near_reach
       AND b.start < :near_end AND b."end" > :near_start)"""
CHECK_SQL = f"""
SELECT CASE
  WHEN {SAME_KIND}
  THEN 'already-booked'
  WHEN {THERAPIST_BOOKED}
    OR EXISTS (
    SELECT 1 FROM time_off t
     WHERE t.therapist_id = :therapist_id AND t."end" > :start AND t.start < :end)
    OR EXISTS (
    SELECT 1 FROM busy_interval t
     WHERE t.therapist_id = :therapist_id AND t."end" > :start AND t.start < :end)
  THEN 'slot-taken'
  WHEN EXISTS (
    SELECT 1 FROM waitlist_entry w
     WHERE w.offer_therapist_id = :therapist_id AND w.athlete_id <> :athlete_id
       AND w.offer_block_end > :near_start AND w.offer_start < :near_end
       AND w.offer_end > :near_start AND w.offer_expires > :now)
  THEN 'held'
  WHEN EXISTS (
    SELECT 1 FROM booking b
     WHERE b.athlete_id = :athlete_id AND b.status = 'confirmed' AND b.id <> :booking_id
       AND b."end" > :start AND b."end" < :reach AND b.start < :end)
    OR EXISTS (
    SELECT 1 FROM event e
     WHERE e.athlete_id = :athlete_id AND e.occupied_end > :start AND e.start < :end)
    OR EXISTS (
    SELECT 1 FROM team_member m CROSS JOIN event e
     WHERE m.athlete_id = :athlete_id AND e.team_id = m.team_id
       AND e.occupied_end > :start AND e.start < :end)
  THEN 'athlete-busy'
END AS refused
"""
INSTANTS = ("start", "end", "near_start", "near_end", "near_reach", "reach", "now")
PARAMS = ("booking_id", "athlete_id", "event_id", "kind", "therapist_id", *INSTANTS)


def _statement(sql: str) -> TextClause:
    """The statement with its instants bound as UTCDateTime (UTC text on SQLite)."""
    return text(sql).bindparams(*(bindparam(name, type_=UTCDateTime) for name in INSTANTS
                                  if re.search(rf":{name}\b", sql)))


CHECK = _statement(CHECK_SQL)
# The fast refusal (PostgreSQL, before the locks): the first two rules' booking branches,
# read without a lock; see `refusal`.
TAKEN_SQL = f"""
SELECT CASE WHEN {SAME_KIND} THEN 'already-booked'
            WHEN {THERAPIST_BOOKED} THEN 'slot-taken' END"""
# PostgreSQL, one round trip: COALESCE evaluates its arguments left to right and only as
# far as the first that is not NULL, so booking_refusal() (the locks) runs only when the
# fast read found nothing.
TAKEN_OR_LOCK_AND_CHECK = _statement(
    f"SELECT COALESCE(({TAKEN_SQL}), "
    f"booking_refusal({', '.join(f':{name}' for name in PARAMS)})) AS refused")
# PostgreSQL: lock, then CHECK_SQL (migration 0009 defines the function; same parameters).
LOCK_AND_CHECK = _statement(
    f"SELECT booking_refusal({', '.join(f':{name}' for name in PARAMS)}) AS refused")


class Claim(NamedTuple):
    """The place a booking asks for. `booking_id` is set when an existing booking moves
    (it is then ignored by the checks); `buffer` is the therapist's, kept clear both sides;
    `now` the instant the waiting list's offers are live at (services.common.now())."""

    booking_id: int | None
    athlete_id: int
    event_id: int
    kind: str | None  # None: no "one confirmed session of this kind" rule (a course)
    therapist_id: int
    session: Interval
    buffer: timedelta
    now: datetime


def _params(claim: Claim) -> dict[str, object]:
    start, end = claim.session
    return {"booking_id": claim.booking_id or NO_BOOKING, "athlete_id": claim.athlete_id,
            "event_id": claim.event_id, "kind": claim.kind, "therapist_id": claim.therapist_id,
            "start": start, "end": end, "near_start": start - claim.buffer,
            "near_end": end + claim.buffer, "near_reach": end + claim.buffer + MAX_BOOKING_SPAN,
            "reach": end + MAX_BOOKING_SPAN, "now": claim.now}


def refusal(claim: Claim) -> str | None:
    """The code of the first rule that refuses `claim` ('already-booked', 'slot-taken',
    'held', 'athlete-busy'), or None when it is free. On PostgreSQL the claim's therapist and
    athlete stay locked to the end of the transaction (see the module docstring) unless
    the fast refusal answered.

    The fast refusal (PostgreSQL): the lost races for a popular slot, most of the booking
    attempts under load, meet a confirmed booking that is already committed. TAKEN_SQL reads
    it without a lock (READ COMMITTED: the committed state at the statement's start), in
    the rules' order, so 'already-booked' still wins over 'slot-taken'; and the loser
    neither queues for the therapist's advisory lock behind the other writers nor holds it
    while it answers. A committed confirmed booking refuses whatever a locked read would
    add, so the answer is the one LOCK_AND_CHECK gives unless that booking is cancelled
    meanwhile (then this request came first). Nothing found: the locked check, which stays
    the answer for every claim that gets a slot; both in one statement
    (TAKEN_OR_LOCK_AND_CHECK), so a free claim costs no extra round trip. On SQLite the
    transaction holds the write lock already and CHECK is one statement without locks: it
    is the fast path."""
    bind = {"mapper": Booking}
    postgresql = db.session.get_bind(**bind).dialect.name == "postgresql"
    statement = TAKEN_OR_LOCK_AND_CHECK if postgresql else CHECK
    return db.session.execute(statement, _params(claim), bind_arguments=bind).scalar()


def check(claim: Claim) -> None:
    """Raise the domain error of the first rule that refuses `claim`; return if it is free."""
    code = refusal(claim)
    if code is not None:
        raise _error(code, claim)


def _error(code: str, claim: Claim) -> Conflict:
    if code == AlreadyBooked.code:
        return AlreadyBooked(claim.athlete_id, claim.event_id, claim.kind)
    if code == SlotTaken.code:
        return SlotTaken(claim.therapist_id, claim.session.start)
    if code == SlotHeld.code:
        return SlotHeld(claim.therapist_id, claim.session.start)
    return AthleteBusy(claim.athlete_id, claim.session.start)
