"""JSON API v1: invites (.ics) and calendar feeds; and the public feed URL itself.

`GET /feeds/<token>.ics` lives outside /api/v1 on its own blueprint: the secret token is
the credential (no bearer token), calendar apps poll it, so it answers from a cache
(services/calendars.py) with a strong ETag (If-None-Match -> 304) and Last-Modified, and
an unknown or rotated token is a plain-text 404. If-Modified-Since alone is not honoured:
a feed can lose rows (a member leaves a team) without any newer timestamp, so only the
ETag proves that a copy is current.
"""

from __future__ import annotations

import re

from flask import Blueprint, current_app, request, url_for
from pydantic import BaseModel, ConfigDict
from werkzeug.http import http_date, unquote_etag

from ..core.errors import NotFound
from ..db.models import Athlete, Booking, CalendarFeed, Event, Team, Therapist
from ..extensions import db
from ..services import accounts, calendars, clinic
from . import access
from . import schemas as s
from .api import bp, doc, done
from .http import current_user, parse_query

feeds = Blueprint("feeds", __name__)
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
FEED_CACHE_CONTROL = "private, no-cache"  # may be kept, but revalidated (ETag) every time


class FeedOut(s.Out):
    url: str
    webcal: str


class EventInvitesQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    athlete_id: s.Id | None = None


def _ics(body: bytes, method: str, filename: str):
    response = current_app.response_class(body)
    response.headers["Content-Type"] = f"text/calendar; charset=utf-8; method={method}"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/bookings/<int:booking_id>/invite.ics")
@doc(summary="The booking's invite (text/calendar; method=REQUEST, or CANCEL once "
     "cancelled): UID, SEQUENCE, organizer, attendees, after-care notes, reminder",
     produces="text/calendar")
def booking_invite(booking_id: int):
    booking = access.booking_visible(current_user(), clinic.get(Booking, booking_id, "booking"))
    return _ics(calendars.invite_ics(booking), calendars.invite_method(booking),
                f"booking-{booking.id}.ics")


@bp.get("/events/<int:event_id>/invites.ics")
@doc(summary="The event's confirmed sessions the caller may see (pre and post) in one "
     "text/calendar file, method=REQUEST; athlete_id narrows a team event to one member",
     query=EventInvitesQuery, produces="text/calendar")
def event_invites(event_id: int):
    q = parse_query(EventInvitesQuery)
    user = current_user()
    event = access.event_visible(user, clinic.get(Event, event_id, "event"))
    filters = access.booking_scope(user)
    if q.athlete_id is not None:
        filters.append(Booking.athlete_id == q.athlete_id)
    return _ics(calendars.event_invites_ics(event, filters), "REQUEST",
                f"event-{event.id}-sessions.ics")


# --- feed links ---------------------------------------------------------------------------

def _feed_json(feed: CalendarFeed) -> dict:
    base = current_app.config.get("PUBLIC_URL")  # behind a proxy: the address users see
    url = (base.rstrip("/") + url_for("feeds.feed", token=feed.token) if base
           else url_for("feeds.feed", token=feed.token, _external=True))
    return {"url": url, "webcal": "webcal://" + url.split("://", 1)[1]}


def _therapist_owner(therapist_id: int) -> Therapist:
    therapist = clinic.get(Therapist, therapist_id, "therapist")
    if not access.manages_therapist(current_user(), therapist):
        raise NotFound("therapist feed", therapist_id)
    return therapist


def _athlete_owner(athlete_id: int) -> Athlete:
    """An athlete's feed: the athlete themself or an admin."""
    athlete = clinic.get(Athlete, athlete_id, "athlete")
    user = current_user()
    own = accounts.athlete_of(user) if user.role == "athlete" else None
    if user.role != "admin" and (own is None or own.id != athlete.id):
        raise NotFound("athlete feed", athlete_id)
    return athlete


def _team_owner(team_id: int) -> Team:
    """A team's feed: the team's coach or an admin."""
    team = clinic.get(Team, team_id, "team")
    if not access.acts_for_team(current_user(), team):
        raise NotFound("team feed", team_id)
    return team


@bp.get("/therapists/<int:therapist_id>/feed")
@doc(summary="The therapist's calendar feed URL (the therapist or an admin)", response=FeedOut)
def therapist_feed(therapist_id: int):
    return done(_feed_json(calendars.feed_of(_therapist_owner(therapist_id))))


@bp.post("/therapists/<int:therapist_id>/feed/rotate")
@doc(summary="A new feed token; the old URL answers 404 from now on", response=FeedOut)
def rotate_therapist_feed(therapist_id: int):
    return done(_feed_json(calendars.rotate_feed(_therapist_owner(therapist_id))))


@bp.get("/athletes/<int:athlete_id>/feed")
@doc(summary="The athlete's calendar feed URL: sessions and races (the athlete or an admin)",
     response=FeedOut)
def athlete_feed(athlete_id: int):
    return done(_feed_json(calendars.feed_of(_athlete_owner(athlete_id))))


@bp.post("/athletes/<int:athlete_id>/feed/rotate")
@doc(summary="A new feed token; the old URL answers 404 from now on", response=FeedOut)
def rotate_athlete_feed(athlete_id: int):
    return done(_feed_json(calendars.rotate_feed(_athlete_owner(athlete_id))))


@bp.get("/teams/<int:team_id>/feed")
@doc(summary="The team's calendar feed URL: its events and their sessions (the coach or an "
     "admin)", response=FeedOut)
def team_feed(team_id: int):
    return done(_feed_json(calendars.feed_of(_team_owner(team_id))))


@bp.post("/teams/<int:team_id>/feed/rotate")
@doc(summary="A new feed token; the old URL answers 404 from now on", response=FeedOut)
def rotate_team_feed(team_id: int):
    return done(_feed_json(calendars.rotate_feed(_team_owner(team_id))))


# --- the feed itself (public: the token is the credential) --------------------------------

def _no_feed():
    response = current_app.response_class("no feed at this address (unknown or rotated "
                                          "token)\n", status=404, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


@feeds.get("/feeds/<token>.ics")
def feed(token: str):
    """The feed's iCalendar text; 304 when If-None-Match holds its ETag."""
    found = calendars.published_feed(token) if TOKEN_RE.fullmatch(token) else None
    db.session.rollback()  # a read: end the transaction before answering
    if found is None:
        return _no_feed()
    headers = {"ETag": found.etag, "Last-Modified": http_date(found.last_modified),
               "Cache-Control": FEED_CACHE_CONTROL}
    if request.if_none_match.contains_weak(unquote_etag(found.etag)[0]):
        response = current_app.response_class(status=304, headers=headers)
        del response.headers["Content-Type"]
        return response
    return current_app.response_class(found.body, mimetype="text/calendar", headers=headers)
