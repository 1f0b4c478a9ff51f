"""The athlete's race calendar (linked from the season page): upload a race series' or a
training platform's .ics, or subscribe to its address; see when it was last synced and
its last error; sync now; unsubscribe (services/race_calendars.py). The races it brings
in show on the season page, marked when the calendar no longer holds them."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from ...core.errors import DomainError
from ...core.zones import load_zone
from ...services import race_calendars, race_subscriptions, unit_of_work
from .. import limits
from ..auth import page_caller, signed_in
from ..http import body_limit
from ..limits import heavy, limited
from . import bp
from .therapist import stamp
from .therapist_busy import error_message, read_upload

INTERVALS = {"60": "every hour", "360": "every 6 hours", "1440": "once a day"}


class RaceUploadForm(FlaskForm):
    calendar = FileField("Race calendar file (.ics)", validators=[
        FileRequired("Choose the .ics file of your race calendar.")])


class RaceSubscribeForm(FlaskForm):
    url = StringField("Race calendar address", validators=[
        DataRequired("Paste the race calendar's address (https:// or webcal://)."),
        Length(max=2048, message="That address is too long.")])
    interval = SelectField("Check it", default="360",
                           choices=[SelectChoice(k, v) for k, v in INTERVALS.items()])


def _counts_text(counts: race_calendars.Counts) -> str:
    return (f"{counts.created} new, {counts.updated} changed, {counts.removed} removed, "
            f"{counts.unchanged} unchanged")


def render_races(upload: RaceUploadForm | None = None,
                 subscribe: RaceSubscribeForm | None = None, status: int = 200):
    caller = page_caller()
    uploaded, subscription = race_subscriptions.status_for(caller, caller.athlete_id)
    return render_template(
        "athlete/race_calendar.html", uploaded=uploaded, subscription=subscription,
        stamp=stamp, tz=load_zone(race_subscriptions.zone_of(caller, caller.athlete_id)),
        intervals=INTERVALS, upload_form=upload or RaceUploadForm(formdata=None),
        subscribe_form=subscribe or RaceSubscribeForm(formdata=None),
        limit_mib=current_app.config["CALENDAR_MAX_BYTES"] / 2**20), status


def _back():
    return redirect(url_for(".race_calendar"), 303)


@bp.get("/season/race-calendar")
@signed_in("athlete")
def race_calendar():
    return render_races()


@bp.post("/season/race-calendar/upload")
@body_limit("CALENDAR_MAX_BYTES")
@signed_in("athlete")
@heavy
@limited("RATELIMIT_CALENDAR_UPLOADS")
def upload_races():
    form = RaceUploadForm()
    if form.validate():
        caller = page_caller()
        try:
            counts = race_calendars.import_upload(caller, caller.athlete_id,
                                                  lambda: read_upload(form.calendar.data))
        except DomainError as exc:
            unit_of_work.rollback()
            form.calendar.errors.append(error_message(exc))
        else:
            flash(f"Race calendar imported: {_counts_text(counts)}.", "success")
            return _back()
    return render_races(upload=form, status=422)


@bp.post("/season/race-calendar/subscription")
@signed_in("athlete")
def subscribe_races():
    form = RaceSubscribeForm()
    if form.validate():
        if too_many := limits.refusal("RATELIMIT_CALENDAR_UPLOADS"):
            form.url.errors.append(too_many)
            return render_races(subscribe=form, status=429)
        caller = page_caller()
        try:
            race_subscriptions.subscribe_for(caller, caller.athlete_id, form.url.data,
                                         int(form.interval.data))
        except DomainError as exc:
            unit_of_work.rollback()
            form.url.errors.append(error_message(exc))
        else:
            flash("Subscribed. Press “Sync now” to read it at once, or wait for the next "
                  "check.", "success")
            return _back()
    return render_races(subscribe=form, status=422)


@bp.post("/season/race-calendar/subscription/sync")
@signed_in("athlete")
@heavy
@limited("RATELIMIT_CALENDAR_UPLOADS")
def sync_races():
    caller = page_caller()
    counts = race_subscriptions.sync_now_for(caller, caller.athlete_id)
    error = race_subscriptions.subscription_for(caller, caller.athlete_id).error
    if error is None:
        flash(f"Synced: {_counts_text(counts)}.", "success")
    else:
        flash(f"The sync failed: {error}. Your races stay as the last good sync left them.",
              "error")
    return _back()


@bp.post("/season/race-calendar/subscription/remove")
@signed_in("athlete")
def unsubscribe_races():
    caller = page_caller()
    race_subscriptions.unsubscribe_for(caller, caller.athlete_id)
    flash("Unsubscribed. The races it brought in stay in your season.", "info")
    return _back()
