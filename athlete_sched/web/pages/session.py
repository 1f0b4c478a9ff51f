"""A booked session's page, and its invite to open in any calendar app."""

from __future__ import annotations

from flask import render_template

from ...core.screening import CONSIDERATIONS
from ...services import overview
from ..auth import page_caller, signed_in
from ..http import ics
from ..schemas.screening import screening_json
from . import bp
from .format import booking_row


@bp.get("/bookings/<int:booking_id>")
@signed_in("athlete")
def booking_page(booking_id: int):
    caller = page_caller()
    found, answers = overview.session(caller, booking_id)  # their own: flags and decision
    return render_template("booking.html", athlete=caller, row=booking_row(found),
                           considerations=CONSIDERATIONS,
                           screening=answers and screening_json(answers))


@bp.get("/bookings/<int:booking_id>/invite.ics")
@signed_in("athlete")
def booking_invite(booking_id: int):
    """The session as a calendar invite (what the API's invite.ics serves: METHOD REQUEST,
    or CANCEL once cancelled)."""
    return ics(overview.invite(page_caller(), booking_id))
