"""The clinic's people: therapists (working hours, time off), athletes and teams."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from ..core.availability import WorkingPeriod
from ..core.errors import Conflict, Forbidden, InvalidPeriod, InvalidValue, NotFound
from ..core.zones import load_zone
from ..db.models import Athlete, Team, Therapist, TimeOff, WorkingPeriodRow
from ..db.queries import athletes, rows, therapists
from . import access, affected, sites
from .access import Caller, require_role
from .accounts import EmailTaken
from .common import found, localize

DAY_NUMBERS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


class AlreadyMember(Conflict):
    code = "already-member"

    def __init__(self, team_id: int, athlete_id: int) -> None:
        super().__init__(f"athlete {athlete_id} is already in team {team_id}",
                         field="athlete_id", team_id=team_id, athlete_id=athlete_id)


class CoachWithoutTeam(InvalidValue):
    code = "invalid"

    def __init__(self) -> None:
        super().__init__("a coach adds athletes to one of their teams (team_id)",
                         field="team_id")


@dataclass(frozen=True)
class TeamWithMembers:
    team: Team
    members: list[Athlete]


# --- therapists --------------------------------------------------------------------------------

def _periods(working_hours: Sequence[Any]) -> list[WorkingPeriodRow]:
    """Rows for the given periods (day, start and end minutes), in the order they are
    always read back: day, start."""
    site_ids = [getattr(p, "site_id", None) for p in working_hours]
    sites.checked_all([s for s in site_ids if s is not None], "working_hours")
    periods = [WorkingPeriodRow(day=DAY_NUMBERS[p.day], start_minute=p.start,
                                end_minute=p.end, site_id=site_id)
               for p, site_id in zip(working_hours, site_ids, strict=True)]
    return sorted(periods, key=lambda p: (p.day, p.start_minute))


def create_therapist(data: Any) -> Therapist:
    if therapists.email_taken(data.email):
        raise EmailTaken(data.email, "therapist")
    return rows.add(Therapist(
        name=data.name, email=data.email, timezone=data.timezone,
        session_minutes=data.session_minutes, buffer_minutes=data.buffer_minutes,
        slot_step_minutes=data.slot_step_minutes, working_hours=_periods(data.working_hours),
        site_id=sites.therapist_site(getattr(data, "site_id", None))))


def update_therapist_for(caller: Caller, therapist_id: int, data: Any) -> Therapist:
    """PATCH a therapist: an admin renames or moves them to another site. Moving keeps the
    booked sessions where they are (they were booked at the old site)."""
    require_role(caller, ("admin",))
    row = found(Therapist, therapist_id, "therapist")
    if data.name is not None:
        row.name = data.name
    if "site_id" in data.model_fields_set and data.site_id is not None:
        row.site_id = sites.checked(data.site_id)
    rows.flush()
    return row


def create_therapist_for(caller: Caller, data: Any) -> Therapist:
    require_role(caller, ("admin",))
    return create_therapist(data)


def therapists_page(after_id: int, limit: int) -> list[Therapist]:
    """Every caller may list the therapists (whom they can book)."""
    return therapists.page(after_id, limit)


def therapist(therapist_id: int) -> Therapist:
    return found(Therapist, therapist_id, "therapist")


def replace_working_hours_for(caller: Caller, therapist_id: int,
                              working_hours: Sequence[Any],
                              on_affected: str | None = None) -> Therapist:
    """PUT working-hours. Confirmed sessions to come the new hours leave outside raise
    SessionsAffected unless `on_affected` is keep or cancel (services/affected.py)."""
    choice = affected.checked_choice(on_affected)
    row = access.managed_therapist(caller, therapist_id)
    found_ = affected.for_hours(row, core_periods(working_hours))
    row.working_hours = _periods(working_hours)
    rows.flush()
    affected.settle(found_, choice)
    return row


def core_periods(working_hours: Sequence[Any]) -> list[WorkingPeriod]:
    """The API schema's periods (day name, start and end minutes) as the core's."""
    def clock(minutes: int) -> time:
        return time.max if minutes >= 1440 else time(minutes // 60, minutes % 60)

    return [WorkingPeriod(DAY_NUMBERS[p.day], clock(p.start), clock(p.end),
                          getattr(p, "site_id", None))
            for p in working_hours]


def add_time_off(therapist_: Therapist, start: date | datetime, end: date | datetime,
                 reason: str) -> TimeOff:
    """Naive values are the therapist's wall-clock; a date is that local midnight."""
    tz = load_zone(therapist_.timezone)
    start_at, end_at = localize(start, tz), localize(end, tz)
    if not end_at > start_at:
        raise InvalidPeriod(start_at, end_at)
    return rows.add(TimeOff(therapist_id=therapist_.id, start=start_at, end=end_at,
                            reason=reason))


def add_time_off_for(caller: Caller, therapist_id: int, start: date | datetime,
                     end: date | datetime, reason: str,
                     on_affected: str | None = None) -> TimeOff:
    """POST time-off. Confirmed sessions to come inside it raise SessionsAffected unless
    `on_affected` is keep or cancel (services/affected.py)."""
    choice = affected.checked_choice(on_affected)
    owner = access.managed_therapist(caller, therapist_id)
    time_off = add_time_off(owner, start, end, reason)
    affected.settle(affected.for_time_off(owner, time_off.start, time_off.end), choice)
    return time_off


def time_off_page_for(caller: Caller, therapist_id: int, after_id: int,
                      limit: int) -> list[TimeOff]:
    owner = access.managed_therapist(caller, therapist_id)
    return therapists.time_off_page(owner.id, after_id, limit)


def delete_time_off_for(caller: Caller, therapist_id: int, time_off_id: int) -> None:
    owner = access.managed_therapist(caller, therapist_id)
    time_off = found(TimeOff, time_off_id, "time off")
    if time_off.therapist_id != owner.id:
        raise NotFound("time off", time_off_id)
    rows.delete(time_off)


# --- athletes and teams ------------------------------------------------------------------------

def create_athlete(data: Any, team: Team | None = None) -> Athlete:
    """Create an athlete; with `team`, as a member of that team in the same unit of work."""
    if athletes.email_taken(data.email):
        raise EmailTaken(data.email, "athlete")
    athlete = rows.add(Athlete(name=data.name, email=data.email, sport=data.sport,
                               timezone=data.timezone,
                               home_site_id=sites.checked(getattr(data, "home_site_id", None),
                                                          "home_site_id")))
    if team is not None:
        add_member(team, athlete)
    return athlete


def create_athlete_for(caller: Caller, data: Any) -> Athlete:
    """An admin creates an athlete; a coach creates one into one of their teams."""
    require_role(caller, ("admin", "coach"))
    team = None if data.team_id is None else access.coached_team(caller, data.team_id, "team_id")
    if team is None and caller.role == "coach":
        raise CoachWithoutTeam()
    return create_athlete(data, team)


def update_athlete_for(caller: Caller, athlete_id: int, data: Any) -> Athlete:
    """PATCH an athlete: the athlete themself, their coach or an admin; a field left out
    stays, `home_site_id: null` clears the home site."""
    row = access.athlete(caller, athlete_id)
    given = data.model_fields_set
    for field in ("name", "sport", "timezone"):
        if field in given and getattr(data, field) is not None:
            setattr(row, field, getattr(data, field))
    if "home_site_id" in given:
        row.home_site_id = sites.checked(data.home_site_id, "home_site_id")
    if getattr(data, "reminders", None) is not None:
        set_reminders(caller, row, data.reminders)
    rows.flush()
    return row


def set_reminders(caller: Caller, athlete: Athlete, on: bool) -> None:
    """Reminders and check-ins on or off: the athlete's own choice (or an admin's), not a
    coach's."""
    if caller.role not in ("admin", "athlete"):
        raise Forbidden("reminders are the athlete's own choice: they (or an admin) turn "
                        "them on or off")
    athlete.reminders = on


def athletes_page(caller: Caller, after_id: int, limit: int) -> list[Athlete]:
    """The athletes the caller may see."""
    return athletes.page(after_id, limit, access.visible_athlete_ids(caller))


def create_team(name: str, coach_email: str | None) -> Team:
    return rows.add(Team(name=name, coach_email=coach_email))


def create_team_for(caller: Caller, name: str, coach_email: str | None) -> TeamWithMembers:
    """An admin creates any team; a coach their own."""
    require_role(caller, ("admin", "coach"))
    if caller.role == "coach":
        if coach_email not in (None, caller.email):
            raise Forbidden("a coach creates teams for themself")
        coach_email = caller.email
    return TeamWithMembers(create_team(name, coach_email), [])


def team_for(caller: Caller, team_id: int) -> TeamWithMembers:
    row = access.team(caller, team_id)
    return TeamWithMembers(row, athletes.members(row.id))


def add_member(team: Team, athlete: Athlete) -> None:
    if athletes.is_member(team.id, athlete.id):
        raise AlreadyMember(team.id, athlete.id)
    athletes.add_member(team, athlete)


def add_member_for(caller: Caller, team_id: int, athlete_id: int) -> TeamWithMembers:
    """The team's coach (or an admin) adds an athlete they already coach."""
    row = access.coached_team(caller, team_id)
    athlete = found(Athlete, athlete_id, "athlete", "athlete_id")
    if not access.acts_for_athlete(caller, athlete.id):
        raise NotFound("athlete", athlete.id, field="athlete_id")
    add_member(row, athlete)
    return TeamWithMembers(row, athletes.members(row.id))
