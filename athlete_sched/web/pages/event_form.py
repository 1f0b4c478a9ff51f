"""What the pages' event forms share: the sports and time zones offered, and the dates of
a race or ride (one or more days, an optional start and finish, its zone), checked alike for
an athlete's race (home.py) and a coach's team event (coach_forms.py) and then handed to
the API's own event schema, so that a page and the API accept the same events."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from wtforms import DateField, Field, SelectChoice, SelectField, TimeField
from wtforms.validators import InputRequired, Optional, ValidationError

from ...core.errors import UnknownTimezone
from ...core.zones import load_zone
from ...services.common import now
from ..schemas.scheduling import EventIn

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


@cache
def all_zones() -> tuple[str, ...]:
    """Every IANA zone name this system knows, the common ones first (a datalist)."""
    rest = sorted(z for z in available_timezones() if "/" in z and not z.startswith(
        ("Etc/", "SystemV/", "US/", "posix/", "right/")) and z not in COMMON_ZONES)
    return (*COMMON_ZONES, *rest)


def known_zone(_form: FlaskForm, field: Field) -> None:
    """A field validator: the zone typed or picked must be one we know."""
    field.data = (field.data or "").strip()
    try:
        load_zone(field.data)
    except UnknownTimezone:
        raise ValidationError(f"“{field.data}” is not a time zone we know: "
                              "pick one from the list.") from None


def zone_choices(form: FlaskForm) -> FlaskForm:
    """Keep a zone typed or sent that is not in the common list among a select's
    choices, so that the form shows it again."""
    field = form.timezone
    if field.data and field.data not in COMMON_ZONES:
        field.choices = [field.data, *COMMON_ZONES]
    return form


def sport_field() -> SelectField:
    return SelectField("Sport", choices=[SelectChoice(k, v) for k, v in SPORTS.items()])


class EventDatesForm(FlaskForm):
    """The dates of an event; a subclass adds `name` and `timezone` fields and says what
    the event is called on its page (`NOUN`)."""

    NOUN = "event"
    date = DateField("Date", validators=[InputRequired("Pick the date of the event.")])
    start_time = TimeField("Start time", validators=[Optional()])
    finish_time = TimeField("Finish time", validators=[Optional()])
    end_date = DateField("Last day (stage races)", validators=[Optional()])
    sport = sport_field()
    name: Any
    timezone: Any

    def validate_date(self, field: DateField) -> None:
        last = self.end_date.data or field.data
        try:
            today = now().astimezone(load_zone(self.timezone.data or "")).date()
        except UnknownTimezone:
            return  # the zone's own message says it
        if last is not None and last + timedelta(days=3) < today:
            raise ValidationError(f"That {self.NOUN} is over and its recovery window has "
                                  "closed: pick a date still to come.")

    def validate_end_date(self, field: DateField) -> None:
        if field.data and self.date.data and field.data < self.date.data:
            raise ValidationError("The last day cannot be before the first day.")

    def validate_finish_time(self, field: TimeField) -> None:
        one_day = self.end_date.data in (None, self.date.data)
        if field.data and self.start_time.data and one_day and field.data <= self.start_time.data:
            raise ValidationError("The finish time must be after the start time.")

    def event_in(self, **owner: int) -> EventIn:
        """The API's event schema for `owner` (athlete_id= or team_id=)."""
        first, last = self.date.data, self.end_date.data or self.date.data
        start = datetime.combine(first, self.start_time.data) if self.start_time.data else first
        end = (datetime.combine(last, self.finish_time.data) if self.finish_time.data
               else self.end_date.data)
        return EventIn.model_validate({
            **owner, "name": self.name.data.strip(), "sport": self.sport.data,
            "timezone": self.timezone.data, "start": start.isoformat(),
            "end": None if end is None else end.isoformat()})

    def field_for(self, name: str | None) -> str:
        """The form field behind a schema or domain field name."""
        if name == "end":
            return "finish_time" if self.finish_time.data else "end_date"
        return {"start": "date"}.get(name or "", name if name in self._fields else "name")
