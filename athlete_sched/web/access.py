"""Who may see and change what. Admin: all. Athlete: own profile, events, bookings.
Therapist: own schedule and the bookings with them. Coach: own teams and their athletes.
Things a caller may not see at all answer 404, as if they did not exist."""

from __future__ import annotations

from ..core.errors import NotFound
from ..db.models import Athlete, Booking, Event, Team, Therapist, User
from ..extensions import db
from ..services import accounts
from .errors import ApiError


def forbidden(message: str = "your role may not do this") -> ApiError:
    return ApiError(403, "forbidden", message)


def acts_for_athlete(user: User, athlete_id: int) -> bool:
    if user.role == "admin":
        return True
    if user.role == "athlete":
        own = accounts.athlete_of(user)
        return own is not None and own.id == athlete_id
    if user.role == "coach":
        return athlete_id in accounts.coached_athlete_ids(user)
    return False


def acts_for_team(user: User, team: Team) -> bool:
    return user.role == "admin" or (user.role == "coach" and team.coach_email == user.email)


def manages_therapist(user: User, therapist: Therapist) -> bool:
    return user.role == "admin" or (user.role == "therapist" and therapist.email == user.email)


def therapist_owned(user: User, therapist: Therapist) -> Therapist:
    """The therapist themself or an admin; anyone else gets 404 (private to them)."""
    if manages_therapist(user, therapist):
        return therapist
    raise NotFound("therapist", therapist.id)


def athlete_visible(user: User, athlete: Athlete) -> Athlete:
    if acts_for_athlete(user, athlete.id):
        return athlete
    raise NotFound("athlete", athlete.id)


def sees_team(user: User, team: Team) -> bool:
    """Admins and the team's coach see a team; so do its own members."""
    if acts_for_team(user, team):
        return True
    if user.role == "athlete":
        own = accounts.athlete_of(user)
        return own is not None and any(m.athlete_id == own.id for m in team.members)
    return False


def team_visible(user: User, team: Team, field: str | None = None) -> Team:
    if sees_team(user, team):
        return team
    raise NotFound("team", team.id, field=field)


def team_changeable(user: User, team: Team, field: str | None = None) -> Team:
    """Admins and the team's coach change a team: 403 for a member, 404 for anyone else."""
    if acts_for_team(user, team):
        return team
    team_visible(user, team, field)
    raise forbidden("only the team's coach or an admin can change the team")


def event_visible(user: User, event: Event) -> Event:
    if event.athlete_id is not None and acts_for_athlete(user, event.athlete_id):
        return event
    if event.team_id is not None:
        team = db.session.get(Team, event.team_id)
        if team is not None and sees_team(user, team):
            return event
    raise NotFound("event", event.id)


def event_changeable(user: User, event: Event) -> Event:
    """Athletes change their own events; team events belong to the coach."""
    event_visible(user, event)
    if event.team_id is not None and user.role == "athlete":
        raise forbidden("only the team's coach can change a team event")
    return event


def booking_visible(user: User, booking: Booking) -> Booking:
    if user.role == "therapist":
        own = accounts.therapist_of(user)
        if own is not None and own.id == booking.therapist_id:
            return booking
    elif acts_for_athlete(user, booking.athlete_id):
        return booking
    raise NotFound("booking", booking.id)


def booking_scope(user: User) -> list:
    """SQL filters that keep the bookings `user` may see (none for an admin)."""
    if user.role == "therapist":
        own_therapist = accounts.therapist_of(user)
        return [Booking.therapist_id == (own_therapist.id if own_therapist else -1)]
    if user.role == "athlete":
        own_athlete = accounts.athlete_of(user)
        return [Booking.athlete_id == (own_athlete.id if own_athlete else -1)]
    if user.role == "coach":
        return [Booking.athlete_id.in_(accounts.coached_athlete_ids(user))]
    return []
