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

def _feed_json(feed: Any) -> dict:
    """A feed's addresses (a CalendarFeed row)."""
    return feed_links(feed.token)


@bp.get("/therapists/<int:therapist_id>/feed")
@doc(summary="The therapist's calendar feed URL (the therapist or an admin)",
     response=sc.FeedOut)
def therapist_feed(therapist_id: int):
    return answer(_feed_json(calendars.feed_for(current_caller(), "therapist", therapist_id)))


@bp.post("/therapists/<int:therapist_id>/feed/rotate")
@doc(summary="A new feed token; the old URL answers 404 from now on", response=sc.FeedOut)
def rotate_therapist_feed(therapist_id: int):
    feed = calendars.rotate_feed_for(current_caller(), "therapist", therapist_id)
    return answer(_feed_json(feed))


@bp.get("/athletes/<int:athlete_id>/feed")
@doc(summary="The athlete's calendar feed URL: sessions and races (the athlete or an admin)",
     response=sc.FeedOut)
def athlete_feed(athlete_id: int):
    return answer(_feed_json(calendars.feed_for(current_caller(), "athlete", athlete_id)))


@bp.post("/athletes/<int:athlete_id>/feed/rotate")
@doc(summary="A new feed token; the old URL answers 404 from now on", response=sc.FeedOut)
def rotate_athlete_feed(athlete_id: int):
    return answer(_feed_json(calendars.rotate_feed_for(current_caller(), "athlete",
                                                       athlete_id)))


@bp.get("/teams/<int:team_id>/feed")
@doc(summary="The team's calendar feed URL: its events and their sessions (the coach or an "
     "admin)", response=sc.FeedOut)
def team_feed(team_id: int):
    return answer(_feed_json(calendars.feed_for(current_caller(), "team", team_id)))


@bp.post("/teams/<int:team_id>/feed/rotate")
@doc(summary="A new feed token; the old URL answers 404 from now on", response=sc.FeedOut)
def rotate_team_feed(team_id: int):
    return answer(_feed_json(calendars.rotate_feed_for(current_caller(), "team", team_id)))
