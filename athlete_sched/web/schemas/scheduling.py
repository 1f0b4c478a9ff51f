"""Request and answer schemas of events, proposals and bookings."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ...core.memo import Memo
from .base import (
    AfterId,
    BookingKind,
    DateOrDateTimeIn,
    DateTimeIn,
    Id,
    In,
    Instant,
    Kind,
    Name,
    Out,
    Sport,
    TimeZoneName,
    dump,
    utc,
)


class TravelIn(In):
    """The athlete is away from home from `depart` until `return` (date-times; naive: the
    event's zone)."""

    depart: DateTimeIn
    return_: DateTimeIn = Field(alias="return")


class EventIn(In):
    athlete_id: Id | None = None
    team_id: Id | None = None
    name: Name
    sport: Sport = "other"
    timezone: TimeZoneName
    start: DateOrDateTimeIn
    end: DateOrDateTimeIn | None = None
    priority: Literal["A", "B", "C"] = "A"
    venue_site_id: Id | None = Field(None, description=(
        "a site near the venue (a race-weekend tent): sessions while the athlete is away "
        "are there"))
    travel: TravelIn | None = None

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
    venue_site_id: Id | None = Field(None, description="null removes the venue site")
    travel: TravelIn | None = Field(None, description="null removes the travel")
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
    site_id: Annotated[list[Id], Field(max_length=50)] = Field(
        default_factory=list, description=(
            "repeatable: only slots at these sites (default: the athlete's home site and "
            "the event's venue site where set, else every site)"))


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



# --- answers ---

class IntervalOut(Out):
    start: Instant
    end: Instant


class WindowsOut(Out):
    pre: IntervalOut
    post: IntervalOut


class TravelOut(Out):
    depart: Instant
    return_: Instant = Field(alias="return")


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
    venue_site_id: int | None = None
    travel: TravelOut | None = None
    calendar_uid: str | None = Field(None, description="the UID of the race calendar's "
                                     "VEVENT it came from (PUT .../race-calendar)")
    removed_from_calendar: bool = Field(False, description="the race calendar no longer "
                                        "holds it (kept because it has sessions)")


class SlotOut(Out):
    therapist_id: int
    start: Instant
    end: Instant
    kind: Kind
    site_id: int | None = Field(description="the site of the working period it lies in")
    shared_with_event_id: int | None = Field(
        None, description="present when the slot also serves another event of the "
        "athlete's season: this post is that event's pre, or this pre is its post")


class ReasonOut(Out):
    code: Literal["past", "travel", "site", "no-therapist", "full"]
    message: str


class ProposalsOut(Out):
    event_id: int
    windows: WindowsOut
    pre: list[SlotOut]
    post: list[SlotOut]
    reasons: dict[Literal["pre", "post"], ReasonOut] = Field(
        default_factory=dict, description="why a kind asked for has no slot")


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
    site_id: int | None = Field(None, description="where the session is")
    shared_with_event_id: int | None = Field(
        None, description="present when the session also serves another event")
    screening: BookingScreeningOut | None = Field(None, description="the athlete's screening "
                                                  "(flags, decision); null: not answered")
    flag: Literal["outside-window"] | None = Field(
        None, description="present while the session's race moved and its new windows no "
        "longer hold it (cleared when it is moved, cancelled, or the race moves back)")


class EventChangeOut(EventOut):
    flagged_bookings: list[BookingOut] = Field(
        description="confirmed bookings the new windows no longer hold (left in place)")
    moved_bookings: list[BookingOut] = Field(
        description="bookings rescheduled into the new windows (move_bookings: true)")


class BookingScreeningOut(Out):
    """A booking's view of its athlete's screening: never in an .ics, only in the app."""

    flagged: list[str] = Field(description="considerations the athlete answered yes to")
    decision: Literal["cleared", "not-cleared"] | None = Field(
        description="the therapist's recorded decision; null: not reviewed (since the "
        "last change)")


# --- serializers (the services' values -> JSON-ready dicts) ---

def windows_json(windows: Any) -> dict[str, Any]:
    return dump(WindowsOut, {"pre": windows.pre._asdict(), "post": windows.post._asdict()})


def _date_or_instant(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    return utc(value) if isinstance(value, datetime) else value.isoformat()


def event_json(view: Any) -> dict[str, Any]:
    """An event with its windows (services.common.EventView)."""
    event, timing = view.event, view.timing
    return {
        "id": event.id, "athlete_id": event.athlete_id, "team_id": event.team_id,
        "name": event.name, "sport": event.sport, "timezone": event.timezone,
        "start": _date_or_instant(timing.start), "end": _date_or_instant(timing.end),
        "all_day": event.start_is_date, "finish_known": timing.finish is not None,
        "priority": event.priority, "windows": windows_json(view.windows),
        "venue_site_id": event.venue_site_id,
        "travel": None if event.travel_depart is None else {
            "depart": utc(event.travel_depart), "return": utc(event.travel_return)},
        "calendar_uid": event.calendar_uid,
        "removed_from_calendar": bool(event.removed_from_calendar),
    }


def slot_json(slot: Any) -> dict[str, Any]:
    return {"therapist_id": slot.therapist_id, "start": utc(slot.start),
            "end": utc(slot.end), "kind": slot.kind, "site_id": slot.site_id}


def proposals_json(proposals: Any) -> dict[str, Any]:
    """The proposals answer (services.proposals.Proposals); a slot that also serves
    another event says which."""
    def one(slot: Any) -> dict[str, Any]:
        other = proposals.shared.get(slot)
        found = slot_json(slot)
        return found if other is None else {**found, "shared_with_event_id": other}

    return {"event_id": proposals.event_id, "windows": windows_json(proposals.windows),
            "pre": [one(x) for x in proposals.found["pre"]],
            "post": [one(x) for x in proposals.found["post"]],
            **({"reasons": {kind: {"code": r.code, "message": r.message}
                            for kind, r in proposals.reasons.items()}}
               if proposals.reasons else {})}


def proposals_bytes(proposals: Any) -> bytes:
    """proposals_json as the bytes json_bytes would send for it, written out (the view's
    answer, kept as it is by the proposals cache): most of an answer is its slots, and
    building a dict per slot for json.dumps to walk costs about as much as the rest of
    a computed answer (tests/api/test_proposals_json.py holds the two equal)."""
    shared = proposals.shared
    windows = proposals.windows
    return "".join((
        f'{{"event_id": {proposals.event_id}, "windows": {{"pre": ',
        _interval_text(windows.pre), ', "post": ', _interval_text(windows.post),
        '}, "pre": [', _slots_text(proposals.found["pre"], shared),
        '], "post": [', _slots_text(proposals.found["post"], shared),
        "]",
        "" if not proposals.reasons else ', "reasons": ' + json.dumps(
            {kind: {"code": r.code, "message": r.message}
             for kind, r in proposals.reasons.items()}),
        "}\n")).encode()


def _slots_text(slots: Sequence[Any], shared: dict[Any, int]) -> str:
    """The slots' texts, joined. The tuple of slots that the per-process cache of shared
    slots hands to every event asking the same question (services/proposals.py) is
    written once while it is kept, unless a slot of it serves another event of this
    athlete's season."""
    if shared or not isinstance(slots, tuple):
        return ", ".join(_slot_text(x, shared) for x in slots)
    kept = _TUPLE_TEXTS.get(id(slots))
    if kept is not None and kept[0] is slots:
        return kept[1]
    text = ", ".join(_slot_text(x, shared) for x in slots)
    _TUPLE_TEXTS.keep(id(slots), (slots, text))  # the tuple held: its id stays its own
    return text


# Texts of slot tuples (frozen slots: the text never changes) by the tuple's identity:
# telling two equal tuples apart by value would cost a hash of every slot.
_TUPLE_TEXTS: Memo[int, tuple[Any, str]] = Memo(1024)


def _interval_text(interval: Any) -> str:
    return f'{{"start": "{utc(interval.start)}", "end": "{utc(interval.end)}"}}'


_KIND_TEXT = {"pre": '"pre"', "post": '"post"'}


def _slot_text(slot: Any, shared: dict[Any, int]) -> str:
    other = shared.get(slot) if shared else None
    text = _SLOT_TEXTS.get(slot)
    if text is None:
        text = _slot_fields(slot)
        if slot.start.tzinfo is UTC and slot.end.tzinfo is UTC:  # as base.utc keeps them
            _SLOT_TEXTS.keep(slot, text)
    return text + ("}" if other is None else f', "shared_with_event_id": {int(other)}}}')


# A slot's text without its closing brace, kept: the slots of one day's windows come back
# in request after request (core.proposals.Slot: frozen, a key). Emptied when full.
_SLOT_TEXTS: Memo[Any, str] = Memo(16_384)


def _slot_fields(slot: Any) -> str:
    site = "null" if slot.site_id is None else int(slot.site_id)
    kind = _KIND_TEXT.get(slot.kind) or json.dumps(slot.kind)
    return (f'{{"therapist_id": {int(slot.therapist_id)}, "start": "{utc(slot.start)}", '
            f'"end": "{utc(slot.end)}", "kind": {kind}, "site_id": {site}')


def booking_json(view: Any) -> dict[str, Any]:
    """One booking with its athlete's screening summary (services.bookings.BookingView)."""
    booking = view.booking
    return {
        "id": booking.id, "event_id": booking.event_id, "athlete_id": booking.athlete_id,
        "therapist_id": booking.therapist_id, "kind": booking.kind,
        "start": utc(booking.start), "end": utc(booking.end), "status": booking.status,
        "uid": booking.uid, "sequence": booking.sequence,
        "invite_url": f"/api/v1/bookings/{booking.id}/invite.ics",
        "screening": view.screening, "site_id": booking.site_id,
        **({"shared_with_event_id": booking.shared_event_id}
           if booking.shared_event_id is not None else {}),
        **({"flag": booking.flag} if booking.flag is not None else {}),
    }


def bookings_json(views: list[Any]) -> list[dict[str, Any]]:
    return [booking_json(v) for v in views]
