"""The athlete's season page (GET /season): the timeline of the coming months, their races
and sessions (cancelled and past ones too), and the plan-a-race form."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, url_for
from pydantic import ValidationError as SchemaError
from wtforms import DateField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from ...core.errors import DomainError
from ...services import events, my_season, unit_of_work
from ...services.my_season import SeasonPage
from ..auth import page_caller, signed_in
from . import bp
from .athlete_timeline import timeline
from .event_form import EventDatesForm, all_zones, known_zone
from .format import booking_row, event_when


class PlanForm(EventDatesForm):
    NOUN = "race"
    name = StringField("Race or ride", validators=[
        DataRequired("Give the race or ride a name."),
        Length(max=200, message="Use at most 200 characters.")])
    date = DateField("Date", validators=[InputRequired("Pick the date of the race or ride.")])
    timezone = StringField("Time zone", validators=[
        DataRequired("Pick the time zone of the race from the list."), known_zone])


def plan_form(athlete: Any) -> PlanForm:
    """The form for the athlete (a row): their zone and sport first."""
    return PlanForm(timezone=athlete.timezone, sport=athlete.sport)


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
        view = events.create_event_for(caller, form.event_in(athlete_id=caller.athlete_id))
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
