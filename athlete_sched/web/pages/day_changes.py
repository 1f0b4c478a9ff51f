"""The therapist's day changes: one date with its own working hours (a race-weekend shift,
a short day) or closed, in place of the weekly hours on that date; the upcoming ones
listed, each removable. Plain forms, post-redirect-get; bad input shows the form again
with what was typed."""

from __future__ import annotations

from datetime import date, time

from flask import abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectChoice, TimeField
from wtforms.validators import InputRequired, Optional

from ...core.errors import InvalidValue
from ...core.zones import load_zone
from ...services import unit_of_work, working_days
from ...services.affected import SessionsAffected
from ..auth import page_caller, signed_in
from . import bp
from .affected import affected_choice, cancelled_note
from .format import KIND_TITLES, day_name, span

PERIOD_ROWS = 3  # periods a day change takes on the page (the API takes more)
OWN, CLOSED = "own", "closed"


class DayChangeForm(FlaskForm):
    day = DateField("Date", validators=[InputRequired("Enter the date of the change.")])
    hours = RadioField("That day", choices=[SelectChoice(OWN, "Working, with the hours below"),
                                            SelectChoice(CLOSED, "Closed all day")],
                       default=OWN)
    start_1 = TimeField("From", validators=[Optional()])
    end_1 = TimeField("To", validators=[Optional()])
    start_2 = TimeField("From", validators=[Optional()])
    end_2 = TimeField("To", validators=[Optional()])
    start_3 = TimeField("From", validators=[Optional()])
    end_3 = TimeField("To", validators=[Optional()])

    def rows(self) -> list[tuple]:
        """The period rows: (number, start field, end field)."""
        return [(i, self[f"start_{i}"], self[f"end_{i}"]) for i in range(1, PERIOD_ROWS + 1)]


def _minutes(at: time) -> int:
    return at.hour * 60 + at.minute


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def periods_of(form: DayChangeForm) -> list[tuple[int, int]] | None:
    """The periods typed (minutes after midnight), or None after marking the rows that
    are half filled or reversed."""
    found, ok = [], True
    for _, start, end in form.rows():
        if start.data is None and end.data is None:
            continue
        if start.data is None or end.data is None:
            (start if start.data is None else end).errors.append("Enter both times.")
            ok = False
        elif not end.data > start.data:
            end.errors.append("The end must be after the start.")
            ok = False
        else:
            found.append((_minutes(start.data), _minutes(end.data)))
    return found if ok else None


def _row_view(row, weekly: dict[int, list[str]]) -> dict:
    return {"day": row.day, "name": day_name(row.day), "closed": row.closed,
            "hours": [f"{_clock(p.start_minute)}–{_clock(p.end_minute)}" for p in row.periods],
            "weekly": weekly.get(row.day.weekday(), [])}


def render_page(form: DayChangeForm | None = None, error: str | None = None,
                status: int = 200, affected: list | None = None):
    upcoming = working_days.upcoming_for(page_caller())
    tz = load_zone(upcoming.therapist.timezone)
    weekly: dict[int, list[str]] = {}
    for p in upcoming.therapist.working_hours:
        weekly.setdefault(p.day, []).append(f"{_clock(p.start_minute)}–{_clock(p.end_minute)}")
    return render_template(
        "therapist/day_changes.html", form=form or DayChangeForm(formdata=None),
        error=error, zone=upcoming.therapist.timezone, today=upcoming.today,
        changes=[_row_view(row, weekly) for row in upcoming.days], kinds=KIND_TITLES,
        affected=[(r, span(r.start, r.end, tz)) for r in affected or ()]), status


@bp.get("/day-changes")
@signed_in("therapist")
def day_changes():
    return render_page()


@bp.post("/day-changes")
@signed_in("therapist")
def add_day_change():
    form = DayChangeForm()
    valid = form.validate()
    periods = periods_of(form)
    if not valid or periods is None:
        return render_page(form, "The day was not changed. Check the form.", 422)
    closed, choice = form.hours.data == CLOSED, affected_choice()
    try:
        working_days.set_own(page_caller(), form.day.data, closed, [] if closed else periods,
                             choice)
    except SessionsAffected as exc:
        unit_of_work.rollback()
        return render_page(form, None, 409, exc.sessions)
    except InvalidValue as exc:
        unit_of_work.rollback()
        message = exc.message[:1].upper() + exc.message[1:] + "."
        (form.day if exc.field == "date" else form.hours).errors.append(message)
        return render_page(form, "The day was not changed. Check the form.", 422)
    hours = "closed" if closed else ", ".join(f"{_clock(a)}–{_clock(b)}"
                                              for a, b in sorted(periods))
    flash(f"{day_name(form.day.data)}: {hours} instead of your weekly hours."
          + cancelled_note(choice), "success")
    return redirect(url_for(".day_changes"), 303)


@bp.post("/day-changes/<day>/remove")
@signed_in("therapist")
def remove_day_change(day: str):
    try:
        when = date.fromisoformat(day)
    except ValueError:
        abort(404)
    working_days.remove_own(page_caller(), when)
    flash(f"{day_name(when)}: your weekly hours again.", "info")
    return redirect(url_for(".day_changes"), 303)
