"""One's own account: the password, signing out everywhere, and API tokens for
integrations (created with a name and an optional expiry, shown once, listed with when
they were last used, revoked here)."""

from __future__ import annotations

from flask import flash, redirect, render_template, session, url_for
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from ...core.errors import InvalidValue
from ...services import accounts, reminders, unit_of_work
from ..auth import SignedIn, page_caller, signed_in
from . import bp

MIN = accounts.MIN_PASSWORD


class PasswordForm(FlaskForm):
    current = PasswordField("Current password",
                            validators=[DataRequired("Enter your current password.")])
    new = PasswordField("New password", validators=[
        DataRequired("Choose a new password."),
        Length(min=MIN, max=accounts.MAX_PASSWORD, message=f"Use at least {MIN} characters.")])
    confirm = PasswordField("Repeat the new password", validators=[
        DataRequired("Repeat the new password."),
        EqualTo("new", message="The two passwords are not the same.")])


EXPIRY_CHOICES = [SelectChoice(value, label) for value, label in (
    ("", "Never"), ("7", "After 7 days"), ("30", "After 30 days"), ("90", "After 90 days"),
    ("365", "After a year"))]


class TokenForm(FlaskForm):
    name = StringField("Token name", validators=[
        DataRequired("Name the token after what will use it."),
        Length(max=accounts.MAX_TOKEN_NAME,
               message=f"Use at most {accounts.MAX_TOKEN_NAME} characters.")])
    expires = SelectField("Expires", choices=EXPIRY_CHOICES, default="")


def render_account(password: PasswordForm | None = None, token: TokenForm | None = None,
                   new_token: str | None = None, status: int = 200):
    caller = page_caller()
    return render_template(
        "account/account.html", caller=caller,
        tokens=[(t, accounts.token_expired(t)) for t in accounts.tokens_for(caller)],
        password_form=password or PasswordForm(formdata=None),
        token_form=token or TokenForm(formdata=None), new_token=new_token,
        my_reminders=reminders.mine(caller)), status


@bp.get("/account")
@signed_in()
def account():
    # A token just made is shown on this one answer (then it is gone from the session).
    return render_account(new_token=session.pop("new_token", None))


@bp.post("/account/password")
@signed_in()
def change_password():
    form = PasswordForm()
    if form.validate():
        try:
            caller = accounts.change_password_for(page_caller(), form.current.data,
                                                  form.new.data)
        except InvalidValue as exc:
            unit_of_work.rollback()
            field = form.current if exc.field == "current" else form.new
            field.errors.append(exc.message[:1].upper() + exc.message[1:] + ".")
        else:
            login_user(SignedIn(caller))  # this session goes on; every other one ended
            flash("Your password is changed. Other devices are signed out.", "success")
            return redirect(url_for(".account"), 303)
    return render_account(password=form, status=422)


@bp.post("/account/sign-out-everywhere")
@signed_in()
def sign_out_everywhere():
    accounts.sign_out_everywhere_for(page_caller())  # the form's CSRF token was checked
    logout_user()
    flash("You are signed out on every device.", "info")
    return redirect(url_for(".sign_in"), 303)


@bp.post("/account/tokens")
@signed_in()
def create_token():
    form = TokenForm()
    if not form.validate():
        return render_account(token=form, status=422)
    try:
        days = int(form.expires.data) if form.expires.data else None
        _, token = accounts.create_token_for(page_caller(), form.name.data, days)
    except InvalidValue as exc:
        unit_of_work.rollback()
        form.name.errors.append(exc.message[:1].upper() + exc.message[1:] + ".")
        return render_account(token=form, status=422)
    # Post-redirect-get, so that a reload cannot make a second token. The session cookie is
    # the user's own (signed, HttpOnly) and the token leaves it on the next page.
    session["new_token"] = token
    return redirect(url_for(".account"), 303)


@bp.post("/account/tokens/<int:token_id>/revoke")
@signed_in()
def revoke_token(token_id: int):
    revoked = accounts.revoke_token_for(page_caller(), token_id)
    flash(f"The token “{revoked.name}” is revoked: it no longer opens the API.", "info")
    return redirect(url_for(".account"), 303)
