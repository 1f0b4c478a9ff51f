"""JSON API v1: busy-calendar import (upload) and subscriptions by URL.

Only the therapist themself and admins see or change these (anyone else: 404): a
subscription's address is a secret that reads the therapist's whole calendar."""

from __future__ import annotations

from typing import Annotated, Any

from flask import jsonify, request
from pydantic import ConfigDict, Field, RootModel
from werkzeug.exceptions import RequestEntityTooLarge

from ..db.models import BusyCalendar, Therapist
from ..extensions import db
from ..services import busy, clinic
from . import access
from . import schemas as s
from .api import bp, doc, done
from .errors import ApiError
from .http import current_user, parse_body


def body_limit(config_key: str):
    """Let this view's request body grow to the config value `config_key` (web/api.py's
    guard applies it before the global MAX_CONTENT_LENGTH check)."""

    def decorate(view):
        view.body_limit = config_key
        return view

    return decorate


class CalendarText(RootModel[str]):
    """An iCalendar file (RFC 5545), e.g. the export of the therapist's calendar app."""

    model_config = ConfigDict(json_schema_extra={"contentMediaType": "text/calendar"})


class BusyCalendarOut(s.Out):
    busy_intervals: int = Field(description="busy intervals in force from the last good "
                                "import (merged: overlapping or touching time is one)")
    synced_at: s.Instant | None = Field(description="when the last good import was stored")
    body_sha256: str | None = Field(description="the hash of the body in force")


class SubscriptionIn(s.In):
    url: Annotated[str, Field(max_length=busy.MAX_URL_LENGTH,
                              description="the calendar's secret iCal address: http(s):// "
                              "or webcal:// (read as https://)")]
    interval_minutes: Annotated[int, Field(ge=5, le=10080)] = 60


class SubscriptionOut(s.Out):
    id: int
    url: str
    interval_minutes: int
    busy_intervals: int
    last_synced_at: s.Instant | None = Field(description="the last good import")
    last_checked_at: s.Instant | None = Field(description="the last attempt, good or not")
    last_error: str | None = Field(description="why the last attempt failed; null if it "
                                   "worked (the last good import stays in force)")
    last_error_at: s.Instant | None
    next_sync_at: s.Instant | None
    created_at: s.Instant


def _own_therapist(therapist_id: int) -> Therapist:
    return access.therapist_owned(current_user(), clinic.get(Therapist, therapist_id,
                                                             "therapist"))


def upload_json(calendar: BusyCalendar | None) -> dict[str, Any]:
    if calendar is None:
        return {"busy_intervals": 0, "synced_at": None, "body_sha256": None}
    return s.dump(BusyCalendarOut, {"busy_intervals": calendar.busy_count,
                                    "synced_at": calendar.synced_at,
                                    "body_sha256": calendar.body_hash})


def subscription_json(calendar: BusyCalendar) -> dict[str, Any]:
    return s.dump(SubscriptionOut, {
        "id": calendar.id, "url": calendar.url, "interval_minutes": calendar.interval_minutes,
        "busy_intervals": calendar.busy_count, "last_synced_at": calendar.synced_at,
        "last_checked_at": calendar.checked_at, "last_error": calendar.error,
        "last_error_at": calendar.error_at, "next_sync_at": calendar.due_at,
        "created_at": calendar.created_at})


def _calendar_body() -> bytes:
    if request.mimetype != "text/calendar":
        raise ApiError(415, "unsupported-media-type",
                       "send the calendar with Content-Type: text/calendar")
    limit = request.max_content_length
    if limit is None:
        return request.get_data(cache=False)
    # A declared length over the limit was refused by the guard; a streamed body is cut at
    # the limit by werkzeug without an error, so read one byte more to tell.
    request.max_content_length = limit + 1
    try:
        data = request.get_data(cache=False)
    finally:
        request.max_content_length = limit
    if len(data) > limit:
        raise RequestEntityTooLarge()
    return data


@bp.put("/therapists/<int:therapist_id>/busy-calendar")
@doc(summary="Replace the therapist's imported busy calendar (body: text/calendar, at most "
     "CALENDAR_MAX_BYTES); a body that does not parse or is too complex is a 422 and the "
     "previous import stays in force", body=CalendarText, content="text/calendar",
     response=BusyCalendarOut)
@body_limit("CALENDAR_MAX_BYTES")
def put_busy_calendar(therapist_id: int):
    therapist = _own_therapist(therapist_id)
    body = _calendar_body()
    calendar = busy.unchanged_upload(therapist, body)
    if calendar is None:
        zone = therapist.timezone
        # Expanding a big calendar takes seconds: hold no transaction meanwhile (on SQLite
        # this request's transaction holds the database's write lock). Nothing was written.
        db.session.rollback()
        intervals = busy.expand(body, zone)
        calendar = busy.replace_upload(therapist, body, intervals)
    return done(upload_json(calendar))


@bp.get("/therapists/<int:therapist_id>/busy-calendar")
@doc(summary="The therapist's imported busy calendar: busy intervals in force, last import",
     response=BusyCalendarOut)
def get_busy_calendar(therapist_id: int):
    return jsonify(upload_json(busy.upload_of(_own_therapist(therapist_id))))


@bp.post("/therapists/<int:therapist_id>/calendar-subscriptions")
@doc(summary="Subscribe to the therapist's calendar by its secret address (synced by "
     "`flask calendars sync`, due at once)", body=SubscriptionIn, response=SubscriptionOut,
     status=201)
def add_subscription(therapist_id: int):
    data = parse_body(SubscriptionIn)
    therapist = _own_therapist(therapist_id)
    calendar = busy.add_subscription(therapist, data.url, data.interval_minutes)
    return done(subscription_json(calendar), 201)


@bp.get("/therapists/<int:therapist_id>/calendar-subscriptions")
@doc(summary="The therapist's calendar subscriptions: last synced at, last error",
     response=s.page_of(SubscriptionOut))
def list_subscriptions(therapist_id: int):
    rows = busy.subscriptions(_own_therapist(therapist_id))
    return jsonify({"items": [subscription_json(c) for c in rows], "next": None})


@bp.delete("/therapists/<int:therapist_id>/calendar-subscriptions/<int:subscription_id>")
@doc(summary="Remove a calendar subscription and the busy intervals it brought in",
     status=204)
def delete_subscription(therapist_id: int, subscription_id: int):
    busy.delete_subscription(_own_therapist(therapist_id), subscription_id)
    return done(None, 204)

