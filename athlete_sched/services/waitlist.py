"""The waiting list: athletes in line for a window (pre or post) of an event with no slot
that suits them, and the offers the background work makes them (contract: "Waiting
list"; tables: migration 0019, the hold's rule: 0020).

- **Joining.** The event's athlete, or a member of its team, once per window (409
  `already-waiting`); not for a window they have booked (409 `already-booked`) nor one
  that is over (422 `window-over`). An athlete joins for themself, a coach for the members
  of their teams, an admin for anyone. The line is (created_at, id): first come, first
  offered.
- **Seeing.** An athlete sees their own entries, a coach those of the athletes they
  coach (each with its place and a live offer); the clinic's therapists and admins see
  the whole line.
- **Offers** (`run`, a DueWork every minute): expired offers are cleared first; then each
  line, in order, for every entry without a live offer, asks the proposals service
  (services/proposals.propose, for that athlete and window: whatever freed the time, a
  cancellation, a moved session, new hours, time off removed, shows there; other
  athletes' live offers do not) for the best slot not offered to this entry before, and
  holds it (not for an athlete a therapist did not clear: they could not book it): under
  the booking writers' locks (unit_of_work.lock_booking_writers on
  PostgreSQL; SQLite's BEGIN IMMEDIATE), the entry re-read as committed and the slot
  re-checked by the booking guard (db/guard.py), so a booking and a hold never both win.
  The offer is written with its email, once (notices.record('offer', '{entry}:{start}')).
- **Expiry.** An offer lasts WAITLIST_HOLD_MINUTES (default 30). Once it expires the
  athlete keeps their place in line, but is never offered the same start again (the
  notice's key remembers it): that slot goes to the next in line, and the first is offered
  other time when some frees up.
- **Booking** in the window (the offer or any other slot of it) removes the entry, in the
  booking's transaction (services/bookings.book).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from flask import current_app

from ..core.errors import AlreadyBooked, Conflict, Forbidden, InvalidValue, NotFound
from ..core.intervals import Interval
from ..core.kinds import PRE, WINDOW_KINDS, title
from ..core.proposals import Slot
from ..core.zones import load_zone
from ..db import guard
from ..db.models import Athlete, Event, Therapist, WaitlistEntry
from ..db.queries import athletes, bookings, notices, rows, therapists
from ..db.queries import events as event_rows
from ..db.queries import waitlist as queries
from . import access, mail, screening, unit_of_work
from .access import Caller
from .common import booking_athlete, found, now, stamp, windows_of
from .mail_text import plain, plain_text
from .proposals import propose

log = logging.getLogger(__name__)

DEFAULT_HOLD_MINUTES = 30
SLOTS_ASKED = 20  # proposals asked per entry: the best not offered to it before is taken
SEES_THE_LINE = frozenset({"therapist", "admin"})


class AlreadyWaiting(Conflict):
    code = "already-waiting"

    def __init__(self, entry_id: int) -> None:
        super().__init__(f"the athlete is already on this waiting list (entry {entry_id})",
                         field="kind", entry_id=entry_id)


class WindowOver(InvalidValue):
    code = "window-over"

    def __init__(self, kind: str) -> None:
        super().__init__(f"the {kind} window is over: there is nothing to wait for",
                         field="kind", kind=kind)


@dataclass(frozen=True)
class Offer:
    slot: Slot
    expires: datetime


@dataclass(frozen=True)
class EntryView:
    """An entry with its place in its line (1: first) and its live offer (None: none)."""

    entry: WaitlistEntry
    position: int
    offer: Offer | None


def hold_minutes() -> int:
    return int(current_app.config.get("WAITLIST_HOLD_MINUTES") or DEFAULT_HOLD_MINUTES)


def live_offer(entry: WaitlistEntry, at: datetime) -> Offer | None:
    if entry.offer_expires is None or entry.offer_expires <= at \
            or entry.offer_therapist_id is None:
        return None
    return Offer(Slot(entry.offer_therapist_id, entry.offer_start, entry.offer_end, entry.kind,
                      entry.offer_site_id), entry.offer_expires)


def _views(line: Iterable[WaitlistEntry], at: datetime) -> list[EntryView]:
    """The entries of lines in order (as db/queries/waitlist.line gives them), numbered."""
    places: dict[tuple[int, str], int] = {}
    views = []
    for entry in line:
        key = (entry.event_id, entry.kind)
        places[key] = places.get(key, 0) + 1
        views.append(EntryView(entry, places[key], live_offer(entry, at)))
    return views


# --- for a caller -------------------------------------------------------------------------

def join_for(caller: Caller, event_id: int, kind: str, athlete_id: int | None) -> EntryView:
    """POST /events/{id}/waitlist: the caller puts an athlete they act for in line."""
    if caller.role == "therapist":
        raise Forbidden("athletes, coaches and admins join waiting lists")
    event = access.event(caller, event_id)
    if athlete_id is None and caller.role == "athlete":
        athlete_id = caller.athlete_id
    athlete_id = booking_athlete(event, athlete_id)
    if not access.acts_for_athlete(caller, athlete_id):
        raise NotFound("athlete", athlete_id, field="athlete_id")
    found(Athlete, athlete_id, "athlete", "athlete_id")
    return join(event, athlete_id, kind)


def join(event: Event, athlete_id: int, kind: str) -> EntryView:
    """Put the athlete at the end of the event's line of `kind`."""
    windows = windows_of(event)
    window = windows.pre if kind == PRE else windows.post
    if window.end <= now():
        raise WindowOver(kind)
    if bookings.confirmed(athlete_id, event.id, kind) is not None:
        raise AlreadyBooked(athlete_id, event.id, kind)
    there = queries.place(event.id, athlete_id, kind)
    if there is not None:
        raise AlreadyWaiting(there.id)
    entry = rows.add(WaitlistEntry(event_id=event.id, athlete_id=athlete_id, kind=kind,
                                   created_at=stamp(), offers_made=0))
    rows.flush()
    return next(v for v in _views(queries.line(event.id), now()) if v.entry.id == entry.id)


def line_for(caller: Caller, event_id: int) -> list[EntryView]:
    """GET /events/{id}/waitlist: the whole line for the clinic's therapists and admins;
    for an athlete or a coach, the entries of the athletes they act for."""
    if caller.role in SEES_THE_LINE:
        event = found(Event, event_id, "event")
    else:
        event = access.event(caller, event_id)
    views = _views(queries.line(event.id), now())
    if caller.role in SEES_THE_LINE:
        return views
    return [v for v in views if access.acts_for_athlete(caller, v.entry.athlete_id)]


def of_athlete(athlete_id: int, event_id: int) -> dict[str, EntryView]:
    """The athlete's places in the event's lines, by kind (the race page)."""
    return {v.entry.kind: v for v in _views(queries.line(event_id), now())
            if v.entry.athlete_id == athlete_id}


def everything_for(caller: Caller) -> list[tuple[Event, Athlete, EntryView]]:
    """Every line of the clinic, with each entry's event and athlete (therapists' page)."""
    if caller.role not in SEES_THE_LINE:
        raise Forbidden("the clinic's therapists and admins see the waiting lists")
    views = _views(queries.everything(), now())
    events = event_rows.by_ids({v.entry.event_id for v in views})  # one read each
    people = athletes.by_ids({v.entry.athlete_id for v in views})
    return [(events[v.entry.event_id], people[v.entry.athlete_id], v) for v in views]


def leave_for(caller: Caller, entry_id: int) -> None:
    """DELETE /waitlist/{id}: the athlete, their coach or an admin takes them out of line."""
    entry = found(WaitlistEntry, entry_id, "waitlist entry")
    if not access.acts_for_athlete(caller, entry.athlete_id):
        raise NotFound("waitlist entry", entry_id)
    rows.delete(entry)
    rows.flush()


# --- the offers (due work) ----------------------------------------------------------------

def run(at: datetime) -> int:
    """One round at `at`: clear the expired offers, then offer free time in every line, in
    order. Each step is a unit of work of its own; the number of offers made."""
    unit_of_work.run(lambda: queries.clear_expired(at))
    made = 0
    for event_id, kind in unit_of_work.run(queries.lines):
        for entry_id in unit_of_work.run(lambda e=event_id, k=kind: [
                v.entry.id for v in _views(queries.line(e), at)
                if v.entry.kind == k and v.offer is None]):
            try:
                made += unit_of_work.run(lambda i=entry_id: offer(i, at))
            except unit_of_work.DatabaseFault:
                raise  # the database out of reach: a fault of the whole round
            except Exception:  # noqa: BLE001 - one entry's failure must not stop the round
                log.exception("waiting list: no offer made to entry %s", entry_id)
    return made


def offer(entry_id: int, at: datetime) -> bool:
    """Hold the best free slot not yet offered to the entry, if there is one: True when an
    offer was written (with its email queued)."""
    entry = rows.get(WaitlistEntry, entry_id)
    if entry is None or live_offer(entry, at) is not None:
        return False
    if screening.not_cleared(entry.athlete_id):
        return False  # could not book it (the screening gate): the next in line may
    event = rows.get(Event, entry.event_id)
    slot = _best_new_slot(event, entry)
    if slot is None:
        return False
    therapist = therapists.settings(slot.therapist_id)
    unit_of_work.lock_booking_writers([therapist.id], [entry.athlete_id])
    entry = queries.locked(entry_id)  # as committed now: another worker may have held one
    if entry is None or live_offer(entry, at) is not None:
        return False
    buffer = timedelta(minutes=therapist.buffer_minutes)
    claim = guard.Claim(None, entry.athlete_id, entry.event_id, entry.kind, therapist.id,
                        Interval(slot.start, slot.end), buffer, at)
    if guard.refusal(claim) is not None:
        return False
    if not notices.record("offer", f"{entry.id}:{slot.start.isoformat()}", at,
                          athlete_id=entry.athlete_id, event_id=entry.event_id):
        return False  # offered before (another worker's round that rolled back its offer)
    _hold(entry, slot, buffer, at)
    _announce(entry, event, therapist, slot)
    return True


def _best_new_slot(event: Event, entry: WaitlistEntry) -> Slot | None:
    offered = queries.offered_keys(entry.id)
    found_ = propose(event, (entry.kind,), None, entry.athlete_id, SLOTS_ASKED).found
    return next((s for s in found_[entry.kind]
                 if f"{entry.id}:{s.start.isoformat()}" not in offered), None)


def _hold(entry: WaitlistEntry, slot: Slot, buffer: timedelta, at: datetime) -> None:
    entry.offer_therapist_id, entry.offer_site_id = slot.therapist_id, slot.site_id
    entry.offer_start, entry.offer_end = slot.start, slot.end
    entry.offer_block_end = slot.end + buffer
    entry.offered_at = at
    entry.offer_expires = at + timedelta(minutes=hold_minutes())
    entry.offers_made += 1
    rows.flush()


def offer_link(event_id: int) -> str:
    """The race page, where the offer is booked with one button (after signing in)."""
    base = (current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    return f"{base}/events/{event_id}"


def _announce(entry: WaitlistEntry, event: Event, therapist: Therapist, slot: Slot) -> None:
    athlete = rows.get(Athlete, entry.athlete_id)
    if mail.enabled():  # the text made as offer_message's, without an EmailMessage
        mail.queue_notices([(athlete.email, plain_text(*_offer(
            athlete, event, therapist, slot, entry.offer_expires)), None)])


def offer_message(athlete: Athlete, event: Event, therapist: Therapist, slot: Slot,
                  expires: datetime) -> EmailMessage:
    """The offer's email: the slot in the event's zone, until when it is held, the link.
    Nothing medical, nothing the athlete wrote."""
    return plain(*_offer(athlete, event, therapist, slot, expires))


def _offer(athlete: Athlete, event: Event, therapist: Therapist, slot: Slot,
           expires: datetime) -> tuple[str, str, str, str]:
    """(to name, to address, subject, text) of an offer."""
    tz = load_zone(event.timezone)
    start, end, until = (x.astimezone(tz) for x in (slot.start, slot.end, expires))
    when = f"{start:%A %d %B %Y, %H:%M}-{end:%H:%M} ({event.timezone})"
    link = offer_link(event.id)
    text = "\n".join([
        f"Hello {athlete.name},", "",
        f"A {title(slot.kind)} slot for {event.name} has opened up, and it is held for you:",
        "", f"When:  {when}", f"With:  {therapist.name}",
        f"Held until: {until:%A %d %B %Y, %H:%M} ({event.timezone})", "",
        f"Book it with one button on your race's page (sign in first): {link}", "",
        "If you do not book it by then, it is offered to the next athlete in line; you keep "
        "your place for other time that frees up.", ""])
    return (athlete.name, athlete.email, f"A slot is held for you: {title(slot.kind)}, "
            f"{start:%a %d %b %Y %H:%M} ({event.timezone})", text + "\n")


__all__ = ["WINDOW_KINDS", "EntryView", "Offer", "join_for", "leave_for", "line_for", "run"]
