"""The coach's forms: a new team, adding or inviting an athlete, planning a team event.
Each keeps what was typed and says per field what is wrong."""

from __future__ import annotations

from types import SimpleNamespace

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from ...core.errors import DomainError
from ..schemas.base import EMAIL_RE
from .event_form import COMMON_ZONES, SPORTS, EventDatesForm, known_zone

AT_MOST_200 = Length(max=200, message="Use at most 200 characters.")


def _email(_form: FlaskForm, field: StringField) -> None:
    if field.data and not EMAIL_RE.match(field.data.strip()):
        raise ValidationError("Enter an email address like name@example.com.")


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
                           default="Europe/Berlin", validators=[known_zone])

    def values(self) -> SimpleNamespace:
        return SimpleNamespace(name=self.name.data.strip(), email=self.email.data.strip(),
                               sport=self.sport.data, timezone=self.timezone.data)


class TeamEventForm(Prefixed, EventDatesForm):
    PREFIX = "event"
    name = StringField("Event name", validators=[
        DataRequired("Give the event a name."), AT_MOST_200])
    timezone = SelectField("Time zone", choices=list(COMMON_ZONES), validate_choice=False,
                           default="Europe/Berlin", validators=[known_zone])


def show_error(form: FlaskForm, exc: DomainError, default: str,
               message: str | None = None) -> None:
    """Put a service's refusal (or `message` for it) on the field it names, else on
    `default`."""
    name = exc.field if exc.field in form._fields else default
    said = message or exc.message[:1].upper() + exc.message[1:]
    form[name].errors = [*form[name].errors, said + "."]
