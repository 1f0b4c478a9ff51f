"""Migration 0016 on both backends: the feed tokens stored in clear at 0015 are replaced by
their SHA-256 in place, and every feed URL handed out before keeps answering the same
calendar; the database no longer holds any of them. Their links cannot be shown again
(409 feed-link-hidden) until rotated. API tokens and users made before go on working.

The clinic is built at head through the API (the app only runs on the current schema),
taken down to 0015, given feed tokens in clear as 0015's code made them
(`secrets.token_urlsafe(32)`), and upgraded again.
"""

from __future__ import annotations

import hashlib
import secrets
from urllib.parse import urlsplit

import sqlalchemy as sa
from api.helpers import assert_error, book, created, ok
from conftest import WEEKDAYS_8_TO_18, migrate
from test_sites_migration import admin_api, app_on, scratch  # noqa: F401 - fixture


def _rows(url: str, sql: str, **params) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(sql), params)
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        engine.dispose()


def test_old_feed_urls_keep_working_after_the_upgrade(scratch):  # noqa: F811
    url = scratch()
    migrate(url)
    app = app_on(url)
    api = admin_api(app)
    therapist = created(api.post("/api/v1/therapists", {
        "name": "Ana Ruiz", "email": "ana@clinic.test", "timezone": "Europe/Berlin",
        "working_hours": WEEKDAYS_8_TO_18}))
    athlete = created(api.post("/api/v1/athletes", {
        "name": "Mara", "email": "mara@athletes.test", "sport": "running",
        "timezone": "Europe/Berlin"}))
    team = created(api.post("/api/v1/teams", {"name": "Trail Club"}))
    race = created(api.post("/api/v1/events", {
        "athlete_id": athlete["id"], "name": "Rennsteig", "sport": "running",
        "timezone": "Europe/Berlin", "start": "2027-05-15T08:00", "end": "2027-05-15T12:30"}))
    book(api, race["id"], therapist["id"], "pre", "2027-05-12T09:00")
    owners = {"therapists": therapist["id"], "athletes": athlete["id"], "teams": team["id"]}
    bodies = {}
    for kind, ident in owners.items():
        path = urlsplit(ok(api.get(f"/api/v1/{kind}/{ident}/feed"))["url"]).path
        bodies[kind] = app.test_client().get(path).get_data()
    with app.app_context():
        from athlete_sched.extensions import db
        db.engine.dispose()

    migrate(url, "0015", down=True)
    legacy = {}
    for kind, column in (("therapists", "therapist_id"), ("athletes", "athlete_id"),
                         ("teams", "team_id")):
        legacy[kind] = secrets.token_urlsafe(32)
        _rows(url, f"UPDATE calendar_feed SET token = :t WHERE {column} = :i",
              t=legacy[kind], i=owners[kind])
    migrate(url)

    stored = _rows(url, "SELECT token_hash, token_seed FROM calendar_feed")
    assert sorted(h for h, _ in stored) == sorted(
        hashlib.sha256(t.encode()).hexdigest() for t in legacy.values())
    assert all(seed is None for _, seed in stored)
    assert not any(t in str(stored) for t in legacy.values())

    app = app_on(url)
    client = app.test_client()
    api = api.__class__(client, api.token)  # the token made before still works
    for kind, token in legacy.items():
        answer = client.get(f"/feeds/{token}.ics")
        assert answer.status_code == 200, kind
        assert answer.get_data() == bodies[kind], kind
        assert_error(api.get(f"/api/v1/{kind}/{owners[kind]}/feed"), 409, "feed-link-hidden")
    rotated = ok(api.post(f"/api/v1/therapists/{therapist['id']}/feed/rotate"))
    assert client.get(f"/feeds/{legacy['therapists']}.ics").status_code == 404
    assert client.get(urlsplit(rotated["url"]).path).get_data() == bodies["therapists"]
    assert client.get(f"/feeds/{legacy['athletes']}.ics").status_code == 200
    assert ok(api.get("/api/v1/me/tokens"))["items"][0]["expires_at"] is None
    with app.app_context():
        from athlete_sched.extensions import db
        db.engine.dispose()
