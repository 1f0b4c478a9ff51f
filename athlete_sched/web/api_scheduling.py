"""JSON API v1: events, proposals and bookings."""

from __future__ import annotations

from flask import current_app, jsonify

from ..core.errors import InvalidValue, NotFound
from ..db.models import Athlete, Booking, Event, Team, Therapist
from ..db.version import data_version
from ..services import accounts, clinic, scheduling, screening
from ..services.cache import cache_for
from ..services.common import now, timing_of, windows_of
from ..services.events import create_event as create_event_service
from ..services.events import update_event
from . import access
from . import schemas as s
from .api import bp, doc, done
from .http import current_user, json_bytes, page, parse_body, parse_query


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
        owner = access.team_changeable(user, clinic.get(Team, data.team_id, "team", "team_id"),
                                       "team_id")
    return done(_event_json(create_event_service(data, owner)), 201)


@bp.get("/events/<int:event_id>")
@doc(summary="One event with its windows", response=s.EventOut)
def get_event(event_id: int):
    return jsonify(_event_json(_event(event_id)))


@bp.patch("/events/<int:event_id>")
@doc(summary="Change an event; bookings its new windows no longer hold come back flagged, "
     "or with move_bookings are moved into them (all or nothing: 409 if one cannot move)",
     body=s.EventPatch, response=s.EventChangeOut)
def patch_event(event_id: int):
    data = parse_body(s.EventPatch)
    event = access.event_changeable(current_user(), _event(event_id))
    change = update_event(event, data)
    return done({**_event_json(event),
                 "flagged_bookings": s.bookings_json(change.flagged),
                 "moved_bookings": s.bookings_json(change.moved)})


@bp.get("/events/<int:event_id>/proposals")
@doc(summary="Ranked free slots in the event's windows (ranking: see README)",
     query=s.ProposalQuery, response=s.ProposalsOut)
def proposals(event_id: int):
    q = parse_query(s.ProposalQuery)
    cache = cache_for("proposals")
    # Read before any row the answer is built from (db/version.py); no cache, no query.
    version = data_version() if cache.size > 0 else None
    event = _event(event_id)
    if q.therapist_id is not None:
        clinic.get(Therapist, q.therapist_id, "therapist", "therapist_id")
    athlete_id = _proposal_athlete(event, q.athlete_id)
    kinds = _kinds(event, q.kind)
    key, at = (event.id, kinds, q.therapist_id, athlete_id, q.limit), now()
    body = cache.get(key, version, at)
    if body is None:
        found = scheduling.propose(event, kinds, q.therapist_id, athlete_id, q.limit)
        body = json_bytes(s.proposals_json(event.id, found))
        cache.put(key, version, body, at, scheduling.proposals_fresh_until(found.found))
    return current_app.response_class(body, mimetype="application/json")


def _kinds(event: Event, asked: str) -> tuple[str, ...]:
    """The kinds to propose: a C-priority event gets a recovery session only, unless a pre
    session is asked for by name (kind=pre)."""
    if asked != "both":
        return (asked,)
    return ("post",) if event.priority == "C" else ("pre", "post")


def _proposal_athlete(event: Event, athlete_id: int | None) -> int | None:
    """Whose commitments a team event's proposals avoid: the member named (one the caller
    acts for), else an athlete caller's own; for a personal event, the event's athlete."""
    user = current_user()
    if event.team_id is None:
        return None
    if athlete_id is None and user.role == "athlete":
        own = accounts.athlete_of(user)
        athlete_id = own.id if own else None
    if athlete_id is None:
        return None
    athlete_id = scheduling.booking_athlete(event, athlete_id)
    if not access.acts_for_athlete(user, athlete_id):
        raise NotFound("athlete", athlete_id, field="athlete_id")
    return athlete_id


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
    event, athlete_id = _booking_target(data)
    if not access.acts_for_athlete(user, athlete_id):
        raise NotFound("athlete", athlete_id, field="athlete_id")
    athlete = clinic.get(Athlete, athlete_id, "athlete", "athlete_id")
    therapist = clinic.get(Therapist, data.therapist_id, "therapist", "therapist_id")
    booking = scheduling.book(event, therapist, athlete, data.kind, data.start,
                              data.duration_minutes, data.notes, data.shared_with_event_id)
    return done(s.booking_json(booking), 201)


def _booking_target(data: s.BookingIn) -> tuple[Event | None, int]:
    """The event and athlete a new session is for; a tune-up has an athlete and no event."""
    if data.kind == "tune-up":
        if data.event_id is not None:
            raise InvalidValue("a tune-up belongs to no event: leave out event_id",
                               field="event_id")
        if data.athlete_id is None:
            raise InvalidValue("a tune-up needs athlete_id", field="athlete_id")
        return None, data.athlete_id
    if data.event_id is None:
        raise InvalidValue("event_id is required (only a tune-up has none)", field="event_id")
    event = _event(data.event_id, "event_id")
    return event, scheduling.booking_athlete(event, data.athlete_id)


@bp.get("/bookings/<int:booking_id>")
@doc(summary="One booking", response=s.BookingOut)
def get_booking(booking_id: int):
    return jsonify(s.booking_json(_booking(booking_id)))


@bp.get("/bookings")
@doc(summary="Bookings the caller may see, filtered", query=s.BookingQuery,
     response=s.page_of(s.BookingOut))
def list_bookings():
    q = parse_query(s.BookingQuery)
    rows = scheduling.list_bookings(access.booking_scope(current_user()), q, q.limit + 1)
    screenings = screening.for_bookings(b.athlete_id for b in rows)
    return jsonify(page(rows, q.limit, lambda b: s.booking_json(b, screenings)))


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
