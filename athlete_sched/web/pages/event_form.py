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
from wtforms import DateField, DateTimeLocalField, Field, SelectChoice, SelectField, TimeField
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
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]  # datetime-local
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


def _a_site(_form: FlaskForm, field: Field) -> None:
    """A field validator: a site select sends a site's id or "" (none)."""
    if field.data and not (str(field.data).isdigit() and len(str(field.data)) <= 9):
        raise ValidationError("Pick a site from the list.")


def site_field(label: str) -> SelectField:
    """A select of the clinic's sites (its choices set per request: site_choices); its
    value a site's id or "" for none (site_value)."""
    return SelectField(label, choices=[], validate_choice=False, validators=[_a_site])


def site_choices(field: SelectField, found: Any, blank: str | None = None) -> None:
    """Offer the sites `found` (rows with id, name, timezone), after `blank` ("" for none)
    when given."""
    field.choices = ([SelectChoice("", blank)] if blank else []) + [
        SelectChoice(str(s.id), f"{s.name} ({s.timezone})") for s in found]


def site_value(field: SelectField) -> int | None:
    """The site picked (None: none)."""
    return int(field.data) if field.data else None


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
    venue_site_id = site_field("Site near the venue (optional)")
    travel_depart = DateTimeLocalField("Leave home (optional)", format=LOCAL_FORMATS,
                                       validators=[Optional()])
    travel_return = DateTimeLocalField("Back home (optional)", format=LOCAL_FORMATS,
                                       validators=[Optional()])
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

    def validate(self, extra_validators=None) -> bool:  # noqa: ANN001 - WTForms' signature
        valid = super().validate(extra_validators)
        return self._travel_ok() and valid

    def _travel_ok(self) -> bool:
        """Both ends of the travel or neither; back after leaving (run after the fields'
        own checks, which an empty optional field skips)."""
        depart, back = self.travel_depart, self.travel_return
        if depart.errors or back.errors:
            return False
        if back.data and not depart.data:
            depart.errors = [*depart.errors, "Give the time you leave home too (or clear both)."]
        elif depart.data and not back.data:
            back.errors = [*back.errors, "Give the time you are back home too (or clear both)."]
        elif back.data and depart.data and back.data <= depart.data:
            back.errors = [*back.errors, "You are back home after you leave: pick a later time."]
        else:
            return True
        return False

    def travel(self) -> dict[str, str] | None:
        """The travel span as the API's schema reads it (naive: the event's zone)."""
        if not (self.travel_depart.data and self.travel_return.data):
            return None
        return {"depart": self.travel_depart.data.isoformat(),
                "return": self.travel_return.data.isoformat()}

    def event_in(self, **owner: int) -> EventIn:
        """The API's event schema for `owner` (athlete_id= or team_id=)."""
        first, last = self.date.data, self.end_date.data or self.date.data
        start = datetime.combine(first, self.start_time.data) if self.start_time.data else first
        end = (datetime.combine(last, self.finish_time.data) if self.finish_time.data
               else self.end_date.data)
        return EventIn.model_validate({
            **owner, "name": self.name.data.strip(), "sport": self.sport.data,
            "timezone": self.timezone.data, "start": start.isoformat(),
            "end": None if end is None else end.isoformat(),
            "venue_site_id": site_value(self.venue_site_id), "travel": self.travel()})

    def field_for(self, name: str | None) -> str:
        """The form field behind a schema or domain field name."""
        if name == "end":
            return "finish_time" if self.finish_time.data else "end_date"
        return {"start": "date", "travel": "travel_return"}.get(
            name or "", name if name in self._fields else "name")
