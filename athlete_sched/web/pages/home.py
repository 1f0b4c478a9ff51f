"""The athlete's season page (GET /season): the timeline of the coming months, their races
and sessions (cancelled and past ones too), the plan-a-race form (with the site near the
venue and the travel, where the clinic has sites) and the athlete's home site."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from pydantic import ValidationError as SchemaError
from wtforms import DateField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from ...core.errors import DomainError
from ...services import events, my_season, unit_of_work
from ...services.my_season import SeasonPage
from ..auth import page_caller, signed_in
from . import bp
from .athlete_timeline import timeline
from .event_form import (
    EventDatesForm,
    all_zones,
    known_zone,
    site_choices,
    site_field,
    site_value,
)
from .format import booking_row, event_when


class PlanForm(EventDatesForm):
    NOUN = "race"
    name = StringField("Race or ride", validators=[
        DataRequired("Give the race or ride a name."),
        Length(max=200, message="Use at most 200 characters.")])
    date = DateField("Date", validators=[InputRequired("Pick the date of the race or ride.")])
    timezone = StringField("Time zone", validators=[
        DataRequired("Pick the time zone of the race from the list."), known_zone])


class HomeSiteForm(FlaskForm):
    home_site_id = site_field("My home site")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, prefix="home", **kwargs)  # apart from the plan form's ids


def plan_form(athlete: Any) -> PlanForm:
    """The form for the athlete (a row): their zone and sport first."""
    return PlanForm(timezone=athlete.timezone, sport=athlete.sport)


def render_season(found: SeasonPage, form: PlanForm, status: int = 200,
                  home: HomeSiteForm | None = None):
    """The season page: the timeline, the races and sessions, the plan-a-race form
    (`fresh`: not sent yet, so a script may put the browser's zone in) and the home site."""
    sessions = [booking_row(s) for s in found.sessions]
    site_choices(form.venue_site_id, found.sites, "None: sessions at my home site")
    if home is None:
        home = HomeSiteForm(formdata=None, home_site_id=str(found.athlete.home_site_id or ""))
    site_choices(home.home_site_id, found.sites, "No home site yet")
    return render_template(
        "athlete/season.html", athlete=found.athlete, form=form, zones=all_zones(),
        home=home, sites=found.sites,
        home_site=next((s for s in found.sites if s.id == found.athlete.home_site_id), None),
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


@bp.post("/season/home-site")
@signed_in("athlete")
def set_home_site():
    caller = page_caller()
    home = HomeSiteForm()
    if home.validate():
        try:
            athlete = my_season.set_home_site(caller, site_value(home.home_site_id))
        except DomainError as exc:
            if exc.field != "home_site_id":
                raise
            unit_of_work.rollback()
            home.home_site_id.errors = [*home.home_site_id.errors, "That is not one of the "
                                        "clinic's sites: pick one from the list."]
        else:
            flash("Your home site is saved." if athlete.home_site_id else
                  "You have no home site now.", "success")
            return redirect(url_for(".season"), 303)
    found = my_season.season_page(caller)
    return render_season(found, plan_form(found.athlete), 422, home)


def _problems(exc: DomainError | SchemaError) -> list[tuple[str | None, str]]:
    if isinstance(exc, DomainError):
        return [(exc.field, exc.message[:1].upper() + exc.message[1:] + ".")]
    return [(str(e["loc"][0]) if e["loc"] else None, e["msg"]) for e in exc.errors()]
