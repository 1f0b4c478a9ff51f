"""JSON API v1: a coach plans and books a whole team around one event; an athlete's season."""

from __future__ import annotations

from datetime import timedelta

from flask import jsonify, request

from ..core.errors import InvalidValue
from ..core.intervals import Interval
from ..core.zones import load_zone
from ..db.models import Athlete, Event, Team
from ..services import clinic, season, team
from ..services.common import localize, now
from . import access
from . import schemas as s
from . import schemas_team as st
from .api import bp, doc, done
from .api_scheduling import _event
from .http import current_user, parse_body, parse_query


def _team_event(event_id: int) -> Event:
    """The team event, if the caller may book for its team (coach or admin)."""
    event = team.team_event(_event(event_id))
    access.team_changeable(current_user(), clinic.get(Team, event.team_id, "team"))
    return event


@bp.post("/events/<int:event_id>/plan")
@doc(summary="The best plan for a team event: every member a pre and a post session, as "
     "many members placed as the free capacity allows (exact, not first-come)",
     response=st.PlanOut)
def plan_team(event_id: int):
    event = _team_event(event_id)
    return jsonify(st.plan_json(event.id, team.plan(event)))


def _placements(data: st.BookTeamIn) -> list[team.Placement]:
    def chosen(slot: st.PlanSlotIn | None):
        return None if slot is None else (slot.therapist_id, slot.start)

    return [team.Placement(a.athlete_id, chosen(a.pre), chosen(a.post))
            for a in data.assignments]


@bp.post("/events/<int:event_id>/book-team")
@doc(summary="Book a team plan all or nothing (no body: a fresh plan); 409 and nothing "
     "booked if any slot is gone", body=st.BookTeamIn, response=st.BookTeamOut, status=201)
def book_team(event_id: int):
    given = _placements(parse_body(st.BookTeamIn)) if request.get_data(cache=True) else None
    event = _team_event(event_id)
    bookings = team.book_team(event, given)
    return done({"bookings": s.bookings_json(bookings)}, 201)


DEFAULT_SEASON = timedelta(weeks=26)


def _season_span(athlete: Athlete, q: st.SeasonQuery) -> Interval:
    tz = load_zone(athlete.timezone)
    start = localize(q.from_, tz) if q.from_ is not None else now()
    end = localize(q.to, tz) if q.to is not None else start + DEFAULT_SEASON
    if not start < end:
        raise InvalidValue("`to` must come after `from`", field="to")
    if end - start > timedelta(days=season.MAX_SEASON_DAYS):
        raise InvalidValue(f"a season view spans at most {season.MAX_SEASON_DAYS} days",
                           field="to")
    return Interval(start, end)


@bp.get("/athletes/<int:athlete_id>/season")
@doc(summary="An athlete's season: events with their windows, bookings, and suggestions "
     "(pre, post, shared sessions, courses, tune-ups) each with the best free slots",
     query=st.SeasonQuery, response=st.SeasonOut)
def athlete_season(athlete_id: int):
    q = parse_query(st.SeasonQuery)
    athlete = access.athlete_visible(current_user(), clinic.get(Athlete, athlete_id, "athlete"))
    span = _season_span(athlete, q)
    view = season.season_view(athlete.id, span, course_sessions=q.course_sessions,
                              tune_up_weeks=q.tune_up_weeks, slots=q.slots)
    return jsonify(st.season_json(athlete.id, span, view))
