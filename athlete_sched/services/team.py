"""A coach books a whole team around one event: an exact plan, then all or nothing.

The plan (core.team_plan) places as many members as the free capacity allows, each with
a pre and a post session, from candidate slots that never overlap per therapist (the
therapist's free starts packed at session + buffer), avoiding each member's own
commitments and their season (services/season.py: other events' closed days, the gap
between sessions). Booking it goes through the same guarded path as a single booking, inside the
request's one transaction: the first slot that is gone raises, the view rolls back, and
nothing of the team is booked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..core import team_plan as core_plan
from ..core.errors import InvalidValue
from ..core.proposals import window_load
from ..db import queries
from ..db.models import Athlete, Booking, Event, MailMessage, Team, TeamMember, Therapist, User
from ..extensions import db
from . import clinic, mail, scheduling, season
from .common import now, policy, stamp, timing_of, windows_of
from .mail_text import team_summary
from .screening import excluded_by_screening

ALREADY_BOOKED = "already-booked"


@dataclass(frozen=True)
class Placement:
    """One member's requested sessions (from a plan the client sends back)."""

    athlete_id: int
    pre: tuple[int, datetime] | None  # (therapist id, start)
    post: tuple[int, datetime] | None


def team_event(event: Event) -> Event:
    if event.team_id is None:
        raise InvalidValue("only a team event has a team plan; book an athlete's own event "
                           "with POST /api/v1/bookings", field="event_id")
    return event


def member_ids(event: Event) -> list[int]:
    return list(db.session.scalars(select(TeamMember.athlete_id)
                                   .where(TeamMember.team_id == event.team_id)
                                   .order_by(TeamMember.athlete_id)))


def _booked_members(event: Event) -> set[int]:
    """Members with a confirmed session of this event already (planned around, not over)."""
    return set(db.session.scalars(select(Booking.athlete_id).where(
        Booking.event_id == event.id, Booking.status == "confirmed")))


def plan(event: Event) -> core_plan.TeamPlan:
    """The best plan for every member of the team event (see core.team_plan)."""
    event = team_event(event)
    windows, rules = windows_of(event), policy()
    spans = [windows.pre, windows.post]
    therapists = queries.therapist_rows()
    states = scheduling.therapist_states(therapists, spans)
    not_before = now() + rules.notice
    start = timing_of(event).start_instant
    pre = core_plan.candidates("pre", windows.pre, start, states, not_before)
    post = core_plan.candidates("post", windows.post, start, states, not_before)
    members = member_ids(event)
    booked, excluded = _booked_members(event), excluded_by_screening(members)
    seasons = season.seasons_near(members, spans)
    athletes = [core_plan.PlanAthlete(
        athlete_id, tuple(season.athlete_blocks(event, seasons[athlete_id])),
        ALREADY_BOOKED if athlete_id in booked else excluded.get(athlete_id))
        for athlete_id in members]
    loads = {state.schedule.therapist_id: window_load(state, windows.pre)
             + window_load(state, windows.post) for state in states}
    return core_plan.plan(athletes, pre, post, loads)


def placements_of(found: core_plan.TeamPlan) -> list[Placement]:
    return [Placement(a.athlete_id, (a.pre.therapist_id, a.pre.start),
                      (a.post.therapist_id, a.post.start))
            for a in found.assignments if a.pre is not None and a.post is not None]


def book_team(event: Event, placements: Sequence[Placement] | None) -> list[Booking]:
    """Book every placement (a fresh plan's when None), all or nothing: the first session
    that breaks a rule raises its domain error and the caller rolls the whole unit back."""
    event = team_event(event)
    if placements is None:
        placements = placements_of(plan(event))
    members, seen = set(member_ids(event)), set()
    bookings: list[Booking] = []
    for placement in placements:
        if placement.athlete_id not in members:
            raise InvalidValue("the athlete is not a member of the event's team",
                               field="assignments", athlete_id=placement.athlete_id)
        if placement.athlete_id in seen:
            raise InvalidValue("an athlete appears twice in the assignments",
                               field="assignments", athlete_id=placement.athlete_id)
        seen.add(placement.athlete_id)
        athlete = db.session.get(Athlete, placement.athlete_id)
        for kind, chosen in (("pre", placement.pre), ("post", placement.post)):
            if chosen is not None:
                therapist = clinic.get(Therapist, chosen[0], "therapist", "assignments")
                bookings.append(scheduling.book(event, therapist, athlete, kind, chosen[1]))
    if bookings:
        _queue_coach_summary(event, bookings)
    return bookings


def _queue_coach_summary(event: Event, bookings: list[Booking]) -> None:
    """One plain-text summary for the team's coach, in the booking's transaction (sent
    after the commit, like every invitation: services/mail.py)."""
    team = db.session.get(Team, event.team_id)
    if not mail.enabled() or not team.coach_email:
        return
    names = {a.id: a.name for a in db.session.scalars(
        select(Athlete).where(Athlete.id.in_({b.athlete_id for b in bookings})))}
    therapists = {t.id: t.name for t in db.session.scalars(
        select(Therapist).where(Therapist.id.in_({b.therapist_id for b in bookings})))}
    lines = [(names[b.athlete_id], therapists[b.therapist_id], b)
             for b in sorted(bookings, key=lambda b: (names[b.athlete_id], b.start))]
    coach = db.session.scalar(select(User).where(User.email == team.coach_email))
    message = team_summary(coach.name if coach else "", team.coach_email, team.name, event,
                           lines)
    db.session.add(MailMessage(booking_id=None, recipient=team.coach_email, method="SUMMARY",
                               sequence=0, attempts=0, created_at=stamp(),
                               message=message.as_string()))
