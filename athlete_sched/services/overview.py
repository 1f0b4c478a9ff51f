"""What the athlete's pages show and do: their races with the windows and the best slots,
their sessions with the event and therapist of each, read in batches (one query for each
kind of row, never one per row). The signed-in athlete sees and books only their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ..core.errors import InvalidValue, NotFound
from ..core.intervals import Interval
from ..core.kinds import PRE, WINDOW_KINDS
from ..core.proposals import Slot
from ..db.models import Athlete, Booking, Event, Site, Therapist, WaitlistEntry
from ..db.queries import bookings, events, rows, therapists
from . import calendars, screening, sites, waitlist
from .access import Caller
from .bookings import book
from .common import EventView, event_view, found
from .proposals import Reason, propose
from .waitlist import EntryView


class UnknownSlot(InvalidValue):
    """A slot no page offered: its therapist is not there."""

    code = "unknown-slot"

    def __init__(self) -> None:
        super().__init__("that slot is not one the page offered")


@dataclass(frozen=True)
class Session:
    """A booked session as a page lists it: the booking, its event (None: a tune-up), its
    therapist, and the zone its times are shown in (the event's, or the athlete's)."""

    booking: Booking
    event: Event | None
    therapist: Therapist
    zone: str


@dataclass(frozen=True)
class WindowItem:
    """One window of a race: the athlete's session booked in it, or the best free slots,
    each with its therapist; why there is none (`reason`); the clinic's sites by id (to
    name where each slot and session is)."""

    kind: str
    window: Interval
    slots: list[tuple[Slot, Therapist]]
    booked: Session | None
    reason: Reason | None = None
    sites: Mapping[int, Site] = field(default_factory=dict)
    waiting: EntryView | None = None  # the athlete's place in this window's waiting list
    offer_therapist: Therapist | None = None  # whose slot a live offer holds


def sessions_of(athlete: Athlete, found_: list[Booking],
              known: Iterable[Event] = ()) -> list[Session]:
    """The bookings with their events (those not `known` already) and therapists, read in
    two queries at most."""
    by_event = {e.id: e for e in known}
    by_event |= events.by_ids({b.event_id for b in found_ if b.event_id is not None}
                              - by_event.keys())
    by_therapist = therapists.by_ids(b.therapist_id for b in found_)
    sessions = []
    for b in found_:
        event = by_event.get(b.event_id) if b.event_id is not None else None
        sessions.append(Session(b, event, by_therapist[b.therapist_id],
                                event.timezone if event else athlete.timezone))
    return sessions


def own_event(caller: Caller, event_id: int) -> Event:
    """One of the athlete's own events (anything else: NotFound)."""
    event = found(Event, event_id, "event")
    if event.athlete_id != caller.athlete_id:
        raise NotFound("event", event_id)
    return event


def own_booking(caller: Caller, booking_id: int) -> Booking:
    booking = found(Booking, booking_id, "booking")
    if booking.athlete_id != caller.athlete_id:
        raise NotFound("booking", booking_id)
    return booking


def race(caller: Caller, event_id: int, slots: int
         ) -> tuple[EventView, list[WindowItem], bool]:
    """The race and both its windows, each with the athlete's booking or the best free
    slots (their therapists read in one query); and whether a therapist recorded "not
    cleared" at the screening (then no slot is offered: nothing can be booked)."""
    event = own_event(caller, event_id)
    view = event_view(event)
    not_cleared = screening.not_cleared(event.athlete_id)
    answer = None if not_cleared else propose(event, WINDOW_KINDS, None, None, slots)
    proposed = {kind: [] for kind in WINDOW_KINDS} if answer is None else answer.found
    reasons = {} if answer is None else answer.reasons
    where = sites.by_id()
    booked = {kind: bookings.confirmed(event.athlete_id, event.id, kind)
              for kind in WINDOW_KINDS}
    waiting = waitlist.of_athlete(event.athlete_id, event.id)
    who = therapists.by_ids([s.therapist_id for found_ in proposed.values() for s in found_]
                            + [b.therapist_id for b in booked.values() if b is not None]
                            + [w.offer.slot.therapist_id for w in waiting.values() if w.offer])

    def session_of(booking: Booking | None) -> Session | None:
        if booking is None:
            return None
        return Session(booking, event, who[booking.therapist_id], event.timezone)

    def offered(kind: str) -> Therapist | None:
        entry = waiting.get(kind)
        return who[entry.offer.slot.therapist_id] if entry and entry.offer else None

    return view, [WindowItem(kind, view.windows.pre if kind == PRE else view.windows.post,
                             [(s, who[s.therapist_id]) for s in proposed[kind]],
                             session_of(booked[kind]), reasons.get(kind), where,
                             waiting.get(kind), offered(kind))
                  for kind in WINDOW_KINDS], not_cleared


def book_slot(caller: Caller, event_id: int, kind: str, therapist_id: int,
              start: datetime) -> Booking:
    """Book a slot the race page offered (`start` aware)."""
    event = own_event(caller, event_id)
    therapist = rows.get(Therapist, therapist_id)
    if therapist is None:
        raise UnknownSlot()
    athlete = found(Athlete, event.athlete_id, "athlete")
    return book(event, therapist, athlete.id, kind, start)


def join_waitlist(caller: Caller, event_id: int, kind: str) -> EntryView:
    """Join the waiting list of one window of the athlete's own race."""
    event = own_event(caller, event_id)
    return waitlist.join(event, event.athlete_id, kind)


def leave_waitlist(caller: Caller, entry_id: int) -> int:
    """Leave the waiting list (an entry of the athlete's own); the race it was for."""
    entry = rows.get(WaitlistEntry, entry_id)
    if entry is None or entry.athlete_id != caller.athlete_id:
        raise NotFound("waitlist entry", entry_id)
    event_id = entry.event_id
    waitlist.leave_for(caller, entry_id)
    return event_id


def invite(caller: Caller, booking_id: int) -> calendars.Invite:
    """The session as a calendar invite to open in any calendar app (what the API's
    invite.ics serves: METHOD REQUEST, or CANCEL once cancelled)."""
    booking = own_booking(caller, booking_id)
    return calendars.Invite(calendars.invite_ics(booking), calendars.invite_method(booking),
                            f"session-{booking.id}.ics")
