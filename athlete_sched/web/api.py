"""JSON API v1: users, therapists, athletes, teams. Scheduling routes: web/api_scheduling.py.
Each view: parse -> check access -> one service call -> commit -> serialize."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import select

from ..core.errors import NotFound
from ..db.models import Athlete, Team, Therapist, TimeOff
from ..extensions import db
from ..services import accounts, clinic
from . import access, openapi
from . import schemas as s
from .errors import ApiError
from .http import (
    authenticate,
    current_user,
    page,
    parse_body,
    parse_query,
    refuse_large_body,
    roles,
)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
doc = openapi.doc


@bp.before_request
def _guard() -> None:
    """Every route: 413 for an oversized body, then the bearer token (401). A view may
    raise its own body limit (`body_limit`: the name of a config value)."""
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "body_limit", None):
        request.max_content_length = current_app.config[view.body_limit]  # type: ignore[union-attr]
    refuse_large_body()
    if not openapi.is_public(view):
        g.user = authenticate()


def done(body: dict | None, status: int = 200):
    """Commit the unit of work once, then answer (no body: no content type either)."""
    db.session.commit()
    if body is not None:
        return jsonify(body), status
    empty = current_app.response_class(status=status)
    del empty.headers["Content-Type"]
    return empty


@bp.get("/openapi.json")
@doc(summary="This OpenAPI document (public: no token needed)", public=True)
def openapi_json():
    return jsonify(openapi.build(current_app))


@bp.get("/me")
@doc(summary="The caller: user, and the therapist or athlete profile it acts as",
     response=s.UserOut)
def me():
    user = current_user()
    return jsonify(s.dump(s.UserOut, user))


@bp.post("/users")
@roles("admin")
@doc(summary="Create a user; the token is shown once", body=s.UserIn, response=s.UserCreated,
     status=201)
def create_user():
    data = parse_body(s.UserIn)
    user, token = accounts.create_user(data.email, data.role, data.name)
    return done({**s.dump(s.UserOut, user), "token": token}, 201)


# --- therapists ---------------------------------------------------------------------------

def _therapist(therapist_id: int) -> Therapist:
    return clinic.get(Therapist, therapist_id, "therapist")


def _managed_therapist(therapist_id: int) -> Therapist:
    therapist = _therapist(therapist_id)
    if not access.manages_therapist(current_user(), therapist):
        raise access.forbidden("only the therapist or an admin can change this schedule")
    return therapist


@bp.post("/therapists")
@roles("admin")
@doc(summary="Create a therapist", body=s.TherapistIn, response=s.TherapistOut, status=201)
def create_therapist():
    therapist = clinic.create_therapist(parse_body(s.TherapistIn))
    return done(s.therapist_json(therapist), 201)


@bp.get("/therapists")
@doc(summary="List therapists", query=s.PageQuery, response=s.page_of(s.TherapistOut))
def list_therapists():
    q = parse_query(s.PageQuery)
    rows = list(db.session.scalars(select(Therapist).where(Therapist.id > q.after_id)
                                   .order_by(Therapist.id).limit(q.limit + 1)))
    return jsonify(page(rows, q.limit, s.therapist_json))


@bp.get("/therapists/<int:therapist_id>")
@doc(summary="One therapist", response=s.TherapistOut)
def get_therapist(therapist_id: int):
    return jsonify(s.therapist_json(_therapist(therapist_id)))


@bp.put("/therapists/<int:therapist_id>/working-hours")
@doc(summary="Replace the weekly working hours (body: the list, or {working_hours: list})",
     body=s.WorkingHoursBody, wrap="working_hours", response=s.TherapistOut)
def put_working_hours(therapist_id: int):
    data = parse_body(s.WorkingHoursBody, wrap="working_hours")
    therapist = _managed_therapist(therapist_id)
    clinic.replace_working_hours(therapist, data.working_hours)
    return done(s.therapist_json(therapist))


@bp.post("/therapists/<int:therapist_id>/time-off")
@doc(summary="Add time off (naive times are the therapist's local time)", body=s.TimeOffIn,
     response=s.TimeOffOut, status=201)
def add_time_off(therapist_id: int):
    data = parse_body(s.TimeOffIn)
    therapist = _managed_therapist(therapist_id)
    time_off = clinic.add_time_off(therapist, data.start, data.end, data.reason)
    return done(s.dump(s.TimeOffOut, time_off), 201)


@bp.get("/therapists/<int:therapist_id>/time-off")
@doc(summary="The therapist's time off", query=s.PageQuery, response=s.page_of(s.TimeOffOut))
def list_time_off(therapist_id: int):
    q = parse_query(s.PageQuery)
    therapist = _managed_therapist(therapist_id)
    rows = list(db.session.scalars(
        select(TimeOff).where(TimeOff.therapist_id == therapist.id, TimeOff.id > q.after_id)
        .order_by(TimeOff.id).limit(q.limit + 1)))
    return jsonify(page(rows, q.limit, lambda t: s.dump(s.TimeOffOut, t)))


@bp.delete("/therapists/<int:therapist_id>/time-off/<int:time_off_id>")
@doc(summary="Remove time off", status=204)
def delete_time_off(therapist_id: int, time_off_id: int):
    clinic.delete_time_off(_managed_therapist(therapist_id), time_off_id)
    return done(None, 204)


# --- athletes and teams -------------------------------------------------------------------

@bp.post("/athletes")
@roles("admin", "coach")
@doc(summary="Create an athlete (a coach creates one into one of their teams: team_id)",
     body=s.AthleteIn, response=s.AthleteOut, status=201)
def create_athlete():
    data = parse_body(s.AthleteIn)
    team = None if data.team_id is None else _coached_team(data.team_id, "team_id")
    if team is None and current_user().role == "coach":
        raise ApiError(422, "invalid", "a coach adds athletes to one of their teams",
                       {"team_id": "required for a coach"})
    athlete = clinic.create_athlete(data, team)
    return done(s.dump(s.AthleteOut, athlete), 201)


@bp.get("/athletes")
@doc(summary="The athletes the caller may see", query=s.PageQuery,
     response=s.page_of(s.AthleteOut))
def list_athletes():
    q = parse_query(s.PageQuery)
    user = current_user()
    query = (select(Athlete).where(Athlete.id > q.after_id).order_by(Athlete.id)
             .limit(q.limit + 1))
    if user.role == "coach":
        query = query.where(Athlete.id.in_(accounts.coached_athlete_ids(user)))
    elif user.role != "admin":
        own = accounts.athlete_of(user)
        query = query.where(Athlete.id == (own.id if own else -1))
    rows = list(db.session.scalars(query))
    return jsonify(page(rows, q.limit, lambda a: s.dump(s.AthleteOut, a)))


@bp.get("/athletes/<int:athlete_id>")
@doc(summary="One athlete", response=s.AthleteOut)
def get_athlete(athlete_id: int):
    athlete = access.athlete_visible(current_user(), clinic.get(Athlete, athlete_id, "athlete"))
    return jsonify(s.dump(s.AthleteOut, athlete))


def team_json(team: Team) -> dict:
    members = [s.dump(s.AthleteOut, a) for a in clinic.team_athletes(team)]
    return {"id": team.id, "name": team.name, "coach_email": team.coach_email,
            "members": members}


@bp.post("/teams")
@roles("admin", "coach")
@doc(summary="Create a team (a coach creates their own)", body=s.TeamIn, response=s.TeamOut,
     status=201)
def create_team():
    data = parse_body(s.TeamIn)
    user = current_user()
    coach_email = data.coach_email
    if user.role == "coach":
        if coach_email not in (None, user.email):
            raise access.forbidden("a coach creates teams for themself")
        coach_email = user.email
    return done(team_json(clinic.create_team(data.name, coach_email)), 201)


@bp.get("/teams/<int:team_id>")
@doc(summary="A team and its members", response=s.TeamOut)
def get_team(team_id: int):
    team = access.team_visible(current_user(), clinic.get(Team, team_id, "team"))
    return jsonify(team_json(team))


def _coached_team(team_id: int, field: str | None = None) -> Team:
    """A team the caller may change (an admin any, a coach their own)."""
    return access.team_changeable(current_user(), clinic.get(Team, team_id, "team", field),
                                  field)


@bp.post("/teams/<int:team_id>/members")
@doc(summary="Add an athlete to a team (a coach: an athlete they already coach)",
     body=s.TeamMemberIn, response=s.TeamOut, status=201)
def add_team_member(team_id: int):
    data = parse_body(s.TeamMemberIn)
    team = _coached_team(team_id)
    athlete = clinic.get(Athlete, data.athlete_id, "athlete", "athlete_id")
    if not access.acts_for_athlete(current_user(), athlete.id):
        raise NotFound("athlete", athlete.id, field="athlete_id")
    clinic.add_member(team, athlete)
    return done(team_json(team), 201)


# The other route modules register on `bp` when imported (here, after `bp` exists).
from . import api_busy, api_calendars, api_scheduling  # noqa: E402,F401
from . import api_screening as api_screening  # noqa: E402,F401
from . import api_team as api_team  # noqa: E402,F401
