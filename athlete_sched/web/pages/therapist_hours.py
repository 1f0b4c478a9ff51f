"""The therapist's weekly hours: working periods per weekday (several a day leave breaks
between them), each at the therapist's own site or, where the clinic has several, at
another, and the session settings, saved in one go (services/hours.py)."""

from __future__ import annotations

from datetime import time

from flask import flash, redirect, render_template
from flask_wtf import FlaskForm
from pydantic import ValidationError as SchemaError
from wtforms import FieldList, Form, FormField, IntegerField, SelectChoice, TimeField
from wtforms.validators import InputRequired, NumberRange, Optional

from ...core.zones import load_zone
from ...services import hours as work_hours
from ...services import sites, unit_of_work
from ...services.affected import SessionsAffected
from ..auth import page_caller, signed_in
from ..schemas.clinic import WorkingHoursBody
from . import bp
from .affected import affected_choice, cancelled_note
from .event_form import site_field, site_value
from .format import KIND_TITLES, span
from .therapist import choose_therapist, schedule_owner, schedule_url, therapist_id_arg

DAY_NAMES = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday",
             "fri": "Friday", "sat": "Saturday", "sun": "Sunday"}
MIN_ROWS = 2  # rows shown per day, blank ones included (one more than the periods)


class PeriodForm(Form):
    start = TimeField("from", validators=[Optional()])
    end = TimeField("to", validators=[Optional()])
    site_id = site_field("at")  # "": the therapist's own site


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def _clock(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


class HoursForm(FlaskForm):
    session_minutes = IntegerField("Session length (minutes)", validators=[
        InputRequired("Give the session length in minutes."),
        NumberRange(5, 480, "Between 5 and 480 minutes.")])
    buffer_minutes = IntegerField("Free time after each session (minutes)", validators=[
        InputRequired("Give the minutes kept free after a session (0 for none)."),
        NumberRange(0, 240, "Between 0 and 240 minutes.")])
    slot_step_minutes = IntegerField("Offer a start every (minutes)", validators=[
        InputRequired("Give the step between offered start times."),
        NumberRange(1, 240, "Between 1 and 240 minutes.")])
    mon = FieldList(FormField(PeriodForm))
    tue = FieldList(FormField(PeriodForm))
    wed = FieldList(FormField(PeriodForm))
    thu = FieldList(FormField(PeriodForm))
    fri = FieldList(FormField(PeriodForm))
    sat = FieldList(FormField(PeriodForm))
    sun = FieldList(FormField(PeriodForm))

    def days(self) -> list[tuple[str, str, FieldList]]:
        return [(day, name, self[day]) for day, name in DAY_NAMES.items()]

    def validate(self, extra_validators=None) -> bool:  # noqa: ANN001 - WTForms' signature
        valid = super().validate(extra_validators)
        for _, _, periods in self.days():
            valid = _check_day(periods) and valid
        return valid

    def working_hours(self) -> list:
        """The periods as the API's schema reads them (so page and API validate alike)."""
        body = [{"day": day, "start": f"{p.start.data:%H:%M}", "end": f"{p.end.data:%H:%M}",
                 "site_id": site_value(p.site_id)}
                for day, _, periods in self.days() for p in periods
                if p.start.data and p.end.data]
        return WorkingHoursBody.model_validate({"working_hours": body}).working_hours

    def settings(self) -> work_hours.Settings:
        return work_hours.Settings(self.session_minutes.data, self.buffer_minutes.data,
                              self.slot_step_minutes.data)


def _check_day(periods: FieldList) -> bool:
    """Each row both times or neither, the end after the start, no overlap on the day; the
    message goes on the field to change."""
    valid, filled = True, []
    for row in periods:
        start, end = row.start, row.end
        if start.errors or end.errors:
            valid = False
        elif start.data and not end.data:
            end.errors.append("Give the end of this period too.")
        elif end.data and not start.data:
            start.errors.append("Give the start of this period too.")
        elif start.data and end.data:
            if end.data <= start.data:
                end.errors.append("The end must be after the start.")
            else:
                filled.append(row)
                continue
        else:
            continue
        valid = False
    filled.sort(key=lambda r: r.start.data)
    for before, after in zip(filled, filled[1:], strict=False):
        if after.start.data < before.end.data:
            after.start.errors.append(f"Overlaps {before.start.data:%H:%M}–"
                                      f"{before.end.data:%H:%M} on the same day.")
            valid = False
    return valid


def hours_form(therapist) -> HoursForm:
    """The form filled with the therapist's hours and settings, one blank row more per day."""
    stored = work_hours.periods_by_day(therapist)
    data = {day: [{"start": _clock(s), "end": _clock(e), "site_id": str(site or "")}
                  for s, e, site in periods]
            for day, periods in stored.items()}
    form = HoursForm(formdata=None, data=data, session_minutes=therapist.session_minutes,
                     buffer_minutes=therapist.buffer_minutes,
                     slot_step_minutes=therapist.slot_step_minutes)
    for day, _, periods in form.days():
        while len(periods) < max(MIN_ROWS, len(stored[day]) + 1):
            periods.append_entry()
    return form


def period_sites(therapist, form: HoursForm) -> list:
    """Offer each period the therapist's own site ("") and the clinic's others; the
    clinic's sites (the page shows the choice only where there are several)."""
    known = sites.all_sites()
    own = next((s for s in known if s.id == therapist.site_id), None)
    choices = [SelectChoice("", f"My site ({own.name})" if own else "My site")] + [
        SelectChoice(str(s.id), f"{s.name} ({s.timezone})") for s in known
        if s.id != therapist.site_id]
    for _, _, periods in form.days():
        for period in periods:
            period.site_id.choices = choices
    return known


def render_hours(therapist, form: HoursForm, status: int = 200,
                 affected: list | None = None):
    tz = load_zone(therapist.timezone)
    return render_template("therapist/hours.html", therapist=therapist, form=form,
                           several_sites=len(period_sites(therapist, form)) > 1,
                           admin=page_caller().role == "admin", failed=status == 422,
                           affected=[(r, span(r.start, r.end, tz)) for r in affected or ()],
                           kinds=KIND_TITLES), status


@bp.get("/hours")
@signed_in("therapist", "admin")
def hours():
    caller, therapist_id = page_caller(), therapist_id_arg()
    if caller.role == "admin" and therapist_id is None:
        return choose_therapist("pages.hours")
    therapist = work_hours.hours_for(caller, schedule_owner())
    return render_hours(therapist, hours_form(therapist))


@bp.post("/hours")
@signed_in("therapist", "admin")
def save_hours():
    caller, therapist_id = page_caller(), therapist_id_arg()
    own = schedule_owner()
    form = HoursForm()
    if form.validate():
        choice = affected_choice()
        try:
            work_hours.save_hours_for(caller, own, form.working_hours(), form.settings(),
                                     choice)
        except SchemaError as exc:  # what the form let through and the API's schema did not
            unit_of_work.rollback()
            form.session_minutes.errors.append(exc.errors()[0]["msg"])
        except SessionsAffected as exc:
            unit_of_work.rollback()
            return render_hours(work_hours.hours_for(caller, own), form, 409, exc.sessions)
        else:
            flash("Your hours are saved." + cancelled_note(choice), "success")
            return redirect(schedule_url(".hours", therapist_id), 303)
    return render_hours(work_hours.hours_for(caller, own), form, 422)
