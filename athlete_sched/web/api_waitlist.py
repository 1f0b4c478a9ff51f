"""JSON API v1: the waiting list of an event's windows (contract: "Waiting list")."""

from __future__ import annotations

from flask import jsonify

from ..services import waitlist
from .api import bp, doc
from .http import answer, current_caller, parse_body
from .schemas import waitlist as sw


@bp.post("/events/<int:event_id>/waitlist")
@doc(summary="Join the waiting list of one window of the event; freed time is offered in "
     "order, held for WAITLIST_HOLD_MINUTES", body=sw.WaitlistIn,
     response=sw.WaitlistEntryOut, status=201,
     errors={409: "already-waiting (on this list already), already-booked (a session is "
                  "booked in that window)", 422: "window-over, invalid values"})
def join_waitlist(event_id: int):
    data = parse_body(sw.WaitlistIn)
    view = waitlist.join_for(current_caller(), event_id, data.kind, data.athlete_id)
    return answer(sw.entry_json(view), 201)


@bp.get("/events/<int:event_id>/waitlist")
@doc(summary="The event's waiting list: the whole line for therapists and admins, one's "
     "own entries (place and live offer) for athletes and coaches", response=sw.WaitlistOut)
def get_waitlist(event_id: int):
    views = waitlist.line_for(current_caller(), event_id)
    return jsonify({"items": [sw.entry_json(v) for v in views]})


@bp.delete("/waitlist/<int:entry_id>")
@doc(summary="Leave the waiting list (its offer, if any, goes to the next in line)",
     status=204)
def leave_waitlist(entry_id: int):
    waitlist.leave_for(current_caller(), entry_id)
    return answer(None, 204)
