"""Abuse limits (web/limits.py, Flask-Limiter), on SQLite and PostgreSQL and on both
stores: in memory (one process) and Redis (RATELIMIT_STORAGE_URI, shared by workers and
hosts). Every refusal is a 429 with Retry-After: the contract's JSON under /api/, the form
again (what was typed kept) on the sign-in and password pages, plain text on a feed.

The rest of the suite runs with the limits off (TESTING turns RATELIMIT_ENABLED off unless
it is set; tests/server.py's servers set it off): here they are on, with small limits.
The Redis leg skips where no server answers; .ci/run starts one, and under CI=true a skip
fails the run.
"""

from __future__ import annotations

import os
import re
import uuid
from typing import Any

import pytest
from api.helpers import assert_error
from pageutil import csrf

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
PASSWORD = "a long enough password"
ELSEWHERE = {"REMOTE_ADDR": "10.9.8.7"}  # another client address


def redis_reachable() -> str | None:
    """None if Redis answers at REDIS_URL, else why not."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not here"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    reason = redis_reachable()
    if reason:
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({reason}); start it "
                    "(redis-server --daemonize yes) or set TEST_REDIS_URL - .ci/run starts it "
                    "and runs this leg")
    return REDIS_URL


@pytest.fixture
def prefix(storage: str):
    """A key prefix of this test's own, so that tests sharing one Redis never meet; its keys
    are deleted afterwards."""
    name = f"test-{uuid.uuid4().hex}"
    yield name
    if storage.startswith("redis"):
        import redis

        store = redis.Redis.from_url(REDIS_URL)
        for key in store.scan_iter(f"*{name}*"):
            store.delete(key)


LIMITS = {  # small limits, so that a test reaches them in a few requests
    "RATELIMIT_SIGN_IN_ACCOUNT": "3 per 15 minutes",
    "RATELIMIT_SIGN_IN_ADDRESS": "5 per 15 minutes",
    "RATELIMIT_PASSWORD_RESET_ACCOUNT": "2 per hour",
    "RATELIMIT_PASSWORD_RESET_ADDRESS": "4 per hour",
    "RATELIMIT_INVITATIONS": "2 per hour",
    "RATELIMIT_FEED": "3 per minute",
    "RATELIMIT_CALENDAR_UPLOADS": "2 per hour",
    "RATELIMIT_PLANS": "2 per minute",
}  # RATELIMIT_BAD_TOKEN and RATELIMIT_BAD_FEED_TOKEN keep their defaults


@pytest.fixture
def app_config(app_config: dict[str, Any], storage: str, prefix: str) -> dict[str, Any]:
    return {**app_config, **LIMITS, "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": storage, "RATELIMIT_KEY_PREFIX": prefix}


def retry_after(response, longest: int) -> int:
    seconds = int(response.headers["Retry-After"])
    assert 0 < seconds <= longest, response.headers
    return seconds


def refused_json(response, longest: int) -> dict[str, Any]:
    """The contract's 429: {"error": {"code": "too-many-requests", ...}} and Retry-After."""
    body = assert_error(response, 429, "too-many-requests")
    retry_after(response, longest)
    return body


# --- bearer tokens -------------------------------------------------------------------------

def test_1000_wrong_bearer_tokens_get_429_after_the_limit_and_valid_tokens_are_never_counted(
        app, client, api):
    from athlete_sched.config import Config

    allowed = int(Config.RATELIMIT_BAD_TOKEN.split()[0])  # default: 30 per minute
    for _ in range(3 * allowed):  # valid traffic: never counted, never refused
        assert api.get("/api/v1/me").status_code == 200
    statuses = [api.as_(f"wrong-{n}").get("/api/v1/me").status_code for n in range(1000)]
    assert statuses[:allowed] == [401] * allowed
    assert statuses[allowed:] == [429] * (1000 - allowed)
    refused = api.as_("wrong-again").get("/api/v1/me")
    refused_json(refused, 60)
    # the refused address is refused before its token is looked at (a guess learns
    # nothing); valid tokens from other addresses go on as before
    assert api.get("/api/v1/me").status_code == 429
    assert api.get("/api/v1/me", environ_base=ELSEWHERE).status_code == 200
    assert api.as_("wrong").get("/api/v1/me", environ_base=ELSEWHERE).status_code == 401


def test_a_missing_token_is_not_a_wrong_guess(app, client):
    for _ in range(100):
        assert client.get("/api/v1/me").status_code == 401


# --- feeds ---------------------------------------------------------------------------------

def test_wrong_feed_tokens_get_429_per_address_and_each_feed_has_its_own_limit(
        app, client, api, make_therapist):
    from athlete_sched.config import Config

    therapist = make_therapist()
    path = api.get(f"/api/v1/therapists/{therapist['id']}/feed").get_json()["url"]
    path = path.split("://", 1)[1].split("/", 1)[1]
    for _ in range(3):  # RATELIMIT_FEED: 3 per minute per feed token
        assert client.get("/" + path).status_code == 200
    refused = client.get("/" + path, environ_base=ELSEWHERE)  # per token, not per address
    assert refused.status_code == 429 and refused.mimetype == "text/plain"
    assert "try again in" in refused.get_data(as_text=True)
    retry_after(refused, 60)

    allowed = int(Config.RATELIMIT_BAD_FEED_TOKEN.split()[0])
    wrong = [client.get(f"/feeds/{'x' * 20}{n:04d}.ics").status_code for n in range(200)]
    assert wrong[:allowed] == [404] * allowed and wrong[allowed:] == [429] * (200 - allowed)
    assert client.get(f"/feeds/{'y' * 24}.ics", environ_base=ELSEWHERE).status_code == 404


# --- sign-in, password reset, one-time links ----------------------------------------------

def sign_in_form(client, email: str, password: str, address: str = "127.0.0.1"):
    environ = {"REMOTE_ADDR": address}
    token = csrf(client, "/sign-in")
    return client.post("/sign-in", data={"email": email, "password": password,
                                         "remember": "y", "csrf_token": token},
                       environ_base=environ)


def test_failed_sign_ins_per_account_refuse_even_the_right_password_and_keep_the_form(
        app, make_user):
    make_user("athlete", "ana@test.example", "Ana", password=PASSWORD)
    make_user("athlete", "bo@test.example", "Bo", password=PASSWORD)
    client = app.test_client()
    for _ in range(3):  # RATELIMIT_SIGN_IN_ACCOUNT: 3 failures per 15 minutes
        assert sign_in_form(client, "ana@test.example", "wrong password").status_code == 422
    refused = sign_in_form(client, "Ana@Test.example", PASSWORD)
    assert refused.status_code == 429
    html = refused.get_data(as_text=True)
    assert "Too many failed sign-ins" in html and "Forgot your password" in html
    assert re.search(r'value="Ana@Test.example"', html), "the email typed is kept"
    assert PASSWORD not in html
    remember = re.search(r'<input[^>]*name="remember"[^>]*>', html)
    assert remember and "checked" in remember.group(0), "the checkbox is kept"
    assert retry_after(refused, 15 * 60) > 60
    # another account from the same address still signs in; so do successful sign-ins
    for _ in range(10):
        assert sign_in_form(app.test_client(), "bo@test.example", PASSWORD).status_code == 303


def test_failed_sign_ins_per_address_across_accounts(app, make_user):
    make_user("athlete", "ana@test.example", "Ana", password=PASSWORD)
    client = app.test_client()
    for n in range(5):  # RATELIMIT_SIGN_IN_ADDRESS: 5 failures per 15 minutes
        assert sign_in_form(client, f"guess{n}@test.example", "nope").status_code == 422
    assert sign_in_form(client, "ana@test.example", PASSWORD).status_code == 429
    assert sign_in_form(client, "ana@test.example", PASSWORD, "10.1.1.1").status_code == 303


def test_reset_requests_per_account_answer_429_with_the_email_kept(app, client, make_user):
    make_user("athlete", "ana@test.example", "Ana", password=PASSWORD)

    def ask(email: str, address: str = "127.0.0.1"):
        token = csrf(client, "/forgot-password")
        return client.post("/forgot-password", data={"email": email, "csrf_token": token},
                           environ_base={"REMOTE_ADDR": address})

    assert [ask("ana@test.example").status_code for _ in range(2)] == [200, 200]
    refused = ask("ana@test.example", "10.2.2.2")  # per account, whatever the address
    assert refused.status_code == 429
    html = refused.get_data(as_text=True)
    assert "Too many reset requests" in html and 'value="ana@test.example"' in html
    retry_after(refused, 3600)
    assert ask("other@test.example").status_code == 200  # address: 3 of 4 so far
    assert ask("third@test.example").status_code == 200
    assert ask("fourth@test.example").status_code == 429  # RATELIMIT_PASSWORD_RESET_ADDRESS


def test_wrong_one_time_links_count_as_wrong_tokens_per_address(app, client):
    from athlete_sched.config import Config

    allowed = int(Config.RATELIMIT_BAD_TOKEN.split()[0])
    statuses = [client.get(f"/reset-password/guess{n}").status_code for n in range(allowed)]
    assert statuses == [410] * allowed
    refused = client.get("/invitation/another-guess")
    assert refused.status_code == 429 and "text/html" in refused.content_type
    assert "try again in" in refused.get_data(as_text=True)
    retry_after(refused, 60)


# --- invitations, plans, uploads: per signed-in user ---------------------------------------

def test_reset_links_an_admin_makes_are_limited_per_admin(app, page_as, make_user):
    admin = page_as("admin")
    make_user("athlete", "ana@test.example", "Ana", password=PASSWORD)
    from pageutil import scalar

    user_id = scalar(app, "SELECT id FROM user_account WHERE email = 'ana@test.example'")
    token = csrf(admin, "/admin/users")
    statuses = [admin.post(f"/admin/users/{user_id}/reset", data={"csrf_token": token}
                           ).status_code for _ in range(3)]
    assert statuses[:2] == [303, 303] and statuses[2] == 429  # RATELIMIT_INVITATIONS
    other = page_as("admin")
    assert other.post(f"/admin/users/{user_id}/reset",
                      data={"csrf_token": csrf(other, "/admin/users")}).status_code == 303


def test_team_plans_and_calendar_uploads_are_limited_per_user(app, api, make_user):
    # the limit is counted before the work: an unknown event or therapist counts as well
    plans = [api.post("/api/v1/events/999/plan").status_code for _ in range(3)]
    assert plans[:2] == [404, 404]
    refused_json(api.post("/api/v1/events/999/book-team"), 60)  # one limit: plan + book
    coach = api.as_(make_user("coach"))
    assert coach.post("/api/v1/events/999/plan").status_code == 404  # another user

    def upload():
        return api.put("/api/v1/therapists/999/busy-calendar", data=b"BEGIN:VCALENDAR",
                       headers={"Content-Type": "text/calendar"})

    assert [upload().status_code for _ in range(2)] == [404, 404]
    refused_json(upload(), 3600)


def test_the_openapi_document_names_429_and_the_imports_503(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    me = doc["paths"]["/api/v1/me"]["get"]["responses"]
    assert "429" in me  # 503 is there too, for the database (database-unavailable)
    put = doc["paths"]["/api/v1/therapists/{therapist_id}/busy-calendar"]["put"]["responses"]
    assert {"429", "503"} <= set(put)
    assert "429" not in doc["paths"]["/api/v1/openapi.json"]["get"]["responses"]


# --- one limit shared by two apps (two processes) through Redis ----------------------------

def test_two_apps_share_one_limit_through_redis_and_not_in_memory(app_config, storage, api,
                                                                 app):
    from athlete_sched import create_app
    from athlete_sched.extensions import db

    other_app = create_app(app_config)  # another worker, the same settings
    second = other_app.test_client()
    first = api.client
    for n in range(15):
        assert api.as_(f"wrong-{n}").get("/api/v1/me").status_code == 401
    statuses = [second.get("/api/v1/me", headers={"Authorization": f"Bearer other-{n}"}
                           ).status_code for n in range(30)]
    if storage.startswith("redis"):  # 30 per minute in all: the second has 15 left
        assert statuses == [401] * 15 + [429] * 15
        assert first.get("/api/v1/me", headers={"Authorization": "Bearer x"}).status_code == 429
    else:  # each process counts its own
        assert statuses == [401] * 30
    with other_app.app_context():
        db.engine.dispose()


# --- two real servers (gunicorn, two workers each) sharing one limit through Redis ---------

@pytest.fixture
def redis_url() -> str:
    reason = redis_reachable()
    if reason:
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({reason}); .ci/run starts it")
    return REDIS_URL


@pytest.mark.slow
def test_two_servers_share_one_limit_through_redis(database: str, tmp_path, redis_url: str):
    from contextlib import ExitStack

    import requests
    from server import running_server

    name = f"test-{uuid.uuid4().hex}"
    env = {"FLASK_RATELIMIT_ENABLED": "true", "FLASK_RATELIMIT_STORAGE_URI": redis_url,
           "FLASK_RATELIMIT_KEY_PREFIX": name, "FLASK_RATELIMIT_BAD_TOKEN": "20 per minute"}
    with ExitStack() as stack:
        urls = []
        for host in ("a", "b"):
            (tmp_path / host).mkdir()
            urls.append(stack.enter_context(
                running_server(database, tmp_path / host, workers=2, env=env)))

        def guess(url: str, n: int) -> int:
            return requests.get(f"{url}/api/v1/me", timeout=10,
                                headers={"Authorization": f"Bearer wrong-{n}"}).status_code

        first = [guess(urls[0], n) for n in range(12)]
        second = [guess(urls[1], n) for n in range(12)]
        again = guess(urls[0], 99)
    import redis

    store = redis.Redis.from_url(redis_url)
    for key in store.scan_iter(f"*{name}*"):
        store.delete(key)
    assert first == [401] * 12  # 12 of the 20 used on the first server
    assert second == [401] * 8 + [429] * 4, second  # the second has 8 left
    assert again == 429


def test_an_unreachable_store_lets_requests_through_and_logs_it(app_config, api, caplog):
    from athlete_sched import create_app
    from athlete_sched.extensions import db

    down = create_app({**app_config, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1"})
    client = down.test_client()
    statuses = {client.get("/api/v1/me", headers={"Authorization": f"Bearer wrong-{n}"}
                           ).status_code for n in range(40)}
    assert statuses == {401}  # fail open: no 429, no 500
    assert "abuse limit RATELIMIT_BAD_TOKEN not applied" in caplog.text
    with down.app_context():
        db.engine.dispose()


def test_an_invitation_form_over_the_limit_comes_back_with_what_was_typed(app, page_as):
    admin = page_as("admin")

    def invite(n: int):
        return admin.post("/admin/users", data={
            "email": f"new{n}@test.example", "role": "coach", "name": f"Coach Number{n}",
            "csrf_token": csrf(admin, "/admin/users")})

    assert [invite(n).status_code for n in range(2)] == [303, 303]
    refused = invite(2)
    assert refused.status_code == 429
    html = refused.get_data(as_text=True)
    assert "Too many of these in a short time" in html and "Nothing was saved" in html
    assert 'value="new2@test.example"' in html and 'value="Coach Number2"' in html
    retry_after(refused, 3600)
    from pageutil import scalar

    assert scalar(app, "SELECT count(*) FROM user_account WHERE email LIKE 'new%'") == 2


class _Clock:
    """A clock for the limiter's in-memory store and for Retry-After: now = start + moved."""

    def __init__(self, start: float) -> None:
        self.now = start

    def time(self) -> float:
        return self.now


@pytest.mark.parametrize("storage", ["memory://"])  # the clock is the memory store's
def test_a_used_up_limit_stays_used_up_across_the_turn_of_a_minute(
        app, client, api, monkeypatch, storage):
    """The limit counts any 60 s, not calendar minutes: 30 wrong guesses just before a
    minute turns are still counted just after it (a window counter that weights the last
    minute would let the next guess through at once), and one minute after the first
    guess the next one is looked at again."""
    import limits.storage.memory

    from athlete_sched.config import Config
    from athlete_sched.web import limits as app_limits

    allowed = int(Config.RATELIMIT_BAD_TOKEN.split()[0])
    clock = _Clock(60 * 29_000_000 + 59.0)  # one second before a minute turns
    monkeypatch.setattr(limits.storage.memory, "time", clock)
    monkeypatch.setattr(app_limits, "time", clock)
    assert [api.as_(f"wrong-{n}").get("/api/v1/me").status_code
            for n in range(allowed)] == [401] * allowed
    assert api.as_("wrong-late").get("/api/v1/me").status_code == 429
    clock.now += 2  # the minute has turned
    refused = api.as_("wrong-after-the-turn").get("/api/v1/me")
    assert refused.status_code == 429
    assert retry_after(refused, 60) == 58  # the first guess leaves the window then
    clock.now += 58.5
    assert api.as_("wrong-a-minute-later").get("/api/v1/me").status_code == 401
