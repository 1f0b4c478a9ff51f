"""The admin's lists: the clinic's counts, and pages of therapists, athletes, teams and
users, each one statement however long the page (columns, not models: a therapist model
would load its working hours too)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Select, func, literal, or_, select

from ...extensions import db
from ..models import Athlete, Booking, Team, TeamMember, Therapist, User


class Person(NamedTuple):
    """A therapist or an athlete on an admin list, with their sign-in: None (no user with
    their email), False (invited, no password yet) or True (has a password)."""

    id: int
    name: str
    email: str
    timezone: str
    detail: str  # an athlete's sport; "" for a therapist
    account: bool | None
    site_id: int | None = None  # a therapist's site, an athlete's home site
    reminders: bool = True  # an athlete's reminders and check-ins by email are on


class TeamRow(NamedTuple):
    id: int
    name: str
    coach_email: str | None
    coach_name: str | None
    members: int


class UserRow(NamedTuple):
    id: int
    email: str
    name: str
    role: str
    has_password: bool
    created_at: datetime
    disabled_at: datetime | None = None


def counts(after: datetime) -> dict[str, int]:
    """How many therapists, athletes, teams and users; confirmed sessions from `after`."""
    def count(model: type, *where: object) -> Select:
        return select(func.count()).select_from(model).where(*where).scalar_subquery()

    row = db.session.execute(select(
        count(Therapist).label("therapists"), count(Athlete).label("athletes"),
        count(Team).label("teams"), count(User).label("users"),
        count(Booking, Booking.status == "confirmed", Booking.start >= after)
        .label("coming_sessions"))).one()
    return dict(row._mapping)


def _person(row: tuple) -> Person:
    *values, site_id, user_id, has_password = row
    return Person(*values, None if user_id is None else bool(has_password), site_id)


def therapists_page(after_id: int, limit: int) -> list[Person]:
    query = (select(Therapist.id, Therapist.name, Therapist.email, Therapist.timezone,
                    literal(""), Therapist.site_id, User.id,
                    User.password_hash.is_not(None))
             .outerjoin(User, User.email == Therapist.email)
             .where(Therapist.id > after_id).order_by(Therapist.id).limit(limit))
    return [_person(row) for row in db.session.execute(query)]


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def athletes_page(search: str, after_id: int, limit: int) -> list[Person]:
    """Athletes whose name or email contains `search` (any case; "" for all), by id."""
    query = (select(Athlete.id, Athlete.name, Athlete.email, Athlete.timezone, Athlete.sport,
                    Athlete.home_site_id, User.id, User.password_hash.is_not(None),
                    Athlete.reminders)
             .outerjoin(User, User.email == Athlete.email)
             .where(Athlete.id > after_id).order_by(Athlete.id).limit(limit))
    if search:
        pattern = _like(search)
        query = query.where(or_(func.lower(Athlete.name).like(pattern, escape="\\"),
                                func.lower(Athlete.email).like(pattern, escape="\\")))
    return [_person(row[:-1])._replace(reminders=row[-1]) for row in db.session.execute(query)]


def teams_page(after_id: int, limit: int) -> list[TeamRow]:
    members = (select(func.count()).select_from(TeamMember)
               .where(TeamMember.team_id == Team.id).correlate(Team).scalar_subquery())
    query = (select(Team.id, Team.name, Team.coach_email, User.name, members)
             .outerjoin(User, User.email == Team.coach_email)
             .where(Team.id > after_id).order_by(Team.id).limit(limit))
    return [TeamRow(*row) for row in db.session.execute(query)]


def users_page(role: str | None, after_id: int, limit: int) -> list[UserRow]:
    query = (select(User.id, User.email, User.name, User.role,
                    User.password_hash.is_not(None), User.created_at, User.disabled_at)
             .where(User.id > after_id).order_by(User.id).limit(limit))
    if role is not None:
        query = query.where(User.role == role)
    return [UserRow(*row) for row in db.session.execute(query)]


def users_with_role(role: str, limit: int) -> list[UserRow]:
    """Up to `limit` users of the role, by name and email (a coach to assign)."""
    query = (select(User.id, User.email, User.name, User.role,
                    User.password_hash.is_not(None), User.created_at)
             .where(User.role == role).order_by(User.name, User.email).limit(limit))
    return [UserRow(*row) for row in db.session.execute(query)]

