"""Request and response schemas. The same pydantic models validate requests and generate
the OpenAPI document (web/openapi.py), so the two cannot drift."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from ..core.errors import UnknownTimezone
from ..core.zones import load_zone
from ..services import screening
from ..services.common import FIRST_YEAR, LAST_YEAR, MAX_ID

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# --- input types --------------------------------------------------------------------------

def _email(value: str) -> str:
    value = value.strip()
    if not EMAIL_RE.match(value):
        raise ValueError("not an email address")
    return value.lower()


def _zone(value: str) -> str:
    try:
        load_zone(value)
    except UnknownTimezone as exc:
        raise ValueError(exc.message) from None
    return value


def _in_range(value: date) -> None:
    """Refuse years the clinic never plans for (and whose windows would overflow)."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"the year must lie between {FIRST_YEAR} and {LAST_YEAR}")


def _datetime(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("not an ISO 8601 date-time such as 2027-05-15T08:00 or "
                         "2027-05-15T08:00:00+02:00") from None
    _in_range(parsed)
    return parsed


def _date_or_datetime(value: str) -> date | datetime:
    if "T" in value or " " in value:
        return _datetime(value)
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise ValueError("not an ISO 8601 date (2027-05-15) or date-time "
                         "(2027-05-15T08:00)") from None
    _in_range(parsed)
    return parsed


def _clock(value: str) -> int:
    """'HH:MM' -> minutes after local midnight."""
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise ValueError("not a wall-clock time HH:MM (00:00 to 23:59)")
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


Email = Annotated[str, Field(max_length=254), AfterValidator(_email),
                  WithJsonSchema({"type": "string", "format": "email", "maxLength": 254})]
Name = Annotated[str, Field(min_length=1, max_length=200)]
TimeZoneName = Annotated[str, Field(max_length=64), AfterValidator(_zone),
                         WithJsonSchema({"type": "string", "description": "IANA time zone name",
                                         "examples": ["Europe/Berlin"]})]
DateTimeIn = Annotated[str, Field(max_length=40), AfterValidator(_datetime),
                       WithJsonSchema({"type": "string", "format": "date-time",
                                       "description": "ISO 8601; a naive value is local to the "
                                       "resource's time zone"})]
DateOrDateTimeIn = Annotated[str, Field(max_length=40), AfterValidator(_date_or_datetime),
                             WithJsonSchema({"type": "string", "description": "ISO 8601 date "
                                             "(all-day) or date-time (naive = event's zone)",
                                             "examples": ["2027-05-15", "2027-05-15T08:00"]})]
ClockIn = Annotated[str, AfterValidator(_clock),
                    WithJsonSchema({"type": "string", "pattern": r"^\d\d:\d\d$",
                                    "examples": ["08:00"]})]
Sport = Literal["running", "mtb", "cycling", "triathlon", "other"]
Role = Literal["admin", "therapist", "coach", "athlete"]
Kind = Literal["pre", "post"]
# A booking may also be one of a course before a race, or a tune-up (core/courses.py).
BookingKind = Literal["pre", "post", "course", "tune-up"]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
AfterId = Annotated[int, Field(ge=0, le=MAX_ID)]


class In(BaseModel):
    """Base of request bodies: strict types (no "5" for 5), unknown keys ignored, and no
    NUL character in any text (PostgreSQL cannot store one)."""

    model_config = ConfigDict(strict=True, extra="ignore")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("text must not contain the NUL character")
        return value


class UserIn(In):
    email: Email
    role: Role
    name: Annotated[str, Field(max_length=200)] = ""


class WorkingPeriodIn(In):
    day: Day
    start: ClockIn
    end: ClockIn

    @model_validator(mode="after")
    def _ordered(self) -> WorkingPeriodIn:
        if not self.end > self.start:  # type: ignore[operator]
            raise ValueError("end must be after start")
        return self


def _no_overlap(periods: list[WorkingPeriodIn]) -> list[WorkingPeriodIn]:
    by_day: dict[str, list[WorkingPeriodIn]] = {}
    for period in periods:
        by_day.setdefault(period.day, []).append(period)
    for day, items in by_day.items():
        items.sort(key=lambda p: p.start)
        for before, after in zip(items, items[1:], strict=False):
            if after.start < before.end:  # type: ignore[operator]
                raise ValueError(f"working periods overlap on {day}")
    return periods


WorkingHoursIn = Annotated[list[WorkingPeriodIn], Field(max_length=100),
                           AfterValidator(_no_overlap)]


class TherapistIn(In):
    name: Name
    email: Email
    timezone: TimeZoneName
    session_minutes: Annotated[int, Field(ge=5, le=480)] = 45
    buffer_minutes: Annotated[int, Field(ge=0, le=240)] = 0
    slot_step_minutes: Annotated[int, Field(ge=1, le=240)] = 15
    working_hours: WorkingHoursIn = []


class WorkingHoursBody(In):
    working_hours: WorkingHoursIn


class TimeOffIn(In):
    start: DateOrDateTimeIn
    end: DateOrDateTimeIn
    reason: Annotated[str, Field(max_length=500)] = ""


class AthleteIn(In):
    name: Name
    email: Email
    sport: Sport
    timezone: TimeZoneName
    team_id: Id | None = Field(default=None, description="add the new athlete to this team "
                               "(a coach must name one of their own teams)")


class TeamIn(In):
    name: Name
    coach_email: Email | None = None


class TeamMemberIn(In):
    athlete_id: Id


class EventIn(In):
    athlete_id: Id | None = None
    team_id: Id | None = None
    name: Name
    sport: Sport = "other"
    timezone: TimeZoneName
    start: DateOrDateTimeIn
    end: DateOrDateTimeIn | None = None
    priority: Literal["A", "B", "C"] = "A"

    @model_validator(mode="after")
    def _one_owner(self) -> EventIn:
        if (self.athlete_id is None) == (self.team_id is None):
            raise ValueError("give exactly one of athlete_id or team_id")
        return self


def _omittable(schema: dict[str, Any]) -> None:
    """A field that may be left out but not sent as null: its schema has no null default."""
    schema.pop("default", None)


class EventPatch(In):
    """Only the fields given change. `end: null` removes the end; the other fields may be
    left out but not set to null (their defaults are never validated, so null is refused).
    `move_bookings: true` moves the event's bookings into the new windows, all or nothing."""

    name: Name = Field(None, json_schema_extra=_omittable)
    sport: Sport = Field(None, json_schema_extra=_omittable)
    timezone: TimeZoneName = Field(None, json_schema_extra=_omittable)
    start: DateOrDateTimeIn = Field(None, json_schema_extra=_omittable)
    end: DateOrDateTimeIn | None = None
    priority: Literal["A", "B", "C"] = Field(None, json_schema_extra=_omittable)
    move_bookings: bool = False


class BookingIn(In):
    event_id: Id | None = Field(None, description="required except for a tune-up, which "
                                "belongs to no event (give athlete_id instead)")
    therapist_id: Id
    kind: BookingKind
    start: DateTimeIn
    athlete_id: Id | None = None
    duration_minutes: Annotated[int, Field(ge=5, le=480)] | None = None
    notes: Annotated[str, Field(max_length=2000)] = ""
    shared_with_event_id: Id | None = Field(
        None, description="another event of the athlete this session also serves (a slot "
        "the proposals label with shared_with_event_id)")


class BookingPatch(In):
    start: DateTimeIn
    therapist_id: Id | None = None


class ProposalQuery(BaseModel):
    """Query string of GET /events/{id}/proposals (strings from the URL, hence not strict)."""

    model_config = ConfigDict(extra="ignore")
    kind: Literal["pre", "post", "both"] = "both"
    therapist_id: Id | None = None
    athlete_id: Id | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 20


class BookingQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    athlete_id: Id | None = None
    therapist_id: Id | None = None
    event_id: Id | None = None
    status: Literal["confirmed", "cancelled"] | None = None
    from_: DateTimeIn | None = Field(default=None, alias="from")
    to: DateTimeIn | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    after_id: AfterId = 0


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    after_id: AfterId = 0


# --- output types -------------------------------------------------------------------------

def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Instant = Annotated[datetime, PlainSerializer(_utc, return_type=str),
                    WithJsonSchema({"type": "string", "format": "date-time",
                                    "examples": ["2027-04-16T13:00:00Z"]})]


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class UserOut(Out):
    id: int
    email: str
    role: Role
    name: str


class UserCreated(UserOut):
    token: str = Field(description="shown once; only its hash is stored")


class WorkingPeriodOut(Out):
    day: Day
    start: str
    end: str


class TherapistOut(Out):
    id: int
    name: str
    email: str
    timezone: str
    session_minutes: int
    buffer_minutes: int
    slot_step_minutes: int
    working_hours: list[WorkingPeriodOut]


class TimeOffOut(Out):
    id: int
    therapist_id: int
    start: Instant
    end: Instant
    reason: str


class AthleteOut(Out):
    id: int
    name: str
    email: str
    sport: Sport
    timezone: str


class TeamOut(Out):
    id: int
    name: str
    coach_email: str | None
    members: list[AthleteOut] = []


class IntervalOut(Out):
    start: Instant
    end: Instant


class WindowsOut(Out):
    pre: IntervalOut
    post: IntervalOut


class EventOut(Out):
    id: int
    athlete_id: int | None
    team_id: int | None
    name: str
    sport: Sport
    timezone: str
    start: str = Field(description="a date (all-day) or a UTC instant")
    end: str | None
    all_day: bool
    finish_known: bool
    priority: Literal["A", "B", "C"]
    windows: WindowsOut


class SlotOut(Out):
    therapist_id: int
    start: Instant
    end: Instant
    kind: Kind
    shared_with_event_id: int | None = Field(
        None, description="present when the slot also serves another event of the "
        "athlete's season: this post is that event's pre, or this pre is its post")


class ProposalsOut(Out):
    event_id: int
    windows: WindowsOut
    pre: list[SlotOut]
    post: list[SlotOut]


class BookingOut(Out):
    id: int
    event_id: int | None  # None: a tune-up
    athlete_id: int
    therapist_id: int
    kind: BookingKind
    start: Instant
    end: Instant
    status: Literal["confirmed", "cancelled"]
    uid: str
    sequence: int
    invite_url: str
    shared_with_event_id: int | None = Field(
        None, description="present when the session also serves another event")
    screening: BookingScreeningOut | None = Field(None, description="the athlete's screening "
                                                  "(flags, decision); null: not answered")


class EventChangeOut(EventOut):
    flagged_bookings: list[BookingOut] = Field(
        description="confirmed bookings the new windows no longer hold (left in place)")
    moved_bookings: list[BookingOut] = Field(
        description="bookings rescheduled into the new windows (move_bookings: true)")


def page_of(item: type[BaseModel]) -> type[BaseModel]:
    """The list envelope {items, next} for one item schema."""
    from pydantic import create_model

    return create_model(f"{item.__name__}Page", __base__=Out,
                        items=(list[item], ...), next=(str | None, None))  # type: ignore[valid-type]


def dump(model: type[BaseModel], obj: Any) -> dict[str, Any]:
    return model.model_validate(obj).model_dump(mode="json")


# --- serializers (rows -> JSON-ready dicts) -----------------------------------------------

DAY_NAMES = DAYS


def therapist_json(therapist: Any) -> dict[str, Any]:
    periods = [{"day": DAY_NAMES[p.day], "start": f"{p.start_minute // 60:02d}:"
                f"{p.start_minute % 60:02d}", "end": f"{p.end_minute // 60:02d}:"
                f"{p.end_minute % 60:02d}"} for p in therapist.working_hours]
    fields = ("id", "name", "email", "timezone", "session_minutes", "buffer_minutes",
              "slot_step_minutes")
    return dump(TherapistOut, {**{f: getattr(therapist, f) for f in fields},
                               "working_hours": periods})


def windows_json(windows: Any) -> dict[str, Any]:
    return dump(WindowsOut, {"pre": windows.pre._asdict(), "post": windows.post._asdict()})


def event_json(event: Any, windows: Any, timing: Any) -> dict[str, Any]:
    def shown(value: date | datetime | None) -> str | None:
        if value is None:
            return None
        return _utc(value) if isinstance(value, datetime) else value.isoformat()

    return {
        "id": event.id, "athlete_id": event.athlete_id, "team_id": event.team_id,
        "name": event.name, "sport": event.sport, "timezone": event.timezone,
        "start": shown(timing.start), "end": shown(timing.end),
        "all_day": event.start_is_date, "finish_known": timing.finish is not None,
        "priority": event.priority, "windows": windows_json(windows),
    }


def slot_json(slot: Any) -> dict[str, Any]:
    return {"therapist_id": slot.therapist_id, "start": _utc(slot.start),
            "end": _utc(slot.end), "kind": slot.kind}


def proposals_json(event_id: int, proposals: Any) -> dict[str, Any]:
    """The proposals answer; a slot that also serves another event says which."""
    def one(slot: Any) -> dict[str, Any]:
        other = proposals.shared.get(slot)
        found = slot_json(slot)
        return found if other is None else {**found, "shared_with_event_id": other}

    return {"event_id": event_id, "windows": windows_json(proposals.windows),
            "pre": [one(x) for x in proposals.found["pre"]],
            "post": [one(x) for x in proposals.found["post"]]}


def booking_json(booking: Any, screenings: dict[int, Any] | None = None) -> dict[str, Any]:
    """One booking; `screenings` (screening.for_bookings) saves a query per booking in a
    list."""
    shown = (screenings[booking.athlete_id] if screenings is not None
             else screening.for_booking(booking.athlete_id))
    return {
        "id": booking.id, "event_id": booking.event_id, "athlete_id": booking.athlete_id,
        "therapist_id": booking.therapist_id, "kind": booking.kind,
        "start": _utc(booking.start), "end": _utc(booking.end), "status": booking.status,
        "uid": booking.uid, "sequence": booking.sequence,
        "invite_url": f"/api/v1/bookings/{booking.id}/invite.ics",
        "screening": shown,
        **({"shared_with_event_id": booking.shared_event_id}
           if getattr(booking, "shared_event_id", None) is not None else {}),
    }


def bookings_json(bookings: list[Any]) -> list[dict[str, Any]]:
    """Several bookings, their athletes' screenings read in one query."""
    screenings = screening.for_bookings(b.athlete_id for b in bookings)
    return [booking_json(b, screenings) for b in bookings]


class BookingScreeningOut(Out):
    """A booking's view of its athlete's screening: never in an .ics, only in the app."""

    flagged: list[str] = Field(description="considerations the athlete answered yes to")
    decision: Literal["cleared", "not-cleared"] | None = Field(
        description="the therapist's recorded decision; null: not reviewed (since the "
        "last change)")
