"""Invites and feeds: rows -> the core's calendar values -> bytes (core/ical.py).

- `invite_ics(booking)` / `invite_method(booking)`: one booking's iTIP message (also used
  by the mail service); `event_invites_for`: an event's confirmed sessions in one file.
- Feeds: one secret token per therapist, athlete or team (`feed_of` creates it on first
  use, `rotate_feed_for` replaces it in place, so the old URL is dead at once). The
  database keeps only the token's SHA-256 (what a URL is looked up by) and a random seed:
  the token is HMAC-SHA256(FEED_TOKEN_KEY or SECRET_KEY, seed), so the pages and the API
  can show the link again, while the database alone (a leaked backup) opens no feed.
  Tokens hashed by migration 0016 have no seed: they work, `token_of` cannot show them.
  A feed's bytes: services/feed_bodies.py.

Feeds hold nothing medical: a feed's session carries a neutral summary, its times and
the clinic's location (core.ical.feed never writes notes, after-care or attendees).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app

from ..core import ical, kinds
from ..core.errors import Conflict, DomainError, NotFound
from ..db.models import Athlete, Booking, CalendarFeed, Event, Site, Team, Therapist
from ..db.queries import bookings, calendars, rows
from . import access, sites, unit_of_work
from .access import Caller
from .accounts import hash_token
from .common import clinic_name, found, stamp

UID_DOMAIN = "athlete-sched"  # as in booking UIDs (services/bookings.book)
Owner = Therapist | Athlete | Team


class FeedLinkHidden(Conflict):
    """The feed's link works but cannot be shown: its token was hashed by migration 0016
    (or derived under another key); rotating makes one that can."""

    code = "feed-link-hidden"

    def __init__(self, owner_kind: str, owner_id: int) -> None:
        super().__init__(f"this {owner_kind} feed's address still works, but only its hash "
                         f"is stored (made before migration 0016, or under another server "
                         f"key) and it cannot be shown again: rotate the feed for a new "
                         f"address (the old one then stops)",
                         owner_kind=owner_kind, owner_id=owner_id)


class NoSessions(NotFound):
    code = "no-sessions"

    def __init__(self, event_id: int) -> None:
        DomainError.__init__(self, f"event {event_id} has no confirmed session you may see",
                             event_id=event_id)


# --- invites ------------------------------------------------------------------------------

def clinic() -> ical.Clinic:
    """The organizer, location and reminder of invites (config: CLINIC_*, INVITE_*; the
    name as the clinic's settings say)."""
    config, name = current_app.config, clinic_name()
    location = ", ".join(p for p in (name, config.get("CLINIC_ADDRESS")) if p)
    return ical.Clinic(name=name, email=config["CLINIC_EMAIL"],
                       location=location,
                       reminder=timedelta(minutes=config.get("INVITE_REMINDER_MINUTES", 120)))


def locations(default: str) -> dict[int | None, str]:
    """Where a session is, by site id: the clinic's name, the site's name and address (a
    clinic has a handful of sites: one read); None (no site): the clinic's location."""
    name = clinic_name()
    found_: dict[int | None, str] = {None: default}
    for site in sites.all_sites():
        found_[site.id] = site_location(name, site)
    return found_


def site_location(clinic: str, site: Site) -> str:
    """Where a session at `site` is, as invites say: the clinic's name, the site's name and
    address."""
    return ", ".join(p for p in (clinic, site.name, site.address) if p)


def invite_summary(kind: str, event: Event | None) -> str:
    """An invite's title: 'Dry needling – pre-race session: Spring 10K' (a tune-up: no
    event)."""
    return kinds.summary(kind) + (f": {event.name}" if event is not None else "")


def _invite_session(booking: Booking, location: str) -> ical.Session:
    athlete = rows.get(Athlete, booking.athlete_id)
    therapist = rows.get(Therapist, booking.therapist_id)
    event = rows.get(Event, booking.event_id) if booking.event_id else None
    return ical.Session(
        uid=booking.uid, sequence=booking.sequence, stamp=booking.updated_at,
        start=booking.start, end=booking.end, cancelled=booking.status == "cancelled",
        summary=invite_summary(booking.kind, event), location=location,
        attendees=(ical.Person(athlete.email, athlete.name),
                   ical.Person(therapist.email, therapist.name)))


def invite_method(booking: Booking) -> str:
    """"REQUEST" for a confirmed booking, "CANCEL" for a cancelled one."""
    return ical.CANCEL if booking.status == "cancelled" else ical.REQUEST


def invite_ics(booking: Booking) -> bytes:
    """One VCALENDAR with the booking's VEVENT, METHOD as `invite_method`."""
    where = clinic()
    location = locations(where.location).get(booking.site_id, where.location)
    return ical.invite(_invite_session(booking, location), where)


@dataclass(frozen=True)
class Invite:
    """A calendar file to hand out: its bytes, its iTIP method and a file name."""

    body: bytes
    method: str
    filename: str


def invite_for(caller: Caller, booking_id: int, filename: str = "booking-{}.ics") -> Invite:
    """A booking the caller may see, as its invite (REQUEST, or CANCEL once cancelled)."""
    booking = access.booking(caller, booking_id)
    return Invite(invite_ics(booking), invite_method(booking), filename.format(booking.id))


def event_invites_for(caller: Caller, event_id: int, athlete_id: int | None) -> Invite:
    """The event's confirmed sessions the caller may see (`athlete_id` narrows a team event
    to one member) in one METHOD:REQUEST file; NoSessions when there is none."""
    event = access.event(caller, event_id)
    scope = access.booking_scope(caller)
    found_ = bookings.listed(bookings.Filter(
        visible_to_therapists=scope.visible_to_therapists,
        visible_to_athletes=scope.visible_to_athletes, athlete_id=athlete_id,
        event_id=event.id, status="confirmed"))
    if not found_:
        raise NoSessions(event.id)
    where = clinic()
    places = locations(where.location)
    body = ical.invites([_invite_session(b, places.get(b.site_id, where.location))
                         for b in found_], where)
    return Invite(body, ical.REQUEST, f"event-{event.id}-sessions.ics")


# --- feed tokens --------------------------------------------------------------------------

def feed_of(owner: Owner) -> CalendarFeed:
    """The owner's feed, created on first use (a GET then restarts as a writer). A
    concurrent first use that wins the unique owner column is read back instead."""
    feed = calendars.feed_of(owner)
    if feed is not None:
        return feed
    if unit_of_work.reading():
        unit_of_work.restart_as_writer()  # SQLite: the insert below needs the write lock
        feed = calendars.feed_of(owner)
        if feed is not None:
            return feed
    at = stamp()
    feed = CalendarFeed(created_at=at, rotated_at=at)
    _new_token(feed)
    setattr(feed, calendars.owner_column(owner), owner.id)
    if rows.add_unless_there(feed):
        return feed
    feed = calendars.feed_of(owner)
    if feed is None:
        raise RuntimeError("a feed refused as a duplicate is not there")
    return feed


FEED_TOKEN_PURPOSE = b"athlete_sched calendar feed token\0"


def _derived(seed: str) -> str:
    """The token of a seed: HMAC-SHA256 with FEED_TOKEN_KEY (default SECRET_KEY), 43
    URL-safe characters."""
    key = current_app.config.get("FEED_TOKEN_KEY") or current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    digest = hmac.new(key, FEED_TOKEN_PURPOSE + seed.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _new_token(feed: CalendarFeed) -> None:
    """A fresh seed (256 random bits) and the hash of the token derived from it."""
    feed.token_seed = secrets.token_urlsafe(32)
    feed.token_hash = hash_token(_derived(feed.token_seed))


def token_of(feed: CalendarFeed) -> str | None:
    """The feed's token, for its link; None when it cannot be shown (hashed by migration
    0016, or derived under a key that has since changed: the hash tells)."""
    if feed.token_seed is None:
        return None
    token = _derived(feed.token_seed)
    return token if hmac.compare_digest(hash_token(token), feed.token_hash) else None


def _owner(caller: Caller, owner_kind: str, owner_id: int) -> Owner:
    """Whose feed: a therapist's (the therapist or an admin), an athlete's (the athlete or
    an admin), a team's (its coach or an admin). Anyone else: NotFound."""
    if owner_kind == "therapist":
        return access.own_therapist(caller, owner_id, "therapist feed")
    if owner_kind == "athlete":
        athlete = found(Athlete, owner_id, "athlete")
        if caller.role != "admin" and (caller.role != "athlete"
                                       or caller.athlete_id != athlete.id):
            raise NotFound("athlete feed", owner_id)
        return athlete
    team = found(Team, owner_id, "team")
    if not access.acts_for_team(caller, team):
        raise NotFound("team feed", owner_id)
    return team


def feed_for(caller: Caller, owner_kind: str, owner_id: int) -> CalendarFeed:
    """The feed of a "therapist", "athlete" or "team" the caller owns."""
    return feed_of(_owner(caller, owner_kind, owner_id))


def feed_token_for(caller: Caller, owner_kind: str, owner_id: int) -> str:
    """The token of the feed the caller owns, to hand out; FeedLinkHidden when it cannot
    be shown."""
    token = token_of(feed_for(caller, owner_kind, owner_id))
    if token is None:
        raise FeedLinkHidden(owner_kind, owner_id)
    return token


def rotate_feed_for(caller: Caller, owner_kind: str, owner_id: int) -> CalendarFeed:
    """Give the owner's feed a new token in place: the old URL answers 404 from now on."""
    feed = feed_for(caller, owner_kind, owner_id)
    _new_token(feed)
    feed.rotated_at = max(stamp(), feed.rotated_at)
    rows.flush()
    return feed
