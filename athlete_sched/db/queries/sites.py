"""Sites: their rows, and the home sites of athletes (for the site rule, core/sites.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from functools import cache

from sqlalchemy import CompoundSelect, bindparam, func, select, true, union_all, update

from ...core.intervals import Interval
from ...extensions import db
from ..models import Athlete, Event, Site, TeamMember, Therapist
from .spans import each, first, indexed


def all_sites() -> list[Site]:
    """Every site, by name (a clinic has a handful)."""
    return list(db.session.scalars(select(Site).order_by(Site.name, Site.id)))


def by_id(site_id: int) -> Site | None:
    return db.session.get(Site, site_id)


def by_name(name: str) -> Site | None:
    return db.session.scalar(select(Site).where(Site.name == name))


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(Site)) or 0


def only_site_id() -> int | None:
    """The id of the clinic's one site, or None when it has none or several."""
    ids = list(db.session.scalars(select(Site.id).limit(2)))
    return ids[0] if len(ids) == 1 else None


def existing(ids: Iterable[int]) -> set[int]:
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    return set(db.session.scalars(select(Site.id).where(Site.id.in_(wanted))))


def home_sites(athlete_ids: Iterable[int]) -> dict[int, int | None]:
    """Each athlete's home site (None: not set), in one query."""
    wanted = sorted(set(athlete_ids))
    if not wanted:
        return {}
    return dict(db.session.execute(select(Athlete.id, Athlete.home_site_id)
                                   .where(Athlete.id.in_(wanted))).all())


def trips(athlete_ids: Iterable[int], since: datetime) -> dict[int, list[tuple[int, Interval]]]:
    """Each athlete's trips, (event id, travel span), that end after `since`, by start: the
    travel of their own events and of their teams' events (a team event's travel is a trip
    of every member, for their other events as for its own sessions). One statement for
    all the athletes; each athlete's events are one index range of ix_event_athlete_id,
    their teams' are read team_member first (ix_team_member_athlete_id), then each team's
    events along ix_event_team_id (_trips_statement)."""
    wanted = sorted(set(athlete_ids))
    if not wanted:
        return {}
    connection = db.session.connection()
    statement = _trips_statement(connection.dialect.name == "postgresql")
    found: dict[int, list[tuple[int, Interval]]] = defaultdict(list)
    for athlete_id, event_id, depart, return_ in connection.execute(
            statement, {"athlete_ids": wanted, "since": since}).all():
        found[athlete_id].append((event_id, Interval(depart, return_)))
    return {a: sorted(spans, key=lambda t: t[1]) for a, spans in found.items()}


@cache
def _trips_statement(postgresql: bool) -> CompoundSelect:
    """The athletes' own events with travel, and their teams' events with travel, each
    row with the athlete it is for (UNION ALL: an event has one owner, so no row twice).

    The team part never reads event whole nor walks ix_event_team_id over every team:
    SQLite reads team_member by athlete first, then event by team_id (INDEXED BY on both
    and a CROSS JOIN, whose order SQLite keeps: after ANALYZE of a clinic without teams
    its statistics say a team_id matches every event); PostgreSQL reads each team's
    events in a LATERAL subquery (`each`), one index read per membership."""
    ids = bindparam("athlete_ids", expanding=True)
    travel = (Event.travel_depart.is_not(None), Event.travel_return > bindparam("since"))
    spans = (Event.id, Event.travel_depart, Event.travel_return)
    own = indexed(select(Event.athlete_id, *spans).where(Event.athlete_id.in_(ids), *travel),
                  Event, "ix_event_athlete_id")
    if postgresql:
        found = each(select(*spans).where(Event.team_id == TeamMember.team_id, *travel))
        team = select(TeamMember.athlete_id, *found.c).select_from(TeamMember).join(
            found, true())
    else:
        team = indexed(first(
            select(TeamMember.athlete_id, *spans).select_from(TeamMember).join(
                Event, Event.team_id == TeamMember.team_id).where(*travel),
            TeamMember, "ix_team_member_athlete_id"), Event, "ix_event_team_id")
    return union_all(own, team.where(TeamMember.athlete_id.in_(ids)))


def place_siteless_therapists(site_id: int) -> None:
    """Put every therapist without a site at `site_id` (the clinic's first site)."""
    db.session.execute(update(Therapist).where(Therapist.site_id.is_(None))
                       .values(site_id=site_id))

