"""JSON API v1: a coach plans and books a whole team around one event; an athlete's season."""

from __future__ import annotations

from flask import jsonify, request

from ..services import season_view, team
from .api import bp, doc
from .http import answer, current_caller, parse_body, parse_query
from .limits import limited
from .schemas import team as st
from .schemas.scheduling import bookings_json


@bp.post("/events/<int:event_id>/plan")
@doc(summary="The best plan for a team event: every member a pre and a post session, as "
     "many members placed as the free capacity allows (exact, not first-come)",
     response=st.PlanOut,
     errors={422: "invalid-value: the event is an athlete's own, not a team's: only a team "
                  "event has a team plan"})
@limited("RATELIMIT_PLANS")
def plan_team(event_id: int):
    return jsonify(st.plan_json(team.plan_for(current_caller(), event_id)))


def _placements(data: st.BookTeamIn) -> list[team.Placement]:
    def chosen(slot: st.PlanSlotIn | None):
        return None if slot is None else (slot.therapist_id, slot.start)

    return [team.Placement(a.athlete_id, chosen(a.pre), chosen(a.post))
            for a in data.assignments]


@bp.post("/events/<int:event_id>/book-team")
@doc(summary="Book a team plan all or nothing (no body: a fresh plan); 409 and nothing "
     "booked if any slot is gone, or if a fresh plan places nobody", body=st.BookTeamIn,
     response=st.BookTeamOut, status=201,
     errors={409: "a slot is gone (slot-taken, held, athlete-busy, already-booked) or an "
                  "athlete "
                  "is not cleared (screening-not-cleared): nothing booked; or a fresh plan "
                  "places nobody (nobody-placed, with `unplaced_reasons`: [{athlete_id, "
                  "reason}] as the plan gives them): nothing to book",
             422: "invalid values: an assignment outside its window or working hours, at "
                  "a site where the athlete is not then (wrong-site), an athlete who is not "
                  "a member or comes twice, or assignments without any session"})
@limited("RATELIMIT_PLANS")
def book_team(event_id: int):
    given = _placements(parse_body(st.BookTeamIn)) if request.get_data(cache=True) else None
    booked = team.book_team_for(current_caller(), event_id, given)
    return answer({"bookings": bookings_json(booked)}, 201)


@bp.get("/athletes/<int:athlete_id>/season")
@doc(summary="An athlete's season: events with their windows, bookings, and suggestions "
     "(pre, post, shared sessions, courses, tune-ups) each with the best free slots",
     query=st.SeasonQuery, response=st.SeasonOut)
def athlete_season(athlete_id: int):
    q = parse_query(st.SeasonQuery)
    return jsonify(st.season_json(season_view.season_for(current_caller(), athlete_id, q)))
