"""JSON API v1: events, proposals and bookings."""

from __future__ import annotations

from flask import current_app, jsonify

from ..services import bookings, events, proposals, unit_of_work
from .api import bp, doc
from .http import answer, current_caller, page, parse_body, parse_query
from .schemas import scheduling as ss
from .schemas.base import page_of


@bp.post("/events")
@doc(summary="Create a race or ride; answers with its pre and post windows", body=ss.EventIn,
     response=ss.EventOut, status=201)
def create_event():
    view = events.create_event_for(current_caller(), parse_body(ss.EventIn))
    return answer(ss.event_json(view), 201)


@bp.get("/events/<int:event_id>")
@doc(summary="One event with its windows", response=ss.EventOut)
def get_event(event_id: int):
    return jsonify(ss.event_json(events.get_for(current_caller(), event_id)))


@bp.patch("/events/<int:event_id>")
@doc(summary="Change an event; bookings its new windows no longer hold come back flagged, "
     "or with move_bookings are moved into them (all or nothing: 409 if one cannot move)",
     body=ss.EventPatch, response=ss.EventChangeOut)
def patch_event(event_id: int):
    change = events.update_event_for(current_caller(), event_id, parse_body(ss.EventPatch))
    return answer({**ss.event_json(change.view),
                   "flagged_bookings": ss.bookings_json(change.flagged),
                   "moved_bookings": ss.bookings_json(change.moved)})


@bp.get("/events/<int:event_id>/proposals")
@doc(summary="Ranked free slots in the event's windows (ranking: see README)",
     query=ss.ProposalQuery, response=ss.ProposalsOut)
def list_proposals(event_id: int):
    body = proposals.propose_for(current_caller(), event_id, parse_query(ss.ProposalQuery),
                                 render=ss.proposals_bytes)
    return current_app.response_class(body, mimetype="application/json")


# --- bookings -----------------------------------------------------------------------------

BOOKING_ERRORS = {
    409: "conflict: slot-taken (the therapist, with buffer, is not free), held (the time "
         "is held for another athlete of the waiting list until their offer expires), "
         "athlete-busy, "
         "already-booked, screening-not-cleared (the athlete's latest review is not "
         "cleared), too-late / started (a change inside the cancellation notice, or after "
         "the start)",
    422: "invalid values: outside-window, outside-working-hours, too-soon, wrong-site (the "
         "session's site is not where the athlete is then: home outside travel, the venue "
         "inside it)"}

@bp.post("/bookings")
@doc(summary="Book a session (never double-booked)", body=ss.BookingIn,
     response=ss.BookingOut, status=201, errors=BOOKING_ERRORS)
@unit_of_work.begins_as_reader  # most attempts at a popular slot lose: no lock for them
def create_booking():
    booked = bookings.book_for(current_caller(), parse_body(ss.BookingIn))
    return answer(ss.booking_json(booked), 201)


@bp.get("/bookings/<int:booking_id>")
@doc(summary="One booking", response=ss.BookingOut)
def get_booking(booking_id: int):
    return jsonify(ss.booking_json(bookings.get_for(current_caller(), booking_id)))


@bp.get("/bookings")
@doc(summary="Bookings the caller may see, filtered", query=ss.BookingQuery,
     response=page_of(ss.BookingOut))
def list_bookings():
    q = parse_query(ss.BookingQuery)
    found = bookings.list_for(current_caller(), q, q.limit + 1)
    return jsonify(page(found, q.limit, ss.booking_json, id_of=lambda v: v.booking.id))


@bp.patch("/bookings/<int:booking_id>")
@doc(summary="Reschedule: same uid, sequence + 1, the same checks as booking",
     body=ss.BookingPatch, response=ss.BookingOut, errors=BOOKING_ERRORS)
def patch_booking(booking_id: int):
    data = parse_body(ss.BookingPatch)
    moved = bookings.reschedule_for(current_caller(), booking_id, data.start, data.therapist_id)
    return answer(ss.booking_json(moved))


@bp.post("/bookings/<int:booking_id>/cancel")
@doc(summary="Cancel (idempotent): status cancelled, sequence + 1 the first time",
     response=ss.BookingOut, errors={409: "too-late (an athlete or coach inside the clinic's "
                                         "cancellation notice), started"})
def cancel_booking(booking_id: int):
    return answer(ss.booking_json(bookings.cancel_for(current_caller(), booking_id)))
