"""What tells whether a calendar feed changed, and the rows a rebuilt feed reads again.

Every row a feed lists (bookings, events, an athlete's team memberships) carries a
row_version that the database renews at each insert and update (migration 0017's
triggers, so hand-written SQL counts too), and `feed_version.names` grows with each
committed change of what feeds name without listing (athletes', therapists', teams' and
events' names, sites, the clinic's settings). A feed's `fingerprint` is, per set of rows
it is built from, (count, versions), and `names`:

- SQLite: versions = max(row_version). One writer at a time, so a later write always
  carries a larger number: an insert or update raises the max, a delete lowers the count.
- PostgreSQL: versions = the sum of a 64-bit hash (hashint8extended) of each row_version.
  The sequence never gives a number twice, but concurrent writers commit out of order, so
  a max could miss an older number committed late; the sum changes whenever the set of
  versions does (but with a chance of 2^-64, as any hash; the ETag is a hash too).

So two equal fingerprints mean the same rows with the same contents and names, from any
host or connection. Each part reads an owner index, one statement for the whole feed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, bindparam, func, or_, select, true

from ...extensions import db
from ..models import Athlete, Booking, CalendarFeed, Event, FeedVersion, TeamMember, Therapist

Fingerprint = tuple[Any, ...]


def _booking_scope(therapist_id: Any, athlete_id: Any, team_id: Any) -> ColumnElement[bool]:
    """Which bookings the feed of a therapist, an athlete or a team lists (an id, or a
    bound parameter standing for one; None: not that kind of feed)."""
    if therapist_id is not None:
        return Booking.therapist_id == therapist_id
    if athlete_id is not None:
        return Booking.athlete_id == athlete_id
    return Booking.event_id.in_(select(Event.id).where(Event.team_id == team_id))


def _teams_of(athlete_id: Any) -> Select:
    return select(TeamMember.team_id).where(TeamMember.athlete_id == athlete_id)


def _event_scope(athlete_id: int | None, team_id: int | None) -> ColumnElement[bool]:
    """Which events the feed of an athlete (their own and their teams') or a team lists."""
    if athlete_id is not None:
        return or_(Event.athlete_id == athlete_id, Event.team_id.in_(_teams_of(athlete_id)))
    return Event.team_id == team_id


def _part(versions: Any, where: ColumnElement[bool], postgresql: bool) -> Any:
    summed = func.sum(func.hashint8extended(versions, 0)) if postgresql else func.max(versions)
    return select(func.count().label("n"), summed.label("v")).where(where).subquery()


def fingerprint_of_token(token_hash: str, owner: str, owner_id: int
                         ) -> tuple[str | None, Fingerprint]:
    """For a feed kept in a cache: the token hash stored for `token_hash` if that feed still
    belongs to `owner` ('therapist', 'athlete' or 'team') `owner_id` (None: rotated away,
    or gone), and the owner's feed fingerprint, in one statement."""
    postgresql = db.session.connection().dialect.name == "postgresql"
    row = db.session.execute(_token_fingerprint_query(owner, postgresql),
                             {"owner": owner_id, "token_hash": token_hash}).one()
    return row[-1], tuple(row[:-1])


@cache
def _token_fingerprint_query(owner: str, postgresql: bool) -> Select:
    """`_fingerprint_query` with the feed's stored token hash last (the unique index)."""
    stored = select(CalendarFeed.token_hash).where(
        CalendarFeed.token_hash == bindparam("token_hash"),
        getattr(CalendarFeed, f"{owner}_id") == bindparam("owner")).scalar_subquery()
    return _fingerprint_query(owner, postgresql).add_columns(stored)


def fingerprint(*, therapist_id: int | None = None, athlete_id: int | None = None,
                team_id: int | None = None) -> Fingerprint:
    """The feed's fingerprint (see the module doc): equal values, the same feed."""
    postgresql = db.session.connection().dialect.name == "postgresql"
    owner = ("therapist" if therapist_id is not None else
             "athlete" if athlete_id is not None else "team")
    value = {"therapist": therapist_id, "athlete": athlete_id, "team": team_id}[owner]
    return tuple(db.session.execute(_fingerprint_query(owner, postgresql),
                                    {"owner": value}).one())


@cache
def _fingerprint_query(owner: str, postgresql: bool) -> Select:
    """The fingerprint's statement for one kind of feed, built once (its construction and
    cache key cost more than the read): the owner's id is the parameter `owner`."""
    who = bindparam("owner")
    parts = [_part(Booking.row_version, _booking_scope(
        who if owner == "therapist" else None, who if owner == "athlete" else None,
        who if owner == "team" else None), postgresql)]
    if owner == "athlete":  # own events, the teams' events, and which teams
        parts += [_part(Event.row_version, Event.athlete_id == who, postgresql),
                  _part(Event.row_version, Event.team_id.in_(_teams_of(who)), postgresql),
                  _part(TeamMember.row_version, TeamMember.athlete_id == who, postgresql)]
    elif owner == "team":
        parts.append(_part(Event.row_version, Event.team_id == who, postgresql))
    joined: Any = FeedVersion.__table__
    for part in parts:
        joined = joined.join(part, true())
    return (select(FeedVersion.names, *(c for part in parts for c in part.c))
            .select_from(joined).where(FeedVersion.id == 1))


def booking_versions(*, therapist_id: int | None = None, athlete_id: int | None = None,
                     team_id: int | None = None) -> list[tuple[int, int]]:
    """(id, row_version) of each booking the feed lists, in the feed's order (start, id)."""
    where = _booking_scope(therapist_id, athlete_id, team_id)
    return _pairs(select(Booking.id, Booking.row_version).where(where)
                  .order_by(Booking.start, Booking.id))


def event_versions(*, athlete_id: int | None = None,
                   team_id: int | None = None) -> list[tuple[int, int]]:
    """(id, row_version) of each event the feed lists, in the feed's order (start, id)."""
    return _pairs(select(Event.id, Event.row_version).where(_event_scope(athlete_id, team_id))
                  .order_by(Event.start, Event.id))


def _pairs(query: Select) -> list[tuple[int, int]]:
    """The (id, row_version) rows of `query`, through the connection: thousands of plain
    pairs need none of the ORM's row processing."""
    return [tuple(row) for row in db.session.connection().execute(query)]


class FeedRow(NamedTuple):
    """A booking as a feed lists it, with the names it shows."""

    id: int
    row_version: int
    uid: str
    sequence: int
    updated_at: datetime
    start: datetime
    end: datetime
    status: str
    kind: str
    athlete: str
    therapist: str
    event: str | None  # None: a tune-up
    site_id: int | None


def feed_rows(*, therapist_id: int | None = None, athlete_id: int | None = None,
              team_id: int | None = None, ids: Collection[int] | None = None
              ) -> list[FeedRow]:
    """Every booking the feed lists (only those of `ids`, if given; cancelled ones too:
    they count for Last-Modified), with the athlete's, therapist's and event's names, by
    (start, id)."""
    query = (select(Booking.id, Booking.row_version, Booking.uid, Booking.sequence,
                    Booking.updated_at, Booking.start, Booking.end, Booking.status,
                    Booking.kind, Athlete.name, Therapist.name, Event.name, Booking.site_id)
             .join(Athlete, Athlete.id == Booking.athlete_id)
             .join(Therapist, Therapist.id == Booking.therapist_id)
             .outerjoin(Event, Event.id == Booking.event_id)  # a tune-up has no event
             .where(_booking_scope(therapist_id, athlete_id, team_id))
             .order_by(Booking.start, Booking.id))
    return [FeedRow(*row) for row in _in_chunks(query, Booking.id, ids)]


class FeedEvent(NamedTuple):
    """An event as a feed shows it (what `events.timing_of` reads, and its name)."""

    id: int
    row_version: int
    name: str
    timezone: str
    start: datetime
    start_is_date: bool
    end: datetime | None
    end_is_date: bool
    updated_at: datetime


def feed_events(*, athlete_id: int | None = None, team_id: int | None = None,
                ids: Collection[int] | None = None) -> list[FeedEvent]:
    """The events the feed lists (only those of `ids`, if given), by (start, id)."""
    query = select(Event.id, Event.row_version, Event.name, Event.timezone, Event.start,
                   Event.start_is_date, Event.end, Event.end_is_date, Event.updated_at)
    query = query.where(_event_scope(athlete_id, team_id)).order_by(Event.start, Event.id)
    return [FeedEvent(*row) for row in _in_chunks(query, Event.id, ids)]


def _in_chunks(query: Select, column: Any, ids: Collection[int] | None) -> Sequence[Any]:
    """The rows of `query`; narrowed to `ids` when given (then read 500 ids at a time,
    each chunk in the query's order)."""
    if ids is None:
        return db.session.execute(query).all()
    wanted = sorted(ids)
    return [row for i in range(0, len(wanted), 500)
            for row in db.session.execute(query.where(column.in_(wanted[i:i + 500])))]
