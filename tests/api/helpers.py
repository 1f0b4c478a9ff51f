"""Helpers shared by the API tests: the contract's error shape, a database snapshot, and a
small clinic ("world") built through the real API."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa

INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def ok(response, status: int = 200) -> Any:
    """The JSON body of a response that must have `status`."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_json()


def at(text: str) -> datetime:
    """An answer's UTC instant (`...Z`) as an aware datetime."""
    assert INSTANT.match(text), text
    return datetime.fromisoformat(text)


def assert_error(response, status: int, code: str | None = None,
                 field: str | None = None) -> dict[str, Any]:
    """The response is the contract's JSON error, exactly {"error": {code, message, fields}}
    (and the booking ids `affected` of a 409 sessions-affected, the `unplaced_reasons` of
    a 409 nobody-placed)."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, text[:500]
    assert response.mimetype == "application/json", text[:200]
    body = response.get_json()
    assert list(body) == ["error"], body
    error = body["error"]
    extra = {"sessions-affected": {"affected"}, "nobody-placed": {"unplaced_reasons"}}.get(
        error.get("code"), set())
    assert set(error) == {"code", "message", "fields", *extra}, error
    assert isinstance(error["code"], str) and re.fullmatch(r"[a-z0-9-]+", error["code"]), error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["fields"], dict), error
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in error["fields"].items())
    if code is not None:
        assert error["code"] == code, error
    if field is not None:
        assert field in error["fields"], error
    return error


# Bookkeeping, not data: a token's last use is noted on any request it opens, refused or
# not (at most once a minute, services/accounts.py), so snapshots leave it out.
NOT_DATA = {("api_token", "last_used_at")}


def snapshot(app) -> dict[str, tuple[int, str]]:
    """Every table's row count and a hash of all its rows (but NOT_DATA), read through
    SQLAlchemy."""
    from athlete_sched.extensions import db

    found: dict[str, tuple[int, str]] = {}
    with app.app_context():
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.columns if (table.name, c.name) not in NOT_DATA]
            rows = db.session.execute(
                sa.select(*columns).order_by(*table.primary_key.columns)).all()
            digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
            found[table.name] = (len(rows), digest)
        db.session.rollback()  # end the read (on SQLite it holds the write lock)
    return found


def created(response) -> dict[str, Any]:
    assert response.status_code == 201, response.get_data(as_text=True)[:500]
    return response.get_json()


def book(api, event_id: int, therapist_id: int, kind: str, start: str,
         **extra: Any) -> dict[str, Any]:
    return created(api.post("/api/v1/bookings", {"event_id": event_id, "kind": kind,
                                                 "therapist_id": therapist_id,
                                                 "start": start, **extra}))


def build_world(api, make_therapist, make_athlete, make_event) -> dict[str, int]:
    """Two therapists (the first with a 10-minute buffer), two athletes each with the
    Rennsteig Marathon (Sat 2027-05-15, pre window Wed 12 + Thu 13 May, Berlin), a team
    holding the first athlete with a team event, one time off each, and with the first
    therapist: the first athlete's pre session Wed 12 May 09:00 Berlin, the second
    athlete's pre Thu 13 May 09:00 and post Mon 17 May 09:00; and the first athlete's
    own appointment, a post session with the second therapist on Tue 18 May 09:00 for
    a second event ("Evening 10k", Sat 15 May 16:30-17:30); the first athlete has answered
    the screening (one consideration flagged)."""
    therapist = make_therapist(buffer_minutes=10)
    other_therapist = make_therapist()
    # The clinic's first site: both therapists are put there (no athlete has a home site,
    # so every slot may be at every site, as before sites existed).
    site = created(api.post("/api/v1/sites", {"name": "Berlin", "timezone": "Europe/Berlin",
                                              "address": "Seestr. 1, 13353 Berlin"}))
    athlete, other_athlete = make_athlete(), make_athlete()
    event, other_event = make_event(athlete["id"]), make_event(other_athlete["id"])
    team = created(api.post("/api/v1/teams", {"name": "Trail Club"}))
    created(api.post(f"/api/v1/teams/{team['id']}/members", {"athlete_id": athlete["id"]}))
    team_event = make_event(team_id=team["id"], name="Club Relay", start="2027-06-05",
                            end="2027-06-05")
    time_off = created(api.post(f"/api/v1/therapists/{therapist['id']}/time-off",
                                {"start": "2027-02-02T10:00", "end": "2027-02-02T11:00"}))
    other_time_off = created(api.post(f"/api/v1/therapists/{other_therapist['id']}/time-off",
                                      {"start": "2027-02-03", "end": "2027-02-04"}))
    booking = book(api, event["id"], therapist["id"], "pre", "2027-05-12T09:00")
    other_booking = book(api, other_event["id"], therapist["id"], "pre", "2027-05-13T09:00")
    other_post = book(api, other_event["id"], therapist["id"], "post", "2027-05-17T09:00")
    evening = make_event(athlete["id"], name="Evening 10k", start="2027-05-15T16:30",
                         end="2027-05-15T17:30")
    evening_post = book(api, evening["id"], other_therapist["id"], "post", "2027-05-18T09:00")
    screening = api.put(f"/api/v1/athletes/{athlete['id']}/screening",
                        {"answers": {"blood_thinners": True}, "note": ""})
    assert screening.status_code == 200, screening.get_data(as_text=True)
    return {"site": site["id"], "therapist": therapist["id"],
            "other_therapist": other_therapist["id"],
            "athlete": athlete["id"], "other_athlete": other_athlete["id"],
            "event": event["id"], "other_event": other_event["id"], "team": team["id"],
            "team_event": team_event["id"], "time_off": time_off["id"],
            "other_time_off": other_time_off["id"], "booking": booking["id"],
            "other_booking": other_booking["id"], "other_post": other_post["id"],
            "evening": evening["id"], "evening_post": evening_post["id"]}


@contextmanager
def another_worker(app_config: dict[str, Any]) -> Iterator[Any]:
    """A second app on the same database (its own engine, pool and caches: another gunicorn
    worker or host); yields its test client, and closes its connections afterwards."""
    from athlete_sched import create_app
    from athlete_sched.extensions import db

    other = create_app(app_config)
    try:
        yield other.test_client()
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
