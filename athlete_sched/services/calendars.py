"""Invites and feeds: rows -> the core's calendar values -> bytes (core/ical.py).

- `invite_ics(booking)` / `invite_method(booking)`: one booking's iTIP message (also used
  by the mail service); `event_invites_ics(event, filters)`: an event's confirmed sessions
  in one file.
- Feeds: one secret token per therapist, athlete or team (`feed_of` creates it on first
  use, `rotate_feed` replaces it in place, so the old URL is dead at once). `published_feed`
  answers a token with the feed's bytes, strong ETag and Last-Modified, from a per-process
  cache keyed by the database's data version (db/version.py, read before any row), so a
  feed is rebuilt only after a change and never served stale.

Feeds hold nothing medical: a feed's session carries a neutral summary, its times and
the clinic's location (core.ical.feed never writes notes, after-care or attendees).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_request_context, request
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.exc import IntegrityError

from ..core import ical
from ..core.errors import DomainError, NotFound
from ..core.windows import event_span
from ..db.models import Athlete, Booking, CalendarFeed, Event, Team, TeamMember, Therapist
from ..db.version import data_version
from ..extensions import SAFE_METHODS, db, restart_as_writer
from .cache import cache_for
from .common import now, stamp, timing_of

log = logging.getLogger(__name__)
KIND_LABELS = {"pre": "pre-race", "post": "post-race", "course": "course", "tune-up": "tune-up"}
UID_DOMAIN = "athlete-sched"  # as in booking UIDs (services/scheduling.new_booking)
Owner = Therapist | Athlete | Team


class NoSessions(NotFound):
    code = "no-sessions"

    def __init__(self, event_id: int) -> None:
        DomainError.__init__(self, f"event {event_id} has no confirmed session you may see",
                             event_id=event_id)


# --- invites ------------------------------------------------------------------------------

def clinic() -> ical.Clinic:
    """The organizer, location and reminder of invites (config: CLINIC_*, INVITE_*)."""
    config = current_app.config
    location = ", ".join(p for p in (config["CLINIC_NAME"], config.get("CLINIC_ADDRESS")) if p)
    return ical.Clinic(name=config["CLINIC_NAME"], email=config["CLINIC_EMAIL"],
                       location=location,
                       reminder=timedelta(minutes=config.get("INVITE_REMINDER_MINUTES", 120)))


def _invite_session(booking: Booking, location: str) -> ical.Session:
    athlete = db.session.get(Athlete, booking.athlete_id)
    therapist = db.session.get(Therapist, booking.therapist_id)
    event = db.session.get(Event, booking.event_id) if booking.event_id else None
    summary = f"Dry needling – {KIND_LABELS[booking.kind]} session"
    summary += f": {event.name}" if event is not None else ""
    return ical.Session(
        uid=booking.uid, sequence=booking.sequence, stamp=booking.updated_at,
        start=booking.start, end=booking.end, cancelled=booking.status == "cancelled",
        summary=summary, location=location, notes=booking.notes,
        attendees=(ical.Person(athlete.email, athlete.name),
                   ical.Person(therapist.email, therapist.name)))


def invite_method(booking: Booking) -> str:
    """"REQUEST" for a confirmed booking, "CANCEL" for a cancelled one."""
    return ical.CANCEL if booking.status == "cancelled" else ical.REQUEST


def invite_ics(booking: Booking) -> bytes:
    """One VCALENDAR with the booking's VEVENT, METHOD as `invite_method`."""
    where = clinic()
    return ical.invite(_invite_session(booking, where.location), where)


def event_invites_ics(event: Event, filters: list[ColumnElement[bool]] | None = None) -> bytes:
    """The event's confirmed sessions that pass `filters` (an access scope, an athlete) in
    one METHOD:REQUEST file; NoSessions when there is none."""
    bookings = list(db.session.scalars(
        select(Booking).where(Booking.event_id == event.id, Booking.status == "confirmed",
                              *(filters or [])).order_by(Booking.start, Booking.id)))
    if not bookings:
        raise NoSessions(event.id)
    where = clinic()
    return ical.invites([_invite_session(b, where.location) for b in bookings], where)


# --- feed tokens --------------------------------------------------------------------------

def _owner_filter(owner: Owner) -> ColumnElement[bool]:
    if isinstance(owner, Therapist):
        return CalendarFeed.therapist_id == owner.id
    if isinstance(owner, Athlete):
        return CalendarFeed.athlete_id == owner.id
    return CalendarFeed.team_id == owner.id


def _new_feed(owner: Owner) -> CalendarFeed:
    at = stamp()
    feed = CalendarFeed(token=secrets.token_urlsafe(32), created_at=at, rotated_at=at)
    column = {Therapist: "therapist_id", Athlete: "athlete_id", Team: "team_id"}[type(owner)]
    setattr(feed, column, owner.id)
    return feed


def feed_of(owner: Owner) -> CalendarFeed:
    """The owner's feed, created on first use. A concurrent first use that wins the unique
    owner column is read back instead (the insert runs in a savepoint)."""
    query = select(CalendarFeed).where(_owner_filter(owner))
    feed = db.session.scalar(query)
    if feed is not None:
        return feed
    if has_request_context() and request.method in SAFE_METHODS:
        restart_as_writer()  # SQLite: the insert below needs the write lock
        feed = db.session.scalar(query)
        if feed is not None:
            return feed
    try:
        with db.session.begin_nested():
            feed = _new_feed(owner)
            db.session.add(feed)
    except IntegrityError:
        feed = db.session.scalar(query)
        if feed is None:
            raise
    return feed


def rotate_feed(owner: Owner) -> CalendarFeed:
    """Give the owner's feed a new token in place: the old URL answers 404 from now on."""
    feed = feed_of(owner)
    feed.token = secrets.token_urlsafe(32)
    feed.rotated_at = max(stamp(), feed.rotated_at)
    db.session.flush()
    return feed


# --- feed bodies --------------------------------------------------------------------------

@dataclass(frozen=True)
class FeedBody:
    body: bytes
    etag: str  # strong: the quoted sha256 of the body
    last_modified: datetime


def published_feed(token: str) -> FeedBody | None:
    """The feed of `token` (None: unknown or rotated), from the cache while no write was
    committed since it was built."""
    at, cache = now(), cache_for("feeds")
    # Read before any row the feed is built from (db/version.py); no cache, no query.
    version = data_version() if cache.size > 0 else None
    found = cache.get(token, version, at)
    if found is not None:
        return found
    feed = db.session.scalar(select(CalendarFeed).where(CalendarFeed.token == token))
    if feed is None:
        return None
    found = build_feed(feed)
    cache.put(token, version, found, at)
    return found


def build_feed(feed: CalendarFeed) -> FeedBody:
    """The feed's bytes, ETag and Last-Modified (the latest change of its bookings,
    cancelled ones included, of its events, and of its token)."""
    if feed.therapist_id is not None:
        name, sessions, events = _therapist_parts(feed.therapist_id)
    elif feed.athlete_id is not None:
        name, sessions, events = _athlete_parts(feed.athlete_id)
    else:
        name, sessions, events = _team_parts(feed.team_id)
    changed = [feed.rotated_at, *(s.stamp for s in sessions), *(e.updated_at for e in events)]
    body = ical.feed(name, sessions, [race for e in events if (race := _race(e))])
    return FeedBody(body, f'"{hashlib.sha256(body).hexdigest()}"', max(changed))


def _session_rows(where: ColumnElement[bool]) -> list:
    """Every booking matching `where` (cancelled ones too: they count for Last-Modified)
    with the athlete's, the therapist's and the event's names."""
    return list(db.session.execute(
        select(Booking.uid, Booking.sequence, Booking.updated_at, Booking.start, Booking.end,
               Booking.status, Booking.kind, Athlete.name, Therapist.name, Event.name)
        .join(Athlete, Athlete.id == Booking.athlete_id)
        .join(Therapist, Therapist.id == Booking.therapist_id)
        .outerjoin(Event, Event.id == Booking.event_id)  # a tune-up has no event
        .where(where).order_by(Booking.start, Booking.id)))


def _sessions(where: ColumnElement[bool], summary) -> list[ical.Session]:
    location = clinic().location
    return [ical.Session(uid=r[0], sequence=r[1], stamp=r[2], start=r[3], end=r[4],
                         cancelled=r[5] == "cancelled", location=location,
                         summary=f"Physio session – {KIND_LABELS[r[6]]} · "
                         f"{summary(r[7], r[8], r[9] or 'tune-up')}")
            for r in _session_rows(where)]


def _events(where: ColumnElement[bool]) -> list[Event]:
    return list(db.session.scalars(select(Event).where(where).order_by(Event.start, Event.id)))


def _therapist_parts(therapist_id: int) -> tuple[str, list[ical.Session], list[Event]]:
    therapist = db.session.get(Therapist, therapist_id)
    sessions = _sessions(Booking.therapist_id == therapist_id,
                         lambda athlete, _therapist, event: f"{athlete} · {event}")
    return f"{therapist.name} – sessions", sessions, []


def _athlete_parts(athlete_id: int) -> tuple[str, list[ical.Session], list[Event]]:
    athlete = db.session.get(Athlete, athlete_id)
    sessions = _sessions(Booking.athlete_id == athlete_id,
                         lambda _athlete, therapist, event: f"{event} · with {therapist}")
    teams = select(TeamMember.team_id).where(TeamMember.athlete_id == athlete_id)
    events = _events(or_(Event.athlete_id == athlete_id, Event.team_id.in_(teams)))
    return f"{athlete.name} – races and sessions", sessions, events


def _team_parts(team_id: int) -> tuple[str, list[ical.Session], list[Event]]:
    team = db.session.get(Team, team_id)
    team_events = select(Event.id).where(Event.team_id == team_id)
    sessions = _sessions(Booking.event_id.in_(team_events),
                         lambda athlete, therapist, event: f"{athlete} with {therapist} · "
                         f"{event}")
    return f"{team.name} – races and sessions", sessions, _events(Event.team_id == team_id)


def _race(event: Event) -> ical.Race | None:
    """The event as a feed entry: all-day from its first to its last local day, or timed
    from its start to its finish (no finish: the end of its last local day)."""
    try:
        timing = timing_of(event)
    except (DomainError, ValueError):  # stored data no valid event has: leave it out
        log.warning("event %s left out of a feed: its dates cannot be read", event.id)
        return None
    uid = f"event-{event.id}@{UID_DOMAIN}"
    if event.start_is_date:
        return ical.Race(uid, event.updated_at, event.name, timing.first_day,
                         timing.last_day + timedelta(days=1))
    span = event_span(timing)
    return ical.Race(uid, event.updated_at, event.name, span.start, span.end)
