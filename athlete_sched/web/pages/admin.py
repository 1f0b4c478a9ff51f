"""The clinic's admin pages, first part: the overview, therapists and athletes (a list a
page at a time; add one with their invitation to sign in). Teams, users and the settings:
admin_clinic.py. Each view is parse -> one service call (services/admin.py, admins only)
-> render; a refused form comes back with what was typed (422) and nothing saved."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from pydantic import ValidationError as SchemaError
from wtforms import EmailField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, ValidationError

from ...core.errors import DomainError, UnknownTimezone
from ...core.zones import load_zone
from ...services import admin, clinic, sites, unit_of_work
from ..auth import page_caller, signed_in
from ..limits import limited
from ..schemas.clinic import AthleteIn, TherapistIn, TherapistPatch
from . import bp
from .auth import link_to
from .event_form import (
    COMMON_ZONES,
    SPORTS,
    site_choices,
    site_field,
    site_value,
    zone_choices,
)

PICK_A_SITE = "Pick a site from the list: the therapist was not moved."
HANDOVER = "admin_handover"  # session key: an invitation or reset link to pass on, once


class PersonForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Give their name."),
                                           Length(max=200, message="Use at most 200 characters.")])
    email = EmailField("Email", validators=[DataRequired("Give their email address."),
                                            Length(max=254, message="That email is too long.")])
    timezone = SelectField("Time zone", choices=list(COMMON_ZONES), validate_choice=False)

    def validate_timezone(self, field: SelectField) -> None:
        try:
            load_zone(field.data)
        except UnknownTimezone:
            raise ValidationError(f"“{field.data}” is not a time zone we know: "
                                  "pick one from the list.") from None


class TherapistForm(PersonForm):
    session_minutes = IntegerField("Session length (minutes)", default=45, validators=[
        NumberRange(5, 480, "A session lasts 5 to 480 minutes.")])
    site_id = site_field("Site")


class AthleteForm(PersonForm):
    sport = SelectField("Sport", choices=[SelectChoice(k, v) for k, v in SPORTS.items()])
    home_site_id = site_field("Home site")


def sentence(message: str) -> str:
    message = message.removeprefix("Value error, ")
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def problems(exc: DomainError | SchemaError) -> list[tuple[str | None, str]]:
    """(field, message) for each thing refused, worded for a page."""
    if isinstance(exc, DomainError):
        return [(exc.field, sentence(exc.message))]
    return [(str(e["loc"][0]) if e["loc"] else None, sentence(e["msg"]))
            for e in exc.errors()]


def refused(form: FlaskForm, exc: DomainError | SchemaError) -> None:
    """Roll the unit back and put each problem on its field (the first field if unknown)."""
    unit_of_work.rollback()
    first = next(iter(form._fields))
    for name, message in problems(exc):
        form[name if name in form._fields and name != "csrf_token" else first] \
            .errors.append(message)


def handover(kind: str, email: str, link: str | None) -> None:
    """With mail off, keep the link for the next page to show once; else say it was sent."""
    if link is None:
        flash(f"The {kind} link is on its way to {email}.", "success")
    else:
        session[HANDOVER] = {"kind": kind, "email": email, "link": link}


def after_id() -> int:
    value = request.args.get("after", "")
    return int(value) if value.isdigit() and len(value) <= 10 else 0


def render_people(template: str, form: FlaskForm, status: int = 200, **context: Any):
    return render_template(template, form=form, handover=session.pop(HANDOVER, None),
                           **context), status


@bp.get("/admin")
@signed_in("admin")
def admin_home():
    return render_template("admin/home.html", counts=admin.overview_for(page_caller()))


def render_therapists(form: TherapistForm | None = None, status: int = 200,
                      row_error: str | None = None):
    found = admin.therapists_for(page_caller(), after_id())
    form = form or TherapistForm(formdata=None)
    known = sites.all_sites()
    site_choices(form.site_id, known)
    return render_people("admin/therapists.html", form, status, page=found, sites=known,
                         site_of={s.id: s for s in known}, row_error=row_error)


@bp.get("/admin/therapists")
@signed_in("admin")
def admin_therapists():
    return render_therapists()


@bp.post("/admin/therapists")
@signed_in("admin")
def admin_add_therapist():
    form = zone_choices(TherapistForm())
    if not form.validate():
        return render_therapists(form, 422)
    try:
        data = TherapistIn.model_validate({
            "name": form.name.data.strip(), "email": form.email.data.strip(),
            "timezone": form.timezone.data, "session_minutes": form.session_minutes.data,
            "site_id": site_value(form.site_id)})
        added = admin.add_therapist_for(page_caller(), data, link_to("pages.accept_invitation"))
    except (DomainError, SchemaError) as exc:
        refused(form, exc)
        return render_therapists(form, 422)
    flash(f"{data.name} is added as a therapist.", "success")
    handover("invitation", added.email, added.link)
    return redirect(url_for(".admin_therapists"), 303)


@bp.post("/admin/therapists/<int:profile_id>/site")
@signed_in("admin")
def admin_move_therapist(profile_id: int):
    """Move a therapist to another site (their booked sessions stay where they are)."""
    raw = request.form.get("site_id", "")
    if not (raw.isdigit() and len(raw) <= 9):
        return render_therapists(status=422, row_error=PICK_A_SITE)
    try:
        therapist = clinic.update_therapist_for(
            page_caller(), profile_id, TherapistPatch.model_validate({"site_id": int(raw)}))
    except (DomainError, SchemaError) as exc:
        if isinstance(exc, DomainError) and exc.field != "site_id":
            raise
        unit_of_work.rollback()
        return render_therapists(status=422, row_error=PICK_A_SITE)
    flash(f"{therapist.name} now works at {sites.site(therapist.site_id).name}.", "success")
    return redirect(url_for(".admin_therapists", after=after_id() or None), 303)


def render_athletes(form: AthleteForm | None = None, status: int = 200):
    query = request.args.get("q", "")
    found = admin.athletes_for(page_caller(), query, after_id())
    form = form or AthleteForm(formdata=None)
    known = sites.all_sites()
    site_choices(form.home_site_id, known, "No home site yet")
    return render_people("admin/athletes.html", form, status, page=found, q=query,
                         sites=known, site_of={s.id: s for s in known})


@bp.get("/admin/athletes")
@signed_in("admin")
def admin_athletes():
    return render_athletes()


@bp.post("/admin/athletes")
@signed_in("admin")
def admin_add_athlete():
    form = zone_choices(AthleteForm())
    if not form.validate():
        return render_athletes(form, 422)
    try:
        data = AthleteIn.model_validate({
            "name": form.name.data.strip(), "email": form.email.data.strip(),
            "timezone": form.timezone.data, "sport": form.sport.data,
            "home_site_id": site_value(form.home_site_id)})
        added = admin.add_athlete_for(page_caller(), data, link_to("pages.accept_invitation"))
    except (DomainError, SchemaError) as exc:
        refused(form, exc)
        return render_athletes(form, 422)
    flash(f"{data.name} is added as an athlete.", "success")
    handover("invitation", added.email, added.link)
    return redirect(url_for(".admin_athletes"), 303)


def invite_listed(kind: str, profile_id: int):
    """Invite someone on a list who has no sign-in yet; back to that list."""
    invited = admin.invite_profile_for(page_caller(), kind, profile_id,
                                       link_to("pages.accept_invitation"))
    handover("invitation", invited.email, invited.link)
    return redirect(url_for(f".admin_{kind}s", after=after_id() or None,
                            q=request.args.get("q") or None), 303)


@bp.post("/admin/therapists/<int:profile_id>/invite")
@signed_in("admin")
@limited("RATELIMIT_INVITATIONS")
def admin_invite_therapist(profile_id: int):
    return invite_listed("therapist", profile_id)


@bp.post("/admin/athletes/<int:profile_id>/invite")
@signed_in("admin")
@limited("RATELIMIT_INVITATIONS")
def admin_invite_athlete(profile_id: int):
    return invite_listed("athlete", profile_id)
