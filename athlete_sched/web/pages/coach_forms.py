"""The coach's forms: a new team, adding or inviting an athlete, planning a team event.
Each keeps what was typed and says per field what is wrong."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from types import SimpleNamespace

from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField, StringField, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from ...core.errors import DomainError, UnknownTimezone
from ...core.zones import load_zone
from ...services.common import now
from ..schemas.scheduling import EventIn
from .home import COMMON_ZONES, SPORTS

AT_MOST_200 = Length(max=200, message="Use at most 200 characters.")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _email(_form: FlaskForm, field: StringField) -> None:
    if field.data and not EMAIL.fullmatch(field.data.strip()):
        raise ValidationError("Enter an email address like name@example.com.")


def _zone(_form: FlaskForm, field: SelectField) -> None:
    try:
        load_zone(field.data or "")
    except UnknownTimezone:
        raise ValidationError(f"“{field.data}” is not a time zone we know: "
                              "pick one from the list.") from None


def zone_choices(form: FlaskForm) -> FlaskForm:
    """Keep a zone typed or sent that is not in the common list among the choices."""
    field = form.timezone
    if field.data and field.data not in COMMON_ZONES:
        field.choices = [field.data, *COMMON_ZONES]
    return form


class TeamForm(FlaskForm):
    name = StringField("Team name", validators=[
        DataRequired("Give the team a name."), AT_MOST_200])


class Prefixed(FlaskForm):
    """A form whose fields carry a prefix (`PREFIX`), so that several on one page keep
    distinct ids and names."""

    PREFIX = ""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("prefix", self.PREFIX)
        super().__init__(*args, **kwargs)


class AddAthleteForm(Prefixed):
    PREFIX = "add"
    email = StringField("Athlete's email", validators=[
        DataRequired("Enter the email of an athlete you coach."), Length(max=254), _email])


class InviteForm(Prefixed):
    PREFIX = "invite"
    name = StringField("Name", validators=[
        DataRequired("Enter the athlete's name."), AT_MOST_200])
    email = StringField("Email", validators=[
        DataRequired("Enter the athlete's email: the invitation goes there."),
        Length(max=254, message="Use at most 254 characters."), _email])
    sport = SelectField("Sport", choices=[SelectChoice(k, v) for k, v in SPORTS.items()])
    timezone = SelectField("Home time zone", choices=list(COMMON_ZONES), validate_choice=False,
                           default="Europe/Berlin", validators=[_zone])

    def values(self) -> SimpleNamespace:
        return SimpleNamespace(name=self.name.data.strip(), email=self.email.data.strip(),
                               sport=self.sport.data, timezone=self.timezone.data)


class TeamEventForm(Prefixed):
    PREFIX = "event"
    name = StringField("Event name", validators=[
        DataRequired("Give the event a name."), AT_MOST_200])
    sport = SelectField("Sport", choices=[SelectChoice(k, v) for k, v in SPORTS.items()])
    date = DateField("Date", validators=[InputRequired("Pick the date of the event.")])
    end_date = DateField("Last day (stage races)", validators=[Optional()])
    start_time = TimeField("Start time", validators=[Optional()])
    finish_time = TimeField("Finish time", validators=[Optional()])
    timezone = SelectField("Time zone", choices=list(COMMON_ZONES), validate_choice=False,
                           default="Europe/Berlin", validators=[_zone])

    def validate_date(self, field: DateField) -> None:
        last = self.end_date.data or field.data
        try:
            today = now().astimezone(load_zone(self.timezone.data or "")).date()
        except UnknownTimezone:
            return  # the zone's own message says it
        if last is not None and last + timedelta(days=3) < today:
            raise ValidationError("That event is over and its recovery window has closed: "
                                  "pick a date still to come.")

    def validate_end_date(self, field: DateField) -> None:
        if field.data and self.date.data and field.data < self.date.data:
            raise ValidationError("The last day cannot be before the first day.")

    def validate_finish_time(self, field: TimeField) -> None:
        one_day = self.end_date.data in (None, self.date.data)
        if field.data and self.start_time.data and one_day and field.data <= self.start_time.data:
            raise ValidationError("The finish time must be after the start time.")

    def event_in(self, team_id: int) -> EventIn:
        """The API's own event schema, so that page and API validate alike."""
        first, last = self.date.data, self.end_date.data or self.date.data
        start = datetime.combine(first, self.start_time.data) if self.start_time.data else first
        end = (datetime.combine(last, self.finish_time.data) if self.finish_time.data
               else self.end_date.data)
        return EventIn.model_validate({
            "team_id": team_id, "name": self.name.data.strip(), "sport": self.sport.data,
            "timezone": self.timezone.data, "start": start.isoformat(),
            "end": None if end is None else end.isoformat()})

    def field_for(self, name: str | None) -> str:
        """The form field a schema or domain error names."""
        if name == "end":
            return "finish_time" if self.finish_time.data else "end_date"
        return {"start": "date"}.get(name or "", name if name in self._fields else "name")


def show_error(form: FlaskForm, exc: DomainError, default: str,
               message: str | None = None) -> None:
    """Put a service's refusal (or `message` for it) on the field it names, else on
    `default`."""
    name = exc.field if exc.field in form._fields else default
    said = message or exc.message[:1].upper() + exc.message[1:]
    form[name].errors = [*form[name].errors, said + "."]
