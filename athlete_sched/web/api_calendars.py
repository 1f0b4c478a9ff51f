"""JSON API v1: invites (.ics) and the links of calendar feeds (the feed itself: feeds.py)."""

from __future__ import annotations

from typing import Any

from ..services import calendars
from .api import bp, doc
from .feeds import feed_links
from .http import answer, current_caller, ics, parse_query
from .schemas import calendars as sc


@bp.get("/bookings/<int:booking_id>/invite.ics")
@doc(summary="The booking's invite (text/calendar; method=REQUEST, or CANCEL once "
     "cancelled): UID, SEQUENCE, organizer, attendees, after-care notes, reminder",
     produces="text/calendar")
def booking_invite(booking_id: int):
    return ics(calendars.invite_for(current_caller(), booking_id))


@bp.get("/events/<int:event_id>/invites.ics")
@doc(summary="The event's confirmed sessions the caller may see (pre and post) in one "
     "text/calendar file, method=REQUEST; athlete_id narrows a team event to one member",
     query=sc.EventInvitesQuery, produces="text/calendar")
def event_invites(event_id: int):
    q = parse_query(sc.EventInvitesQuery)
    return ics(calendars.event_invites_for(current_caller(), event_id, q.athlete_id))


# --- feed links ---------------------------------------------------------------------------

HIDDEN = {409: "feed-link-hidden: the feed's address works but was stored only as a hash "
               "by the upgrade to migration 0016 and cannot be shown: rotate for a new one"}

def _feed_json(feed: Any) -> dict:
    """A feed's addresses (a CalendarFeed row just given a new token)."""
    return feed_links(calendars.token_of(feed) or "")


def _links(owner_kind: str, owner_id: int) -> dict:
    """The addresses of the feed the caller owns (409 feed-link-hidden for a token only
    hashed by migration 0016: rotate for one that can be shown)."""
    return feed_links(calendars.feed_token_for(current_caller(), owner_kind, owner_id))


@bp.get("/therapists/<int:therapist_id>/feed")
@doc(summary="The therapist's calendar feed URL (the therapist or an admin)",
     response=sc.FeedOut, errors=HIDDEN)
def therapist_feed(therapist_id: int):
    return answer(_links("therapist", therapist_id))


@bp.post("/therapists/<int:therapist_id>/feed/rotate")
@doc(summary="A new feed token; the old URL answers 404 from now on", response=sc.FeedOut)
def rotate_therapist_feed(therapist_id: int):
    feed = calendars.rotate_feed_for(current_caller(), "therapist", therapist_id)
    return answer(_feed_json(feed))


@bp.get("/athletes/<int:athlete_id>/feed")
@doc(summary="The athlete's calendar feed URL: sessions and races (the athlete or an admin)",
     response=sc.FeedOut, errors=HIDDEN)
def athlete_feed(athlete_id: int):
    return answer(_links("athlete", athlete_id))


@bp.post("/athletes/<int:athlete_id>/feed/rotate")
@doc(summary="A new feed token; the old URL answers 404 from now on", response=sc.FeedOut)
def rotate_athlete_feed(athlete_id: int):
    return answer(_feed_json(calendars.rotate_feed_for(current_caller(), "athlete",
                                                       athlete_id)))


@bp.get("/teams/<int:team_id>/feed")
@doc(summary="The team's calendar feed URL: its events and their sessions (the coach or an "
     "admin)", response=sc.FeedOut, errors=HIDDEN)
def team_feed(team_id: int):
    return answer(_links("team", team_id))


@bp.post("/teams/<int:team_id>/feed/rotate")
@doc(summary="A new feed token; the old URL answers 404 from now on", response=sc.FeedOut)
def rotate_team_feed(team_id: int):
    return answer(_feed_json(calendars.rotate_feed_for(current_caller(), "team", team_id)))
