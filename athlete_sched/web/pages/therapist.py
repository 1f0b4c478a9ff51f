"""The therapist's week: their sessions by day in their own zone, each athlete's screening
with a form to record the review, and the calendar feed with its rotate button. An admin
opens any therapist's week with ?therapist_id=. (Hours, time off and the busy calendar:
therapist_hours.py, therapist_time_off.py, therapist_busy.py.)"""

from __future__ import annotations

from datetime import date, datetime

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectChoice, TextAreaField
from wtforms.validators import InputRequired, Length

from ...core import screening as core
from ...core.errors import InvalidValue
from ...services import clinic, screening, unit_of_work
from ...services import week as weeks
from ...services.screening import StaleScreening
from ..auth import page_caller, signed_in
from ..feeds import links_of
from . import bp
from .format import KIND_TITLES, day_name, iso

DECISIONS = {core.CLEARED: "Cleared for dry needling", core.NOT_CLEARED: "Not cleared"}


class ReviewForm(FlaskForm):
    decision = RadioField("Your decision", choices=[
        SelectChoice(k, v) for k, v in DECISIONS.items()], validators=[
        InputRequired("Choose “cleared” or “not cleared”.")])
    note = TextAreaField("Note for the athlete (optional)", validators=[
        Length(max=core.MAX_NOTE_LENGTH,
               message=f"Use at most {core.MAX_NOTE_LENGTH} characters.")])
    answered_at = HiddenField()


def review_form(athlete_id: int, formdata: object = None) -> ReviewForm:
    """One athlete's review form; its fields are named apart by the athlete's id."""
    return ReviewForm(formdata=formdata, prefix=f"review-{athlete_id}")


def _start() -> date | None:
    raw = request.args.get("start") or request.form.get("start")
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidValue("the week's start must be a date such as 2027-05-10",
                           field="start") from None


def therapist_id_arg() -> int | None:
    """The therapist a page is about (?therapist_id= or the form's field: admins), or None."""
    raw = request.args.get("therapist_id") or request.form.get("therapist_id")
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise InvalidValue("therapist_id must be a number", field="therapist_id")
    return int(raw)


def schedule_owner() -> int:
    """The id of the therapist whose page this is: the one asked for (admins), else the
    caller's own profile."""
    return weeks.therapist_id_of(page_caller(), therapist_id_arg())


def choose_therapist(endpoint: str):
    """For an admin who opened a therapist's page without saying whose: the choice."""
    return render_template("therapist/choose.html", endpoint=endpoint,
                           therapists=clinic.therapists_page(0, 1000))


def schedule_url(endpoint: str, therapist_id: int | None, **args: object) -> str:
    """The address of one of a therapist's pages (for an admin: with the therapist's id)."""
    if page_caller().role == "admin" and therapist_id is not None:
        args["therapist_id"] = therapist_id
    return url_for(endpoint, **args)


def week_url(monday: date | None, therapist_id: int | None, anchor: str | None = None) -> str:
    """A week's address."""
    start = None if monday is None else weeks.monday_of(monday).isoformat()
    return schedule_url(".week", therapist_id, start=start, _anchor=anchor)


def render_week(found: weeks.Week, failed: dict[int, ReviewForm] | None = None,
                status: int = 200):
    forms = {a: (failed or {}).get(a) or review_form(a) for a in found.reviewable}
    for athlete_id, form in forms.items():  # the answers this page shows
        form.answered_at.data = iso(found.screening[athlete_id].answered_at)
    return render_template("therapist/week.html", week=found, forms=forms,
                           feed=links_of(found.feed), week_url=week_url,
                           admin=page_caller().role == "admin", kinds=KIND_TITLES,
                           day_name=day_name, iso=iso, stamp=stamp), status


def stamp(at: datetime, tz) -> str:
    """'Wed 12 May 2027 09:00 Europe/Berlin'."""
    local = at.astimezone(tz)
    return f"{day_name(local.date())} {local:%H:%M} {tz.key}"


@bp.get("/week")
@signed_in("therapist", "admin")
def week():
    caller, therapist_id = page_caller(), therapist_id_arg()
    if caller.role == "admin" and therapist_id is None:
        return choose_therapist("pages.week")
    return render_week(weeks.week_for(caller, therapist_id, _start()))


@bp.post("/week/review/<int:athlete_id>")
@signed_in("therapist", "admin")
def record_review(athlete_id: int):
    caller, therapist_id, start = page_caller(), therapist_id_arg(), _start()
    form = review_form(athlete_id, request.form)
    if form.validate():
        try:
            note = (form.note.data or "").strip()
            screening.review_for(caller, athlete_id, form.decision.data, note,
                                 _seen(form.answered_at.data))
        except StaleScreening:
            unit_of_work.rollback()
            form.decision.errors.append("The athlete changed their answers after you opened "
                                        "this page: read them again below, then decide.")
        else:
            flash(f"Your decision is recorded: {DECISIONS[form.decision.data]}.",
                  "success")
            return redirect(week_url(start, therapist_id, f"athlete-{athlete_id}"), 303)
    return render_week(weeks.week_for(caller, therapist_id, start),
                       {athlete_id: form}, 422)


def _seen(value: str | None) -> datetime | None:
    """The answers' time the reviewer read (hidden field), or None."""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


@bp.post("/week/feed/rotate")
@signed_in("therapist", "admin")
def rotate_feed():
    therapist_id = therapist_id_arg()
    weeks.rotate_feed_for(page_caller(), therapist_id)
    flash("The feed has a new address. Subscribe to it again in your calendar app: "
          "the old address no longer works.", "success")
    return redirect(week_url(_start(), therapist_id, "feed"), 303)
