"""The coach's pages: their teams, a team's roster (add an athlete they coach, invite a new
one, take one off), its events and feed. The board of a team event: coach_board.py.
An admin opens every team; a coach only their own (another's answers 404)."""

from __future__ import annotations

from flask import flash, redirect, render_template, session, url_for
from pydantic import ValidationError as SchemaError

from ...core.errors import DomainError
from ...services import roster, sites, unit_of_work
from .. import limits
from ..auth import page_caller, signed_in
from ..feeds import links_of
from . import bp
from .auth import link_to
from .coach_forms import (
    AddAthleteForm,
    InviteForm,
    TeamEventForm,
    TeamForm,
    show_error,
)
from .event_form import SPORTS, site_choices, zone_choices
from .format import event_when

COACHES = ("coach", "admin")
MESSAGES = {
    "already-member": "That athlete is already on this team",
    "email-taken": "Someone with this email already has an account here: if they are an "
                   "athlete you coach, add them by email instead; otherwise ask the clinic",
}


# --- the teams ------------------------------------------------------------------------------

def render_teams(form: TeamForm | None = None, status: int = 200):
    return render_template("coach/teams.html", teams=roster.teams_for(page_caller()),
                           form=form or TeamForm(formdata=None)), status


@bp.get("/teams")
@signed_in(*COACHES)
def teams():
    return render_teams()


@bp.post("/teams")
@signed_in(*COACHES)
def team_create():
    form = TeamForm()
    if not form.validate():
        return render_teams(form, 422)
    try:
        team = roster.create_team_for(page_caller(), form.name.data)
    except DomainError as exc:
        unit_of_work.rollback()
        show_error(form, exc, "name")
        return render_teams(form, 422)
    flash(f"Team “{team.name}” created. Add its athletes below.", "success")
    return redirect(url_for(".team_page", team_id=team.id), 303)


# --- one team -------------------------------------------------------------------------------

def render_team(team_id: int, status: int = 200, **forms):
    found = roster.team_page(page_caller(), team_id)
    blank = {"add": AddAthleteForm, "invite": InviteForm, "event": TeamEventForm}
    forms = {name: forms.get(name) or make(formdata=None) for name, make in blank.items()}
    for name in ("event", "invite"):
        zone_choices(forms[name])
    known = sites.all_sites()
    site_choices(forms["event"].venue_site_id, known,
                 "None: sessions at each athlete's home site")
    return render_template(
        "coach/team.html", team=found.team, members=found.members, sports=SPORTS, sites=known,
        events=[(v.event, event_when(v)) for v in found.events], feed=links_of(found.feed),
        screening=roster.screening_words(), invite_link=session.pop("invite_link", None),
        **forms), status


@bp.get("/teams/<int:team_id>")
@signed_in(*COACHES)
def team_page(team_id: int):
    return render_team(team_id)


def _refused(team_id: int, name: str, form, exc: DomainError, default: str):
    """The form again with the service's refusal on its field; nothing saved."""
    unit_of_work.rollback()
    show_error(form, exc, default, MESSAGES.get(exc.code))
    return render_team(team_id, 422, **{name: form})


@bp.post("/teams/<int:team_id>/members")
@signed_in(*COACHES)
def team_add_member(team_id: int):
    form = AddAthleteForm()
    if not form.validate():
        return render_team(team_id, 422, add=form)
    try:
        athlete = roster.add_by_email(page_caller(), team_id, form.email.data)
    except DomainError as exc:
        return _refused(team_id, "add", form, exc, "email")
    flash(f"{athlete.name} is now on the team.", "success")
    return redirect(url_for(".team_page", team_id=team_id), 303)


@bp.post("/teams/<int:team_id>/invitations")
@signed_in(*COACHES)
def team_invite(team_id: int):
    form = zone_choices(InviteForm())
    if not form.validate():
        return render_team(team_id, 422, invite=form)
    if too_many := limits.refusal("RATELIMIT_INVITATIONS"):
        form.email.errors.append(too_many)
        return render_team(team_id, 429, invite=form)
    try:
        sent = roster.invite_athlete(page_caller(), team_id, form.values(),
                                     link_to("pages.accept_invitation"))
    except DomainError as exc:
        return _refused(team_id, "invite", form, exc, "email")
    if sent.emailed:
        flash(f"{sent.athlete.name} is on the team; an invitation went to "
              f"{sent.athlete.email}.", "success")
    else:
        flash(f"{sent.athlete.name} is on the team. No mail is sent from this clinic: "
              "give them the invitation link below.", "info")
        session["invite_link"] = sent.link  # shown once, on the next page
    return redirect(url_for(".team_page", team_id=team_id), 303)


@bp.post("/teams/<int:team_id>/members/<int:athlete_id>/remove")
@signed_in(*COACHES)
def team_remove_member(team_id: int, athlete_id: int):
    athlete = roster.remove_member(page_caller(), team_id, athlete_id)
    flash(f"{athlete.name} is off the team; sessions already booked stay booked.", "info")
    return redirect(url_for(".team_page", team_id=team_id), 303)


@bp.post("/teams/<int:team_id>/events")
@signed_in(*COACHES)
def team_plan_event(team_id: int):
    form = zone_choices(TeamEventForm())
    if not form.validate():
        return render_team(team_id, 422, event=form)
    try:
        view = roster.plan_team_event(page_caller(), team_id, form.event_in(team_id=team_id))
    except SchemaError as exc:
        unit_of_work.rollback()
        for problem in exc.errors():
            name = form.field_for(str(problem["loc"][0]) if problem["loc"] else None)
            form[name].errors = [*form[name].errors, problem["msg"]]
        return render_team(team_id, 422, event=form)
    except DomainError as exc:
        return _refused(team_id, "event", form, exc, form.field_for(exc.field))
    return redirect(url_for(".team_board", team_id=team_id, event_id=view.event.id), 303)


@bp.post("/teams/<int:team_id>/feed/rotate")
@signed_in(*COACHES)
def team_feed_rotate(team_id: int):
    roster.rotate_feed(page_caller(), team_id)
    flash("The team's feed has a new address: subscribe again with it; the old one no "
          "longer works.", "info")
    return redirect(url_for(".team_page", team_id=team_id) + "#feed", 303)
