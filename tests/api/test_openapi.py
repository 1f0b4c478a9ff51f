"""The OpenAPI document: public, valid OpenAPI 3.1, complete (compared with Flask's url_map,
so a route added without docs fails here), and truthful: the request schemas are the ones
that validate (a field the schema requires is required by the route, a type it refuses is
refused) and the responses match the response schemas.

Needs `openapi-spec-validator` (which brings `jsonschema`).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec

from .helpers import build_world

DOC = "/api/v1/openapi.json"
METHODS = {"get", "put", "post", "patch", "delete"}
# path parameter -> the world's row it names
PARAMS = {"therapist_id": "therapist", "time_off_id": "time_off", "athlete_id": "athlete",
          "team_id": "team", "event_id": "event", "booking_id": "booking",
          "date": "working_day", "site_id": "site", "user_id": "user", "token_id": "token"}


@pytest.fixture
def doc(client) -> dict[str, Any]:
    response = client.get(DOC)  # no token: the document is public
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    return response.get_json()


@pytest.fixture
def world(api, make_therapist, make_athlete, make_event) -> dict[str, Any]:
    """The API tests' clinic, and a date for the working-day routes ({date})."""
    user = api.post("/api/v1/users", {"email": "world@u.test", "role": "coach"}).get_json()
    token = api.post("/api/v1/me/tokens", {"name": "world"}).get_json()
    built = build_world(api, make_therapist, make_athlete, make_event)
    api.post(f"/api/v1/athletes/{built['athlete']}/race-calendar/subscription",
             {"url": "https://127.0.0.1:9/races.ics"})  # its GET answers with it
    return {**built, "working_day": "2027-06-05", "user": user["id"], "token": token["id"]}


def validator(doc: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A JSON Schema 2020-12 validator for a schema of the document (its $refs resolve)."""
    return Draft202012Validator({**schema, "components": doc["components"]})


def operations(doc: dict[str, Any]):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


def url_for_path(path: str, world: dict[str, int]) -> str | None:
    names = re.findall(r"{([^}]+)}", path)
    if any(name not in PARAMS for name in names):
        return None
    return re.sub(r"{([^}]+)}", lambda m: str(world[PARAMS[m.group(1)]]), path)


def json_body_schema(op: dict[str, Any]) -> dict[str, Any] | None:
    content = op.get("requestBody", {}).get("content", {})
    return content.get("application/json", {}).get("schema")


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def object_schema(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The object alternative of a body schema (the working hours also take a bare list)."""
    for option in schema.get("anyOf", [schema]):
        option = resolve(doc, option)
        if option.get("type") == "object":
            return option
    raise AssertionError(f"no object schema in {schema}")


# --- the document itself ------------------------------------------------------------------

def test_document_is_public_and_valid_openapi_3_1(client, doc):
    assert doc["openapi"].startswith("3.1")
    validate_spec(doc)
    assert client.get(DOC, headers={"Authorization": "Bearer unknown"}).status_code == 200
    assert doc["paths"][DOC]["get"]["security"] == []
    assert doc["security"] == [{"bearer": []}]


def test_every_api_route_is_documented_and_nothing_else(app, doc):
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        served |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, method, _ in operations(doc)}
    assert served - documented == set(), "routes without documentation"
    assert documented - served == set(), "documented routes that are not served"
    assert len(served) >= 20


def test_operations_declare_their_path_parameters_and_success(doc):
    for path, method, op in operations(doc):
        declared = sorted(p["name"] for p in op["parameters"] if p["in"] == "path")
        assert declared == sorted(re.findall(r"{([^}]+)}", path)), (method, path)
        assert op["summary"], (method, path)
        assert any(code.startswith("2") for code in op["responses"]), (method, path)
        if op.get("security") != []:
            assert "401" in op["responses"], (method, path)


def test_calendar_answers_are_documented_as_text_calendar(doc):
    """The invite routes answer text/calendar (tests/test_ical_export.py), and say so."""
    calendar_ops = [(path, method) for path, method, op in operations(doc)
                    if "text/calendar" in op["responses"].get("200", {}).get("content", {})]
    assert ("/api/v1/bookings/{booking_id}/invite.ics", "get") in calendar_ops
    assert ("/api/v1/events/{event_id}/invites.ics", "get") in calendar_ops


# --- request schemas are the ones that validate -------------------------------------------

def wrong_value(doc: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A JSON value of a type the property's schema does not allow."""
    for value in ({"k": 1}, ["x"], "text", 12345, True):
        if not validator(doc, schema).is_valid(value):
            return value
    raise AssertionError(f"the schema {schema} allows every type")


def json_body_operations(doc: dict[str, Any]) -> list[tuple[str, str, dict]]:
    return [(path, method, op) for path, method, op in operations(doc)
            if json_body_schema(op) is not None]


def test_required_fields_of_the_schema_are_required_by_the_route(api, doc, world):
    checked = 0
    for path, method, op in json_body_operations(doc):
        body = object_schema(doc, json_body_schema(op))
        url = url_for_path(path, world)
        assert url is not None, f"add the path parameters of {path} to PARAMS"
        required = body.get("required", [])
        if not required:
            continue
        response = api.client.open(url, method=method.upper(), json={},
                                   headers={"Authorization": f"Bearer {api.token}"})
        assert response.status_code == 422, (method, path, response.get_json())
        assert set(required) <= set(response.get_json()["error"]["fields"]), (method, path)
        checked += 1
    assert checked >= 8


def test_types_the_schema_refuses_are_refused_by_the_route(api, doc, world):
    checked = 0
    for path, method, op in json_body_operations(doc):
        body = object_schema(doc, json_body_schema(op))
        url = url_for_path(path, world)
        for name, prop in body.get("properties", {}).items():
            value = wrong_value(doc, prop)
            response = api.client.open(url, method=method.upper(), json={name: value},
                                       headers={"Authorization": f"Bearer {api.token}"})
            assert response.status_code == 422, (method, path, name, value)
            fields = response.get_json()["error"]["fields"]
            assert any(f == name or f.startswith(f"{name}.") for f in fields), (
                method, path, name, fields)
            checked += 1
    assert checked >= 40


# Valid bodies for the routes of the contract; each must satisfy the documented schema,
# be accepted by the route, and answer what the response schema says.
EXAMPLES: dict[tuple[str, str], Any] = {
    ("post", "/api/v1/users"): {"email": "new@u.test", "role": "coach", "name": "Nora"},
    ("post", "/api/v1/therapists"): {
        "name": "Ana", "email": "ana@new.test", "timezone": "Europe/Berlin",
        "session_minutes": 50, "buffer_minutes": 5, "slot_step_minutes": 10,
        "working_hours": [{"day": "mon", "start": "08:00", "end": "12:00"}]},
    ("put", "/api/v1/therapists/{therapist_id}/working-hours"): [
        {"day": "tue", "start": "09:00", "end": "17:00"}],
    ("put", "/api/v1/therapists/{therapist_id}/working-days/{date}"): {
        "periods": [{"start": "09:00", "end": "13:00"}]},
    ("post", "/api/v1/therapists/{therapist_id}/time-off"): {
        "start": "2027-03-01T08:00", "end": "2027-03-02", "reason": "course"},
    ("post", "/api/v1/athletes"): {"name": "Kai", "email": "kai@new.test", "sport": "mtb",
                                   "timezone": "America/Denver"},
    ("post", "/api/v1/teams"): {"name": "Club", "coach_email": "c@new.test"},
    ("post", "/api/v1/teams/{team_id}/members"): "MEMBER",
    ("post", "/api/v1/events"): "EVENT",
    ("patch", "/api/v1/events/{event_id}"): {"name": "Renamed", "priority": "B", "end": None},
    ("post", "/api/v1/bookings"): "BOOKING",
    ("patch", "/api/v1/bookings/{booking_id}"): {"start": "2027-05-12T10:00+02:00"},
    ("post", "/api/v1/me/tokens"): {"name": "sync", "expires_in_days": 30},
    ("patch", "/api/v1/users/{user_id}"): {"disabled": True},
}


# Query strings of examples: new weekly hours over the world's booked sessions keep them
# (without it: 409 sessions-affected, tests/test_sessions_affected.py).
QUERIES: dict[tuple[str, str], dict[str, str]] = {
    ("put", "/api/v1/therapists/{therapist_id}/working-hours"): {"affected": "keep"},
}


def example(key: tuple[str, str], world: dict[str, int]) -> Any:
    value = EXAMPLES[key]
    if value == "MEMBER":
        return {"athlete_id": world["other_athlete"]}
    if value == "EVENT":
        return {"athlete_id": world["athlete"], "name": "Trail", "timezone": "Europe/Berlin",
                "start": "2027-06-12", "end": "2027-06-13", "sport": "running"}
    if value == "BOOKING":
        # The team relay's pre: clear of the first athlete's season (tests/api/helpers.py).
        return {"event_id": world["team_event"], "athlete_id": world["athlete"],
                "therapist_id": world["other_therapist"], "kind": "pre",
                "start": "2027-06-02T10:00"}
    return value


@pytest.mark.parametrize("key", list(EXAMPLES), ids=[f"{m}-{p}" for m, p in EXAMPLES])
def test_valid_examples_pass_schema_route_and_response_schema(api, doc, world, key):
    method, path = key
    op = doc["paths"][path][method]
    body = example(key, world)
    validator(doc, json_body_schema(op)).validate(body)
    response = api.client.open(url_for_path(path, world), method=method.upper(), json=body,
                               query_string=QUERIES.get(key, {}),
                               headers={"Authorization": f"Bearer {api.token}"})
    success = [code for code in op["responses"] if code.startswith("2")]
    assert [str(response.status_code)] == success, response.get_data(as_text=True)[:300]
    schema = op["responses"][success[0]]["content"]["application/json"]["schema"]
    validator(doc, schema).validate(response.get_json())


def test_get_responses_match_their_schemas(api, doc, world):
    checked = 0
    for path, method, op in operations(doc):
        url = url_for_path(path, world)
        ok = op["responses"].get("200", {}).get("content", {}).get("application/json")
        if method != "get" or url is None or ok is None:
            continue
        response = api.get(url)
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:300])
        validator(doc, ok["schema"]).validate(response.get_json())
        checked += 1
    assert checked >= 10


def test_errors_match_the_error_schema(api, doc, client):
    error = validator(doc, {"$ref": "#/components/schemas/Error"})
    for response in (client.get("/api/v1/therapists"), api.get("/api/v1/events/999999"),
                     api.post("/api/v1/events", {}), api.delete("/api/v1/events/1")):
        assert response.status_code >= 400
        error.validate(response.get_json())


def test_the_booking_routes_name_their_error_codes(doc):
    """A client reads from the document which 409 and 422 codes a booking can meet (the
    screening gate's, the notice's, the site rule's), not a generic "conflict"."""
    book = doc["paths"]["/api/v1/bookings"]["post"]["responses"]
    move = doc["paths"]["/api/v1/bookings/{booking_id}"]["patch"]["responses"]
    for responses in (book, move):
        for code in ("screening-not-cleared", "slot-taken", "too-late"):
            assert code in responses["409"]["description"]
        assert "wrong-site" in responses["422"]["description"]
    team = doc["paths"]["/api/v1/events/{event_id}/book-team"]["post"]["responses"]
    assert "screening-not-cleared" in team["409"]["description"]
    hours = doc["paths"]["/api/v1/therapists/{therapist_id}/working-hours"]["put"]
    assert "sessions-affected" in hours["responses"]["409"]["description"]
