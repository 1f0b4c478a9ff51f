"""Sessions a race move strands (the contract's PATCH /events without move_bookings, and
course sessions, which never move): the flag stored on each booking ('outside-window'),
the athlete told once by email, and the flag cleared when it is resolved: the session
rescheduled or cancelled (services/bookings.py), or the race moved so that it fits again.

The email is plain text without anything an athlete wrote (no race name, no notes): the
kind and time of the session, and what to do."""

from __future__ import annotations

from collections.abc import Sequence

from ..core.kinds import COURSE, POST, PRE
from ..core.zones import load_zone
from ..db.models import Athlete, Booking, Event
from ..db.queries import bookings, rows
from . import mail
from .common import stamp
from .mail_text import plain

OUTSIDE_WINDOW = "outside-window"
KIND_WORDS = {PRE: "pre-race", POST: "recovery", COURSE: "course"}


def mark(stranded: Sequence[Booking]) -> list[Booking]:
    """Flag the stranded bookings not flagged yet and tell their athletes; the new ones."""
    fresh = [b for b in stranded if b.flag != OUTSIDE_WINDOW]
    at = stamp()
    for booking in fresh:
        booking.flag, booking.flagged_at = OUTSIDE_WINDOW, at
    rows.flush()
    for booking in fresh:
        _tell(booking)
    return fresh


def clear_fitting(event: Event, stranded: Sequence[Booking]) -> None:
    """Clear the flag of the event's confirmed bookings its windows hold again."""
    still = {b.id for b in stranded}
    for booking in bookings.listed(bookings.Filter(event_id=event.id, status="confirmed"),
                                   by_start=False):
        if booking.flag is not None and booking.id not in still:
            booking.flag = booking.flagged_at = None
    rows.flush()


def _tell(booking: Booking) -> None:
    if not mail.enabled():
        return
    athlete = rows.get(Athlete, booking.athlete_id)
    tz = load_zone(athlete.timezone)
    when = f"{booking.start.astimezone(tz):%a %d %b %Y %H:%M} {tz.key}"
    kind = KIND_WORDS.get(booking.kind, booking.kind)
    text = "\n".join([
        "Hello,", "",
        "One of your races has new dates. Your " + kind + " session on " + when
        + " no longer fits them.", "",
        "Move it to a new time or cancel it in the app (your season page shows it);",
        "until then it stays booked.", ""])
    mail.queue_summary(athlete.email, plain(
        athlete.name, athlete.email, "A session no longer fits your race's new dates", text))
