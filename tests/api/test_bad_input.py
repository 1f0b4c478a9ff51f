"""Nasty payloads at every write route: each gets the contract's status and error shape,
never a 500, and the database is unchanged (every table's rows, hashed, before and after).

A row is (route, body, content type, status, error code or None, field or None); the body
is a dict/list (sent as JSON), raw bytes, or a function of the world's ids. URLs name the
world's ids in braces. Each row's id says what it checks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import assert_error, book, build_world, created, snapshot

JSON = "application/json"
MIB = 1024 * 1024
HUGE = 2**64
ROUTES = {
    "users": ("POST", "/api/v1/users"),
    "therapists": ("POST", "/api/v1/therapists"),
    "working-hours": ("PUT", "/api/v1/therapists/{therapist}/working-hours"),
    "time-off": ("POST", "/api/v1/therapists/{therapist}/time-off"),
    "time-off-delete": ("DELETE", "/api/v1/therapists/{therapist}/time-off/{time_off}"),
    "athletes": ("POST", "/api/v1/athletes"),
    "teams": ("POST", "/api/v1/teams"),
    "members": ("POST", "/api/v1/teams/{team}/members"),
    "events": ("POST", "/api/v1/events"),
    "event-patch": ("PATCH", "/api/v1/events/{event}"),
    "bookings": ("POST", "/api/v1/bookings"),
    "booking-patch": ("PATCH", "/api/v1/bookings/{booking}"),
    "cancel": ("POST", "/api/v1/bookings/{booking}/cancel"),
}
BODYLESS = ("time-off-delete", "cancel")


def therapist(**fields: Any) -> dict[str, Any]:
    return {"name": "Ana Ruiz", "email": "new@clinic.test", "timezone": "Europe/Berlin",
            **fields}


def period(day: str = "mon", start: str = "08:00", end: str = "12:00") -> dict[str, str]:
    return {"day": day, "start": start, "end": end}


def athlete(**fields: Any) -> dict[str, Any]:
    return {"name": "Kai", "email": "kai@athletes.test", "sport": "mtb",
            "timezone": "Europe/Berlin", **fields}


def event(**fields: Any) -> Callable[[dict[str, int]], dict[str, Any]]:
    def body(w: dict[str, int]) -> dict[str, Any]:
        data = {"athlete_id": w["athlete"], "name": "Trail 50", "sport": "running",
                "timezone": "Europe/Berlin", "start": "2027-06-12T07:00",
                "end": "2027-06-12T15:00", **fields}
        return {k: v for k, v in data.items() if v is not ...}
    return body


def booking(**fields: Any) -> Callable[[dict[str, int]], dict[str, Any]]:
    """A post booking (Mon 17 May, 10:00 Berlin) for the world's first athlete with the
    second therapist, which is free; `...` drops a field, "@name" is a world id."""
    def body(w: dict[str, int]) -> dict[str, Any]:
        data = {"event_id": w["event"], "therapist_id": w["other_therapist"], "kind": "post",
                "start": "2027-05-17T10:00", **fields}
        return {k: (w[v[1:]] if isinstance(v, str) and v.startswith("@") else v)
                for k, v in data.items() if v is not ...}
    return body


TOO_BIG = b'{"name": "' + b"x" * MIB + b'"}'


# --- the rows -----------------------------------------------------------------------------

def generic_rows() -> list:
    """Malformed bodies, wrong content types, oversized bodies: every route with a body."""
    rows = []
    for route in ROUTES:
        if route in BODYLESS:
            continue
        # a bare list is the working hours' documented body: that route gets a string
        not_object = b'"text"' if route == "working-hours" else b'[{"name": "x"}]'
        rows += [
            pytest.param(route, b'{"name": ', JSON, 400, "malformed-json", None,
                         id=f"{route}-truncated-json"),
            pytest.param(route, b'{"name": "\xff\xfe"}', JSON, 400, "malformed-json", None,
                         id=f"{route}-not-utf8"),
            pytest.param(route, b'{"limit": NaN}', JSON, 400, "malformed-json", None,
                         id=f"{route}-nan-is-not-json"),
            pytest.param(route, not_object, JSON, 400, "malformed-body", None,
                         id=f"{route}-array-not-object"),
            pytest.param(route, b"5", JSON, 400, "malformed-body", None,
                         id=f"{route}-number-not-object"),
            pytest.param(route, b'{"name": "x"}', "text/plain", 415, None, None,
                         id=f"{route}-text-plain"),
        ]
    for route in ROUTES:
        rows.append(pytest.param(route, TOO_BIG, JSON, 413, "body-too-large", None,
                                 id=f"{route}-body-over-1mib"))
    return rows + [pytest.param(route, body, ctype, status, code, None, id=what)
                   for route, body, ctype, status, code, what in ODD_BODIES]


# One route each: the parsing is shared, the rows above prove every route uses it.
ODD_BODIES = [
    ("events", b"[" * 200_000, JSON, 400, "malformed-json", "events-nested-too-deep"),
    ("bookings", b'{"a": 1} trailing', JSON, 400, "malformed-json", "bookings-trailing-garbage"),
    ("therapists", b"", JSON, 400, "malformed-json", "therapists-empty-body"),
    # RFC 8259 lets a parser ignore a byte order mark: then the fields are missing
    ("therapists", b"\xef\xbb\xbf{}", JSON, 422, "invalid", "therapists-utf8-bom-ignored"),
    ("time-off", b"null", JSON, 400, "malformed-body", "time-off-null-not-object"),
    ("teams", b'"text"', JSON, 400, "malformed-body", "teams-string-not-object"),
    ("athletes", b"name=x", "application/x-www-form-urlencoded", 415, None,
     "athletes-form-encoded"),
    ("event-patch", b'{"name": "x"}', None, 415, None, "event-patch-no-content-type"),
    ("booking-patch", b'{"start": "x"}', "application/merge-patch+json", 415, None,
     "booking-patch-merge-patch-type"),
    ("users", b'{"email": "x@y.test", "role": "coach"}', "application/xml", 415, None,
     "users-xml-type"),
]


USERS = [
    ({"email": "x@y.test", "role": "king"}, 422, "invalid", "role", "unknown-role"),
    ({"email": "x@y.test", "role": True}, 422, "invalid", "role", "role-bool"),
    ({"email": "not-an-email", "role": "coach"}, 422, "invalid", "email", "bad-email"),
    ({"role": "coach"}, 422, "invalid", "email", "missing-email"),
    ({"email": None, "role": "coach"}, 422, "invalid", "email", "null-email"),
    ({"email": 42, "role": "coach"}, 422, "invalid", "email", "number-for-email"),
    ({"email": "x@y.test", "role": "coach", "name": 5}, 422, "invalid", "name",
     "number-for-name"),
    ({"email": "x@y.test", "role": "coach", "name": "a\x00b"}, 422, "invalid", "name",
     "nul-in-name"),
    ({"email": "\ud800@y.test", "role": "coach"}, 422, "invalid", "email",
     "lone-surrogate-email"),
    ({"email": "x@y.test", "role": "coach", "name": "x" * 201}, 422, "invalid", "name",
     "name-too-long"),
    ({"email": "ADMIN@test.example", "role": "coach"}, 409, "email-taken", "email",
     "email-taken-any-case"),
]

THERAPISTS = [
    (therapist(timezone="Mars/Olympus_Mons"), 422, "invalid", "timezone", "unknown-zone"),
    (therapist(timezone="UTC+01:00"), 422, "invalid", "timezone", "offset-not-a-zone"),
    (therapist(timezone="/etc/localtime"), 422, "invalid", "timezone", "path-not-a-zone"),
    (therapist(timezone=1), 422, "invalid", "timezone", "number-for-zone"),
    (therapist(session_minutes="45"), 422, "invalid", "session_minutes", "string-for-int"),
    (therapist(session_minutes=True), 422, "invalid", "session_minutes", "bool-for-int"),
    (therapist(session_minutes=45.5), 422, "invalid", "session_minutes", "float-for-int"),
    (therapist(session_minutes=HUGE), 422, "invalid", "session_minutes", "huge-int"),
    (therapist(session_minutes=0), 422, "invalid", "session_minutes", "zero-minutes"),
    (therapist(buffer_minutes=-5), 422, "invalid", "buffer_minutes", "negative-buffer"),
    (therapist(buffer_minutes=None), 422, "invalid", "buffer_minutes", "null-buffer"),
    (therapist(name=5), 422, "invalid", "name", "number-for-name"),
    (therapist(name=""), 422, "invalid", "name", "empty-name"),
    (therapist(name=None), 422, "invalid", "name", "null-name"),
    ({"email": "n@c.test", "timezone": "Europe/Berlin"}, 422, "invalid", "name",
     "missing-name"),
    (therapist(name="\ud83d"), 422, "invalid", "name", "lone-surrogate"),
    (therapist(name="Ana\x00"), 422, "invalid", "name", "nul-char"),
    (therapist(working_hours=[period("mon", "08:00", "12:00"), period("mon", "11:00", "13:00")]),
     422, "invalid", "working_hours", "overlapping-periods"),
    (therapist(working_hours=[period("tue", "12:00", "08:00")]), 422, "invalid",
     "working_hours.0", "period-end-before-start"),
    (therapist(working_hours=[period("tue", "09:00", "09:00")]), 422, "invalid",
     "working_hours.0", "empty-period"),
    (therapist(working_hours=[period("monday")]), 422, "invalid", "working_hours.0.day",
     "unknown-day"),
    (therapist(working_hours=[period("mon", "25:00", "26:00")]), 422, "invalid",
     "working_hours.0.start", "hour-25"),
    (therapist(working_hours=[period("mon", "8:00", "12:00")]), 422, "invalid",
     "working_hours.0.start", "clock-without-leading-zero"),
    (therapist(working_hours={"day": "mon"}), 422, "invalid", "working_hours",
     "object-for-list"),
    (therapist(working_hours=[None]), 422, "invalid", "working_hours.0", "null-period"),
    (therapist(email="{therapist_email}"), 409, "email-taken", "email", "email-taken"),
]

WORKING_HOURS = [
    ([period("wed", "08:00", "12:00"), period("wed", "10:00", "14:00")], 422, "invalid",
     "working_hours", "overlapping-periods"),
    ({"working_hours": [period("wed", "14:00", "13:00")]}, 422, "invalid", "working_hours.0",
     "period-end-before-start"),
    ({"working_hours": None}, 422, "invalid", "working_hours", "null-list"),
    ({}, 422, "invalid", "working_hours", "missing-list"),
    ([{"day": 1, "start": "08:00", "end": "09:00"}], 422, "invalid", "working_hours.0.day",
     "number-for-day"),
    ([period("sun", "08:00", 9)], 422, "invalid", "working_hours.0.end", "number-for-clock"),
]

TIME_OFF = [
    ({"start": "2027-02-02T10:00", "end": "2027-02-02T09:00"}, 422, "invalid-period", "end",
     "end-before-start"),
    ({"start": "2027-02-02T10:00", "end": "2027-02-02T10:00"}, 422, "invalid-period", "end",
     "empty-period"),
    ({"start": "2027-02-03", "end": "2027-02-02"}, 422, "invalid-period", "end",
     "dates-reversed"),
    ({"start": "2027-02-02T11:00+02:00", "end": "2027-02-02T08:30Z"}, 422, "invalid-period",
     "end", "offsets-reversed"),
    ({"start": 20270202, "end": "2027-02-03"}, 422, "invalid", "start", "number-for-date"),
    ({"start": "next tuesday", "end": "2027-02-03"}, 422, "invalid", "start", "prose-date"),
    ({"start": "0001-01-01", "end": "0001-01-02"}, 422, "invalid", "start", "year-1"),
    ({"start": "9999-12-31T23:00", "end": "9999-12-31T23:59"}, 422, "invalid", "start",
     "year-9999"),
    ({"start": "2027-02-02T10:00+25:00", "end": "2027-02-03"}, 422, "invalid", "start",
     "offset-out-of-range"),
    ({"start": "2027-02-02T10:00", "end": "2027-02-02T11:00", "reason": None}, 422,
     "invalid", "reason", "null-reason"),
    ({"start": "2027-02-02T10:00"}, 422, "invalid", "end", "missing-end"),
    ({"start": "2027-02-30", "end": "2027-03-01"}, 422, "invalid", "start", "february-30"),
]

ATHLETES = [
    (athlete(sport="curling"), 422, "invalid", "sport", "unknown-sport"),
    (athlete(timezone="Berlin"), 422, "invalid", "timezone", "unknown-zone"),
    (athlete(timezone=None), 422, "invalid", "timezone", "null-zone"),
    (athlete(sport=["mtb"]), 422, "invalid", "sport", "list-for-string"),
    (athlete(email="{athlete_email}"), 409, "email-taken", "email", "email-taken"),
    (athlete(team_id=999_999), 404, "not-found", "team_id", "unknown-team"),
    (athlete(team_id="1"), 422, "invalid", "team_id", "string-for-id"),
]

TEAMS = [
    ({"name": ""}, 422, "invalid", "name", "empty-name"),
    ({"name": None}, 422, "invalid", "name", "null-name"),
    ({"name": 42}, 422, "invalid", "name", "number-for-name"),
    ({"name": "T", "coach_email": "coach"}, 422, "invalid", "coach_email", "bad-coach-email"),
    ({}, 422, "invalid", "name", "missing-name"),
]

MEMBERS = [
    ({"athlete_id": 999_999}, 404, "not-found", "athlete_id", "unknown-athlete"),
    ({"athlete_id": "1"}, 422, "invalid", "athlete_id", "string-for-id"),
    ({"athlete_id": True}, 422, "invalid", "athlete_id", "bool-for-id"),
    ({"athlete_id": 1.0}, 422, "invalid", "athlete_id", "float-for-id"),
    ({"athlete_id": 2**31}, 422, "invalid", "athlete_id", "id-beyond-int32"),
    ({"athlete_id": HUGE}, 422, "invalid", "athlete_id", "huge-id"),
    ({"athlete_id": 0}, 422, "invalid", "athlete_id", "zero-id"),
    ({}, 422, "invalid", "athlete_id", "missing-id"),
    (lambda w: {"athlete_id": w["athlete"]}, 409, "already-member", "athlete_id",
     "already-member"),
]

EVENTS = [
    (lambda w: {**event()(w), "team_id": w["team"]}, 422, "invalid", None, "both-owners"),
    (event(athlete_id=...), 422, "invalid", None, "no-owner"),
    (event(athlete_id=999_999), 404, "not-found", "athlete_id", "unknown-athlete"),
    (event(athlete_id=..., team_id=999_999), 404, "not-found", "team_id", "unknown-team"),
    (event(athlete_id="7"), 422, "invalid", "athlete_id", "string-for-id"),
    (event(end="2027-06-12T06:00"), 422, "invalid-period", "end", "end-before-start"),
    (event(start="2027-06-12", end="2027-06-11"), 422, "invalid-period", "end",
     "end-day-before-start-day"),
    (event(timezone="Europe/Atlantis"), 422, "invalid", "timezone", "unknown-zone"),
    (event(start="12.06.2027"), 422, "invalid", "start", "german-date"),
    (event(start=20270612), 422, "invalid", "start", "number-for-date"),
    (event(start=None), 422, "invalid", "start", "null-start"),
    (event(start=...), 422, "invalid", "start", "missing-start"),
    (event(end="2027-09-01"), 422, "invalid-value", "end", "longer-than-60-days"),
    (event(start="9999-12-31", end=...), 422, "invalid", "start", "year-9999"),
    (event(priority="D"), 422, "invalid", "priority", "unknown-priority"),
    (event(sport=None), 422, "invalid", "sport", "null-sport"),
    (event(name="\x00"), 422, "invalid", "name", "nul-name"),
]

EVENT_PATCHES = [
    ({"end": "2027-05-15T07:00"}, 422, "invalid-period", "end", "end-before-start"),
    ({"start": "2027-05-16T08:00"}, 422, "invalid-period", "end", "start-after-end"),
    ({"timezone": "Mars/Base"}, 422, "invalid", "timezone", "unknown-zone"),
    ({"name": None}, 422, "invalid", "name", "null-name"),
    ({"start": None}, 422, "invalid", "start", "null-start"),
    ({"timezone": None}, 422, "invalid", "timezone", "null-zone"),
    ({"priority": "Z"}, 422, "invalid", "priority", "unknown-priority"),
    ({"move_bookings": "yes"}, 422, "invalid", "move_bookings", "string-for-bool"),
    ({"start": "2027-05-15T08:00+99:00"}, 422, "invalid", "start", "bad-offset"),
]

BOOKINGS = [
    (booking(start="2027-05-20T09:00"), 422, "outside-window", "start", "out-of-window"),
    (booking(kind="pre"), 422, "outside-window", "start", "pre-session-in-post-window"),
    (booking(start="2027-05-15T13:00"), 422, "outside-window", "start",
     "before-finish-plus-recovery-gap"),
    (booking(start="2027-05-17T12:15"), 422, "outside-working-hours", "start",
     "lunch-break"),
    (booking(start="2027-05-17T17:30"), 422, "outside-working-hours", "start",
     "runs-past-closing"),
    (booking(start="2027-05-16T10:00"), 422, "outside-working-hours", "start",
     "sunday-no-hours"),
    (booking(start="2027-01-04T01:00Z"), 422, "too-soon", "start", "before-notice"),
    (booking(event_id=999_999), 404, "not-found", "event_id", "unknown-event"),
    (booking(therapist_id=999_999), 404, "not-found", "therapist_id", "unknown-therapist"),
    (booking(kind="mid"), 422, "invalid", "kind", "unknown-kind"),
    (booking(kind=None), 422, "invalid", "kind", "null-kind"),
    (booking(start=1_779_000_000), 422, "invalid", "start", "epoch-number-for-start"),
    (booking(start="soon"), 422, "invalid", "start", "prose-start"),
    (booking(event_id="1"), 422, "invalid", "event_id", "string-for-id"),
    (booking(event_id=True), 422, "invalid", "event_id", "bool-for-id"),
    (booking(event_id=2**40), 422, "invalid", "event_id", "id-beyond-int32"),
    (booking(therapist_id=...), 422, "invalid", "therapist_id", "missing-therapist"),
    (booking(duration_minutes=0), 422, "invalid", "duration_minutes", "zero-duration"),
    (booking(notes=5), 422, "invalid", "notes", "number-for-notes"),
    (booking(therapist_id="@therapist", start="2027-05-17T09:30"), 409, "slot-taken",
     "start", "therapist-busy"),
    (booking(therapist_id="@therapist", start="2027-05-17T09:50"), 409, "slot-taken",
     "start", "inside-buffer-after"),
    (booking(therapist_id="@therapist", start="2027-05-17T08:10"), 409, "slot-taken",
     "start", "inside-buffer-before"),
    (booking(kind="pre", start="2027-05-12T10:00"), 409, "already-booked", "kind",
     "already-booked"),
    (booking(therapist_id="@therapist", start="2027-05-18T09:15"), 409, "athlete-busy",
     "start", "athlete-has-another-session"),
    (booking(start="2027-05-15T16:45"), 409, "athlete-busy", "start",
     "athlete-at-another-race"),
    (booking(event_id="@team_event", start="2027-06-02T10:00"), 422, "invalid-value",
     "athlete_id", "team-event-without-athlete"),
    (booking(event_id="@team_event", athlete_id="@other_athlete", start="2027-06-02T10:00"),
     422, "invalid-value", "athlete_id", "athlete-not-in-team"),
    (booking(athlete_id="@other_athlete"), 422, "invalid-value", "athlete_id",
     "athlete-not-the-events"),
]

BOOKING_PATCHES = [
    ({"start": "2027-05-20T09:00"}, 422, "outside-window", "start", "out-of-window"),
    ({"start": "2027-05-12T12:30"}, 422, "outside-working-hours", "start", "lunch-break"),
    ({"start": "2027-05-13T09:15"}, 409, "slot-taken", "start", "slot-taken"),
    ({"start": "2027-05-13T09:45"}, 409, "slot-taken", "start", "inside-buffer"),
    ({}, 422, "invalid", "start", "missing-start"),
    ({"start": None}, 422, "invalid", "start", "null-start"),
    ({"start": "2027-05-12T10:00", "therapist_id": 999_999}, 404, "not-found",
     "therapist_id", "unknown-therapist"),
    ({"start": "2027-05-12T10:00", "therapist_id": "2"}, 422, "invalid", "therapist_id",
     "string-for-id"),
]

UNKNOWN_IDS = [
    ("working-hours", "/api/v1/therapists/999999/working-hours", [period()], "unknown-therapist"),
    ("time-off", "/api/v1/therapists/999999/time-off",
     {"start": "2027-02-02", "end": "2027-02-03"}, "unknown-therapist"),
    ("time-off-delete", "/api/v1/therapists/{therapist}/time-off/999999", None,
     "unknown-time-off"),
    ("time-off-delete", "/api/v1/therapists/{therapist}/time-off/{other_time_off}", None,
     "time-off-of-another-therapist"),
    ("time-off-delete", "/api/v1/therapists/999999/time-off/{time_off}", None,
     "unknown-therapist"),
    ("time-off-delete", "/api/v1/therapists/{therapist}/time-off/99999999999999999999", None,
     "id-beyond-int64"),
    ("members", "/api/v1/teams/999999/members", lambda w: {"athlete_id": w["other_athlete"]},
     "unknown-team"),
    ("event-patch", "/api/v1/events/999999", {"name": "x"}, "unknown-event"),
    ("event-patch", "/api/v1/events/99999999999999999999", {"name": "x"}, "id-beyond-int64"),
    ("booking-patch", "/api/v1/bookings/999999", {"start": "2027-05-12T10:00"},
     "unknown-booking"),
    ("cancel", "/api/v1/bookings/999999/cancel", None, "unknown-booking"),
    ("cancel", "/api/v1/bookings/2147483648/cancel", None, "id-beyond-int32"),
]


def specific_rows() -> list:
    tables = {"users": USERS, "therapists": THERAPISTS, "working-hours": WORKING_HOURS,
              "time-off": TIME_OFF, "athletes": ATHLETES, "teams": TEAMS,
              "members": MEMBERS, "events": EVENTS, "event-patch": EVENT_PATCHES,
              "bookings": BOOKINGS, "booking-patch": BOOKING_PATCHES}
    rows = []
    for route, table in tables.items():
        for body, status, code, field, what in table:
            rows.append(pytest.param(route, body, JSON, status, code, field,
                                     id=f"{route}-{what}"))
    return rows


def send(api, world: dict[str, int], route: str, body: Any, content_type: str | None,
         url: str | None = None):
    method, template = ROUTES[route]
    url = (url or template).format(**world)
    if callable(body):
        body = body(world)
    if isinstance(body, dict | list):
        text = json.dumps(body)
        for name in ("therapist_email", "athlete_email"):
            text = text.replace(f"{{{name}}}", world.get(name, ""))
        body = text.encode()
    headers = {"Authorization": f"Bearer {api.token}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return api.client.open(url, method=method, data=body, headers=headers)


@pytest.fixture
def world(api, make_therapist, make_athlete, make_event) -> dict[str, Any]:
    found: dict[str, Any] = build_world(api, make_therapist, make_athlete, make_event)
    found["therapist_email"] = api.get(f"/api/v1/therapists/{found['therapist']}"
                                       ).get_json()["email"]
    found["athlete_email"] = api.get(f"/api/v1/athletes/{found['athlete']}").get_json()["email"]
    return found


@pytest.fixture
def small_world(api, make_therapist, make_athlete, make_event) -> dict[str, Any]:
    """One of each row the URLs name (malformed bodies never get as far as the ids)."""
    therapist, athlete = make_therapist(), make_athlete()
    event = make_event(athlete["id"])
    team = created(api.post("/api/v1/teams", {"name": "Trail Club"}))
    time_off = created(api.post(f"/api/v1/therapists/{therapist['id']}/time-off",
                                {"start": "2027-02-02", "end": "2027-02-03"}))
    booking = book(api, event["id"], therapist["id"], "pre", "2027-05-12T09:00")
    return {"therapist": therapist["id"], "athlete": athlete["id"], "event": event["id"],
            "team": team["id"], "time_off": time_off["id"], "booking": booking["id"],
            "other_therapist": therapist["id"], "other_athlete": athlete["id"]}


@pytest.mark.parametrize(("route", "body", "content_type", "status", "code", "field"),
                         generic_rows())
def test_malformed_bodies_are_refused_and_change_nothing(app, api, small_world, route, body,
                                                         content_type, status, code, field):
    before = snapshot(app)
    response = send(api, small_world, route, body, content_type)
    assert_error(response, status, code, field)
    assert snapshot(app) == before


@pytest.mark.parametrize(("route", "body", "content_type", "status", "code", "field"),
                         specific_rows())
def test_bad_values_are_refused_and_change_nothing(request, app, api, route, body,
                                                   content_type, status, code, field):
    # A value the schema refuses never reaches an id; the rest need the whole world.
    world = request.getfixturevalue("small_world" if code == "invalid" else "world")
    before = snapshot(app)
    response = send(api, world, route, body, content_type)
    assert_error(response, status, code, field)
    assert snapshot(app) == before


@pytest.mark.parametrize(("route", "url", "body"),
                         [pytest.param(r, u, b, id=f"{r}-{what}")
                          for r, u, b, what in UNKNOWN_IDS])
def test_unknown_ids_are_404_and_change_nothing(app, api, world, route, url, body):
    before = snapshot(app)
    response = send(api, world, route, body, JSON if body is not None else None, url)
    assert_error(response, 404, "not-found")
    assert snapshot(app) == before


VALID = {
    "users": {"email": "new-user@test.example", "role": "coach"},
    "therapists": therapist(),
    "working-hours": [period("sun", "09:00", "13:00")],
    "time-off": {"start": "2027-03-01", "end": "2027-03-02"},
    "time-off-delete": None,
    "athletes": athlete(),
    "teams": {"name": "Night Riders"},
    "members": lambda w: {"athlete_id": w["other_athlete"]},
    "events": event(),
    "event-patch": {"name": "Rennsteig Supermarathon"},
    # The team relay's pre (2 June): clear of the first athlete's season (their Evening 10k
    # post on 18 May keeps the marathon's post window closed by the 48-hour gap).
    "bookings": booking(event_id="@team_event", athlete_id="@athlete", kind="pre",
                        start="2027-06-02T10:00"),
    "booking-patch": {"start": "2027-05-12T10:00"},
    "cancel": None,
}


@pytest.mark.parametrize("route", list(ROUTES))
def test_the_snapshot_sees_a_valid_write(app, api, world, route):
    """The control: the same routes with a good body succeed and do change the snapshot,
    so the 'unchanged' assertions above could fail."""
    before = snapshot(app)
    body = VALID[route]
    # new hours over the world's booked sessions: kept (else 409 sessions-affected)
    url = ROUTES[route][1] + ("?affected=keep" if route == "working-hours" else "")
    response = send(api, world, route, body, JSON if body is not None else None, url)
    assert response.status_code in (200, 201, 204), response.get_data(as_text=True)
    assert snapshot(app) != before


# --- routing and auth errors are JSON too -------------------------------------------------

def api_rules(app) -> list:
    return [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/")]


def concrete(rule: str) -> str:
    """A URL for a rule, every path parameter set to 1."""
    return re.sub(r"<[^>]+>", "1", rule)


def test_unknown_api_route_is_json_404(api, client):
    for response in (api.get("/api/v1/no-such-thing"), client.get("/api/v2/therapists"),
                     api.post("/api/v1/therapists/1/nope", {"x": 1})):
        assert_error(response, 404, "not-found")


def test_wrong_method_is_json_405_on_every_api_route(app, api):
    checked = 0
    for rule in api_rules(app):
        for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - set(rule.methods)):
            if any(other.rule == rule.rule and method in other.methods
                   for other in api_rules(app)):
                continue  # the same path answers this method through another rule
            response = api.client.open(concrete(rule.rule), method=method,
                                       headers={"Authorization": f"Bearer {api.token}"})
            assert_error(response, 405, "method-not-allowed")
            checked += 1
    assert checked > 20


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer ", "Bearer nope",
                                           "Basic YWRtaW46YWRtaW4=", "bearer-token"],
                         ids=["missing", "empty", "scheme-only", "blank-token",
                              "unknown-token", "basic-auth", "no-scheme"])
def test_every_api_route_needs_a_known_token(app, client, authorization):
    """Every /api/v1 route except the OpenAPI document answers 401 JSON without a valid
    token, before looking at the body or the ids."""
    before = snapshot(app)
    checked = 0
    for rule in api_rules(app):
        if rule.rule == "/api/v1/openapi.json":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            headers = {} if authorization is None else {"Authorization": authorization}
            response = client.open(concrete(rule.rule), method=method, headers=headers,
                                   json={"start": "2027-05-12T10:00"})
            assert_error(response, 401, "unauthorized")
            checked += 1
    assert checked > 20
    assert snapshot(app) == before


# --- random bodies: never a 500 -----------------------------------------------------------

PLAUSIBLE = ["2027-05-12T09:00", "2027-05-13T10:00:00+02:00", "2027-05-15", "2027-05-17T10:00",
             "Europe/Berlin", "America/Denver", "mon", "sun", "08:00", "23:59", "pre", "post",
             "running", "coach", "A", "x@y.test", "", " ", "\u00e9\u00df\u2603", "\ud83c\udfc3"]


def random_bodies(fields: list[str], ids: list[int]):
    """Objects over the route's real field names, holding plausible and hostile values."""
    leaves = st.one_of(st.none(), st.booleans(), st.sampled_from(ids),
                       st.integers(min_value=-2**70, max_value=2**70),
                       st.floats(allow_nan=False, allow_infinity=False),
                       st.sampled_from(PLAUSIBLE), st.text(max_size=12))
    values = st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["day", "start", "end", "x"]), inner, max_size=3)),
        max_leaves=6)
    return st.dictionaries(st.sampled_from(fields), values, max_size=len(fields))


@pytest.mark.parametrize("route", [r for r in ROUTES if r not in BODYLESS])
def test_random_bodies_never_cause_a_500(app, api, world, route):
    """Random objects over the route's documented fields (40 per route, derandomized so a
    run is repeatable): never a 500, and every refusal has the contract's shape."""
    method, template = ROUTES[route]
    url = template.format(**world)
    schema = api.get("/api/v1/openapi.json").get_json()
    path = re.sub(r"/\d+", "/{}", url)
    op = next(op for p, item in schema["paths"].items() for m, op in item.items()
              if m == method.lower() and re.sub(r"{[^}]+}", "{}", p) == path)
    ref = op["requestBody"]["content"][JSON]["schema"]
    ref = next((o for o in ref.get("anyOf", []) if "$ref" in o), ref)
    fields = list(schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[-1]]
                  ["properties"])
    ids = sorted({v for v in world.values() if isinstance(v, int)})

    @settings(max_examples=40, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(body=random_bodies(fields, ids))
    def check(body: dict[str, Any]) -> None:
        response = api.client.open(url, method=method, data=json.dumps(body),
                                   headers={"Authorization": f"Bearer {api.token}",
                                            "Content-Type": JSON})
        assert response.status_code < 500, (body, response.get_data(as_text=True)[:300])
        if response.status_code >= 400:
            assert_error(response, response.status_code)

    check()


# --- reads: ids and query strings out of range --------------------------------------------

@pytest.mark.parametrize("url", [
    "/api/v1/therapists/99999999999999999999", "/api/v1/athletes/2147483648",
    "/api/v1/events/9223372036854775808", "/api/v1/bookings/99999999999999999999",
    "/api/v1/teams/99999999999999999999", "/api/v1/events/0",
    "/api/v1/events/99999999999999999999/proposals",
    "/api/v1/therapists/99999999999999999999/time-off",
])
def test_ids_beyond_the_id_columns_are_404_not_500(api, url):
    assert_error(api.get(url), 404, "not-found")


@pytest.mark.parametrize(("query", "field"), [
    ("/api/v1/therapists?after_id=99999999999999999999", "after_id"),
    ("/api/v1/athletes?after_id=-1", "after_id"),
    ("/api/v1/bookings?athlete_id=2147483648", "athlete_id"),
    ("/api/v1/bookings?limit=0", "limit"),
    ("/api/v1/bookings?limit=1001", "limit"),
    ("/api/v1/bookings?limit=ten", "limit"),
    ("/api/v1/bookings?from=yesterday", "from"),
    ("/api/v1/bookings?to=0001-01-01T00:00", "to"),
    ("/api/v1/bookings?status=maybe", "status"),
    ("/api/v1/events/{event}/proposals?kind=during", "kind"),
    ("/api/v1/events/{event}/proposals?therapist_id=abc", "therapist_id"),
    ("/api/v1/events/{event}/proposals?limit=-5", "limit"),
])
def test_bad_query_strings_are_422(api, small_world, query, field):
    assert_error(api.get(query.format(**small_world)), 422, "invalid", field)
