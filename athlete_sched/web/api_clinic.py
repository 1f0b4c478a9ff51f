"""JSON API v1: therapists (working hours, time off), athletes and teams."""

from __future__ import annotations

from flask import jsonify

from ..services import access, clinic, sites
from .api import bp, doc
from .http import answer, current_caller, page, parse_body, parse_query, roles
from .schemas import clinic as sc
from .schemas.base import PageQuery, page_of

# --- therapists ---------------------------------------------------------------------------


@bp.post("/therapists")
@roles("admin")
@doc(summary="Create a therapist", body=sc.TherapistIn, response=sc.TherapistOut, status=201)
def create_therapist():
    therapist = clinic.create_therapist_for(current_caller(), parse_body(sc.TherapistIn))
    return answer(sc.therapist_json(therapist), 201)


@bp.get("/therapists")
@doc(summary="List therapists", query=PageQuery, response=page_of(sc.TherapistOut))
def list_therapists():
    q = parse_query(PageQuery)
    found = clinic.therapists_page(q.after_id, q.limit + 1)
    return jsonify(page(found, q.limit, sc.therapist_json))


@bp.get("/therapists/<int:therapist_id>")
@doc(summary="One therapist", response=sc.TherapistOut)
def get_therapist(therapist_id: int):
    return jsonify(sc.therapist_json(clinic.therapist(therapist_id)))


@bp.patch("/therapists/<int:therapist_id>")
@roles("admin")
@doc(summary="Change a therapist (name, site)", body=sc.TherapistPatch,
     response=sc.TherapistOut)
def patch_therapist(therapist_id: int):
    therapist = clinic.update_therapist_for(current_caller(), therapist_id,
                                            parse_body(sc.TherapistPatch))
    return answer(sc.therapist_json(therapist))


@bp.put("/therapists/<int:therapist_id>/working-hours")
@doc(summary="Replace the weekly working hours (body: the list, or {working_hours: list})",
     body=sc.WorkingHoursBody, wrap="working_hours", query=sc.AffectedQuery,
     response=sc.TherapistOut, errors={409: "sessions-affected: confirmed sessions to come "
                                            "would lie outside the new hours (error.affected "
                                            "lists them; ?affected=keep or cancel)"})
def put_working_hours(therapist_id: int):
    on_affected = parse_query(sc.AffectedQuery).affected
    data = parse_body(sc.WorkingHoursBody, wrap="working_hours")
    therapist = clinic.replace_working_hours_for(current_caller(), therapist_id,
                                                 data.working_hours, on_affected)
    return answer(sc.therapist_json(therapist))


@bp.post("/therapists/<int:therapist_id>/time-off")
@doc(summary="Add time off (naive times are the therapist's local time)", body=sc.TimeOffIn,
     query=sc.AffectedQuery, response=sc.TimeOffOut, status=201,
     errors={409: "sessions-affected: confirmed sessions to come lie inside it "
                  "(error.affected lists them; ?affected=keep or cancel)"})
def add_time_off(therapist_id: int):
    on_affected = parse_query(sc.AffectedQuery).affected
    data = parse_body(sc.TimeOffIn)
    time_off = clinic.add_time_off_for(current_caller(), therapist_id, data.start, data.end,
                                       data.reason, on_affected)
    return answer(sc.dump(sc.TimeOffOut, time_off), 201)


@bp.get("/therapists/<int:therapist_id>/time-off")
@doc(summary="The therapist's time off", query=PageQuery, response=page_of(sc.TimeOffOut))
def list_time_off(therapist_id: int):
    q = parse_query(PageQuery)
    found = clinic.time_off_page_for(current_caller(), therapist_id, q.after_id, q.limit + 1)
    return jsonify(page(found, q.limit, lambda t: sc.dump(sc.TimeOffOut, t)))


@bp.delete("/therapists/<int:therapist_id>/time-off/<int:time_off_id>")
@doc(summary="Remove time off", status=204)
def delete_time_off(therapist_id: int, time_off_id: int):
    clinic.delete_time_off_for(current_caller(), therapist_id, time_off_id)
    return answer(None, 204)


# --- athletes and teams -------------------------------------------------------------------

@bp.post("/athletes")
@roles("admin", "coach")
@doc(summary="Create an athlete (a coach creates one into one of their teams: team_id)",
     body=sc.AthleteIn, response=sc.AthleteOut, status=201)
def create_athlete():
    athlete = clinic.create_athlete_for(current_caller(), parse_body(sc.AthleteIn))
    return answer(sc.athlete_json(athlete), 201)


@bp.get("/athletes")
@doc(summary="The athletes the caller may see", query=PageQuery,
     response=page_of(sc.AthleteOut))
def list_athletes():
    q = parse_query(PageQuery)
    found = clinic.athletes_page(current_caller(), q.after_id, q.limit + 1)
    return jsonify(page(found, q.limit, sc.athlete_json))


@bp.get("/athletes/<int:athlete_id>")
@doc(summary="One athlete", response=sc.AthleteOut)
def get_athlete(athlete_id: int):
    return jsonify(sc.athlete_json(access.athlete(current_caller(), athlete_id)))


@bp.patch("/athletes/<int:athlete_id>")
@roles("admin", "coach", "athlete")
@doc(summary="Change an athlete (name, sport, zone, home site, reminders; home_site_id null "
             "clears it)",
     body=sc.AthletePatch, response=sc.AthleteOut)
def patch_athlete(athlete_id: int):
    athlete = clinic.update_athlete_for(current_caller(), athlete_id,
                                        parse_body(sc.AthletePatch))
    return answer(sc.athlete_json(athlete))


# --- sites ----------------------------------------------------------------------------------

@bp.post("/sites")
@roles("admin")
@doc(summary="Add a site (the clinic's first takes in every therapist without one)",
     body=sc.SiteIn, response=sc.SiteOut, status=201)
def create_site():
    site = sites.create_site_for(current_caller(), parse_body(sc.SiteIn))
    return answer(sc.site_json(site), 201)


@bp.get("/sites")
@doc(summary="The clinic's sites, by name", response=page_of(sc.SiteOut))
def list_sites():
    return jsonify({"items": [sc.site_json(s) for s in sites.all_sites()], "next": None})


@bp.get("/sites/<int:site_id>")
@doc(summary="One site", response=sc.SiteOut)
def get_site(site_id: int):
    return jsonify(sc.site_json(sites.site(site_id, "site")))


@bp.patch("/sites/<int:site_id>")
@roles("admin")
@doc(summary="Change a site (name, zone, address)", body=sc.SitePatch, response=sc.SiteOut)
def patch_site(site_id: int):
    site = sites.update_site(sites.site(site_id, "site"), parse_body(sc.SitePatch))
    return answer(sc.site_json(site))


@bp.post("/teams")
@roles("admin", "coach")
@doc(summary="Create a team (a coach creates their own)", body=sc.TeamIn,
     response=sc.TeamOut, status=201)
def create_team():
    data = parse_body(sc.TeamIn)
    team = clinic.create_team_for(current_caller(), data.name, data.coach_email)
    return answer(sc.team_json(team), 201)


@bp.get("/teams/<int:team_id>")
@doc(summary="A team and its members", response=sc.TeamOut)
def get_team(team_id: int):
    return jsonify(sc.team_json(clinic.team_for(current_caller(), team_id)))


@bp.post("/teams/<int:team_id>/members")
@doc(summary="Add an athlete to a team (a coach: an athlete they already coach)",
     body=sc.TeamMemberIn, response=sc.TeamOut, status=201)
def add_team_member(team_id: int):
    data = parse_body(sc.TeamMemberIn)
    team = clinic.add_member_for(current_caller(), team_id, data.athlete_id)
    return answer(sc.team_json(team), 201)
