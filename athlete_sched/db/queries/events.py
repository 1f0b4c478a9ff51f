"""Events (races and rides): their rows, their timing as the core reads it (row -> core),
and an athlete's events near some spans (their own and their teams', tuned reads)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from functools import cache, lru_cache
from typing import NamedTuple, Protocol

from sqlalchemy import CompoundSelect, Select, bindparam, or_, select, union_all

from ...core.intervals import Interval
from ...core.windows import EventTiming
from ...core.zones import load_zone
from ...extensions import db
from ..models import Event, TeamMember
from .spans import MAX_EVENT_DAYS


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

def _near() -> tuple:
    return Event.start < bindparam("hi"), Event.start > bindparam("lo")


def _reach(spans: Sequence[Interval]) -> dict[str, datetime]:
    """The start range of the events that can touch the spans (an event lasts at most
    MAX_EVENT_DAYS)."""
    return {"hi": max(span.end for span in spans),
            "lo": min(span.start for span in spans) - timedelta(days=MAX_EVENT_DAYS + 1)}


@cache
def _athlete_events_statement() -> Select:
    """Two indexed branches in a UNION (own events by athlete_id; team events through
    team_member): PostgreSQL cannot use an index for `athlete_id = ? OR team_id IN (...)`
    and would scan every event instead."""
    own = select(Event.id).where(Event.athlete_id == bindparam("athlete_id"), *_near())
    via_team = select(Event.id).join(TeamMember, TeamMember.team_id == Event.team_id).where(
        TeamMember.athlete_id == bindparam("athlete_id"), *_near())
    return select(Event).where(Event.id.in_(union_all(own, via_team))).order_by(Event.id)


def athlete_events_in(athlete_id: int, spans: Sequence[Interval]) -> list[Event]:
    """The athlete's own events and their teams' events that may touch the stretch from the
    first span's start to the last one's end (the caller keeps what touches a span), by id."""
    return list(db.session.scalars(_athlete_events_statement(),
                                   {"athlete_id": athlete_id, **_reach(spans)}))


@cache
def _athletes_event_timings_statement() -> CompoundSelect:
    """The events of the athletes in `athlete_ids` (their own, and their teams' through
    team_member) starting in (lo, hi), each with the athlete it is for."""
    columns = (Event.id, Event.timezone, Event.start, Event.start_is_date, Event.end,
               Event.end_is_date, Event.priority)
    ids = bindparam("athlete_ids", expanding=True)
    own = select(*columns, Event.athlete_id).where(Event.athlete_id.in_(ids), *_near())
    via_team = select(*columns, TeamMember.athlete_id).join(
        TeamMember, TeamMember.team_id == Event.team_id).where(
        TeamMember.athlete_id.in_(ids), *_near())
    return union_all(own, via_team)


def athletes_event_timings_in(athlete_ids: Sequence[int], spans: Sequence[Interval]
                              ) -> dict[int, list[EventTimingRow]]:
    """As athlete_events_in, as plain rows for several athletes in one query, through the
    connection (no ORM objects): for the season rules that every proposal, booking and
    team plan applies. Each athlete's events by id."""
    found: dict[int, list[EventTimingRow]] = defaultdict(list)
    for *row, athlete_id in db.session.connection().execute(
            _athletes_event_timings_statement(),
            {"athlete_ids": list(athlete_ids), **_reach(spans)}).all():
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


def of_athlete_and_teams(athlete_id: int) -> list[Event]:
    """Every event of the athlete: their own and their teams', by start."""
    teams = select(TeamMember.team_id).where(TeamMember.athlete_id == athlete_id)
    return list(db.session.scalars(select(Event).where(
        or_(Event.athlete_id == athlete_id, Event.team_id.in_(teams)))
        .order_by(Event.start, Event.id)))


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
