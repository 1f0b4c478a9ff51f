"""Therapists (working hours, time off), athletes and teams."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from ..core.errors import Conflict, InvalidPeriod, NotFound
from ..core.zones import load_zone
from ..db.models import Athlete, Team, TeamMember, Therapist, TimeOff, WorkingPeriod
from ..extensions import db
from .accounts import EmailTaken
from .common import MAX_ID, localize

DAY_NUMBERS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


class AlreadyMember(Conflict):
    code = "already-member"

    def __init__(self, team_id: int, athlete_id: int) -> None:
        super().__init__(f"athlete {athlete_id} is already in team {team_id}",
                         field="athlete_id", team_id=team_id, athlete_id=athlete_id)


def get(model: type, ident: int, entity: str, field: str | None = None):
    """The row with this id, or NotFound (naming the request field it came from, if any).
    An id no id column can hold is simply not found (the database would refuse the query)."""
    found = db.session.get(model, ident) if 0 < ident <= MAX_ID else None
    if found is None:
        raise NotFound(entity, ident, field=field)
    return found


def _periods(working_hours: list) -> list[WorkingPeriod]:
    """Rows for the given periods, in the order they are always read back: day, start."""
    periods = [WorkingPeriod(day=DAY_NUMBERS[p.day], start_minute=p.start, end_minute=p.end)
               for p in working_hours]
    return sorted(periods, key=lambda p: (p.day, p.start_minute))


def create_therapist(data) -> Therapist:
    if db.session.scalar(select(Therapist.id).where(Therapist.email == data.email)):
        raise EmailTaken(data.email, "therapist")
    therapist = Therapist(
        name=data.name, email=data.email, timezone=data.timezone,
        session_minutes=data.session_minutes, buffer_minutes=data.buffer_minutes,
        slot_step_minutes=data.slot_step_minutes, working_hours=_periods(data.working_hours))
    db.session.add(therapist)
    db.session.flush()
    return therapist


def replace_working_hours(therapist: Therapist, working_hours: list) -> Therapist:
    therapist.working_hours = _periods(working_hours)
    db.session.flush()
    return therapist


def add_time_off(therapist: Therapist, start: date | datetime, end: date | datetime,
                 reason: str) -> TimeOff:
    """Naive values are the therapist's wall-clock; a date is that local midnight."""
    tz = load_zone(therapist.timezone)
    start_at, end_at = localize(start, tz), localize(end, tz)
    if not end_at > start_at:
        raise InvalidPeriod(start_at, end_at)
    time_off = TimeOff(therapist_id=therapist.id, start=start_at, end=end_at, reason=reason)
    db.session.add(time_off)
    db.session.flush()
    return time_off


def delete_time_off(therapist: Therapist, time_off_id: int) -> None:
    time_off = get(TimeOff, time_off_id, "time off")
    if time_off.therapist_id != therapist.id:
        raise NotFound("time off", time_off_id)
    db.session.delete(time_off)
    db.session.flush()


def create_athlete(data, team: Team | None = None) -> Athlete:
    """Create an athlete; with `team`, as a member of that team in the same unit of work."""
    if db.session.scalar(select(Athlete.id).where(Athlete.email == data.email)):
        raise EmailTaken(data.email, "athlete")
    athlete = Athlete(name=data.name, email=data.email, sport=data.sport,
                      timezone=data.timezone)
    db.session.add(athlete)
    db.session.flush()
    if team is not None:
        add_member(team, athlete)
    return athlete


def create_team(name: str, coach_email: str | None) -> Team:
    team = Team(name=name, coach_email=coach_email)
    db.session.add(team)
    db.session.flush()
    return team


def add_member(team: Team, athlete: Athlete) -> TeamMember:
    if db.session.get(TeamMember, (team.id, athlete.id)) is not None:
        raise AlreadyMember(team.id, athlete.id)
    member = TeamMember(team_id=team.id, athlete_id=athlete.id)
    db.session.add(member)
    db.session.flush()
    db.session.refresh(team)
    return member


def team_athletes(team: Team) -> list[Athlete]:
    ids = [m.athlete_id for m in team.members]
    if not ids:
        return []
    return list(db.session.scalars(select(Athlete).where(Athlete.id.in_(ids))
                                   .order_by(Athlete.id)))
