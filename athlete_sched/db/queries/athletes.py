"""Athletes, teams and their members."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlalchemy import func, select

from ...extensions import db
from ..models import Athlete, Team, TeamMember


def by_email(email: str) -> Athlete | None:
    return db.session.scalar(select(Athlete).where(Athlete.email == email))


def email_taken(email: str) -> bool:
    return db.session.scalar(select(Athlete.id).where(Athlete.email == email)) is not None


def page(after_id: int, limit: int, among: Collection[int] | None = None) -> list[Athlete]:
    """Up to `limit` athletes after `after_id` (only those in `among`, unless None), by id."""
    query = select(Athlete).where(Athlete.id > after_id).order_by(Athlete.id).limit(limit)
    if among is not None:
        query = query.where(Athlete.id.in_(sorted(among)))
    return list(db.session.scalars(query))


def by_ids(ids: Iterable[int]) -> dict[int, Athlete]:
    """The athletes with these ids, in one query."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {a.id: a for a in db.session.scalars(select(Athlete).where(Athlete.id.in_(wanted)))}


def is_member(team_id: int, athlete_id: int) -> bool:
    return db.session.get(TeamMember, (team_id, athlete_id)) is not None


def member_ids(team_id: int) -> list[int]:
    """The team's athletes, by id."""
    return list(db.session.scalars(select(TeamMember.athlete_id)
                                   .where(TeamMember.team_id == team_id)
                                   .order_by(TeamMember.athlete_id)))


def member_homes(team_id: int) -> dict[int, int | None]:
    """The team's athletes, by id, each with their home site (None: not set)."""
    return dict(db.session.execute(
        select(TeamMember.athlete_id, Athlete.home_site_id)
        .join(Athlete, Athlete.id == TeamMember.athlete_id)
        .where(TeamMember.team_id == team_id).order_by(TeamMember.athlete_id)).all())


def members(team_id: int) -> list[Athlete]:
    """The team's athletes, by id."""
    return list(db.session.scalars(
        select(Athlete).join(TeamMember, TeamMember.athlete_id == Athlete.id)
        .where(TeamMember.team_id == team_id).order_by(Athlete.id)))


def add_member(team: Team, athlete: Athlete) -> TeamMember:
    member = TeamMember(team_id=team.id, athlete_id=athlete.id)
    db.session.add(member)
    db.session.flush()
    db.session.refresh(team)  # its `members` list
    return member


def coached_athlete_ids(coach_email: str) -> set[int]:
    """The athletes in the teams this email coaches."""
    return set(db.session.scalars(
        select(TeamMember.athlete_id).join(Team, Team.id == TeamMember.team_id)
        .where(Team.coach_email == coach_email)))


def team_named(name: str, coach_email: str | None) -> Team | None:
    return db.session.scalar(select(Team).where(Team.name == name,
                                                Team.coach_email == coach_email))


def teams_of_coach(coach_email: str) -> list[Team]:
    return list(db.session.scalars(select(Team).where(Team.coach_email == coach_email)
                                   .order_by(Team.name, Team.id)))


def teams_listed(coach_email: str | None) -> list[tuple[Team, int]]:
    """Teams by name with how many members each has, in one query: the coach's (every
    team when `coach_email` is None)."""
    count = (select(TeamMember.team_id, func.count().label("n")).group_by(TeamMember.team_id)
             .subquery())
    query = (select(Team, func.coalesce(count.c.n, 0)).outerjoin(count, count.c.team_id == Team.id)
             .order_by(Team.name, Team.id))
    if coach_email is not None:
        query = query.where(Team.coach_email == coach_email)
    return [(team, n) for team, n in db.session.execute(query)]


def remove_member(team_id: int, athlete_id: int) -> bool:
    """Take the athlete off the team; False if they were not in it."""
    member = db.session.get(TeamMember, (team_id, athlete_id))
    if member is None:
        return False
    db.session.delete(member)
    db.session.flush()
    return True
