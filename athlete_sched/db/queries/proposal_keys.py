"""The proposals cache's key: what tells whether an event's proposals changed.

An answer (services/proposals.py) reads the clinic's schedules, the therapists' blocked
time and bookings near the event's windows, the athlete's season (their events and their
teams', their sessions near the windows), where the athlete is (home site, travel, sites)
and the clinic's settings. Its `key` is one statement of indexed aggregates:

- proposals_version.n (migration 0018: time off, busy intervals, athletes, sites, the
  clinic's settings) and schedule_version.n (0015: therapists, hours, one-day changes);
- (count, versions) of every booking, any status, whose blocked range touches `windows`
  widened by MAX_BUFFER (the widest buffer a therapist can have: as far as the therapists'
  bookings are read, db/queries/therapists.states_in; ix_booking_block_end, read in the
  index alone), and of the athlete's bookings
  that overlap `athlete_span` (ix_booking_athlete_end);
- (count, versions) of the event itself, and for an athlete their own events, their
  teams' events and their memberships (as a feed's fingerprint, db/queries/feeds.py),
  and last (count, ids) of the waiting-list offers held for the athlete (Facts: an
  offer is free for its holder alone; every offer written or cleared also moves
  proposals_version, migration 0020).

versions: SQLite max(row_version) (one writer at a time: a later write carries a larger
number); PostgreSQL the sum of hashint8extended(row_version) (the sequence is not in
commit order: an older number may commit late). So a booking far from the windows, or
another athlete's event, leaves the key as it was; any write that could change the answer,
from this app on any host or hand-written SQL, changes it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, bindparam, func, select, true

from ...core.intervals import Interval
from ...extensions import db
from ..models import (
    Athlete,
    Booking,
    Event,
    ProposalsVersion,
    ScheduleVersion,
    TeamMember,
    WaitlistEntry,
)
from .spans import MAX_BOOKING_SPAN, indexed

Key = tuple[Any, ...]
MAX_BUFFER = timedelta(minutes=240)  # CHECK buffer_minutes BETWEEN 0 AND 240 on therapist
# The two counters and (count, versions) of 7 parts: bookings, the event, the athlete's
# events, their teams' events, memberships, bookings and waiting-list offers.
ATHLETE_KEY_LENGTH = 2 + 2 * 7
NEAR_COUNT, NEAR_VERSIONS = 2, 3  # in a key (and near_windows): the bookings near the windows


def _part(versions: Any, where: ColumnElement[bool], postgresql: bool,
          index: str | None = None, highest: bool = False) -> Any:
    summed = func.sum(func.hashint8extended(versions, 0)) if postgresql else func.max(versions)
    columns = [func.count().label("n"), summed.label("v")]
    if highest and postgresql:  # (SQLite's v is the max already)
        columns.append(func.max(versions).label("m"))
    query: Select = select(*columns).where(where)
    if index is not None:
        query = indexed(query.select_from(Booking), Booking, index)
    return query.subquery()


@cache
def _statement(postgresql: bool, athlete: bool) -> Select:
    """The key's statement (built once per shape; bound: event, lo, hi, reach, and for an
    athlete: athlete, alo, ahi)."""
    parts = [
        _part(Booking.row_version, (Booking.block_end > bindparam("lo"))
              & (Booking.block_end < bindparam("reach"))  # the index's range
              & (Booking.start < bindparam("hi")), postgresql, "ix_booking_block_end",
              highest=True),
        _part(Event.row_version, Event.id == bindparam("event"), postgresql)]
    if athlete:
        who = bindparam("athlete")
        teams = select(TeamMember.team_id).where(TeamMember.athlete_id == who)
        parts += [_part(Event.row_version, Event.athlete_id == who, postgresql),
                  _part(Event.row_version, Event.team_id.in_(teams), postgresql),
                  _part(TeamMember.row_version, TeamMember.athlete_id == who, postgresql),
                  _part(Booking.row_version, (Booking.athlete_id == who)
                        & (Booking.end > bindparam("alo")) & (Booking.start < bindparam("ahi")),
                        postgresql, "ix_booking_athlete_end"),
                  _part(WaitlistEntry.id, (WaitlistEntry.athlete_id == who)
                        & WaitlistEntry.offer_expires.is_not(None), postgresql)]
    joined: Any = ProposalsVersion.__table__.join(
        ScheduleVersion.__table__, ScheduleVersion.id == ProposalsVersion.id)
    for part in parts:
        joined = joined.join(part, true())
    # And the event as the key saw it (Read): its row_version and its athlete's home site.
    seen = (select(Event.row_version).where(Event.id == bindparam("event")).scalar_subquery(),
            select(Athlete.home_site_id).join(Event, Event.athlete_id == Athlete.id)
            .where(Event.id == bindparam("event")).scalar_subquery())
    # Last, on PostgreSQL: the highest row_version of the bookings near the windows (Read).
    return (select(ProposalsVersion.n, ScheduleVersion.n,
                   *(c for p in parts for c in p.c if c.name != "m"), *seen,
                   *(c for c in parts[0].c if c.name == "m"))
            .select_from(joined).where(ProposalsVersion.id == 1))


class Read(NamedTuple):
    """A `key` with the event as the key's statement saw it: its row_version (a fresh
    number at every write of the row) and its athlete's home site (a personal event's;
    the other rows an event entity is read with), to tell whether an event read before
    the key is the same (on PostgreSQL a later statement may see later commits); and the
    highest row_version of the bookings near the windows (inserted_since)."""

    key: Key
    event_version: int | None
    home_site_id: int | None
    near_max: int | None = None  # the highest row_version of the bookings near the windows

    def saw(self, event: Event) -> bool:
        """Whether `event`, read before the key, is the row the key saw."""
        return (event.row_version == self.event_version
                and event.athlete_home_site_id == self.home_site_id)


def key(event_id: int, athlete_id: int | None, windows: Interval,
        athlete_span: Interval | None) -> Read:
    """The key of the proposals of event `event_id` for `athlete_id` (None: no athlete's
    season), whose windows lie in `windows` and whose athlete's sessions are read in
    `athlete_span` (given with an athlete; see the module doc). Equal keys, the same
    answer. With the event as the key saw it (Read)."""
    connection = db.session.connection()
    lo, hi = windows.start - MAX_BUFFER, windows.end + MAX_BUFFER
    params: dict[str, Any] = {"event": event_id, "lo": lo, "hi": hi,
                              "reach": hi + MAX_BOOKING_SPAN}
    if athlete_id is not None and athlete_span is not None:
        params.update(athlete=athlete_id, alo=athlete_span.start, ahi=athlete_span.end)
    postgresql = connection.dialect.name == "postgresql"
    statement = _statement(postgresql, "athlete" in params)
    row = tuple(connection.execute(statement, params).one())
    if postgresql:  # its last column: the highest row_version of the bookings near
        *found, event_version, home_site_id, near_max = row
    else:  # SQLite's versions of them are that highest row_version
        *found, event_version, home_site_id = row
        near_max = found[NEAR_VERSIONS]
    return Read(tuple(found), event_version, home_site_id, near_max)


class Written(NamedTuple):
    """A booking inserted since a key was read (inserted_since): its therapist and its
    blocked range [start, block_end)."""

    therapist_id: int
    start: datetime
    block_end: datetime


@cache
def _written_statement(postgresql: bool) -> Select:
    version = (func.hashint8extended(Booking.row_version, 0) if postgresql
               else Booking.row_version)
    return indexed(select(Booking.therapist_id, Booking.start, Booking.block_end, version)
                   .where(Booking.block_end > bindparam("lo"),
                          Booking.block_end < bindparam("reach"),  # the index's range
                          Booking.start < bindparam("hi"),
                          Booking.row_version > bindparam("version")),
                   Booking, "ix_booking_block_end")


def inserted_since(windows: Interval, before: Key, before_max: int | None, now: Key
                   ) -> list[Written] | None:
    """The bookings inserted near `windows` since a key whose bookings near them
    (near_windows: the counters, then count and versions) were `before`, with the highest
    row_version `before_max`, when inserts are all that changed there: the near part is
    `now`, and the bookings numbered above `before_max` are as many as the count grew by
    and make up the whole change of the versions (SQLite: their max is the new max;
    PostgreSQL: their hashes add up to the new sum, so no row counted before changed,
    went or came with a lower number). None otherwise."""
    (count, versions), (new_count, new_versions) = (
        before[NEAR_COUNT:NEAR_VERSIONS + 1], now[NEAR_COUNT:NEAR_VERSIONS + 1])
    if not new_count > count:
        return None
    connection = db.session.connection()
    postgresql = connection.dialect.name == "postgresql"
    lo, hi = windows.start - MAX_BUFFER, windows.end + MAX_BUFFER
    found = connection.execute(_written_statement(postgresql), {
        "lo": lo, "hi": hi, "reach": hi + MAX_BOOKING_SPAN,
        "version": -1 if before_max is None else before_max}).all()
    if len(found) != new_count - count:
        return None
    weights = [row[3] for row in found]
    if postgresql:
        if (versions or 0) + sum(weights) != new_versions:
            return None
    elif max(weights) != new_versions:
        return None
    return [Written(therapist_id, start, block_end)
            for therapist_id, start, block_end, _ in found]


def near_windows(found: Key) -> Key:
    """The part of a `key` that is not about the event or its athlete: the two counters and
    the bookings near the windows. Equal for two events whose windows lie in the same
    span, it versions what their slots read besides the athlete's season
    (services/proposals.propose)."""
    return found[:4]


class Facts(NamedTuple):
    """What a `key` read with an athlete already tells the answer it keys, so that the
    answer need not read it again (services/proposals.propose): the schedules' counter
    (schedule_version.n), whether the athlete has one event in all (their own and their
    teams': the one asked about, so their season's events are that event alone), whether
    none of their bookings, of any status, overlaps the key's athlete span (their
    season's sessions near the windows: none), and holds_offers."""

    schedule_version: int
    lone_event: bool
    no_sessions: bool
    holds_offers: bool


def facts(found: Key) -> Facts:
    """The Facts of a `key` (without an athlete: only the counter is known)."""
    if len(found) != ATHLETE_KEY_LENGTH:
        return Facts(found[1], False, False, True)
    own, teams, sessions = found[6], found[8], found[12]
    return Facts(found[1], own + teams == 1, sessions == 0, found[-2] > 0)


def settings_version(found: Key) -> Any:
    """proposals_version.n of a `key`: it moves with every committed write of the clinic's
    settings too (migration 0018)."""
    return found[0]
