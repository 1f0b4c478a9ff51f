"""A booked session's page: its details, putting it in a calendar app, moving it to another
slot of its window, cancelling it (under the clinic's cancellation notice); and its
invite to open in any calendar app."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for

from ...core.errors import DomainError
from ...core.screening import CONSIDERATIONS
from ...core.zones import load_zone
from ...services import my_season, overview, unit_of_work
from ...services.access import Caller
from ..auth import page_caller, signed_in
from ..errors import domain_status
from ..http import ics
from ..schemas.screening import screening_json
from . import bp
from .calendar_links import links
from .format import booking_row, by_day, iso, when
from .race import BOOKING_MESSAGES, requested_slot

CHANGE_MESSAGES = {
    **BOOKING_MESSAGES,
    "too-late": "It is too late to change this session online: the clinic needs {notice} "
                "hours' notice. Please call or email the clinic.",
    "started": "This session has already started, so it can no longer be cancelled or "
               "moved.",
    "booking-cancelled": "This session is cancelled: book a new one from your race's page.",
}


def change_message(exc: DomainError) -> str:
    notice = current_app.config["CANCEL_NOTICE_HOURS"]
    found = CHANGE_MESSAGES.get(exc.code)
    return found.format(notice=notice) if found else exc.message[:1].upper() + exc.message[1:]


def render_booking(caller: Caller, booking_id: int, status: int = 200,
                   error: str | None = None):
    page = my_season.session_page(caller, booking_id)
    row, b = booking_row(page.session, page.sites), page.session.booking
    zone = load_zone(row.zone)
    return render_template(
        "athlete/booking.html", athlete=caller, row=row, error=error,
        considerations=CONSIDERATIONS, started=b.start <= page.now, past=b.end <= page.now,
        screening=page.screening and screening_json(page.screening),
        change_until=when(page.change_until, zone), change_until_iso=iso(page.change_until),
        can_change=page.can_change, not_cleared=page.not_cleared,
        notice_hours=current_app.config["CANCEL_NOTICE_HOURS"],
        options=by_day(page.options, zone, page.sites),
        links=links(page.title, b.start, b.end, page.location, page.feed)), status


@bp.get("/bookings/<int:booking_id>")
@signed_in("athlete")
def booking_page(booking_id: int):
    return render_booking(page_caller(), booking_id)


@bp.post("/bookings/<int:booking_id>/reschedule")
@signed_in("athlete")
def reschedule(booking_id: int):
    caller = page_caller()
    try:
        _kind, therapist_id, start = requested_slot()
        my_season.move(caller, booking_id, therapist_id, start)
    except DomainError as exc:
        unit_of_work.rollback()
        return render_booking(caller, booking_id, domain_status(exc), change_message(exc))
    flash("Your session was moved. The calendar invite is updated too.", "success")
    return redirect(url_for(".booking_page", booking_id=booking_id), 303)


@bp.post("/bookings/<int:booking_id>/cancel")
@signed_in("athlete")
def cancel(booking_id: int):
    caller = page_caller()
    try:
        my_season.cancel(caller, booking_id)
    except DomainError as exc:
        unit_of_work.rollback()
        return render_booking(caller, booking_id, domain_status(exc), change_message(exc))
    flash("Your session was cancelled.", "success")
    return redirect(url_for(".booking_page", booking_id=booking_id), 303)


@bp.post("/bookings/<int:booking_id>/feed/rotate")
@signed_in("athlete")
def rotate_my_feed(booking_id: int):
    """A new address for the athlete's feed (shown when the old one cannot be: migration
    0016 kept only its hash); the old address stops working."""
    my_season.rotate_feed(page_caller(), booking_id)
    flash("Your calendar subscription has a new address: subscribe to it again; the old "
          "address no longer works.", "success")
    return redirect(url_for(".booking_page", booking_id=booking_id), 303)


@bp.get("/bookings/<int:booking_id>/invite.ics")
@signed_in("athlete")
def booking_invite(booking_id: int):
    """The session as a calendar invite (what the API's invite.ics serves: METHOD REQUEST,
    or CANCEL once cancelled)."""
    return ics(overview.invite(page_caller(), booking_id))
