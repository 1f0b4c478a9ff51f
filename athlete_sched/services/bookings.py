"""Bookings: book, reschedule, cancel; the core decides, the database guarantees.

Booking safety, in two layers:
- the service re-checks every rule inside the write transaction: the rules of time in the
  core (notice, window, working hours: `core.checks.check_bookable`), then every
  conflict in one guarded statement (db/guard.py: on SQLite the transaction began with
  BEGIN IMMEDIATE, so no other writer runs until it commits; on PostgreSQL the statement
  first takes the therapist's and the athlete's advisory locks, so a concurrent writer of
  either has committed before it reads), then the athlete's season (services/season.py);
- the database refuses overlaps by itself: exclusion constraints on PostgreSQL, triggers
  on SQLite, and a partial unique index for one confirmed booking per athlete, event and
  kind. A violation that slips past the re-check is mapped back to the same domain error
  (db/queries/bookings.flush_guarded).

Every booking, reschedule and cancel announces itself by email (services/mail.py), sent
after the unit of work commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..core.checks import check_bookable, session_site
from ..core.errors import (
    Conflict,
    Forbidden,
    InvalidValue,
    NotFound,
    Started,
    TooLate,
    WrongSite,
)
from ..core.intervals import Interval
from ..core.kinds import TUNE_UP, WINDOW_KINDS
from ..core.sites import allows
from ..core.zones import load_zone
from ..db import guard
from ..db.models import Athlete, Booking, Event, Therapist
from ..db.queries import bookings, rows, therapists, waitlist
from . import access, lost_races, mail, screening, season, sites, unit_of_work
from .access import Caller
from .common import booking_athlete, found, localize, now, policy, stamp, window_for

UTC_ZONE = load_zone("UTC")


class BookingCancelled(Conflict):
    code = "booking-cancelled"

    def __init__(self, booking_id: int) -> None:
        super().__init__(f"booking {booking_id} is cancelled; book a new session instead",
                         booking_id=booking_id)


@dataclass(frozen=True)
class BookingView:
    """A booking as the app shows it: with its athlete's screening summary (the flagged
    considerations and the therapist's decision; None: not answered). Never in an .ics."""

    booking: Booking
    screening: dict[str, Any] | None


def views_of(found_: list[Booking]) -> list[BookingView]:
    """The bookings with their athletes' screening summaries, read in one query."""
    summaries = screening.summaries(b.athlete_id for b in found_)
    return [BookingView(b, summaries[b.athlete_id]) for b in found_]


def view_of(booking: Booking) -> BookingView:
    return views_of([booking])[0]


# --- the rules ----------------------------------------------------------------------------------

def _place(booking: Booking, event: Event | None, therapist: Therapist, start: datetime,
           duration: timedelta, shared_with: int | None = None,
           known: lost_races.Known | None = None) -> None:
    """Every rule of the contract, in order: the screening gate (409 while the athlete is
    not cleared: every booking path and every move passes here), the 422s (notice,
    window, working hours, the site: where the athlete is then), then the 409s in one
    guarded query (already booked, therapist not free, athlete not free), then the
    athlete's season (and for a shared session, the site rule of the other event it
    serves); then put the booking there. `known`: the screening gate's answer and the
    therapist's schedule as this unit read them already (services/lost_races.py)."""
    span = Interval.of(start, start + duration)
    if known is not None and (known.athlete_id, known.therapist_id, known.span) != (
            booking.athlete_id, therapist.id, span):
        known = None  # read for another claim: read afresh
    if known is None or known.not_cleared:
        screening.check_cleared(booking.athlete_id)
    schedule = (known.schedule if known is not None and known.schedule is not None
                else therapists.schedule_near(therapist, [span]))
    session = check_bookable(schedule, booking.kind, window_for(event, booking.kind), start,
                             duration, now(), policy().notice)
    _, site_id = session_site(schedule, session)
    if not allows(sites.where(event, booking.athlete_id), site_id, session):
        raise WrongSite(site_id, session.start)
    # A course has several sessions per event: no "one of this kind" rule (kind None).
    once = booking.kind if booking.kind in WINDOW_KINDS else None
    guard.check(guard.Claim(booking.id, booking.athlete_id, booking.event_id, once,
                            therapist.id, session, timedelta(minutes=therapist.buffer_minutes),
                            now()))
    unit_of_work.writing()  # free: a unit begun as a reader takes the write lock now
    # After the guard: the athlete's writers are serialized from here on (its lock).
    moving = Interval(booking.start, booking.end) if booking.start is not None else None
    season.check_season(event, booking.athlete_id, booking.kind, session, exclude=moving,
                        shared_with=shared_with)
    if shared_with is not None and not allows(sites.where(
            found(Event, shared_with, "event", "shared_with_event_id"), booking.athlete_id),
            site_id, session):  # it serves that event too: where the athlete is for it
        raise WrongSite(site_id, session.start)
    booking.therapist_id, booking.site_id = therapist.id, site_id
    booking.start, booking.end = session.start, session.end
    booking.block_end = session.end + timedelta(minutes=therapist.buffer_minutes)
    booking.updated_at = stamp()
    booking.shared_event_id = shared_with


def book(event: Event | None, therapist: Therapist, athlete_id: int, kind: str,
         start: datetime, duration_minutes: int | None = None, notes: str = "",
         shared_with: int | None = None, known: lost_races.Known | None = None) -> Booking:
    """Book a session for the athlete `athlete_id` (an existing one: the caller found it,
    or it is the event's own). `start` may be naive (the therapist's wall-clock) or aware.
    `shared_with`: another event of the athlete this session also serves (its pre when
    this is a post, its post when this is a pre; services/season.py). `known`: what this
    unit read already (services/lost_races.py), not read again."""
    start_at = localize(start, load_zone(therapist.timezone))
    duration = timedelta(minutes=duration_minutes or therapist.session_minutes)
    booking = Booking(event_id=event.id if event is not None else None, athlete_id=athlete_id,
                      kind=kind, status="confirmed", uid=f"{uuid.uuid4()}@athlete-sched",
                      sequence=0, notes=notes, created_at=stamp())
    _place(booking, event, therapist, start_at, duration, shared_with, known)
    rows.add_pending(booking)
    bookings.flush_guarded(booking)
    if event is not None and kind in WINDOW_KINDS:  # booked in the window: out of its line
        waitlist.leave(event.id, athlete_id, kind)
    mail.announce(booking)
    return booking


def reschedule(booking: Booking, start: datetime, therapist: Therapist | None = None) -> Booking:
    """Move a confirmed booking: same UID, SEQUENCE + 1, the same checks as booking."""
    if booking.status != "confirmed":
        raise BookingCancelled(booking.id)
    therapist = therapist or found(Therapist, booking.therapist_id, "therapist")
    start_at = localize(start, load_zone(therapist.timezone))
    event = found(Event, booking.event_id, "event") if booking.event_id else None
    _place(booking, event, therapist, start_at, booking.end - booking.start,
           booking.shared_event_id)
    booking.sequence += 1
    booking.flag = booking.flagged_at = None  # moved into a valid window: resolved
    bookings.flush_guarded(booking)
    mail.announce(booking)
    return booking


def cancel(booking: Booking) -> Booking:
    """Cancel (idempotent): the first cancel raises SEQUENCE; later ones change nothing."""
    if booking.status == "cancelled":
        return booking
    booking.status = "cancelled"
    booking.flag = booking.flagged_at = None  # a race-move flag is resolved
    booking.sequence += 1
    booking.updated_at = stamp()
    rows.flush()
    mail.announce(booking)
    return booking


# --- for a caller -------------------------------------------------------------------------------

def book_for(caller: Caller, data: Any) -> BookingView:
    """POST /bookings: an athlete, coach or admin books for an athlete they act for."""
    if caller.role == "therapist":
        raise Forbidden("athletes, coaches and admins book sessions")
    early = lost_races.early(caller, data)  # most attempts at a popular slot: one read
    if early.refusal is not None:
        raise early.refusal
    unit_of_work.reads_done()  # PostgreSQL: the rest in one transaction
    event, athlete_id = _target(caller, data)
    if not access.acts_for_athlete(caller, athlete_id):
        raise NotFound("athlete", athlete_id, field="athlete_id")
    if event is None:  # an event's athlete exists (its own, or a member: _target checked)
        found(Athlete, athlete_id, "athlete", "athlete_id")
    therapist = therapists.settings(data.therapist_id)
    if therapist is None:
        raise NotFound("therapist", data.therapist_id, field="therapist_id")
    return view_of(book(event, therapist, athlete_id, data.kind, data.start,
                        data.duration_minutes, data.notes, data.shared_with_event_id,
                        early.known))


def _target(caller: Caller, data: Any) -> tuple[Event | None, int]:
    """The event and athlete a new session is for; a tune-up has an athlete and no event."""
    if data.kind == TUNE_UP:
        if data.event_id is not None:
            raise InvalidValue("a tune-up belongs to no event: leave out event_id",
                               field="event_id")
        if data.athlete_id is None:
            raise InvalidValue("a tune-up needs athlete_id", field="athlete_id")
        return None, data.athlete_id
    if data.event_id is None:
        raise InvalidValue("event_id is required (only a tune-up has none)", field="event_id")
    event = access.event(caller, data.event_id, "event_id")
    return event, booking_athlete(event, data.athlete_id)


def get_for(caller: Caller, booking_id: int) -> BookingView:
    return view_of(access.booking(caller, booking_id))


def list_for(caller: Caller, query: Any, limit: int) -> list[BookingView]:
    """Up to `limit` bookings after `query.after_id` (by id) that the caller may see and
    that match the query: equal ids and status, overlapping [from, to) (naive = UTC)."""
    scope = access.booking_scope(caller)
    where = bookings.Filter(
        visible_to_therapists=scope.visible_to_therapists,
        visible_to_athletes=scope.visible_to_athletes,
        athlete_id=query.athlete_id, therapist_id=query.therapist_id,
        event_id=query.event_id, status=query.status,
        ends_after=None if query.from_ is None else localize(query.from_, UTC_ZONE),
        starts_before=None if query.to is None else localize(query.to, UTC_ZONE))
    return views_of(bookings.page(where, query.after_id, limit))


# Who may still change a session inside the cancellation notice.
LATE_CHANGERS = frozenset({"therapist", "admin"})


def check_change(caller: Caller, booking: Booking) -> None:
    """A confirmed session may be cancelled or moved before it starts (anyone: Started
    after that); athletes and coaches only until the clinic's cancellation notice before
    its start (TooLate), therapists and admins until the start."""
    if booking.status != "confirmed":
        return
    at = now()
    if booking.start <= at:
        raise Started(booking.id, booking.start)
    deadline = booking.start - policy().cancel_notice
    if at > deadline and caller.role not in LATE_CHANGERS:
        raise TooLate(booking.id, booking.start, deadline)


def reschedule_for(caller: Caller, booking_id: int, start: datetime,
                   therapist_id: int | None) -> BookingView:
    booking = access.booking(caller, booking_id)
    check_change(caller, booking)
    therapist = (None if therapist_id is None
                 else found(Therapist, therapist_id, "therapist", "therapist_id"))
    return view_of(reschedule(booking, start, therapist))


def cancel_for(caller: Caller, booking_id: int) -> BookingView:
    booking = access.booking(caller, booking_id)
    check_change(caller, booking)
    return view_of(cancel(booking))
