"""JSON API v1: busy-calendar import (upload) and subscriptions by URL.

Only the therapist themself and admins see or change these (anyone else: 404): a
subscription's address is a secret that reads the therapist's whole calendar."""

from __future__ import annotations

from flask import jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from ..services import busy
from .api import bp, doc
from .errors import ApiError
from .http import answer, body_limit, current_caller, parse_body
from .limits import heavy, limited
from .schemas import calendars as sc
from .schemas.base import page_of


def _calendar_body() -> bytes:
    if request.mimetype != "text/calendar":
        raise ApiError(415, "unsupported-media-type",
                       "send the calendar with Content-Type: text/calendar")
    limit = request.max_content_length
    if limit is None:
        return request.get_data(cache=True)
    # A declared length over the limit was refused by the guard; a streamed body is cut at
    # the limit by werkzeug without an error, so read one byte more to tell.
    request.max_content_length = limit + 1
    try:
        data = request.get_data(cache=True)  # kept: a unit of work run again reads it again
    finally:
        request.max_content_length = limit
    if len(data) > limit:
        raise RequestEntityTooLarge()
    return data


calendar_body = _calendar_body  # also the race calendar's upload (web/api_race_calendars.py)


@bp.put("/therapists/<int:therapist_id>/busy-calendar")
@doc(summary="Replace the therapist's imported busy calendar (body: text/calendar, at most "
     "CALENDAR_MAX_BYTES); a body that does not parse or is too complex is a 422 and the "
     "previous import stays in force", body=sc.CalendarText, content="text/calendar",
     response=sc.BusyCalendarOut)
@body_limit("CALENDAR_MAX_BYTES")
@heavy
@limited("RATELIMIT_CALENDAR_UPLOADS")
def put_busy_calendar(therapist_id: int):
    calendar = busy.import_busy_upload(current_caller(), therapist_id, _calendar_body)
    return answer(sc.upload_json(calendar))


@bp.get("/therapists/<int:therapist_id>/busy-calendar")
@doc(summary="The therapist's imported busy calendar: busy intervals in force, last import",
     response=sc.BusyCalendarOut)
def get_busy_calendar(therapist_id: int):
    return jsonify(sc.upload_json(busy.upload_for(current_caller(), therapist_id)))


@bp.post("/therapists/<int:therapist_id>/calendar-subscriptions")
@doc(summary="Subscribe to the therapist's calendar by its secret address (synced by "
     "`flask calendars sync`, due at once)", body=sc.SubscriptionIn,
     response=sc.SubscriptionOut, status=201)
@limited("RATELIMIT_CALENDAR_UPLOADS")
def add_subscription(therapist_id: int):
    data = parse_body(sc.SubscriptionIn)
    calendar = busy.add_subscription_for(current_caller(), therapist_id, data.url,
                                         data.interval_minutes)
    return answer(sc.subscription_json(calendar), 201)


@bp.get("/therapists/<int:therapist_id>/calendar-subscriptions")
@doc(summary="The therapist's calendar subscriptions: last synced at, last error",
     response=page_of(sc.SubscriptionOut))
def list_subscriptions(therapist_id: int):
    found = busy.subscriptions_for(current_caller(), therapist_id)
    return jsonify({"items": [sc.subscription_json(c) for c in found], "next": None})


@bp.delete("/therapists/<int:therapist_id>/calendar-subscriptions/<int:subscription_id>")
@doc(summary="Remove a calendar subscription and the busy intervals it brought in",
     status=204)
def delete_subscription(therapist_id: int, subscription_id: int):
    busy.delete_subscription_for(current_caller(), therapist_id, subscription_id)
    return answer(None, 204)
