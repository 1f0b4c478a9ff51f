"""The clinic's admin: an overview, and pages of therapists, athletes, teams and users;
adding a therapist or an athlete with their sign-in (an emailed invitation), teams and
their coach, a user's password-reset link. Admins only; every list is a page of at most
PAGE rows read in one statement (keyset: the rows after the last id shown).

Adding a person makes two rows in one unit of work: the profile (therapist or athlete)
and a user with the same email (the user acts as that profile, services/accounts.py)
without a password, who gets an invitation link to set one (services/sign_in_links.py).
With mail off the link is handed back, for the admin to pass on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..core.errors import InvalidValue, NotFound
from ..db.models import Athlete, Team, Therapist, User
from ..db.queries import admin as queries
from ..db.queries import rows, users
from . import clinic, mail, sign_in_links
from .access import Caller, require_role
from .accounts import EmailTaken, normal_email
from .common import found, now
from .sign_in_links import LinkTo

T = TypeVar("T")
PAGE = 50
MAX_SEARCH = 100
MAX_COACHES = 500  # offered when assigning a coach (a clinic has a handful)
INVITED_ROLES = ("coach", "admin")  # invited on the users page


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, and the id to read the next one after (None: the last page)."""

    items: list[T]
    next_after: int | None


@dataclass(frozen=True)
class Invited:
    """Someone added with a sign-in: their profile's id, their email, and the invitation
    link when no mail went out (None: it was emailed)."""

    id: int
    email: str
    link: str | None


def _admin(caller: Caller) -> None:
    require_role(caller, ("admin",))


def _paged(read: Any, after_id: int, *args: Any) -> Page:
    """A page from `read(*args, after_id, limit)`: one row more than shown says whether
    there is a next page."""
    found_ = read(*args, max(after_id, 0), PAGE + 1)
    more = len(found_) > PAGE
    items = found_[:PAGE]
    return Page(items, items[-1].id if more else None)


def overview_for(caller: Caller) -> dict[str, int]:
    """The clinic's counts (one statement)."""
    _admin(caller)
    return queries.counts(now())


def therapists_for(caller: Caller, after_id: int = 0) -> Page[queries.Person]:
    _admin(caller)
    return _paged(queries.therapists_page, after_id)


def athletes_for(caller: Caller, search: str = "", after_id: int = 0
                 ) -> Page[queries.Person]:
    """Athletes whose name or email contains `search`, a page at a time."""
    _admin(caller)
    search = " ".join(search.split())
    if len(search) > MAX_SEARCH:
        raise InvalidValue(f"search for at most {MAX_SEARCH} characters", field="q")
    return _paged(queries.athletes_page, after_id, search)


def _invite(caller: Caller, email: str, role: str, name: str, link_for: LinkTo) -> str | None:
    if users.email_taken(normal_email(email)):
        raise EmailTaken(email)
    _, link = sign_in_links.invite(email, role, name, link_for, caller.name)
    return None if mail.enabled() else link


def add_therapist_for(caller: Caller, data: Any, link_for: LinkTo) -> Invited:
    """A therapist (the API's TherapistIn: name, email, zone, session length; no hours
    yet: they set their own) and their invitation to sign in."""
    _admin(caller)
    therapist = clinic.create_therapist(data)
    link = _invite(caller, therapist.email, "therapist", therapist.name, link_for)
    return Invited(therapist.id, therapist.email, link)


def add_athlete_for(caller: Caller, data: Any, link_for: LinkTo) -> Invited:
    """An athlete (the API's AthleteIn) and their invitation to sign in."""
    _admin(caller)
    team = None if data.team_id is None else found(Team, data.team_id, "team", "team_id")
    athlete = clinic.create_athlete(data, team)
    link = _invite(caller, athlete.email, "athlete", athlete.name, link_for)
    return Invited(athlete.id, athlete.email, link)


def invite_user_for(caller: Caller, email: str, role: str, name: str,
                    link_for: LinkTo) -> Invited:
    """Invite a coach or another admin (a therapist or an athlete is added with their
    profile: add_therapist_for, add_athlete_for)."""
    _admin(caller)
    if role not in INVITED_ROLES:
        raise InvalidValue("invite a coach or an admin here; add therapists and athletes "
                           "on their own pages", field="role")
    user_email = normal_email(email)
    link = _invite(caller, user_email, role, " ".join(name.split()), link_for)
    user = users.by_email(user_email)
    assert user is not None
    return Invited(user.id, user.email, link)


def invite_profile_for(caller: Caller, kind: str, profile_id: int,
                       link_for: LinkTo) -> Invited:
    """Invite a therapist or an athlete who has no sign-in yet (made by the API or the
    demo) to sign in as themself."""
    _admin(caller)
    model = {"therapist": Therapist, "athlete": Athlete}[kind]
    profile = found(model, profile_id, kind)
    link = _invite(caller, profile.email, kind, profile.name, link_for)
    return Invited(profile.id, profile.email, link)


def teams_for(caller: Caller, after_id: int = 0) -> Page[queries.TeamRow]:
    _admin(caller)
    return _paged(queries.teams_page, after_id)


def coaches_for(caller: Caller) -> list[queries.UserRow]:
    """The coach users a team can be given (by name)."""
    _admin(caller)
    return queries.users_with_role("coach", MAX_COACHES)


def _coach(email: str | None) -> str | None:
    """A coach user's email, or None for "no coach"; InvalidValue for anyone else."""
    if not email:
        return None
    user = users.by_email(normal_email(email))
    if user is None or user.role != "coach":
        raise InvalidValue(f"only a coach can coach a team, and {email} is not one: "
                           "invite them as a coach first",
                           field="coach_email")
    return user.email


def create_team_for(caller: Caller, name: str, coach_email: str | None) -> Team:
    _admin(caller)
    name = " ".join(name.split())
    if not 1 <= len(name) <= 200:
        raise InvalidValue("give the team a name of 1 to 200 characters", field="name")
    return clinic.create_team(name, _coach(coach_email))


def assign_coach_for(caller: Caller, team_id: int, coach_email: str | None) -> Team:
    """Give the team a coach (None: no coach); the coach then sees it on their pages."""
    _admin(caller)
    team = found(Team, team_id, "team")
    team.coach_email = _coach(coach_email)
    rows.flush()
    return team


def users_for(caller: Caller, role: str | None = None, after_id: int = 0
              ) -> Page[queries.UserRow]:
    _admin(caller)
    return _paged(queries.users_page, after_id, role)


def send_reset_for(caller: Caller, user_id: int, link_for: LinkTo) -> tuple[User, str | None]:
    """Email the user a password-reset link; with mail off, the link (for the admin to
    hand over in person)."""
    _admin(caller)
    user = rows.get(User, user_id)
    if user is None:
        raise NotFound("user", user_id)
    if mail.enabled():
        sign_in_links.request_reset(user.email, link_for)
        return user, None
    return user, link_for(sign_in_links.issue(user, "reset"))
