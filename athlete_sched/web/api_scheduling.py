"""JSON API v1: events, proposals and bookings."""

from __future__ import annotations

from flask import jsonify

from ..core.errors import NotFound
from ..db.models import Athlete, Booking, Event, Team, Therapist
from ..services import accounts, clinic, scheduling
from ..services.common import localize, timing_of, windows_of
from ..services.events import create_event as create_event_service
from ..services.events import update_event
from . import access
from . import schemas as s
from .api import bp, doc, done
from .http import current_user, page, parse_body, parse_query
from ..core.zones import load_zone
from ..db import queries


def _event(event_id: int, field: str | None = None) -> Event:
    event = clinic.get(Event, event_id, "event", field)
    try:
        return access.event_visible(current_user(), event)
    except NotFound:
        raise NotFound("event", event_id, field=field) from None


def _event_json(event: Event) -> dict:
    return s.event_json(event, windows_of(event), timing_of(event))


@bp.post("/events")
@doc(summary="Create a race or ride; answers with its pre and post windows", body=s.EventIn,
     response=s.EventOut, status=201)
def create_event():
    data = parse_body(s.EventIn)
    user = current_user()
    if data.athlete_id is not None:
        owner = clinic.get(Athlete, data.athlete_id, "athlete", "athlete_id")
        if not access.acts_for_athlete(user, owner.id):
            raise NotFound("athlete", owner.id, field="athlete_id")
    else:
        owner = clinic.get(Team, data.team_id, "team", "team_id")
        if not access.acts_for_team(user, owner):
            raise NotFound("team", owner.id, field="team_id")
    return done(_event_json(create_event_service(data, owner)), 201)


@bp.get("/events/<int:event_id>")
@doc(summary="One event with its windows", response=s.EventOut)
def get_event(event_id: int):
    return jsonify(_event_json(_event(event_id)))


@bp.patch("/events/<int:event_id>")
@doc(summary="Change an event; bookings its new windows no longer hold come back flagged",
     body=s.EventPatch, response=s.EventOut)
def patch_event(event_id: int):
    data = parse_body(s.EventPatch)
    event = access.event_changeable(current_user(), _event(event_id))
    flagged = update_event(event, data)
    return done({**_event_json(event),
                 "flagged_bookings": [s.booking_json(b) for b in flagged]})


@bp.get("/events/<int:event_id>/proposals")
@doc(summary="Ranked free slots in the event's windows (ranking: see README)",
     query=s.ProposalQuery, response=s.ProposalsOut)
def proposals(event_id: int):
    q = parse_query(s.ProposalQuery)
    event = _event(event_id)
    if q.therapist_id is not None:
        clinic.get(Therapist, q.therapist_id, "therapist", "therapist_id")
    athlete_id = None
    if event.team_id is not None and q.athlete_id is not None:
        athlete_id = scheduling.booking_athlete(event, q.athlete_id)
    kinds = ("pre", "post") if q.kind == "both" else (q.kind,)
    windows, found = scheduling.propose(event, kinds, q.therapist_id, athlete_id, q.limit)
    return jsonify({"event_id": event.id, "windows": s.windows_json(windows),
                    "pre": [s.slot_json(x) for x in found["pre"]],
                    "post": [s.slot_json(x) for x in found["post"]]})


# --- bookings -----------------------------------------------------------------------------

def _booking(booking_id: int) -> Booking:
    booking = clinic.get(Booking, booking_id, "booking")
    return access.booking_visible(current_user(), booking)


@bp.post("/bookings")
@doc(summary="Book a session (never double-booked)", body=s.BookingIn, response=s.BookingOut,
     status=201)
def create_booking():
    data = parse_body(s.BookingIn)
    user = current_user()
    if user.role == "therapist":
        raise access.forbidden("athletes, coaches and admins book sessions")
    event = _event(data.event_id, "event_id")
    athlete_id = scheduling.booking_athlete(event, data.athlete_id)
    if not access.acts_for_athlete(user, athlete_id):
        raise NotFound("athlete", athlete_id, field="athlete_id")
    athlete = clinic.get(Athlete, athlete_id, "athlete", "athlete_id")
    therapist = clinic.get(Therapist, data.therapist_id, "therapist", "therapist_id")
    booking = scheduling.book(event, therapist, athlete, data.kind, data.start,
                              data.duration_minutes, data.notes)
    return done(s.booking_json(booking), 201)


@bp.get("/bookings/<int:booking_id>")
@doc(summary="One booking", response=s.BookingOut)
def get_booking(booking_id: int):
    return jsonify(s.booking_json(_booking(booking_id)))


@bp.get("/bookings")
@doc(summary="Bookings the caller may see, filtered", query=s.BookingQuery,
     response=s.page_of(s.BookingOut))
def list_bookings():
    q = parse_query(s.BookingQuery)
    user = current_user()
    filters = []
    if user.role == "therapist":
        own = accounts.therapist_of(user)
        filters.append(Booking.therapist_id == (own.id if own else -1))
    elif user.role == "athlete":
        own_athlete = accounts.athlete_of(user)
        filters.append(Booking.athlete_id == (own_athlete.id if own_athlete else -1))
    elif user.role == "coach":
        filters.append(Booking.athlete_id.in_(accounts.coached_athlete_ids(user)))
    for name in ("athlete_id", "therapist_id", "event_id", "status"):
        if getattr(q, name) is not None:
            filters.append(getattr(Booking, name) == getattr(q, name))
    if q.from_ is not None:
        filters.append(Booking.end > localize(q.from_, load_zone("UTC")))
    if q.to is not None:
        filters.append(Booking.start < localize(q.to, load_zone("UTC")))
    rows = queries.bookings_page(filters, after_id=q.after_id, limit=q.limit)
    return jsonify(page([s.booking_json(b) for b in rows], rows, q.limit))


@bp.patch("/bookings/<int:booking_id>")
@doc(summary="Reschedule: same uid, sequence + 1, the same checks as booking",
     body=s.BookingPatch, response=s.BookingOut)
def patch_booking(booking_id: int):
    data = parse_body(s.BookingPatch)
    booking = _booking(booking_id)
    therapist = None
    if data.therapist_id is not None:
        therapist = clinic.get(Therapist, data.therapist_id, "therapist", "therapist_id")
    return done(s.booking_json(scheduling.reschedule(booking, data.start, therapist)))


@bp.post("/bookings/<int:booking_id>/cancel")
@doc(summary="Cancel (idempotent): status cancelled, sequence + 1 the first time",
     response=s.BookingOut)
def cancel_booking(booking_id: int):
    return done(s.booking_json(scheduling.cancel(_booking(booking_id))))
