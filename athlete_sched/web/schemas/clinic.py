"""Request and answer schemas of users, therapists (working hours, time off), athletes and
teams."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from .base import (
    DAYS,
    ClockIn,
    DateOrDateTimeIn,
    Day,
    Email,
    Id,
    In,
    Instant,
    Name,
    Out,
    Role,
    Sport,
    TimeZoneName,
    dump,
)


class UserIn(In):
    email: Email
    role: Role
    name: Annotated[str, Field(max_length=200)] = ""


class WorkingPeriodIn(In):
    day: Day
    start: ClockIn
    end: ClockIn
    site_id: Id | None = Field(default=None, description=(
        "the site of this period when it is not the therapist's own"))

    @model_validator(mode="after")
    def _ordered(self) -> WorkingPeriodIn:
        if not self.end > self.start:  # type: ignore[operator]
            raise ValueError("end must be after start")
        return self


def _no_overlap(periods: list[WorkingPeriodIn]) -> list[WorkingPeriodIn]:
    by_day: dict[str, list[WorkingPeriodIn]] = {}
    for period in periods:
        by_day.setdefault(period.day, []).append(period)
    for day, items in by_day.items():
        items.sort(key=lambda p: p.start)
        for before, after in zip(items, items[1:], strict=False):
            if after.start < before.end:  # type: ignore[operator]
                raise ValueError(f"working periods overlap on {day}")
    return periods


WorkingHoursIn = Annotated[list[WorkingPeriodIn], Field(max_length=100),
                           AfterValidator(_no_overlap)]


class TherapistIn(In):
    name: Name
    email: Email
    timezone: TimeZoneName
    session_minutes: Annotated[int, Field(ge=5, le=480)] = 45
    buffer_minutes: Annotated[int, Field(ge=0, le=240)] = 0
    slot_step_minutes: Annotated[int, Field(ge=1, le=240)] = 15
    working_hours: WorkingHoursIn = []
    site_id: Id | None = Field(default=None, description=(
        "where the therapist works: optional while the clinic has at most one site (then "
        "that one), required once it has several"))


class TherapistPatch(In):
    name: Name | None = None
    site_id: Id | None = Field(default=None, description="move the therapist to this site")


class WorkingHoursBody(In):
    working_hours: WorkingHoursIn


class AffectedQuery(BaseModel):
    """?affected= of a change of hours, time off or a day over booked sessions."""

    model_config = ConfigDict(extra="ignore")
    affected: Literal["keep", "cancel"] | None = Field(None, description=(
        "What becomes of confirmed sessions to come the change strands (outside the "
        "working hours or inside the time off): without it the change is refused with 409 "
        "sessions-affected and their booking ids in error.affected; keep: saved, the "
        "sessions stay; cancel: saved, the sessions cancelled and each athlete emailed the "
        "best new slots (one transaction)."))


class TimeOffIn(In):
    start: DateOrDateTimeIn
    end: DateOrDateTimeIn
    reason: Annotated[str, Field(max_length=500)] = ""


class AthleteIn(In):
    name: Name
    email: Email
    sport: Sport
    timezone: TimeZoneName
    team_id: Id | None = Field(default=None, description="add the new athlete to this team "
                               "(a coach must name one of their own teams)")
    home_site_id: Id | None = Field(default=None, description=(
        "the site near the athlete's home: sessions before departure and after return are "
        "there"))


class AthletePatch(In):
    """Change an athlete: any of these; `home_site_id: null` clears the home site."""

    name: Name | None = None
    sport: Sport | None = None
    timezone: TimeZoneName | None = None
    home_site_id: Id | None = None
    reminders: bool | None = Field(default=None, description=(
        "whether the athlete gets reminders by email (the day before a session) and "
        "check-ins (two days after a recovery session); the athlete's own choice: an "
        "admin may change it too, a coach may not (403)"))


class SiteIn(In):
    name: Name
    timezone: TimeZoneName
    address: Annotated[str, Field(max_length=500)] = ""


class SitePatch(In):
    name: Name | None = None
    timezone: TimeZoneName | None = None
    address: Annotated[str, Field(max_length=500)] | None = None


class TeamIn(In):
    name: Name
    coach_email: Email | None = None


class TeamMemberIn(In):
    athlete_id: Id



# --- answers ---

class UserOut(Out):
    id: int
    email: str
    role: Role
    name: str


class UserCreated(UserOut):
    token: str = Field(description="shown once; only its hash is stored")


class WorkingPeriodOut(Out):
    day: Day
    start: str
    end: str
    site_id: int | None = Field(None, description="present when the period is at a site "
                                "other than the therapist's")


class SiteOut(Out):
    id: int
    name: str
    timezone: str
    address: str


class TherapistOut(Out):
    id: int
    name: str
    email: str
    timezone: str
    session_minutes: int
    buffer_minutes: int
    slot_step_minutes: int
    working_hours: list[WorkingPeriodOut]
    site_id: int | None


class TimeOffOut(Out):
    id: int
    therapist_id: int
    start: Instant
    end: Instant
    reason: str


class AthleteOut(Out):
    id: int
    name: str
    email: str
    sport: Sport
    timezone: str
    home_site_id: int | None = None
    reminders: bool = Field(True, description=(
        "reminders and check-ins by email are on (default) or off"))


class TeamOut(Out):
    id: int
    name: str
    coach_email: str | None
    members: list[AthleteOut] = []



# --- serializers ---

def therapist_json(therapist: Any) -> dict[str, Any]:
    periods = [{"day": DAYS[p.day], "start": f"{p.start_minute // 60:02d}:"
                f"{p.start_minute % 60:02d}", "end": f"{p.end_minute // 60:02d}:"
                f"{p.end_minute % 60:02d}", **({} if p.site_id is None else
                                               {"site_id": p.site_id})}
               for p in therapist.working_hours]
    fields = ("id", "name", "email", "timezone", "session_minutes", "buffer_minutes",
              "slot_step_minutes", "site_id")
    body = dump(TherapistOut, {**{f: getattr(therapist, f) for f in fields},
                               "working_hours": periods})
    return {**body, "working_hours": periods}  # a period's site_id only where it has one


def site_json(site: Any) -> dict[str, Any]:
    return dump(SiteOut, site)


def athlete_json(athlete: Any) -> dict[str, Any]:
    return dump(AthleteOut, athlete)


def team_json(found: Any) -> dict[str, Any]:
    """A team with its members (services.clinic.TeamWithMembers)."""
    team = found.team
    return {"id": team.id, "name": team.name, "coach_email": team.coach_email,
            "members": [athlete_json(a) for a in found.members]}


def user_json(caller: Any) -> dict[str, Any]:
    """The caller (services.access.Caller) as a user."""
    return dump(UserOut, {"id": caller.user_id, "email": caller.email, "role": caller.role,
                          "name": caller.name})
