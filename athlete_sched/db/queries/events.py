"""Events (races and rides): their rows, their timing as the core reads it (row -> core),
and an athlete's events near some spans (their own and their teams', tuned reads)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from functools import cache, lru_cache
from typing import Any, NamedTuple, Protocol

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    bindparam,
    select,
    true,
    union_all,
)

from ...core.intervals import Interval
from ...core.windows import EventTiming
from ...core.zones import load_zone
from ...extensions import db
from ..models import Event, TeamMember
from .spans import MAX_EVENT_DAYS, each, indexed


class Timed(Protocol):
    """What an event's timing is made of: an Event row or an EventTimingRow."""

    timezone: str
    start: datetime
    start_is_date: bool
    end: datetime | None
    end_is_date: bool


class EventTimingRow(NamedTuple):
    """An event's timing and priority as plain values (the attribute names of the model,
    so `timing_of` takes either)."""

    id: int
    timezone: str
    start: datetime
    start_is_date: bool
    end: datetime | None
    end_is_date: bool
    priority: str


@lru_cache(maxsize=8192)
def _timing(zone: str, start: datetime, start_is_date: bool, end: datetime | None,
            end_is_date: bool) -> EventTiming:
    tz = load_zone(zone)
    first: date | datetime = start.astimezone(tz).date() if start_is_date else start
    last: date | datetime | None = end
    if end is not None and end_is_date:
        last = end.astimezone(tz).date()
    return EventTiming(tz=tz, start=first, end=last)


def timing_of(event: Timed) -> EventTiming:
    """The event's timing: stored instants plus the flags that say whether the client gave
    dates (all-day, the local day in the event's zone) or date-times. Memoized on the
    values, so an event's timing is worked out once however often it is asked for."""
    return _timing(event.timezone, event.start, event.start_is_date, event.end,
                   event.end_is_date)


# --- an athlete's events near some spans -------------------------------------------------------

def _reach(spans: Sequence[Interval]) -> dict[str, datetime]:
    """The start range of the events that can touch the spans (an event lasts at most
    MAX_EVENT_DAYS)."""
    return {"hi": max(span.end for span in spans),
            "lo": min(span.start for span in spans) - timedelta(days=MAX_EVENT_DAYS + 1)}


def _near_events(is_athlete: Callable[[Any], ColumnElement[bool]], columns: Sequence[Any],
                 athlete_column: bool, postgresql: bool) -> CompoundSelect:
    """The events starting in (lo, hi) of the athletes `is_athlete` picks: their own, and
    their teams' through team_member, in two indexed branches (PostgreSQL cannot use an
    index for `athlete_id = ? OR team_id IN (...)`), each row with `columns` and, if
    `athlete_column`, the athlete it is for.

    `occupied_end > lo` changes no result (an event occupies at least from its start:
    occupied_end >= start > lo) but makes a range of the owner indexes (athlete_id or
    team_id, occupied_end), start having none: they are read from lo on, not over all of an
    owner's events. Team events are read team by team, through team_member first: SQLite
    by its hints; PostgreSQL by a LATERAL join (as a plain join, without statistics it read
    event once whole rather than probe ix_event_team_id for each of the athletes' teams).
    """
    near = (Event.start < bindparam("hi"), Event.start > bindparam("lo"),
            Event.occupied_end > bindparam("lo"))
    athlete = [Event.athlete_id] if athlete_column else []
    own = indexed(select(*columns, *athlete).where(is_athlete(Event.athlete_id), *near),
                  Event, "ix_event_athlete_id")
    member = [TeamMember.athlete_id] if athlete_column else []
    if postgresql:
        found = each(select(*columns).where(Event.team_id == TeamMember.team_id, *near))
        via_team = select(*found.c, *member).select_from(TeamMember).join(found, true())
    else:
        via_team = indexed(indexed(
            select(*columns, *member).select_from(TeamMember).join(
                Event, Event.team_id == TeamMember.team_id).where(*near),
            TeamMember, "ix_team_member_athlete_id"), Event, "ix_event_team_id")
    return union_all(own, via_team.where(is_athlete(TeamMember.athlete_id)))


@cache
def _athlete_events_statement(postgresql: bool) -> Select:
    found = _near_events(lambda column: column == bindparam("athlete_id"), [Event.id],
                         athlete_column=False, postgresql=postgresql)
    return select(Event).where(Event.id.in_(found)).order_by(Event.id)


def _postgresql() -> bool:
    return db.session.connection().dialect.name == "postgresql"


def athlete_events_in(athlete_id: int, spans: Sequence[Interval]) -> list[Event]:
    """The athlete's own events and their teams' events that may touch the stretch from the
    first span's start to the last one's end (the caller keeps what touches a span), by id."""
    return list(db.session.scalars(_athlete_events_statement(_postgresql()),
                                   {"athlete_id": athlete_id, **_reach(spans)}))


@cache
def _athletes_event_timings_statement(postgresql: bool) -> CompoundSelect:
    """The events of the athletes in `athlete_ids` (their own, and their teams' through
    team_member) starting in (lo, hi), each with the athlete it is for."""
    columns = (Event.id, Event.timezone, Event.start, Event.start_is_date, Event.end,
               Event.end_is_date, Event.priority)
    ids = bindparam("athlete_ids", expanding=True)
    return _near_events(lambda column: column.in_(ids), columns, athlete_column=True,
                        postgresql=postgresql)


def athletes_event_timings_in(athlete_ids: Sequence[int], spans: Sequence[Interval]
                              ) -> dict[int, list[EventTimingRow]]:
    """As athlete_events_in, as plain rows for several athletes in one query, through the
    connection (no ORM objects): for the season rules that every proposal, booking and
    team plan applies. Each athlete's events by id."""
    found: dict[int, list[EventTimingRow]] = defaultdict(list)
    connection = db.session.connection()
    statement = _athletes_event_timings_statement(connection.dialect.name == "postgresql")
    for *row, athlete_id in connection.execute(
            statement, {"athlete_ids": list(athlete_ids), **_reach(spans)}).all():
        found[athlete_id].append(EventTimingRow(*row))
    return {athlete_id: sorted(rows) for athlete_id, rows in found.items()}


# --- lists ----------------------------------------------------------------------------------

def of_athlete_since(athlete_id: int, since: datetime) -> list[Event]:
    """The athlete's own events starting after `since`, by start."""
    return list(db.session.scalars(select(Event).where(
        Event.athlete_id == athlete_id, Event.start > since).order_by(Event.start, Event.id)))


def named(athlete_id: int, name: str) -> Event | None:
    """The athlete's own event of this name (the first by id)."""
    return db.session.scalars(select(Event).where(
        Event.athlete_id == athlete_id, Event.name == name).order_by(Event.id).limit(1)).first()


def of_team(team_id: int) -> list[Event]:
    """Every event of the team, by start."""
    return list(db.session.scalars(select(Event).where(Event.team_id == team_id)
                                   .order_by(Event.start, Event.id)))


def by_ids(ids: Iterable[int]) -> dict[int, Event]:
    """The events with these ids, in one query."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {e.id: e for e in db.session.scalars(select(Event).where(Event.id.in_(wanted)))}


def team_event_named(team_id: int, name: str) -> Event | None:
    """The team's event of this name (the first by id)."""
    return db.session.scalars(select(Event).where(
        Event.team_id == team_id, Event.name == name).order_by(Event.id).limit(1)).first()
