"""Who may see and change what. Admin: all. Athlete: own profile, events, bookings.
Therapist: own schedule and the bookings with them. Coach: own teams and their athletes.
Things a caller may not see at all answer 404, as if they did not exist."""

from __future__ import annotations

from ..core.errors import NotFound
from ..db.models import Athlete, Booking, Event, Team, Therapist, User
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


def athlete_visible(user: User, athlete: Athlete) -> Athlete:
    if acts_for_athlete(user, athlete.id):
        return athlete
    raise NotFound("athlete", athlete.id)


def team_visible(user: User, team: Team) -> Team:
    if acts_for_team(user, team):
        return team
    if user.role == "athlete":
        own = accounts.athlete_of(user)
        if own is not None and any(m.athlete_id == own.id for m in team.members):
            return team
    raise NotFound("team", team.id)


def event_visible(user: User, event: Event) -> Event:
    if event.athlete_id is not None and acts_for_athlete(user, event.athlete_id):
        return event
    if event.team_id is not None:
        from ..extensions import db

        team = db.session.get(Team, event.team_id)
        try:
            team_visible(user, team)
            return event
        except NotFound:
            pass
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
