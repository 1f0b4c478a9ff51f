"""The clinic's admin pages, second part: teams (create, give a coach), users (their
roles, a password-reset link) and the clinic's settings (services/clinic_settings.py)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ...core.errors import DomainError
from ...services import accounts, admin, clinic_settings, unit_of_work
from ...services.access import ROLES
from .. import limits
from ..auth import page_caller, signed_in
from ..limits import limited
from . import bp
from .admin import after_id, handover, refused, render_people, sentence
from .auth import link_to


class TeamForm(FlaskForm):
    name = StringField("Team name", validators=[
        DataRequired("Give the team a name."),
        Length(max=200, message="Use at most 200 characters.")])
    coach_email = SelectField("Coach", validate_choice=False)


def coach_choices(form: FlaskForm) -> None:
    """The coach users to pick from, and "no coach"; a value typed that is not one of them
    stays offered, so that the form shows what was sent."""
    coaches = admin.coaches_for(page_caller())
    choices = [SelectChoice("", "No coach yet")] + [
        SelectChoice(c.email, f"{c.name or c.email} ({c.email})") for c in coaches]
    sent = form.coach_email.data
    if sent and sent not in {c.email for c in coaches}:
        choices.append(SelectChoice(sent, sent))
    form.coach_email.choices = choices


def render_teams(form: TeamForm | None = None, status: int = 200, error: str | None = None):
    form = form or TeamForm(formdata=None)
    coach_choices(form)
    found = admin.teams_for(page_caller(), after_id())
    return render_people("admin/teams.html", form, status, page=found,
                         coaches=form.coach_email.choices, row_error=error)


@bp.get("/admin/teams")
@signed_in("admin")
def admin_teams():
    return render_teams()


@bp.post("/admin/teams")
@signed_in("admin")
def admin_create_team():
    form = TeamForm()
    coach_choices(form)
    if not form.validate():
        return render_teams(form, 422)
    try:
        team = admin.create_team_for(page_caller(), form.name.data, form.coach_email.data)
    except DomainError as exc:
        refused(form, exc)
        return render_teams(form, 422)
    flash(f"The team {team.name} is created.", "success")
    return redirect(url_for(".admin_teams"), 303)


@bp.post("/admin/teams/<int:team_id>/coach")
@signed_in("admin")
def admin_assign_coach(team_id: int):
    try:
        team = admin.assign_coach_for(page_caller(), team_id,
                                      request.form.get("coach_email", ""))
    except DomainError as exc:
        if exc.field != "coach_email":
            raise
        unit_of_work.rollback()
        return render_teams(status=422, error=sentence(exc.message))
    who = team.coach_email or "no coach"
    flash(f"The team {team.name} now has {who}.", "success")
    return redirect(url_for(".admin_teams"), 303)


class InviteForm(FlaskForm):
    name = StringField("Name", validators=[Length(max=200, message="Use at most 200 characters.")])
    email = EmailField("Email", validators=[DataRequired("Give their email address."),
                                            Length(max=254, message="That email is too long.")])
    role = SelectField("Role", choices=[SelectChoice(r, r) for r in admin.INVITED_ROLES])


def role_filter() -> str | None:
    role = request.args.get("role", "")
    return role if role in ROLES else None


def render_users(status: int = 200, error: str | None = None,
                 form: InviteForm | None = None):
    role = role_filter()
    found = admin.users_for(page_caller(), role, after_id())
    return render_people("admin/users.html", form or InviteForm(formdata=None), status,
                         page=found,
                         role=role, roles=ROLES, row_error=error,
                         me=page_caller().user_id)


@bp.get("/admin/users")
@signed_in("admin")
def admin_users():
    return render_users()


@bp.post("/admin/users")
@signed_in("admin")
def admin_invite_user():
    form = InviteForm()
    if not form.validate():
        return render_users(422, form=form)
    if too_many := limits.refusal("RATELIMIT_INVITATIONS"):
        form.email.errors.append(too_many)
        return render_users(429, form=form)
    try:
        invited = admin.invite_user_for(page_caller(), form.email.data, form.role.data,
                                        form.name.data or "", link_to("pages.accept_invitation"))
    except DomainError as exc:
        refused(form, exc)
        return render_users(422, form=form)
    flash(f"{invited.email} is invited as {form.role.data}.", "success")
    handover("invitation", invited.email, invited.link)
    return redirect(url_for(".admin_users"), 303)


@bp.post("/admin/users/<int:user_id>/role")
@signed_in("admin")
def admin_change_role(user_id: int):
    try:
        user = accounts.change_role_for(page_caller(), user_id, request.form.get("role", ""))
    except DomainError as exc:
        if exc.field != "role":
            raise
        unit_of_work.rollback()
        return render_users(422, sentence(exc.message))
    flash(f"{user.email} is now {user.role}.", "success")
    return redirect(url_for(".admin_users", role=role_filter(), after=after_id() or None), 303)


@bp.post("/admin/users/<int:user_id>/disabled")
@signed_in("admin")
def admin_set_disabled(user_id: int):
    """Disable a user (no sign-in; their sessions and tokens stop at once) or enable them."""
    disabled = request.form.get("disabled") == "1"
    try:
        user = accounts.set_disabled_for(page_caller(), user_id, disabled)
    except DomainError as exc:
        unit_of_work.rollback()
        return render_users(422, sentence(exc.message))
    flash(f"{user.email} is disabled: they cannot sign in and their sessions and API tokens "
          "no longer work." if disabled else
          f"{user.email} is enabled again: they can sign in and their API tokens work.",
          "success")
    return redirect(url_for(".admin_users", role=role_filter(), after=after_id() or None), 303)


@bp.post("/admin/users/<int:user_id>/reset")
@signed_in("admin")
@limited("RATELIMIT_INVITATIONS")
def admin_send_reset(user_id: int):
    user, link = admin.send_reset_for(page_caller(), user_id, link_to("pages.reset_password"))
    handover("password-reset", user.email, link)
    return redirect(url_for(".admin_users", role=role_filter(), after=after_id() or None), 303)


def _number(label: str, name: str, unit: str) -> IntegerField:
    low, high = clinic_settings.bounds(name)  # type: ignore[misc]
    return IntegerField(label, validators=[
        Optional(), NumberRange(low, high, f"Give a whole number of {unit} from {low} to "
                                           f"{high}, or leave it empty for the default.")])


class SettingsForm(FlaskForm):
    clinic_name = StringField("Clinic name", validators=[
        Length(max=clinic_settings.MAX_NAME,
               message=f"Use at most {clinic_settings.MAX_NAME} characters.")])
    booking_notice_minutes = _number("Booking notice (minutes)", "booking_notice_minutes",
                                     "minutes")
    cancel_notice_hours = _number("Cancellation notice (hours)", "cancel_notice_hours",
                                  "hours")
    recovery_gap_minutes = _number("Recovery gap after a finish (minutes)",
                                   "recovery_gap_minutes", "minutes")


def render_settings(form: SettingsForm | None = None, status: int = 200):
    view = clinic_settings.settings_for(page_caller())
    if form is None:
        form = SettingsForm(formdata=None, data={n: view.values[n] if n in view.saved else None
                                                 for n in clinic_settings.FIELDS})
    return render_template("admin/settings.html", form=form, view=view), status


@bp.get("/admin/settings")
@signed_in("admin")
def admin_settings():
    return render_settings()


@bp.post("/admin/settings")
@signed_in("admin")
def admin_save_settings():
    form = SettingsForm()
    if not form.validate():
        return render_settings(form, 422)
    values = {name: form[name].data for name in clinic_settings.FIELDS}
    try:
        clinic_settings.change_settings_for(page_caller(), values)
    except DomainError as exc:
        refused(form, exc)
        return render_settings(form, 422)
    flash("The clinic's settings are saved; they hold from now on.", "success")
    return redirect(url_for(".admin_settings"), 303)
