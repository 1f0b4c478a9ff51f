"""Who may see and change what. Every use case checks here before it acts.

- admin: everything;
- athlete: their own profile, events and bookings (and their teams' events, to see);
- therapist: their own schedule and the bookings with them;
- coach: their own teams and the athletes in them.

Something the caller may not see at all is NotFound, as if it did not exist; something
they may see but not do is Forbidden.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from functools import cached_property

from ..core.errors import Forbidden, NotFound
from ..db.models import ROLES, Athlete, Booking, Event, Team, Therapist
from ..db.queries import athletes, bookings
from .common import found

__all__ = ["ROLES", "Caller"]


@dataclass(frozen=True)
class Caller:
    """Who is asking: a user's role and email, and the athlete or therapist profile it acts
    as (the profile with the same email), read once per request."""

    role: str
    email: str
    name: str = ""
    user_id: int | None = None
    athlete_id: int | None = None
    therapist_id: int | None = None
    login_version: int = 0  # part of a signed-in session's id (services/accounts.py)

    @cached_property
    def coached(self) -> frozenset[int]:
        """The athletes in the teams a coach coaches (read on first use)."""
        if self.role != "coach":
            return frozenset()
        return frozenset(athletes.coached_athlete_ids(self.email))


def require_role(caller: Caller, allowed: Collection[str]) -> None:
    if caller.role not in allowed:
        raise Forbidden()


def acts_for_athlete(caller: Caller, athlete_id: int) -> bool:
    if caller.role == "admin":
        return True
    if caller.role == "athlete":
        return caller.athlete_id == athlete_id
    if caller.role == "coach":
        return athlete_id in caller.coached
    return False


def acts_for_team(caller: Caller, team: Team) -> bool:
    return caller.role == "admin" or (caller.role == "coach"
                                      and team.coach_email == caller.email)


def manages_therapist(caller: Caller, therapist: Therapist) -> bool:
    return caller.role == "admin" or (caller.role == "therapist"
                                      and caller.therapist_id == therapist.id)


def sees_team(caller: Caller, team: Team) -> bool:
    """Admins and the team's coach see a team; so do its own members."""
    if acts_for_team(caller, team):
        return True
    return (caller.role == "athlete" and caller.athlete_id is not None
            and any(m.athlete_id == caller.athlete_id for m in team.members))


# --- the rows a caller may reach ------------------------------------------------------------------

def athlete(caller: Caller, athlete_id: int, field: str | None = None) -> Athlete:
    """An athlete the caller acts for; anyone else: NotFound."""
    row = found(Athlete, athlete_id, "athlete", field)
    if not acts_for_athlete(caller, row.id):
        raise NotFound("athlete", row.id, field=field)
    return row


def own_therapist(caller: Caller, therapist_id: int, entity: str = "therapist") -> Therapist:
    """The therapist themself or an admin; anyone else: NotFound (private to them)."""
    therapist = found(Therapist, therapist_id, "therapist")
    if not manages_therapist(caller, therapist):
        raise NotFound(entity, therapist.id)
    return therapist


def managed_therapist(caller: Caller, therapist_id: int) -> Therapist:
    """The therapist themself or an admin; anyone else may see them but not change them."""
    therapist = found(Therapist, therapist_id, "therapist")
    if not manages_therapist(caller, therapist):
        raise Forbidden("only the therapist or an admin can change this schedule")
    return therapist


def team(caller: Caller, team_id: int, field: str | None = None) -> Team:
    """A team the caller sees (admin, its coach, its members)."""
    row = found(Team, team_id, "team", field)
    if not sees_team(caller, row):
        raise NotFound("team", row.id, field=field)
    return row


def coached_team(caller: Caller, team_id: int, field: str | None = None) -> Team:
    """A team the caller may change: an admin any, a coach their own; Forbidden for a
    member, NotFound for anyone else."""
    row = found(Team, team_id, "team", field)
    if acts_for_team(caller, row):
        return row
    if not sees_team(caller, row):
        raise NotFound("team", row.id, field=field)
    raise Forbidden("only the team's coach or an admin can change the team")


def event(caller: Caller, event_id: int, field: str | None = None) -> Event:
    """An event the caller may see (sees_event), else NotFound."""
    row = found(Event, event_id, "event", field)
    if sees_event(caller, row):
        return row
    raise NotFound("event", event_id, field=field)


def sees_event(caller: Caller, row: Event) -> bool:
    """Whether the caller may see the event: one of an athlete they act for, or of a team
    they see."""
    if row.athlete_id is not None and acts_for_athlete(caller, row.athlete_id):
        return True
    if row.team_id is not None:
        owner = found(Team, row.team_id, "team")
        return sees_team(caller, owner)
    return False


def changeable_event(caller: Caller, event_id: int) -> Event:
    """Athletes change their own events; team events belong to the coach."""
    row = event(caller, event_id)
    if row.team_id is not None and caller.role == "athlete":
        raise Forbidden("only the team's coach can change a team event")
    return row


def booking(caller: Caller, booking_id: int) -> Booking:
    """A booking of the therapist, or of an athlete the caller acts for."""
    row = found(Booking, booking_id, "booking")
    if caller.role == "therapist":
        if caller.therapist_id is not None and caller.therapist_id == row.therapist_id:
            return row
    elif acts_for_athlete(caller, row.athlete_id):
        return row
    raise NotFound("booking", row.id)


def booking_scope(caller: Caller) -> bookings.Filter:
    """The bookings a caller may see, as a list filter (no limit for an admin)."""
    if caller.role == "therapist":
        return bookings.Filter(visible_to_therapists={caller.therapist_id or -1})
    if caller.role == "athlete":
        return bookings.Filter(visible_to_athletes={caller.athlete_id or -1})
    if caller.role == "coach":
        return bookings.Filter(visible_to_athletes=caller.coached)
    return bookings.Filter()


def visible_athlete_ids(caller: Caller) -> Collection[int] | None:
    """The athletes a list shows the caller (None: all of them, for an admin)."""
    if caller.role == "admin":
        return None
    if caller.role == "coach":
        return caller.coached
    return {caller.athlete_id} if caller.athlete_id is not None else set()
