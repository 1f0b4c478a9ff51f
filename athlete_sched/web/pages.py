"""Server-rendered pages: plan a race, see its windows and the best slots, book one.

Until sign-in arrives, the pages act for the athlete whose email is DEMO_ATHLETE_EMAIL
(`flask --app wsgi demo` creates it). Plain HTML forms with POST-redirect-GET, so every
page works without JavaScript; forms carry a Flask-WTF CSRF token. Each POST view commits
once at its end; an error re-renders the page with a message and rolls everything back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from pydantic import ValidationError as SchemaError
from sqlalchemy import select
from wtforms import DateField, SelectChoice, SelectField, StringField, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from ..core.errors import Conflict, DomainError, InvalidValue, NotFound, UnknownTimezone
from ..core.intervals import Interval
from ..core.proposals import KINDS, Slot  # the page plans pre and post sessions
from ..core.screening import CONSIDERATIONS
from ..core.zones import load_zone
from ..db import queries
from ..db.models import Athlete, Booking, Event, Therapist
from ..extensions import db
from ..services import calendars, scheduling, screening
from ..services.common import now, timing_of, windows_of
from ..services.events import create_event
from . import schemas as s
from .errors import domain_status
from .schemas_screening import screening_json

bp = Blueprint("pages", __name__)

SLOTS_PER_WINDOW = 8
MAX_ID = 2**31 - 1
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
KIND_TITLES = {"pre": "Pre-race session", "post": "Recovery session",
               "course": "Course session", "tune-up": "Tune-up session"}
BOOKING_MESSAGES = {
    "slot-taken": "Sorry, that slot was taken a moment ago. The list below is up to date: "
                  "please pick another one.",
    "already-booked": "You already have this session booked for this race (shown below).",
    "athlete-busy": "You already have a session or another event at that time. "
                    "Please pick another slot.",
    "too-soon": "That slot is too soon to book now. Please pick a later one.",
}


class DemoNotLoaded(Conflict):
    code = "demo-not-loaded"

    def __init__(self) -> None:
        super().__init__("The demo clinic is not loaded yet. Run `flask --app wsgi demo` "
                         "(with the same DATABASE_URL) and reload this page.")




@bp.errorhandler(CSRFError)
def _csrf_error(_exc: CSRFError):
    db.session.rollback()
    message = ("This form has expired or did not come from this site. "
               "Go back, reload the page and try again.")
    return render_template("error.html", status=400, message=message, fields={}), 400


# --- formatting ---------------------------------------------------------------------------

def when(at: datetime, tz: ZoneInfo) -> str:
    """'Wed 12 May 09:00' in `tz`."""
    local = at.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def span(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """'Wed 12 May 09:00–09:45', or 'Wed 12 May 00:00 – Fri 14 May 00:00' across days."""
    if start.astimezone(tz).date() == end.astimezone(tz).date():
        return f"{when(start, tz)}–{end.astimezone(tz):%H:%M}"
    return f"{when(start, tz)} – {when(end, tz)}"


def day_name(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def iso(at: datetime) -> str:
    """The API's UTC form: 2027-05-12T07:00:00Z."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_when(event: Event) -> str:
    """The event's days and times in its own zone."""
    timing = timing_of(event)
    first, last = timing.first_day, timing.last_day
    days = day_name(first) if first == last else f"{day_name(first)} – {day_name(last)}"
    if isinstance(timing.start, datetime):
        days += f", start {timing.start.astimezone(timing.tz):%H:%M}"
    if timing.finish is not None:
        days += f", finish {timing.finish.astimezone(timing.tz):%H:%M}"
    return days


# --- views' data --------------------------------------------------------------------------

@dataclass(frozen=True)
class SlotView:
    slot: Slot
    therapist: Therapist
    local: str
    therapist_local: str | None  # only when the therapist's zone differs from the event's

    @property
    def start(self) -> str:
        return iso(self.slot.start)


@dataclass(frozen=True)
class WindowView:
    kind: str
    window: Interval
    zone: ZoneInfo
    slots: list[SlotView]
    booked: BookingRow | None

    start_text = property(lambda self: when(self.window.start, self.zone))
    end_text = property(lambda self: when(self.window.end, self.zone))
    start_iso = property(lambda self: iso(self.window.start))
    end_iso = property(lambda self: iso(self.window.end))


def slot_view(slot: Slot, therapist: Therapist, tz: ZoneInfo) -> SlotView:
    own = load_zone(therapist.timezone)
    other = None if own.key == tz.key else span(slot.start, slot.end, own)
    return SlotView(slot, therapist, span(slot.start, slot.end, tz), other)


def event_windows_view(athlete: Athlete, event: Event) -> list[WindowView]:
    """Both windows, each with the athlete's booking or the best free slots."""
    tz = load_zone(event.timezone)
    proposed = scheduling.propose(event, KINDS, None, None, SLOTS_PER_WINDOW)
    windows, found = proposed.windows, proposed.found
    therapists = {t.id: t for t in db.session.scalars(select(Therapist))}
    views = []
    for kind in KINDS:
        window = windows.pre if kind == "pre" else windows.post
        booked = queries.confirmed_booking(athlete.id, event.id, kind)
        views.append(WindowView(
            kind, window, tz, [slot_view(x, therapists[x.therapist_id], tz) for x in found[kind]],
            booked and booking_row(booked)))
    return views


# --- the plan form ------------------------------------------------------------------------

class PlanForm(FlaskForm):
    name = StringField("Race or ride", validators=[
        DataRequired("Give the race or ride a name."),
        Length(max=200, message="Use at most 200 characters.")])
    date = DateField("Date", validators=[InputRequired("Pick the date of the race or ride.")])
    start_time = TimeField("Start time", validators=[Optional()])
    finish_time = TimeField("Finish time", validators=[Optional()])
    end_date = DateField("Last day (stage races)", validators=[Optional()])
    timezone = SelectField("Time zone", choices=list(COMMON_ZONES), validate_choice=False)
    sport = SelectField("Sport", choices=[SelectChoice(k, v) for k, v in SPORTS.items()])

    def validate_timezone(self, field: SelectField) -> None:
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

    def event_in(self, athlete: Athlete) -> s.EventIn:
        """The API's own event schema, so page and API validate the same way."""
        first, last = self.date.data, self.end_date.data or self.date.data
        start = (datetime.combine(first, self.start_time.data) if self.start_time.data
                 else first)
        end = (datetime.combine(last, self.finish_time.data) if self.finish_time.data
               else self.end_date.data)
        return s.EventIn.model_validate({
            "athlete_id": athlete.id, "name": self.name.data.strip(), "sport": self.sport.data,
            "timezone": self.timezone.data, "start": start.isoformat(),
            "end": None if end is None else end.isoformat()})

    def field_for(self, name: str | None) -> str:
        """The form field behind a schema or domain field name."""
        if name == "end":
            return "finish_time" if self.finish_time.data else "end_date"
        return {"start": "date"}.get(name or "", name if name in self._fields else "name")


def plan_form(athlete: Athlete) -> PlanForm:
    form = PlanForm(timezone=athlete.timezone, sport=athlete.sport)
    if athlete.timezone not in COMMON_ZONES:
        form.timezone.choices = [athlete.timezone, *COMMON_ZONES]
    return form


# --- lookups ------------------------------------------------------------------------------

def demo_athlete() -> Athlete | None:
    email = current_app.config["DEMO_ATHLETE_EMAIL"].strip().lower()
    return db.session.scalar(select(Athlete).where(Athlete.email == email))


def the_athlete() -> Athlete:
    athlete = demo_athlete()
    if athlete is None:
        raise DemoNotLoaded()
    return athlete


def own(model: type, ident: int, athlete: Athlete, entity: str):
    row = db.session.get(model, ident) if 0 < ident <= MAX_ID else None
    if row is None or row.athlete_id != athlete.id:
        raise NotFound(entity, ident)
    return row


@dataclass(frozen=True)
class BookingRow:
    booking: Booking
    event: Event | None  # None: a tune-up
    view: SlotView
    zone: str  # the event's, or the athlete's for a tune-up

    title = property(lambda self: KIND_TITLES[self.booking.kind])
    for_name = property(lambda self: self.event.name if self.event else "Periodic tune-up")


def booking_row(booking: Booking) -> BookingRow:
    event = db.session.get(Event, booking.event_id) if booking.event_id else None
    zone = event.timezone if event else db.session.get(Athlete, booking.athlete_id).timezone
    therapist = db.session.get(Therapist, booking.therapist_id)
    slot = Slot(therapist.id, booking.start, booking.end, booking.kind)
    return BookingRow(booking, event, slot_view(slot, therapist, load_zone(zone)), zone)


def upcoming(athlete: Athlete) -> tuple[list[tuple[Event, str]], list[BookingRow]]:
    """The athlete's events whose recovery window is still open, and future sessions."""
    at = now()
    events = db.session.scalars(select(Event).where(
        Event.athlete_id == athlete.id,
        Event.start > at - timedelta(days=queries.MAX_EVENT_DAYS + 4))
        .order_by(Event.start, Event.id))
    bookings = db.session.scalars(select(Booking).where(
        Booking.athlete_id == athlete.id, Booking.status == "confirmed", Booking.end > at)
        .order_by(Booking.start))
    return ([(e, event_when(e)) for e in events if windows_of(e).post.end > at],
            [booking_row(b) for b in bookings])


# --- views --------------------------------------------------------------------------------

def render_index(athlete: Athlete | None, form: PlanForm | None, status: int = 200):
    events, bookings = upcoming(athlete) if athlete else ([], [])
    return render_template("index.html", athlete=athlete, form=form, events=events,
                           bookings=bookings), status


@bp.get("/")
def index():
    athlete = demo_athlete()
    return render_index(athlete, plan_form(athlete) if athlete else None)


@bp.post("/events")
def plan_race():
    athlete = demo_athlete()
    if athlete is None:
        return render_index(None, None, 409)
    form = PlanForm()
    if form.timezone.data not in COMMON_ZONES:
        form.timezone.choices = [form.timezone.data, *COMMON_ZONES]
    if not form.validate():
        return render_index(athlete, form, 422)
    try:
        event = create_event(form.event_in(athlete), athlete)
    except (DomainError, SchemaError) as exc:
        db.session.rollback()
        for name, message in _problems(exc):
            form[form.field_for(name)].errors.append(message)
        return render_index(athlete, form, 422)
    db.session.commit()
    return redirect(url_for(".event_page", event_id=event.id), 303)


def _problems(exc: DomainError | SchemaError) -> list[tuple[str | None, str]]:
    if isinstance(exc, DomainError):
        return [(exc.field, exc.message[:1].upper() + exc.message[1:] + ".")]
    return [(str(e["loc"][0]) if e["loc"] else None, e["msg"]) for e in exc.errors()]


def render_event(athlete: Athlete, event: Event, status: int = 200, error: str | None = None):
    return render_template(
        "event.html", athlete=athlete, event=event, when=event_when(event), error=error,
        windows=event_windows_view(athlete, event), sport=SPORTS[event.sport],
        titles=KIND_TITLES), status


@bp.get("/events/<int:event_id>")
def event_page(event_id: int):
    athlete = the_athlete()
    return render_event(athlete, own(Event, event_id, athlete, "event"))


def requested_slot() -> tuple[str, Therapist, datetime]:
    """The slot a Book button sent: kind, therapist and an aware start."""
    form = request.form
    kind = form.get("kind", "")
    if kind not in KINDS:
        raise InvalidValue("Choose a pre-race or a recovery session.", field="kind")
    try:
        therapist_id, start = int(form.get("therapist_id", "")), datetime.fromisoformat(
            form.get("start", ""))
    except ValueError:
        raise InvalidValue("That slot is not valid: pick one from the list.") from None
    therapist = db.session.get(Therapist, therapist_id) if 0 < therapist_id <= MAX_ID else None
    if therapist is None or start.tzinfo is None:
        raise InvalidValue("That slot is not valid: pick one from the list.")
    return kind, therapist, start


@bp.post("/events/<int:event_id>/book")
def book_slot(event_id: int):
    athlete = the_athlete()
    event = own(Event, event_id, athlete, "event")
    try:
        kind, therapist, start = requested_slot()
        booking = scheduling.book(event, therapist, athlete, kind, start)
    except DomainError as exc:
        db.session.rollback()
        message = BOOKING_MESSAGES.get(exc.code, exc.message[:1].upper() + exc.message[1:])
        return render_event(athlete, event, domain_status(exc), message)
    db.session.commit()
    return redirect(url_for(".booking_page", booking_id=booking.id), 303)


@bp.get("/bookings/<int:booking_id>")
def booking_page(booking_id: int):
    athlete = the_athlete()
    row = booking_row(own(Booking, booking_id, athlete, "booking"))
    answers = screening.screening_of(athlete.id)  # the athlete's own: flags and decision
    return render_template("booking.html", athlete=athlete, row=row,
                           considerations=CONSIDERATIONS,
                           screening=answers and screening_json(answers))


@bp.get("/bookings/<int:booking_id>/invite.ics")
def booking_invite(booking_id: int):
    """The session as a calendar invite to open in any calendar app (what the API's
    invite.ics serves: METHOD REQUEST, or CANCEL once cancelled)."""
    booking = own(Booking, booking_id, the_athlete(), "booking")
    method = calendars.invite_method(booking)
    response = current_app.response_class(
        calendars.invite_ics(booking), mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="session-{booking.id}.ics"'})
    response.headers["Content-Type"] = f"text/calendar; charset=utf-8; method={method}"
    return response
