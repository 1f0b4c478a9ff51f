"""Proposals and bookings: the core decides, the database guarantees.

Booking safety, in two layers:
- the service re-checks every rule inside the write transaction: the rules of time in the
  core (`checked_session`), then every conflict in one guarded statement (db/guard.py:
  on SQLite the transaction began with BEGIN IMMEDIATE, so no other writer runs until it
  commits; on PostgreSQL the statement first takes the therapist's and the athlete's
  advisory locks, so a concurrent writer of either has committed before it reads);
- the database refuses overlaps by itself: exclusion constraints on PostgreSQL, triggers
  on SQLite, and a partial unique index for one confirmed booking per athlete, event and
  kind. A violation that slips past the re-check is mapped back to the same domain error.

`book` is `new_booking` + `checked_session` + the guard + `place` + add and flush; the
booking benchmark (bench/bookings.py) runs the same steps without the guard as its
baseline.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from ..core import proposals as core_proposals
from ..core.availability import check_bookable
from ..core.errors import AlreadyBooked, AthleteBusy, Conflict, InvalidValue, SlotTaken
from ..core.intervals import Interval
from ..core.proposals import Slot, TherapistState
from ..core.windows import Windows
from ..core.zones import load_zone
from ..db import guard, queries
from ..db.models import Athlete, Booking, Event, TeamMember, Therapist
from ..extensions import db
from . import season
from .cache import ALWAYS
from .common import localize, now, policy, schedule_of, stamp, timing_of, window_for, windows_of

UTC_ZONE = load_zone("UTC")
ONCE_KINDS = ("pre", "post")  # one confirmed session of each per athlete and event


class BookingCancelled(Conflict):
    code = "booking-cancelled"

    def __init__(self, booking_id: int) -> None:
        super().__init__(f"booking {booking_id} is cancelled; book a new session instead",
                         booking_id=booking_id)


def therapist_states(therapists: Sequence[queries.TherapistRow],
                     windows: Sequence[Interval]) -> list[TherapistState]:
    """Each therapist's schedule with the blocks and bookings touching any of the windows
    (one round trip; the core keeps what lies in the window it works on)."""
    ids = [t.id for t in therapists]
    widest = timedelta(minutes=max((t.buffer_minutes for t in therapists), default=0))
    blocks, bookings = queries.therapist_occupancy_in(
        ids, windows, [Interval(w.start - widest, w.end + widest) for w in windows])
    return [TherapistState(schedule_of(t), tuple(blocks.get(t.id, ())),
                           tuple(bookings.get(t.id, ()))) for t in therapists]


@dataclass
class Proposals:
    """Ranked slots per kind, and those that would also serve another event of the
    athlete's season (slot -> that event's id)."""

    windows: Windows
    found: dict[str, list[Slot]]
    shared: dict[Slot, int] = field(default_factory=dict)


def propose(event: Event, kinds: tuple[str, ...], therapist_id: int | None,
            athlete_id: int | None, limit: int) -> Proposals:
    """Ranked free slots per kind for the event (see core.proposals for the ranking),
    clear of the athlete's season (services/season.py) when the athlete is known."""
    windows, timing, rules = windows_of(event), timing_of(event), policy()
    therapists = queries.therapist_rows(therapist_id)
    athlete_id = event.athlete_id or athlete_id
    chosen = {kind: windows.pre if kind == "pre" else windows.post for kind in kinds}
    states = therapist_states(therapists, list(chosen.values()))
    athlete_season = season.season_near(athlete_id, list(chosen.values())) if athlete_id else None
    busy = season.athlete_blocks(event, athlete_season) if athlete_season else []
    found: dict[str, list[Slot]] = {"pre": [], "post": []}
    for kind, window in chosen.items():
        found[kind] = core_proposals.propose(
            kind, window, timing.start_instant, states, busy, now(),
            notice=rules.notice, limit=limit)
    shared = season.shared_labels(event, athlete_season, found) if athlete_season else {}
    return Proposals(windows, found, shared)


def proposals_fresh_until(found: dict[str, list[Slot]]) -> datetime:
    """Until when proposals computed now stay right, the data unchanged. Time only removes
    candidates (a start must be >= now + notice) and the ranking does not depend on `now`,
    so the answer holds until the notice reaches its earliest slot."""
    starts = [slot.start for slots in found.values() for slot in slots]
    return min(starts) - policy().notice if starts else ALWAYS


def booking_athlete(event: Event, athlete_id: int | None) -> int:
    """Who the session is for: the event's athlete, or a named member of the event's team."""
    if event.athlete_id is not None:
        if athlete_id not in (None, event.athlete_id):
            raise InvalidValue("this event belongs to another athlete", field="athlete_id")
        return event.athlete_id
    if athlete_id is None:
        raise InvalidValue("a team event needs athlete_id", field="athlete_id")
    if db.session.get(TeamMember, (event.team_id, athlete_id)) is None:
        raise InvalidValue("the athlete is not a member of the event's team", field="athlete_id")
    return athlete_id


def new_booking(event: Event | None, athlete: Athlete, kind: str, notes: str = "") -> Booking:
    """A confirmed booking of `kind` for the athlete and event (None: a tune-up), not yet
    placed or added."""
    return Booking(event_id=event.id if event is not None else None, athlete_id=athlete.id,
                   kind=kind, status="confirmed", uid=f"{uuid.uuid4()}@athlete-sched",
                   sequence=0, notes=notes, created_at=stamp())


def checked_session(event: Event | None, therapist: Therapist, kind: str, start: datetime,
                    duration: timedelta) -> Interval:
    """The session [start, start + duration) if the rules of time allow it (the 422s, in
    the core: notice, then the kind's window, then the therapist's working hours)."""
    window = window_for(event, kind)
    return check_bookable(schedule_of(therapist), kind, window, start, duration, now(),
                          policy().notice)


def place(booking: Booking, therapist: Therapist, session: Interval) -> None:
    """Put the booking at `session` with `therapist`, blocking the buffer after it."""
    booking.therapist_id = therapist.id
    booking.start, booking.end = session.start, session.end
    booking.block_end = session.end + timedelta(minutes=therapist.buffer_minutes)
    booking.updated_at = stamp()


def _check_and_place(booking: Booking, event: Event | None, therapist: Therapist, start: datetime,
                     duration: timedelta, shared_with: int | None = None) -> None:
    """Every rule of the contract, in order: the 422s (notice, window, working hours), then
    the 409s in one guarded query (already booked, therapist not free, athlete not free)."""
    session = checked_session(event, therapist, booking.kind, start, duration)
    # A course has several sessions per event: no "one of this kind" rule (kind None).
    once = booking.kind if booking.kind in ONCE_KINDS else None
    guard.check(guard.Claim(booking.id, booking.athlete_id, booking.event_id, once,
                            therapist.id, session, timedelta(minutes=therapist.buffer_minutes)))
    # After the guard: the athlete's writers are serialized from here on (its lock).
    moving = Interval(booking.start, booking.end) if booking.start is not None else None
    season.check_season(event, booking.athlete_id, booking.kind, session, exclude=moving,
                        shared_with=shared_with)
    place(booking, therapist, session)
    booking.shared_event_id = shared_with


def _flush_guarded(booking: Booking) -> None:
    """Flush; a constraint the database enforces by itself becomes the same domain error."""
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


def book(event: Event | None, therapist: Therapist, athlete: Athlete, kind: str,
         start: datetime, duration_minutes: int | None = None, notes: str = "",
         shared_with: int | None = None) -> Booking:
    """Book a session. `start` may be naive (the therapist's wall-clock) or aware.
    `shared_with`: another event of the athlete this session also serves (its pre when
    this is a post, its post when this is a pre; services/season.py)."""
    start_at = localize(start, load_zone(therapist.timezone))
    duration = timedelta(minutes=duration_minutes or therapist.session_minutes)
    booking = new_booking(event, athlete, kind, notes)
    _check_and_place(booking, event, therapist, start_at, duration, shared_with)
    db.session.add(booking)
    _flush_guarded(booking)
    return booking


def reschedule(booking: Booking, start: datetime, therapist: Therapist | None = None) -> Booking:
    """Move a confirmed booking: same UID, SEQUENCE + 1, the same checks as booking."""
    if booking.status != "confirmed":
        raise BookingCancelled(booking.id)
    therapist = therapist or db.session.get(Therapist, booking.therapist_id)
    start_at = localize(start, load_zone(therapist.timezone))
    event = db.session.get(Event, booking.event_id) if booking.event_id else None
    _check_and_place(booking, event, therapist, start_at,
                     booking.end - booking.start, booking.shared_event_id)
    booking.sequence += 1
    _flush_guarded(booking)
    return booking


def list_bookings(scope: list, q, limit: int) -> list[Booking]:
    """Up to `limit` bookings after `q.after_id` (by id) within `scope` (SQL filters) that
    match the query: equal ids and status, and overlapping [from, to) (naive = UTC)."""
    filters = list(scope)
    for name in ("athlete_id", "therapist_id", "event_id", "status"):
        if getattr(q, name) is not None:
            filters.append(getattr(Booking, name) == getattr(q, name))
    if q.from_ is not None:
        filters.append(Booking.end > localize(q.from_, UTC_ZONE))
    if q.to is not None:
        filters.append(Booking.start < localize(q.to, UTC_ZONE))
    return queries.bookings_page(filters, after_id=q.after_id, limit=limit)


def cancel(booking: Booking) -> Booking:
    """Cancel (idempotent): the first cancel raises SEQUENCE; later ones change nothing."""
    if booking.status == "cancelled":
        return booking
    booking.status = "cancelled"
    booking.sequence += 1
    booking.updated_at = stamp()
    db.session.flush()
    return booking
