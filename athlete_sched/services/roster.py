"""A coach's teams and rosters, for the coach's pages: the teams they coach (an admin: every
team), a team's members with their screening *state* only, its events and its feed;
adding an athlete they already coach, inviting a new one by email, taking one off the
roster, planning a team event.

A coach reaches only their own teams; another coach's team is NotFound, as if it did not
exist (services/access.py). Nothing medical leaves here: of an athlete's screening only
its state (not answered, awaiting review, cleared, not cleared), never an answer or a note.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from ..core import screening as core_screening
from ..core.errors import InvalidValue, NotFound
from ..db.models import Athlete, CalendarFeed, Team
from ..db.queries import athletes
from ..db.queries import events as stored_events
from ..db.queries import screening as stored_screening
from . import access, calendars, clinic, mail, sign_in_links
from .access import Caller, require_role
from .accounts import normal_email
from .common import EventView, event_view
from .events import create_event

COACHES = ("coach", "admin")
NOT_ANSWERED, AWAITING_REVIEW = core_screening.NOT_ANSWERED, core_screening.AWAITING_REVIEW


@dataclass(frozen=True)
class Member:
    """A team member as the coach sees them: the athlete and their screening state."""

    athlete: Athlete
    screening: str  # NOT_ANSWERED, AWAITING_REVIEW, "cleared" or "not-cleared"


@dataclass(frozen=True)
class TeamPage:
    team: Team
    members: list[Member]
    events: list[EventView]
    feed: CalendarFeed


@dataclass(frozen=True)
class Invitation:
    athlete: Athlete
    link: str  # for the coach to hand over when no mail is sent
    emailed: bool


def screening_states(athlete_ids: Iterable[int]) -> dict[int, str]:
    """Each athlete's screening state, in one query: the decision alone, never an answer."""
    ids = sorted(set(athlete_ids))
    decisions = stored_screening.decisions_of(ids)
    return {athlete_id: NOT_ANSWERED if athlete_id not in decisions
            else decisions[athlete_id] or AWAITING_REVIEW for athlete_id in ids}


def teams_for(caller: Caller) -> list[tuple[Team, int]]:
    """The coach's teams (an admin: every team), by name, with their member counts."""
    require_role(caller, COACHES)
    return athletes.teams_listed(None if caller.role == "admin" else caller.email)


def create_team_for(caller: Caller, name: str) -> Team:
    """A coach's new team (an admin's has no coach yet)."""
    name = name.strip()
    if not name:
        raise InvalidValue("give the team a name", field="name")
    return clinic.create_team_for(caller, name, None).team


def team_page(caller: Caller, team_id: int) -> TeamPage:
    """The team's roster, events and feed (created on first use)."""
    require_role(caller, COACHES)
    team = access.coached_team(caller, team_id)
    members = athletes.members(team.id)
    states = screening_states(a.id for a in members)
    return TeamPage(team, [Member(a, states[a.id]) for a in members],
                    [event_view(e) for e in stored_events.of_team(team.id)],
                    calendars.feed_for(caller, "team", team.id))


def add_by_email(caller: Caller, team_id: int, email: str) -> Athlete:
    """Add an athlete the caller already coaches (an admin: any athlete), by email."""
    require_role(caller, COACHES)
    team = access.coached_team(caller, team_id)
    email = normal_email(email)
    athlete = athletes.by_email(email)
    if athlete is None or not access.acts_for_athlete(caller, athlete.id):
        raise InvalidValue(f"none of the athletes you coach has the email {email}: invite "
                           "them as a new athlete instead", field="email")
    clinic.add_member(team, athlete)
    return athlete


def invite_athlete(caller: Caller, team_id: int, data: Any,
                   link_for: sign_in_links.LinkTo) -> Invitation:
    """A new athlete (name, email, sport, timezone) in the team, and their user with an
    invitation link (emailed; returned for the coach to hand over when mail is off)."""
    require_role(caller, COACHES)
    team = access.coached_team(caller, team_id)
    user, link = sign_in_links.invite(data.email, "athlete", data.name, link_for,
                                      caller.name or caller.email)
    profile = {"name": user.name, "email": user.email, "sport": data.sport,
               "timezone": data.timezone}
    athlete = clinic.create_athlete(SimpleNamespace(**profile), team)
    return Invitation(athlete, link, mail.enabled())


def remove_member(caller: Caller, team_id: int, athlete_id: int) -> Athlete:
    """Take an athlete off the team (their sessions stay booked)."""
    require_role(caller, COACHES)
    team = access.coached_team(caller, team_id)
    athlete = athletes.by_ids([athlete_id]).get(athlete_id)
    if athlete is None or not athletes.remove_member(team.id, athlete_id):
        raise NotFound("team member", athlete_id, field="athlete_id")
    return athlete


def plan_team_event(caller: Caller, team_id: int, data: Any) -> EventView:
    """A new event of the team (data as the API's EventIn: name, sport, timezone, start,
    end)."""
    require_role(caller, COACHES)
    return event_view(create_event(data, access.coached_team(caller, team_id, "team_id")))


def rotate_feed(caller: Caller, team_id: int) -> CalendarFeed:
    """A new secret address for the team's feed; the old one stops working."""
    require_role(caller, COACHES)
    return calendars.rotate_feed_for(caller, "team", access.coached_team(caller, team_id).id)


def screening_words() -> dict[str, str]:
    """How the pages name each state."""
    return {NOT_ANSWERED: "Screening not answered", AWAITING_REVIEW: "Awaiting review",
            core_screening.CLEARED: "Cleared", core_screening.NOT_CLEARED: "Not cleared"}
