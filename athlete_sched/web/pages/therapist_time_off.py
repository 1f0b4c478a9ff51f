"""The therapist's time off: the list, adding a range of days (the last one included,
optional times for part days) and removing one (services/time_off.py)."""

from __future__ import annotations

from datetime import time, timedelta
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template
from flask_wtf import FlaskForm
from wtforms import DateField, StringField, TimeField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from ...core.errors import InvalidPeriod
from ...services import time_off as days_off
from ...services import unit_of_work
from ...services.affected import SessionsAffected
from ...services.common import now
from ..auth import page_caller, signed_in
from . import bp
from .affected import affected_choice, cancelled_note
from .format import KIND_TITLES, day_name, iso, span
from .therapist import choose_therapist, schedule_owner, schedule_url, therapist_id_arg


class TimeOffForm(FlaskForm):
    first = DateField("First day", validators=[InputRequired("Give the first day off.")])
    last = DateField("Last day (included)", validators=[Optional()])
    start = TimeField("From (first day, optional)", validators=[Optional()])
    end = TimeField("Until (last day, optional)", validators=[Optional()])
    reason = StringField("Reason (optional)", validators=[
        Length(max=500, message="Use at most 500 characters.")])

    def validate_last(self, field: DateField) -> None:
        if field.data and self.first.data and field.data < self.first.data:
            raise ValidationError("The last day cannot be before the first day.")


def describe(entry, tz: ZoneInfo) -> tuple[str, bool]:
    """How a time off reads in the therapist's zone, and whether it is whole days."""
    start, end = entry.start.astimezone(tz), entry.end.astimezone(tz)
    if start.time() == end.time() == time(0):
        first, last = start.date(), (end - timedelta(days=1)).date()
        days = day_name(first) if first == last else f"{day_name(first)} – {day_name(last)}"
        return days + " (whole days)", True
    if start.date() == end.date():
        return f"{day_name(start.date())} {start:%H:%M}–{end:%H:%M} {tz.key}", False
    return (f"{day_name(start.date())} {start:%H:%M} – {day_name(end.date())} "
            f"{end:%H:%M} {tz.key}"), False


def render_time_off(found: days_off.DaysOff, form: TimeOffForm, status: int = 200,
                    affected: list | None = None):
    at = now()
    entries = [(t, *describe(t, found.tz), t.end <= at) for t in found.entries]
    return render_template(
        "therapist/time_off.html", found=found, form=form, entries=entries, iso=iso,
        admin=page_caller().role == "admin", failed=status == 422, kinds=KIND_TITLES,
        affected=[(r, span(r.start, r.end, found.tz)) for r in affected or ()]), status



@bp.get("/time-off")
@signed_in("therapist", "admin")
def time_off():
    if page_caller().role == "admin" and therapist_id_arg() is None:
        return choose_therapist("pages.time_off")
    return render_time_off(days_off.time_off_for(page_caller(), schedule_owner()),
                           TimeOffForm(formdata=None))


@bp.post("/time-off")
@signed_in("therapist", "admin")
def add_time_off():
    caller, form = page_caller(), TimeOffForm()
    if form.validate():
        last = form.last.data or form.first.data
        choice = affected_choice()
        try:
            days_off.add_days_off_for(caller, schedule_owner(), form.first.data, last,
                                      form.start.data, form.end.data,
                                      (form.reason.data or "").strip(), choice)
        except SessionsAffected as exc:
            unit_of_work.rollback()
            return render_time_off(days_off.time_off_for(caller, schedule_owner()), form, 409,
                                   exc.sessions)
        except InvalidPeriod:
            unit_of_work.rollback()
            form.end.errors.append("The time off must end after it starts: pick a later "
                                   "time or a later last day.")
        else:
            flash(f"Time off added from {day_name(form.first.data)} to {day_name(last)} "
                  "(included)." + cancelled_note(choice), "success")
            return redirect(schedule_url(".time_off", therapist_id_arg()), 303)
    return render_time_off(days_off.time_off_for(caller, schedule_owner()), form, 422)


@bp.post("/time-off/<int:time_off_id>/remove")
@signed_in("therapist", "admin")
def remove_time_off(time_off_id: int):
    days_off.remove_for(page_caller(), schedule_owner(), time_off_id)
    flash("The time off is removed.", "info")
    return redirect(schedule_url(".time_off", therapist_id_arg()), 303)


