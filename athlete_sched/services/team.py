"""A coach books a whole team around one event: an exact plan, then all or nothing.

The plan (core.team_plan) places as many members as the free capacity allows, each with
a pre and a post session, from candidate slots that never overlap per therapist (the
therapist's free starts packed at session + buffer), avoiding each member's own events and
sessions and their season (services/season.py: other events' closed days, the gap between
sessions).

Booking goes through the same guarded path as a single booking (services/bookings.book),
inside the request's one unit of work: the first slot that is gone raises, the unit rolls
back, and nothing of the team is booked. Team bookings run side by side with each other
and with single bookings, so before anything is read for booking, the unit takes every
advisory lock it needs at once, in the one global order (services/unit_of_work.py): for
a plan sent back, its therapists and members; for a fresh plan, every therapist (the plan
may use any of them) and the members, and only then plans, so the plan reads the latest
committed bookings and nobody can take its slots before they are booked. Only a real
shortage of capacity is then a conflict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..core import team_plan as core_plan
from ..core.availability import TherapistSchedule
from ..core.errors import InvalidValue, NobodyPlaced
from ..core.kinds import POST, PRE
from ..core.proposals import window_load
from ..db.models import Athlete, Booking, Event, Team, Therapist
from ..db.queries import athletes, bookings, therapists, users
from . import access, mail, season, sites, unit_of_work
from .access import Caller
from .bookings import BookingView, book, views_of
from .common import found, now, policy, timing_of, windows_of
from .mail_text import team_summary
from .screening import excluded_by_screening

ALREADY_BOOKED = "already-booked"


@dataclass(frozen=True)
class Placement:
    """One member's requested sessions (from a plan the client sends back)."""

    athlete_id: int
    pre: tuple[int, datetime] | None  # (therapist id, start)
    post: tuple[int, datetime] | None


@dataclass(frozen=True)
class TeamPlan:
    event_id: int
    plan: core_plan.TeamPlan


def team_event(caller: Caller, event_id: int) -> Event:
    """The team event, if the caller may book for its team (its coach or an admin)."""
    event = access.event(caller, event_id)
    if event.team_id is None:
        raise InvalidValue("only a team event has a team plan; book an athlete's own event "
                           "with POST /api/v1/bookings", field="event_id")
    access.coached_team(caller, event.team_id)
    return event


def plan(event: Event, schedules: Sequence[TherapistSchedule] | None = None
         ) -> core_plan.TeamPlan:
    """The best plan for every member of the team event (see core.team_plan), with the
    given therapists (default: all of them; given ones carry the one-day changes of the
    event's windows: therapists.schedules(near=...))."""
    windows, rules = windows_of(event), policy()
    spans = [windows.pre, windows.post]
    staff = therapists.schedules(near=spans) if schedules is None else schedules
    states = therapists.states_in(staff, spans, now=now())  # held offers: taken
    not_before = now() + rules.notice
    start = timing_of(event).start_instant
    pre = core_plan.candidates(PRE, windows.pre, start, states, not_before)
    post = core_plan.candidates(POST, windows.post, start, states, not_before)
    homes = athletes.member_homes(event.team_id)
    members = list(homes)
    booked, excluded = bookings.booked_athletes(event.id), excluded_by_screening(members)
    seasons = season.seasons_near(members, spans)
    where = sites.where_of_members(event, members, homes)
    planned = [core_plan.PlanAthlete(
        athlete_id, tuple(season.athlete_unavailable(event, seasons[athlete_id])),
        ALREADY_BOOKED if athlete_id in booked else excluded.get(athlete_id),
        where[athlete_id])
        for athlete_id in members]
    loads = {state.schedule.therapist_id: window_load(state, windows.pre)
             + window_load(state, windows.post) for state in states}
    return core_plan.plan(planned, pre, post, loads)


def plan_for(caller: Caller, event_id: int) -> TeamPlan:
    """POST /events/{id}/plan."""
    event = team_event(caller, event_id)
    return TeamPlan(event.id, plan(event))


def placements_of(found_: core_plan.TeamPlan) -> list[Placement]:
    return [Placement(a.athlete_id, (a.pre.therapist_id, a.pre.start),
                      (a.post.therapist_id, a.post.start))
            for a in found_.assignments if a.pre is not None and a.post is not None]


def book_team(event: Event, placements: Sequence[Placement] | None) -> list[Booking]:
    """Book every placement (a fresh plan's when None), all or nothing: the first session
    that breaks a rule raises its domain error and the unit of work rolls everything back.
    The locks come first (see the module docstring). A fresh plan that places nobody is
    NobodyPlaced (with each member's reason); placements without any session, invalid."""
    members = athletes.member_ids(event.team_id)
    if placements is None:
        windows = windows_of(event)
        staff = therapists.schedules(near=[windows.pre, windows.post])
        unit_of_work.lock_booking_writers([t.therapist_id for t in staff], members)
        fresh = plan(event, staff)  # read after the locks: nothing stale
        placements = placements_of(fresh)
        if not placements:
            raise NobodyPlaced(event.id, fresh.unplaced)
    else:
        if not any(p.pre or p.post for p in placements):
            raise InvalidValue("the assignments hold no session to book",
                               field="assignments")
        _check(placements, set(members))
        unit_of_work.lock_booking_writers(
            [chosen[0] for p in placements for chosen in (p.pre, p.post) if chosen],
            [p.athlete_id for p in placements])
    booked: list[Booking] = []
    for placement in placements:
        athlete = found(Athlete, placement.athlete_id, "athlete", "assignments")
        for kind, chosen in ((PRE, placement.pre), (POST, placement.post)):
            if chosen is not None:
                therapist = found(Therapist, chosen[0], "therapist", "assignments")
                booked.append(book(event, therapist, athlete.id, kind, chosen[1]))
    if booked:
        _queue_coach_summary(event, booked)
    return booked


def _check(placements: Sequence[Placement], members: set[int]) -> None:
    """Refuse an athlete who is not a member or who comes twice (before any lock)."""
    seen: set[int] = set()
    for placement in placements:
        if placement.athlete_id not in members:
            raise InvalidValue("the athlete is not a member of the event's team",
                               field="assignments", athlete_id=placement.athlete_id)
        if placement.athlete_id in seen:
            raise InvalidValue("an athlete appears twice in the assignments",
                               field="assignments", athlete_id=placement.athlete_id)
        seen.add(placement.athlete_id)


def book_team_for(caller: Caller, event_id: int,
                  placements: Sequence[Placement] | None) -> list[BookingView]:
    """POST /events/{id}/book-team."""
    return views_of(book_team(team_event(caller, event_id), placements))


def _queue_coach_summary(event: Event, booked: list[Booking]) -> None:
    """One plain-text summary for the team's coach, in the booking's transaction (sent
    after the commit, like every invitation: services/mail.py)."""
    team = found(Team, event.team_id, "team")
    if not mail.enabled() or not team.coach_email:
        return
    names = {a.id: a.name for a in athletes.by_ids(b.athlete_id for b in booked).values()}
    who = {t.id: t.name for t in therapists.by_ids(b.therapist_id for b in booked).values()}
    lines = [(names[b.athlete_id], who[b.therapist_id], b)
             for b in sorted(booked, key=lambda b: (names[b.athlete_id], b.start))]
    coach = users.by_email(team.coach_email)
    mail.queue_summary(team.coach_email, team_summary(
        coach.name if coach else "", team.coach_email, team.name, event, lines))
