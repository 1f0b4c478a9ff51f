"""The athlete's season page (GET /season): the timeline of the coming months, their races
and sessions (cancelled and past ones too), and the plan-a-race form."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from flask import redirect, render_template, url_for
from flask_wtf import FlaskForm
from pydantic import ValidationError as SchemaError
from wtforms import DateField, SelectChoice, SelectField, StringField, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from ...core.errors import DomainError, UnknownTimezone
from ...core.zones import load_zone
from ...services import events, my_season, unit_of_work
from ...services.common import now
from ...services.my_season import SeasonPage
from ..auth import page_caller, signed_in
from ..schemas.scheduling import EventIn
from . import bp
from .athlete_timeline import timeline
from .format import booking_row, event_when

COMMON_ZONES = (
    "Europe/Berlin", "Europe/Amsterdam", "Europe/Athens", "Europe/Helsinki", "Europe/Lisbon",
    "Europe/London", "Europe/Madrid", "Europe/Paris", "Europe/Rome", "Europe/Stockholm",
    "Europe/Vienna", "Europe/Warsaw", "Europe/Zurich", "America/New_York", "America/Chicago",
    "America/Denver", "America/Phoenix", "America/Los_Angeles", "America/Anchorage",
    "America/Toronto", "America/Vancouver", "America/Mexico_City", "America/Sao_Paulo",
    "Pacific/Honolulu", "Africa/Johannesburg", "Africa/Nairobi", "Asia/Dubai", "Asia/Kolkata",
    "Asia/Singapore", "Asia/Tokyo", "Australia/Perth", "Australia/Sydney", "Pacific/Auckland",
    "UTC")
SPORTS = {"running": "Running", "mtb": "Mountain biking", "cycling": "Road cycling",
          "triathlon": "Triathlon", "other": "Other"}


class PlanForm(FlaskForm):
    name = StringField("Race or ride", validators=[
        DataRequired("Give the race or ride a name."),
        Length(max=200, message="Use at most 200 characters.")])
    date = DateField("Date", validators=[InputRequired("Pick the date of the race or ride.")])
    start_time = TimeField("Start time", validators=[Optional()])
    finish_time = TimeField("Finish time", validators=[Optional()])
    end_date = DateField("Last day (stage races)", validators=[Optional()])
    timezone = StringField("Time zone", validators=[
        DataRequired("Pick the time zone of the race from the list.")])
    sport = SelectField("Sport", choices=[SelectChoice(k, v) for k, v in SPORTS.items()])

    def validate_timezone(self, field: StringField) -> None:
        field.data = (field.data or "").strip()
        try:
            load_zone(field.data)
        except UnknownTimezone:
            raise ValidationError(f"“{field.data}” is not a time zone we know: "
                                  "pick one from the list.") from None

    def validate_date(self, field: DateField) -> None:
        last = self.end_date.data or field.data
        try:
            tz = load_zone(self.timezone.data)
        except UnknownTimezone:
            tz = ZoneInfo("UTC")
        if last is not None and last + timedelta(days=3) < now().astimezone(tz).date():
            raise ValidationError("That race is over and its recovery window has closed: "
                                  "pick a date still to come.")

    def validate_end_date(self, field: DateField) -> None:
        if field.data and self.date.data and field.data < self.date.data:
            raise ValidationError("The last day cannot be before the first day.")

    def validate_finish_time(self, field: TimeField) -> None:
        one_day = self.end_date.data in (None, self.date.data)
        if field.data and self.start_time.data and one_day and field.data <= self.start_time.data:
            raise ValidationError("The finish time must be after the start time.")

    def event_in(self, athlete_id: int) -> EventIn:
        """The API's own event schema, so page and API validate the same way."""
        first, last = self.date.data, self.end_date.data or self.date.data
        start = (datetime.combine(first, self.start_time.data) if self.start_time.data
                 else first)
        end = (datetime.combine(last, self.finish_time.data) if self.finish_time.data
               else self.end_date.data)
        return EventIn.model_validate({
            "athlete_id": athlete_id, "name": self.name.data.strip(), "sport": self.sport.data,
            "timezone": self.timezone.data, "start": start.isoformat(),
            "end": None if end is None else end.isoformat()})

    def field_for(self, name: str | None) -> str:
        """The form field behind a schema or domain field name."""
        if name == "end":
            return "finish_time" if self.finish_time.data else "end_date"
        return {"start": "date"}.get(name or "", name if name in self._fields else "name")


def plan_form(athlete: Any) -> PlanForm:
    """The form for the athlete (a row): their zone and sport first."""
    return PlanForm(timezone=athlete.timezone, sport=athlete.sport)


@cache
def all_zones() -> tuple[str, ...]:
    """Every IANA zone name this system knows, the common ones first (the datalist)."""
    rest = sorted(z for z in available_timezones() if "/" in z and not z.startswith(
        ("Etc/", "SystemV/", "US/", "posix/", "right/")) and z not in COMMON_ZONES)
    return (*COMMON_ZONES, *rest)


def render_season(found: SeasonPage, form: PlanForm, status: int = 200):
    """The season page: the timeline, the races and sessions, and the plan-a-race form
    (`fresh`: not sent yet, so a script may put the browser's zone in)."""
    sessions = [booking_row(s) for s in found.sessions]
    return render_template(
        "athlete/season.html", athlete=found.athlete, form=form, zones=all_zones(),
        fresh=not form.is_submitted(), timeline=timeline(found), now=found.now,
        events=[(v.event, event_when(v)) for v in found.events],
        upcoming=[r for r in sessions if r.booking.end > found.now],
        past=[r for r in reversed(sessions) if r.booking.end <= found.now],
        suggestions=found.suggestions), status


@bp.get("/season")
@signed_in("athlete")
def season():
    found = my_season.season_page(page_caller())
    return render_season(found, plan_form(found.athlete))


@bp.post("/events")
@signed_in("athlete")
def plan_race():
    caller = page_caller()
    form = PlanForm()
    if not form.validate():
        return render_season(my_season.season_page(caller), form, 422)
    try:
        view = events.create_event_for(caller, form.event_in(caller.athlete_id))
    except (DomainError, SchemaError) as exc:
        unit_of_work.rollback()
        for name, message in _problems(exc):
            form[form.field_for(name)].errors.append(message)
        return render_season(my_season.season_page(caller), form, 422)
    return redirect(url_for(".event_page", event_id=view.event.id), 303)


def _problems(exc: DomainError | SchemaError) -> list[tuple[str | None, str]]:
    if isinstance(exc, DomainError):
        return [(exc.field, exc.message[:1].upper() + exc.message[1:] + ".")]
    return [(str(e["loc"][0]) if e["loc"] else None, e["msg"]) for e in exc.errors()]
