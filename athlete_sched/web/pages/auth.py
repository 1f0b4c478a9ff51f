"""Signing in and out, a forgotten password, accepting an invitation: the only pages open
without sign-in (besides the feeds' secret URLs).

Limits (web/limits.py): failed sign-ins per account email and per address, reset
requests per email and per address, wrong one-time links per address. A refused form
comes back with 429, what was typed kept (not the password), and Retry-After."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from ...core.errors import InvalidValue
from ...services import accounts, sign_in_links, unit_of_work
from .. import limits
from ..auth import SignedIn, public, signed_in
from . import ROLE_HOME, bp

MIN = accounts.MIN_PASSWORD


class SignInForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address."),
                                            Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])
    remember = BooleanField("Keep me signed in on this device")


class ForgotForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address."),
                                            Length(max=254)])


class NewPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[
        DataRequired("Choose a password."),
        Length(min=MIN, max=accounts.MAX_PASSWORD,
               message=f"Use at least {MIN} characters.")])
    confirm = PasswordField("Repeat the new password", validators=[
        DataRequired("Repeat the password."),
        EqualTo("password", message="The two passwords are not the same.")])


def link_to(endpoint: str):
    """Where an emailed link points: this app's absolute URL of `endpoint`'s page."""
    return lambda token: url_for(endpoint, token=token, _external=True)


def _safe_next(target: str | None) -> str | None:
    """A `next` page on this site only (no scheme, no host, no protocol-relative //)."""
    if not target or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc and target.startswith("/") else None


@bp.get("/")
@signed_in()
def index():
    """Each role's own home page."""
    return redirect(url_for(ROLE_HOME[current_user.role]))


@bp.route("/sign-in", methods=["GET", "POST"])
@public
def sign_in():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("pages.index"))
    form = SignInForm()
    if form.validate_on_submit():
        keys = (("RATELIMIT_SIGN_IN_ADDRESS", limits.address()),
                ("RATELIMIT_SIGN_IN_ACCOUNT", limits.account(form.email.data)))
        try:
            for rule, key in keys:
                limits.check(rule, key)
        except limits.TooManyRequests as refused:
            form.password.errors.append(
                f"Too many failed sign-ins: try again in {limits.wait_words(refused.retry_after)}"
                ", or set a new password with “Forgot your password?”.")
            return render_template("auth/sign_in.html", form=form), 429
        try:
            caller = accounts.sign_in(form.email.data, form.password.data)
        except InvalidValue as exc:
            for rule, key in keys:
                limits.failed(rule, key)
            form.password.errors.append(exc.message[:1].upper() + exc.message[1:] + ".")
        else:
            login_user(SignedIn(caller), remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")) or url_for("pages.index"),
                            303)
    status = 422 if form.errors else 200
    return render_template("auth/sign_in.html", form=form), status


@bp.post("/sign-out")
@signed_in()
def sign_out():
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("pages.sign_in"), 303)


@bp.route("/forgot-password", methods=["GET", "POST"])
@public
def forgot_password():
    form = ForgotForm()
    if form.validate_on_submit():
        try:
            limits.take("RATELIMIT_PASSWORD_RESET_ADDRESS", limits.address())
            limits.take("RATELIMIT_PASSWORD_RESET_ACCOUNT", limits.account(form.email.data))
        except limits.TooManyRequests as refused:
            form.email.errors.append(
                "Too many reset requests: look for the email already sent, or try again in "
                f"{limits.wait_words(refused.retry_after)}.")
            return render_template("auth/forgot.html", form=form), 429
        sign_in_links.request_reset(form.email.data, link_to("pages.reset_password"))
        return render_template("auth/reset_sent.html", email=form.email.data.strip())
    return render_template("auth/forgot.html", form=form), 422 if form.errors else 200


def _set_password(token: str, purpose: str, template: str, done: str):
    """The reset and invitation pages: check the link, then take the new password (an
    address that opened too many wrong links: 429 before this one is looked at)."""
    limits.check("RATELIMIT_BAD_TOKEN", limits.address())
    try:
        user = sign_in_links.open_link(token, purpose)
    except InvalidValue as exc:
        unit_of_work.rollback()
        limits.failed("RATELIMIT_BAD_TOKEN", limits.address())
        return render_template("auth/link_invalid.html", message=exc.message,
                               purpose=purpose), 410
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            sign_in_links.use_link(token, purpose, form.password.data)
        except InvalidValue as exc:
            unit_of_work.rollback()
            form.password.errors.append(exc.message[:1].upper() + exc.message[1:] + ".")
        else:
            logout_user()
            flash(done, "success")
            return redirect(url_for("pages.sign_in"), 303)
    return render_template(template, form=form, user=user), 422 if form.errors else 200


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):
    return _set_password(token, "reset", "auth/reset.html",
                         "Your new password is set: sign in with it.")


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@public
def accept_invitation(token: str):
    return _set_password(token, "invite", "auth/invitation.html",
                         "Welcome! Your password is set: sign in with it.")
