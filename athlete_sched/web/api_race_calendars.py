"""JSON API v1: an athlete's race calendar, uploaded or subscribed by URL (issue 15).

Those who act for the athlete (the athlete, their coach, admins) see and change it, as
they do the athlete's events; anyone else: 404."""

from __future__ import annotations

from flask import jsonify

from ..services import race_calendars, race_subscriptions
from .api import bp, doc
from .api_busy import calendar_body
from .http import answer, body_limit, current_caller, parse_body
from .limits import heavy, limited
from .schemas import calendars as sc
from .schemas import race_calendars as rc

IMPORT_ERRORS = {
    409: "race-calendar-subscribed: the athlete's races come from a subscription",
    413: "the body is larger than CALENDAR_MAX_BYTES",
    415: "unsupported-media-type: the body must be text/calendar",
    422: "calendar-unparsable (naming the event: no UID, no DTSTART, a UID twice, an end "
         "before the start, a race longer than an event may last) or calendar-too-complex; "
         "nothing was changed"}


@bp.put("/athletes/<int:athlete_id>/race-calendar")
@doc(summary="Import the athlete's race calendar (body: text/calendar): every VEVENT is "
     "one event keyed by its UID; races that moved move their sessions; races gone are "
     "removed, or kept marked when they have sessions. All or nothing",
     body=sc.CalendarText, content="text/calendar", response=rc.RaceImportOut,
     errors=IMPORT_ERRORS)
@body_limit("CALENDAR_MAX_BYTES")
@heavy
@limited("RATELIMIT_CALENDAR_UPLOADS")
def put_race_calendar(athlete_id: int):
    counts = race_calendars.import_upload(current_caller(), athlete_id, calendar_body)
    return answer(rc.import_json(counts))


@bp.post("/athletes/<int:athlete_id>/race-calendar/subscription")
@doc(summary="Subscribe the athlete to a race calendar address, kept in step on every "
     "sync (due at once); replaces an uploaded race calendar", body=rc.RaceSubscriptionIn,
     response=rc.RaceSubscriptionOut, status=201,
     errors={409: "race-calendar-subscribed: there is a subscription already"})
@limited("RATELIMIT_CALENDAR_UPLOADS")
def subscribe_race_calendar(athlete_id: int):
    data = parse_body(rc.RaceSubscriptionIn)
    calendar = race_subscriptions.subscribe_for(current_caller(), athlete_id, data.url,
                                            data.interval_minutes)
    return answer(rc.subscription_json(calendar), 201)


@bp.get("/athletes/<int:athlete_id>/race-calendar/subscription")
@doc(summary="The athlete's race calendar subscription: last synced, last error",
     response=rc.RaceSubscriptionOut)
def get_race_subscription(athlete_id: int):
    return jsonify(rc.subscription_json(
        race_subscriptions.subscription_for(current_caller(), athlete_id)))


@bp.post("/athletes/<int:athlete_id>/race-calendar/subscription/sync")
@doc(summary="Sync the athlete's race calendar subscription now; a failure is recorded "
     "as its last error", response=rc.RaceImportOut)
@heavy
@limited("RATELIMIT_CALENDAR_UPLOADS")
def sync_race_subscription(athlete_id: int):
    return answer(rc.import_json(race_subscriptions.sync_now_for(current_caller(), athlete_id)))


@bp.delete("/athletes/<int:athlete_id>/race-calendar/subscription")
@doc(summary="Unsubscribe; the races it brought in stay the athlete's events", status=204)
def delete_race_subscription(athlete_id: int):
    race_subscriptions.unsubscribe_for(current_caller(), athlete_id)
    return answer(None, 204)
