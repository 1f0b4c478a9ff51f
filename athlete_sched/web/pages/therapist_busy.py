"""The therapist's busy calendar: upload an export (.ics) or subscribe to a calendar's
secret address, see when each was last synced and its last error, sync a subscription
now, remove either (services/busy.py). Busy time blocks proposals like time off."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from ...core.errors import DomainError, InvalidValue
from ...core.zones import load_zone
from ...services import busy as busy_calendars
from ...services import unit_of_work
from .. import limits
from ..auth import page_caller, signed_in
from ..http import body_limit
from ..limits import heavy, limited
from . import bp
from .therapist import (
    choose_therapist,
    schedule_owner,
    schedule_url,
    stamp,
    therapist_id_arg,
)

INTERVALS = {"15": "every 15 minutes", "60": "every hour", "360": "every 6 hours",
             "1440": "once a day"}


class UploadForm(FlaskForm):
    calendar = FileField("Calendar file (.ics)", validators=[
        FileRequired("Choose the .ics file your calendar app exported.")])


class SubscribeForm(FlaskForm):
    url = StringField("Secret calendar address", validators=[
        DataRequired("Paste the calendar's secret address (https:// or webcal://)."),
        Length(max=busy_calendars.MAX_URL_LENGTH, message="That address is too long.")])
    interval = SelectField("Check it", default="60",
                           choices=[SelectChoice(k, v) for k, v in INTERVALS.items()])


def _message(exc: DomainError) -> str:
    return exc.message[:1].upper() + exc.message[1:] + "."


def _read(file) -> bytes:
    """The uploaded file's bytes, refused over CALENDAR_MAX_BYTES."""
    limit = current_app.config["CALENDAR_MAX_BYTES"]
    body = file.read(limit + 1)
    if len(body) > limit:
        raise InvalidValue(f"the file is larger than the limit of {limit} bytes",
                           field="calendar")
    return body


# Shared with the athlete's race calendar page (web/pages/race_calendar.py).
error_message, read_upload = _message, _read



def render_busy(upload: UploadForm | None = None, subscribe: SubscribeForm | None = None,
                status: int = 200):
    found = busy_calendars.calendars_for(page_caller(), schedule_owner())
    return render_template(
        "therapist/busy.html", found=found, stamp=stamp, zone=load_zone, intervals=INTERVALS,
        admin=page_caller().role == "admin", upload_form=upload or UploadForm(formdata=None),
        subscribe_form=subscribe or SubscribeForm(formdata=None),
        limit_mib=current_app.config["CALENDAR_MAX_BYTES"] / 2**20), status


def _back():
    return redirect(schedule_url(".busy", therapist_id_arg()), 303)


@bp.get("/busy-calendar")
@signed_in("therapist", "admin")
def busy():
    if page_caller().role == "admin" and therapist_id_arg() is None:
        return choose_therapist("pages.busy")
    return render_busy()


@bp.post("/busy-calendar/upload")
@body_limit("CALENDAR_MAX_BYTES")
@signed_in("therapist", "admin")
@heavy
@limited("RATELIMIT_CALENDAR_UPLOADS")
def upload_busy():
    form = UploadForm()
    if form.validate():
        try:
            calendar = busy_calendars.import_busy_upload(page_caller(), schedule_owner(),
                                               lambda: _read(form.calendar.data))
        except DomainError as exc:
            unit_of_work.rollback()
            form.calendar.errors.append(_message(exc))
        else:
            flash(f"Calendar imported: {calendar.busy_count} busy times block bookings.",
                  "success")
            return _back()
    return render_busy(upload=form, status=422)


@bp.post("/busy-calendar/upload/remove")
@signed_in("therapist", "admin")
def remove_busy_upload():
    busy_calendars.delete_upload_for(page_caller(), schedule_owner())
    flash("The uploaded calendar is removed; its busy times no longer block bookings.", "info")
    return _back()


@bp.post("/busy-calendar/subscriptions")
@signed_in("therapist", "admin")
def subscribe_busy():
    form = SubscribeForm()
    if form.validate():
        if too_many := limits.refusal("RATELIMIT_CALENDAR_UPLOADS"):
            form.url.errors.append(too_many)
            return render_busy(subscribe=form, status=429)
        try:
            busy_calendars.add_subscription_for(page_caller(), schedule_owner(),
                                                form.url.data, int(form.interval.data))
        except DomainError as exc:
            unit_of_work.rollback()
            form.url.errors.append(_message(exc))
        else:
            flash("Subscribed. Press “Sync now” to read it at once, or wait for the next "
                  "check.", "success")
            return _back()
    return render_busy(subscribe=form, status=422)


@bp.post("/busy-calendar/subscriptions/<int:subscription_id>/sync")
@signed_in("therapist", "admin")
@heavy
@limited("RATELIMIT_CALENDAR_UPLOADS")
def sync_busy(subscription_id: int):
    outcome = busy_calendars.sync_now_for(page_caller(), schedule_owner(), subscription_id)
    if outcome.error is None:
        flash(f"Synced: {outcome.summary}.", "success")
    else:
        flash(f"The sync failed: {outcome.error}. The last good import stays in force.",
              "error")
    return _back()


@bp.post("/busy-calendar/subscriptions/<int:subscription_id>/remove")
@signed_in("therapist", "admin")
def unsubscribe_busy(subscription_id: int):
    busy_calendars.delete_subscription_for(page_caller(), schedule_owner(), subscription_id)
    flash("The subscription is removed; its busy times no longer block bookings.", "info")
    return _back()


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc: RequestEntityTooLarge):
    """Any page form sent with a body over MAX_CONTENT_LENGTH (an oversized upload)."""
    limit = (request.max_content_length or 0) / 2**20
    message = (f"That file is too large: the limit is {limit:g} MiB. Export a shorter "
               "span of your calendar (the coming months are enough) and try again.")
    return render_template("error.html", status=413, message=message, fields={}), 413
