"""Issue 14, tokens and users, on both backends:

- feed tokens are stored as SHA-256 hashes (and a seed the token is derived from with the
  app's key), never in clear; a rotate makes the old URL 404 at once; a token only hashed
  (as migration 0016 leaves the old ones) keeps its URL working, its link is hidden
  (409 feed-link-hidden; a note on the pages) until rotated;
- API tokens: listed without their secret, created with an optional expiry, revoked; an
  expired token answers 401 like an unknown one; the last use is noted at most once a
  minute;
- disabled users: no sign-in, sessions and tokens stop at once, re-enabling restores access
  (API, admin page, CLI);
- the app refuses to start in production without a real SECRET_KEY.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from api.helpers import assert_error, at, ok
from conftest import NOW, PASSWORD
from pageutil import csrf, post, scalar, sign_in, text

ROOT = Path(__file__).resolve().parents[1]


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def feed_rows(app) -> list[tuple]:
    from athlete_sched.extensions import db

    with app.app_context():
        rows = db.session.execute(sa.text(
            "SELECT token_hash, token_seed FROM calendar_feed ORDER BY id")).all()
        db.session.rollback()
    return [tuple(r) for r in rows]


def token_in(url: str) -> str:
    return urlsplit(url).path.removeprefix("/feeds/").removesuffix(".ics")


# --- feed tokens ---------------------------------------------------------------------------

def test_feed_tokens_are_stored_as_hashes_and_rotate_replaces_them(app, api, client,
                                                                    make_therapist):
    therapist = make_therapist()
    first = ok(api.get(f"/api/v1/therapists/{therapist['id']}/feed"))
    token = token_in(first["url"])
    [(stored, seed)] = feed_rows(app)
    assert stored == sha256(token) and token not in (stored, seed)
    assert client.get(f"/feeds/{token}.ics").status_code == 200
    rotated = ok(api.post(f"/api/v1/therapists/{therapist['id']}/feed/rotate"))
    new = token_in(rotated["url"])
    [(stored_after, seed_after)] = feed_rows(app)
    assert stored_after == sha256(new) and seed_after != seed and new != token
    assert client.get(f"/feeds/{token}.ics").status_code == 404
    assert client.get(f"/feeds/{new}.ics").status_code == 200
    assert ok(api.get(f"/api/v1/therapists/{therapist['id']}/feed")) == rotated  # shown again


def _hash_only(app, token: str) -> None:
    """Make the one feed look as migration 0016 leaves an old token: its hash, no seed."""
    from athlete_sched.extensions import db

    with app.app_context():
        db.session.execute(sa.text("UPDATE calendar_feed SET token_hash = :h, "
                                   "token_seed = NULL"), {"h": sha256(token)})
        db.session.commit()


def test_a_hashed_only_token_keeps_working_and_its_link_is_hidden_until_rotated(
        app, api, client, make_therapist, page_as):
    therapist = make_therapist()
    ok(api.get(f"/api/v1/therapists/{therapist['id']}/feed"))
    legacy = "L" * 43
    _hash_only(app, legacy)
    assert client.get(f"/feeds/{legacy}.ics").status_code == 200
    assert_error(api.get(f"/api/v1/therapists/{therapist['id']}/feed"), 409,
                 "feed-link-hidden")
    page = page_as("therapist", therapist["email"]).get("/week")
    assert page.status_code == 200
    assert "cannot be shown again" in text(page) and 'id="feed-url"' not in page.get_data(
        as_text=True)
    rotated = ok(api.post(f"/api/v1/therapists/{therapist['id']}/feed/rotate"))
    assert client.get(f"/feeds/{legacy}.ics").status_code == 404
    assert client.get(urlsplit(rotated["url"]).path).status_code == 200
    assert ok(api.get(f"/api/v1/therapists/{therapist['id']}/feed")) == rotated


def test_another_key_hides_the_link_but_the_feed_still_answers(app, api, client,
                                                                make_therapist):
    """A changed SECRET_KEY (FEED_TOKEN_KEY unset) cannot derive the token any more: the
    hash says so, and the link is hidden rather than wrong."""
    therapist = make_therapist()
    token = token_in(ok(api.get(f"/api/v1/therapists/{therapist['id']}/feed"))["url"])
    app.config["SECRET_KEY"] = "another-" + "k" * 40
    assert_error(api.get(f"/api/v1/therapists/{therapist['id']}/feed"), 409,
                 "feed-link-hidden")
    assert client.get(f"/feeds/{token}.ics").status_code == 200
    app.config["FEED_TOKEN_KEY"] = "test"  # the key the token was made with
    assert token_in(ok(api.get(f"/api/v1/therapists/{therapist['id']}/feed"))["url"]) == token


def test_the_athletes_and_coachs_pages_offer_a_new_address_for_a_hidden_link(
        app, api, client, make_therapist, make_athlete, make_event, page_as):
    from api.helpers import book, created

    therapist, athlete = make_therapist(), make_athlete()
    booked = book(api, make_event(athlete["id"])["id"], therapist["id"], "pre",
                  "2027-05-12T09:00")
    ok(api.get(f"/api/v1/athletes/{athlete['id']}/feed"))
    legacy = "M" * 43
    _hash_only(app, legacy)
    signed = page_as("athlete", athlete["email"])
    page = signed.get(f"/bookings/{booked['id']}")
    assert "cannot be shown again" in text(page) and "webcal://" not in text(page)
    moved = post(signed, f"/bookings/{booked['id']}/feed/rotate", {},
                 f"/bookings/{booked['id']}")
    assert moved.status_code == 303
    page = signed.get(f"/bookings/{booked['id']}")
    assert "cannot be shown again" not in text(page) and "webcal://" in page.get_data(
        as_text=True)
    assert client.get(f"/feeds/{legacy}.ics").status_code == 404

    team = created(api.post("/api/v1/teams", {"name": "Club", "coach_email": "co@x.test"}))
    coach = page_as("coach", "co@x.test")
    assert 'id="feed-url"' in coach.get(f"/teams/{team['id']}").get_data(as_text=True)
    from athlete_sched.extensions import db
    with app.app_context():
        db.session.execute(sa.text("UPDATE calendar_feed SET token_seed = NULL "
                                   "WHERE team_id = :t"), {"t": team["id"]})
        db.session.commit()
    assert "cannot be shown again" in text(coach.get(f"/teams/{team['id']}"))


# --- API tokens ----------------------------------------------------------------------------

def test_tokens_are_listed_without_their_secret_created_with_expiry_and_revoked(
        app, api, client):
    made = ok(api.post("/api/v1/me/tokens", {"name": "sync", "expires_in_days": 30}), 201)
    assert set(made) == {"id", "name", "created_at", "expires_at", "last_used_at", "expired",
                         "token"}
    assert at(made["expires_at"]) == NOW + timedelta(days=30) and not made["expired"]
    until = ok(api.post("/api/v1/me/tokens", {"name": "until",
                                              "expires_at": "2027-02-01T12:00"}), 201)
    assert at(until["expires_at"]) == NOW.replace(month=2, day=1, hour=12)
    listed = ok(api.get("/api/v1/me/tokens"))
    assert listed["next"] is None
    names = [t["name"] for t in listed["items"]]
    assert names == ["first token", "sync", "until"]
    assert all("token" not in t and made["token"] not in str(t) for t in listed["items"])
    mine = api.as_(made["token"])
    assert ok(mine.get("/api/v1/me"))["email"] == "admin@test.example"
    assert mine.delete(f"/api/v1/me/tokens/{made['id']}").status_code == 204
    assert_error(mine.get("/api/v1/me"), 401)
    assert [t["name"] for t in ok(api.get("/api/v1/me/tokens"))["items"]] == [
        "first token", "until"]
    assert scalar(app, "SELECT count(*) FROM api_token WHERE token_hash = :h",
                  h=sha256(until["token"])) == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "x", "expires_in_days": 0}, "expires_in_days"),
    ({"name": "x", "expires_in_days": 3651}, "expires_in_days"),
    ({"name": "x", "expires_at": "2026-12-31T00:00:00Z"}, "expires_at"),
    ({"name": "x", "expires_at": "2027-02-01T00:00", "expires_in_days": 3}, "expires_at"),
    ({"name": ""}, "name"),
])
def test_a_bad_expiry_or_name_is_422_and_makes_nothing(app, api, body, field):
    assert_error(api.post("/api/v1/me/tokens", body), 422, field=field)
    assert scalar(app, "SELECT count(*) FROM api_token") == 1


def test_an_expired_token_answers_401_like_an_unknown_one(app, api, make_user):
    other = api.as_(make_user("coach"))
    made = ok(other.post("/api/v1/me/tokens", {"name": "short", "expires_in_days": 1}), 201)
    short = api.as_(made["token"])
    assert short.get("/api/v1/me").status_code == 200
    app.config["FROZEN_NOW"] = (NOW + timedelta(days=1)).isoformat()
    expired = assert_error(short.get("/api/v1/me"), 401)
    unknown = assert_error(api.as_("x" * 43).get("/api/v1/me"), 401)
    assert expired == unknown
    assert other.get("/api/v1/me").status_code == 200  # its first token never expires
    [listed] = [t for t in ok(other.get("/api/v1/me/tokens"))["items"] if t["name"] == "short"]
    assert listed["expired"] is True


def test_one_cannot_list_or_revoke_anothers_tokens(app, api, make_user):
    coach = api.as_(make_user("coach"))
    [admins] = ok(api.get("/api/v1/me/tokens"))["items"]
    assert_error(coach.delete(f"/api/v1/me/tokens/{admins['id']}"), 404)
    assert api.get("/api/v1/me").status_code == 200
    assert [t["name"] for t in ok(coach.get("/api/v1/me/tokens"))["items"]] == ["first token"]


def test_the_last_use_is_noted_at_most_once_a_minute(app, api):
    def last_used():
        return ok(api.get("/api/v1/me/tokens"))["items"][0]["last_used_at"]

    assert last_used() is None  # noted after the answer: the next request shows it
    assert last_used() == "2027-01-04T00:00:00Z"
    app.config["FROZEN_NOW"] = (NOW + timedelta(seconds=59)).isoformat()
    assert last_used() == "2027-01-04T00:00:00Z"
    assert last_used() == "2027-01-04T00:00:00Z"  # not again within the minute
    app.config["FROZEN_NOW"] = (NOW + timedelta(seconds=61)).isoformat()
    last_used()
    assert last_used() == "2027-01-04T00:01:01Z"


# --- disabled users ------------------------------------------------------------------------

def _user_id(app, email: str) -> int:
    return scalar(app, "SELECT id FROM user_account WHERE email = :e", e=email)


def test_a_disabled_user_loses_sessions_tokens_and_sign_in_until_enabled(app, api,
                                                                        make_user):
    email = "coach@test.example"
    token = make_user("coach", email, password=PASSWORD)
    coach, pages = api.as_(token), app.test_client()
    assert sign_in(pages, email, PASSWORD).status_code == 303
    assert pages.get("/account").status_code == 200
    user_id = _user_id(app, email)

    answer = ok(api.patch(f"/api/v1/users/{user_id}", {"disabled": True}))
    assert answer["email"] == email and answer["disabled_at"] is not None
    assert_error(coach.get("/api/v1/me"), 401)
    gone = pages.get("/account")
    assert gone.status_code == 302 and "/sign-in" in gone.headers["Location"]
    refused = sign_in(app.test_client(), email, PASSWORD)
    assert refused.status_code == 422 and "disabled" in text(refused)

    assert ok(api.patch(f"/api/v1/users/{user_id}", {"disabled": False}))["disabled_at"] is None
    assert coach.get("/api/v1/me").status_code == 200  # the tokens work again
    assert sign_in(app.test_client(), email, PASSWORD).status_code == 303
    # a session from before disabling stays ended: sign in again
    assert pages.get("/account").status_code == 302


def test_only_admins_disable_and_not_themselves(app, api, make_user):
    coach = api.as_(make_user("coach", "c@test.example"))
    athlete_id = _user_id(app, "c@test.example")
    assert_error(coach.patch(f"/api/v1/users/{athlete_id}", {"disabled": True}), 403)
    me = _user_id(app, "admin@test.example")
    assert_error(api.patch(f"/api/v1/users/{me}", {"disabled": True}), 422, field="disabled")
    assert_error(api.patch("/api/v1/users/999999", {"disabled": True}), 404)
    assert_error(api.patch(f"/api/v1/users/{athlete_id}", {"disabled": "yes"}), 422)
    assert api.get("/api/v1/me").status_code == 200


def test_the_admin_page_disables_and_enables(app, page_as, make_user):
    token = make_user("coach", "pat@test.example")
    admin = page_as("admin")
    user_id = _user_id(app, "pat@test.example")
    answer = post(admin, f"/admin/users/{user_id}/disabled", {"disabled": "1"}, "/admin/users")
    assert answer.status_code == 303
    listing = text(admin.get("/admin/users"))
    assert "disabled" in listing and "Enable pat@test.example" in admin.get(
        "/admin/users").get_data(as_text=True)
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401
    post(admin, f"/admin/users/{user_id}/disabled", {"disabled": "0"}, "/admin/users")
    assert scalar(app, "SELECT disabled_at FROM user_account WHERE id = :i", i=user_id) is None


def test_cli_disables_and_enables(app, runner, make_user, client):
    token = make_user("therapist", "ana@clinic.test")
    headers = {"Authorization": f"Bearer {token}"}
    result = runner.invoke(args=["users", "disable", "Ana@Clinic.test"])
    assert result.exit_code == 0 and "disabled ana@clinic.test" in result.output
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert runner.invoke(args=["users", "enable", "ana@clinic.test"]).exit_code == 0
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    unknown = runner.invoke(args=["users", "disable", "nobody@clinic.test"])
    assert unknown.exit_code != 0 and "no user with email" in unknown.output


def test_the_account_page_sets_an_expiry_and_shows_the_last_use(app, page_as):
    signed = page_as("coach")
    made = post(signed, "/account/tokens", {"name": "nightly export", "expires": "30"},
                "/account")
    assert made.status_code == 303
    page = signed.get("/account")
    shown = text(page)
    assert "nightly export" in shown and "expires 3 Feb 2027" in shown
    assert "not used yet" in shown and csrf(signed, "/account")


# --- SECRET_KEY ------------------------------------------------------------------------------

@pytest.fixture
def production(monkeypatch):
    """The environment of a WSGI server start: not the flask command line, no explicit
    ATHLETE_SCHED_ENV, no SECRET_KEY."""
    for name in ("FLASK_RUN_FROM_CLI", "ATHLETE_SCHED_ENV", "SECRET_KEY", "FLASK_SECRET_KEY",
                 "FLASK_TESTING", "FLASK_DEBUG"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("key", [None, "dev-only-insecure-key", "short", "k" * 31])
def test_production_refuses_a_missing_or_weak_secret_key(production, tmp_path, key):
    from athlete_sched import create_app
    from athlete_sched.config import InsecureSecretKey

    config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"}
    if key is not None:
        config["SECRET_KEY"] = key
    with pytest.raises(InsecureSecretKey, match="SECRET_KEY"):
        create_app(config)
    create_app({**config, "SECRET_KEY": "k" * 32})  # a real key starts


@pytest.mark.parametrize(("env", "config", "refused"), [
    ({}, {"TESTING": True}, False),
    ({}, {"DEBUG": True}, False),
    ({"FLASK_RUN_FROM_CLI": "true"}, {}, False),  # flask run / demo / db / cron commands
    ({"ATHLETE_SCHED_ENV": "development"}, {}, False),
    ({"ATHLETE_SCHED_ENV": "production"}, {"TESTING": True}, True),
    ({"ATHLETE_SCHED_ENV": "production", "FLASK_RUN_FROM_CLI": "true"}, {}, True),
])
def test_what_counts_as_production(production, monkeypatch, tmp_path, env, config, refused):
    from athlete_sched import create_app
    from athlete_sched.config import InsecureSecretKey

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}", **config}
    if refused:
        with pytest.raises(InsecureSecretKey):
            create_app(config)
    else:
        assert create_app(config).config["SECRET_KEY"] == "dev-only-insecure-key"


def test_gunicorn_without_a_secret_key_fails_with_a_clear_message(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FLASK_") and k not in ("SECRET_KEY", "ATHLETE_SCHED_ENV")}
    env.update(ATHLETE_SCHED_INSTANCE=str(tmp_path), DATABASE_URL="")
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-w", "1", "-b", "127.0.0.1:0", "wsgi:app"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "refusing to start in production without a real SECRET_KEY" in result.stderr
