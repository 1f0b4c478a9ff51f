"""A race's page: its windows, each with the athlete's session or the best slots; booking
one of them."""

from __future__ import annotations

from datetime import datetime

from flask import redirect, render_template, request, url_for

from ...core.errors import DomainError, InvalidValue
from ...core.kinds import WINDOW_KINDS
from ...core.zones import load_zone
from ...services import overview, unit_of_work
from ...services.access import Caller
from ..auth import page_caller, signed_in
from ..errors import domain_status
from . import bp
from .event_form import SPORTS
from .format import KIND_TITLES, event_when, span, window_view

SLOTS_PER_WINDOW = 8
BOOKING_MESSAGES = {
    "slot-taken": "Sorry, that slot was taken a moment ago. The list below is up to date: "
                  "please pick another one.",
    "already-booked": "You already have this session booked for this race (shown below).",
    "athlete-busy": "You already have a session or another event at that time. "
                    "Please pick another slot.",
    "too-soon": "That slot is too soon to book now. Please pick a later one.",
    "unknown-slot": "That slot is not valid: pick one from the list.",
    "screening-not-cleared": "Your therapist has not cleared you for dry needling yet, so "
                             "no session can be booked or moved for now. Nothing was booked.",
    "held": "That slot is held for an athlete on the waiting list for a few minutes. "
            "Please pick another one, or join the waiting list.",
    "already-waiting": "You are already on the waiting list for this window.",
    "window-over": "This window is over: there is nothing to wait for.",
}
NOT_A_SLOT = BOOKING_MESSAGES["unknown-slot"]


def render_event(caller: Caller, event_id: int, status: int = 200, error: str | None = None):
    view, windows, not_cleared = overview.race(caller, event_id, SLOTS_PER_WINDOW)
    event, tz = view.event, load_zone(view.event.timezone)
    known = windows[0].sites if windows else {}
    away = (None if event.travel_depart is None
            else span(event.travel_depart, event.travel_return, tz))
    return render_template(
        "athlete/event.html", athlete=caller, event=event, when=event_when(view), error=error,
        away=away, venue=known.get(event.venue_site_id) if event.venue_site_id else None,
        windows=[window_view(w, tz) for w in windows], sport=SPORTS[view.event.sport],
        titles=KIND_TITLES, not_cleared=not_cleared), status


@bp.get("/events/<int:event_id>")
@signed_in("athlete")
def event_page(event_id: int):
    return render_event(page_caller(), event_id)


def requested_slot() -> tuple[str, int, datetime]:
    """The slot a Book button sent: kind, therapist id and an aware start."""
    form = request.form
    kind = form.get("kind", "")
    if kind not in WINDOW_KINDS:
        raise InvalidValue("Choose a pre-race or a recovery session.", field="kind")
    try:
        therapist_id, start = int(form.get("therapist_id", "")), datetime.fromisoformat(
            form.get("start", ""))
    except ValueError:
        raise InvalidValue(NOT_A_SLOT) from None
    if start.tzinfo is None:
        raise InvalidValue(NOT_A_SLOT)
    return kind, therapist_id, start


@bp.post("/events/<int:event_id>/book")
@signed_in("athlete")
def book_slot(event_id: int):
    caller = page_caller()
    overview.own_event(caller, event_id)
    try:
        kind, therapist_id, start = requested_slot()
        booking = overview.book_slot(caller, event_id, kind, therapist_id, start)
    except DomainError as exc:
        unit_of_work.rollback()
        message = BOOKING_MESSAGES.get(exc.code, exc.message[:1].upper() + exc.message[1:])
        return render_event(caller, event_id, domain_status(exc), message)
    return redirect(url_for(".booking_page", booking_id=booking.id), 303)


@bp.post("/events/<int:event_id>/waitlist")
@signed_in("athlete")
def join_waitlist(event_id: int):
    """Join the waiting list of one window (the form's `kind`) of the athlete's race."""
    caller = page_caller()
    try:
        kind = request.form.get("kind", "")
        if kind not in WINDOW_KINDS:
            raise InvalidValue("Choose a pre-race or a recovery session.", field="kind")
        overview.join_waitlist(caller, event_id, kind)
    except DomainError as exc:
        unit_of_work.rollback()
        message = BOOKING_MESSAGES.get(exc.code, exc.message[:1].upper() + exc.message[1:])
        return render_event(caller, event_id, domain_status(exc), message)
    return redirect(url_for(".event_page", event_id=event_id, _anchor=f"window-{kind}"), 303)


@bp.post("/waitlist/<int:entry_id>/leave")
@signed_in("athlete")
def leave_waitlist(entry_id: int):
    event_id = overview.leave_waitlist(page_caller(), entry_id)
    return redirect(url_for(".event_page", event_id=event_id), 303)
