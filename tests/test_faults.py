"""Faults (issue 14), on both backends: the database out of reach, a full disk, and the
HTTP errors the server and the framework answer on their own.

- A read whose connection is lost runs once more on a new connection (200); if the
  database stays away, 503 `database-unavailable` with Retry-After (JSON under /api/, a
  page that needs no database elsewhere); a write is never run again: 503. A full disk is
  507 `storage-full`. Simulated with the errors the drivers raise (SQLite's "disk I/O
  error" and "database or disk is full", psycopg's AdminShutdown and DiskFull), and for
  real: the app's own connection killed between requests and inside a request
  (PostgreSQL: pg_terminate_backend; SQLite: the connection closed underneath).
- Every route with a method it does not take (TRACE too) is 405 with Allow; under /api/
  the answer is JSON.
- 413 for a chunked body over the limit (werkzeug cut it off silently: a 400 for JSON),
  414 and 431 answered by the app as JSON under /api/ (web/request_limits.py), also
  through gunicorn with the limits of web/gunicorn_limits.py.
"""

from __future__ import annotations

import contextlib
import io
import socket
import sqlite3
from urllib.parse import urlsplit

import psycopg
import pytest
import sqlalchemy as sa
from api.helpers import assert_error, created
from conftest import PG_ADMIN_URL, backend_of
from pageutil import scalar
from server import running_server
from werkzeug.routing import IntegerConverter

from athlete_sched.services import accounts, clinic

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def driver_error(database: str, kind: str) -> sa.exc.DBAPIError:
    """The error SQLAlchemy raises when the database is lost (`lost`) or full (`full`)."""
    if backend_of(database) == "sqlite":
        orig = sqlite3.OperationalError("disk I/O error" if kind == "lost"
                                        else "database or disk is full")
        return sa.exc.OperationalError("SELECT 1", {}, orig)
    if kind == "lost":
        orig = psycopg.errors.AdminShutdown("terminating connection due to administrator "
                                            "command")
        return sa.exc.OperationalError("SELECT 1", {}, orig, connection_invalidated=True)
    orig = psycopg.errors.DiskFull('could not extend file "base/16384/16385": No space left '
                                   "on device")
    return sa.exc.OperationalError("INSERT", {}, orig)


def failing(monkeypatch, module, name: str, error: Exception, times: int = 1) -> list[int]:
    """Make `module.name` raise `error` on its first `times` calls; the calls counted."""
    original, calls = getattr(module, name), []

    def patched(*args, **kwargs):
        calls.append(1)
        if len(calls) <= times:
            raise error
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, patched)
    return calls


# --- a lost database -------------------------------------------------------------------------

def test_a_read_runs_again_after_a_lost_connection(api, database, monkeypatch, make_therapist):
    make_therapist(name="Ana Ruiz")
    calls = failing(monkeypatch, clinic, "therapists_page", driver_error(database, "lost"))
    answer = api.get("/api/v1/therapists")
    assert answer.status_code == 200, answer.get_json()
    assert [t["name"] for t in answer.get_json()["items"]] == ["Ana Ruiz"]
    assert len(calls) == 2


def test_a_database_that_stays_away_is_a_503_with_retry_after(api, database, monkeypatch):
    calls = failing(monkeypatch, clinic, "therapists_page", driver_error(database, "lost"), 9)
    answer = api.get("/api/v1/therapists")
    assert_error(answer, 503, "database-unavailable")
    assert answer.headers["Retry-After"] == "5"
    assert len(calls) == 2  # once more, and only once


def test_a_write_is_not_run_again_after_a_lost_connection(app, api, database, monkeypatch):
    calls = failing(monkeypatch, clinic, "create_team_for", driver_error(database, "lost"))
    answer = api.post("/api/v1/teams", {"name": "Riders"})
    assert_error(answer, 503, "database-unavailable")
    assert answer.headers["Retry-After"] == "5"
    assert len(calls) == 1
    assert created(api.post("/api/v1/teams", {"name": "Riders"}))["name"] == "Riders"


def test_a_lost_database_while_checking_the_token_is_a_503(api, database, monkeypatch):
    """Outside the view's unit (the API's guard, a before_request): still 503 JSON."""
    failing(monkeypatch, accounts, "check_token", driver_error(database, "lost"), 9)
    assert_error(api.get("/api/v1/me"), 503, "database-unavailable")


def test_a_page_says_the_database_is_out_of_reach(app, page_as, database, monkeypatch):
    pages = page_as("admin")
    failing(monkeypatch, accounts, "caller_for_session", driver_error(database, "lost"), 9)
    answer = pages.get("/account")
    assert answer.status_code == 503 and answer.mimetype == "text/html"
    assert answer.headers["Retry-After"] == "5"
    text = answer.get_data(as_text=True)
    assert "The database is not reachable" in text and "try again in a few seconds" in text


def test_a_full_disk_is_a_507_and_nothing_is_saved(app, api, database, monkeypatch):
    failing(monkeypatch, clinic, "create_team_for", driver_error(database, "full"), 9)
    answer = api.post("/api/v1/teams", {"name": "Riders"})
    error = assert_error(answer, 507, "storage-full")
    assert "disk is full" in error["message"]
    assert "Retry-After" not in answer.headers
    assert scalar(app, "SELECT count(*) FROM team") == 0


def test_a_full_disk_on_a_page_is_a_507_page(app, page_as, database, monkeypatch):
    pages = page_as("admin")
    failing(monkeypatch, accounts, "caller_for_session", driver_error(database, "full"), 9)
    answer = pages.get("/account")
    assert answer.status_code == 507 and answer.mimetype == "text/html"
    assert "The disk is full" in answer.get_data(as_text=True)


def test_other_database_errors_stay_500(api, database, monkeypatch):
    orig = (sqlite3.OperationalError("no such table: therapist")
            if backend_of(database) == "sqlite" else psycopg.errors.UndefinedTable("nope"))
    failing(monkeypatch, clinic, "therapists_page",
            sa.exc.ProgrammingError("SELECT", {}, orig), 9)
    assert_error(api.get("/api/v1/therapists"), 500, "internal-error")


def _terminate(pid: int) -> None:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:p, 5000)"), {"p": pid})
    finally:
        admin.dispose()


def own_connection_killer():
    """Inside a request: a function that kills the database connection the request uses
    (PostgreSQL: pg_terminate_backend from another connection, as an administrator or a
    failover would; SQLite: the file's connection closed under SQLAlchemy's feet)."""
    from athlete_sched.extensions import db

    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        pid = connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        return lambda: _terminate(pid)
    raw = connection.connection.dbapi_connection
    return raw.close


def killing_own_connection(monkeypatch, module, name: str, times: int = 1) -> list[int]:
    """`module.name`, which first kills its own database connection on its first `times`
    calls, then goes on to use it."""
    original, calls = getattr(module, name), []

    def patched(*args, **kwargs):
        calls.append(1)
        if len(calls) <= times:
            own_connection_killer()()
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, patched)
    return calls


def test_a_connection_killed_between_requests_is_replaced(api, monkeypatch, make_therapist):
    make_therapist()
    killers, original = [], clinic.therapists_page

    def remember(*args, **kwargs):
        killers.append(own_connection_killer())
        return original(*args, **kwargs)

    monkeypatch.setattr(clinic, "therapists_page", remember)
    assert api.get("/api/v1/therapists").status_code == 200
    killers[0]()  # the connection is back in the pool, dead now
    for _ in range(3):  # the pool's pre-ping replaces it before the request uses it
        answer = api.get("/api/v1/therapists")
        assert answer.status_code == 200, answer.get_json()
        assert len(answer.get_json()["items"]) == 1


def test_a_connection_killed_inside_a_read_is_run_again(api, monkeypatch, make_therapist):
    make_therapist(name="Ana Ruiz")
    calls = killing_own_connection(monkeypatch, clinic, "therapists_page")
    answer = api.get("/api/v1/therapists")
    assert answer.status_code == 200, answer.get_json()
    assert [t["name"] for t in answer.get_json()["items"]] == ["Ana Ruiz"]
    assert len(calls) == 2


def test_a_connection_killed_twice_inside_a_read_is_a_503(api, monkeypatch):
    killing_own_connection(monkeypatch, clinic, "therapists_page", times=2)
    answer = api.get("/api/v1/therapists")
    assert_error(answer, 503, "database-unavailable")
    assert answer.headers["Retry-After"] == "5"
    assert api.get("/api/v1/therapists").status_code == 200  # and then it works again


def test_a_connection_killed_inside_a_write_saves_nothing(app, api, monkeypatch):
    calls = killing_own_connection(monkeypatch, clinic, "create_team_for")
    assert_error(api.post("/api/v1/teams", {"name": "Riders"}), 503, "database-unavailable")
    assert len(calls) == 1
    assert scalar(app, "SELECT count(*) FROM team") == 0
    assert created(api.post("/api/v1/teams", {"name": "Riders"}))["name"] == "Riders"


# --- 405 with Allow --------------------------------------------------------------------------

def _sample_url(rule) -> str:
    values = {}
    for name, converter in rule._converters.items():
        values[name] = (1 if isinstance(converter, IntegerConverter) else
                        "2027-05-12" if name == "date" else
                        "app.css" if name == "filename" else "x" * 24)
    return rule.build(values, append_unknown=False)[1]


def test_every_route_answers_a_method_it_does_not_take_with_405_and_allow(app, client):
    adapter = app.url_map.bind("localhost")
    checked = 0
    for rule in app.url_map.iter_rules():
        url = _sample_url(rule)
        allowed = adapter.allowed_methods(url)
        for method in ("TRACE", *[m for m in METHODS if m not in allowed][:1]):
            answer = client.open(url, method=method)
            assert answer.status_code == 405, (method, url, answer.status_code)
            assert set(answer.headers["Allow"].split(", ")) == set(allowed), (method, url)
            if url.startswith("/api/"):
                assert_error(answer, 405, "method-not-allowed")
            checked += 1
    assert checked > 100


# --- 413, 414, 431 --------------------------------------------------------------------------

def chunked(client, path: str, body: bytes, headers: dict[str, str], method: str = "POST"):
    """A request whose body comes without Content-Length (Transfer-Encoding: chunked), as
    gunicorn and werkzeug's server hand it to the app."""
    return client.open(path, method=method, input_stream=io.BytesIO(body),
                       headers={**headers, "Transfer-Encoding": "chunked"},
                       environ_overrides={"wsgi.input_terminated": True})


def test_a_chunked_body_over_the_limit_is_413(app, api, admin_token):
    auth = {"Authorization": f"Bearer {admin_token}", "Content-Type": "application/json"}
    big = b'{"name": "' + b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1) + b'"}'
    error = assert_error(chunked(api.client, "/api/v1/teams", big, auth), 413, "body-too-large")
    assert str(app.config["MAX_CONTENT_LENGTH"]) in error["message"]
    small = b'{"name": "Riders"}'
    assert created(chunked(api.client, "/api/v1/teams", small, auth))["name"] == "Riders"


def test_a_chunked_upload_gets_its_own_larger_limit(app, api, admin_token, make_therapist):
    """A busy-calendar upload may be CALENDAR_MAX_BYTES (5 MiB), chunked or not."""
    therapist = make_therapist()
    auth = {"Authorization": f"Bearer {admin_token}", "Content-Type": "text/calendar"}
    lines = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n"
    body = lines + b"X-FILLER:" + b"x" * (2 * 1024 * 1024) + b"\r\nEND:VCALENDAR\r\n"
    path = f"/api/v1/therapists/{therapist['id']}/busy-calendar"
    answer = chunked(api.client, path, body, auth, method="PUT")
    assert answer.status_code != 413, answer.get_json()
    over = lines + b"X-FILLER:" + b"x" * app.config["CALENDAR_MAX_BYTES"]
    assert_error(chunked(api.client, path, over, auth, method="PUT"), 413, "body-too-large")


def test_a_chunked_form_over_the_limit_is_a_413_page(app, client):
    big = b"email=" + b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    answer = chunked(client, "/sign-in", big,
                     {"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 413 and answer.mimetype == "text/html"


@pytest.mark.parametrize(("path", "headers", "status", "code"), [
    ("/api/v1/therapists?q=" + "x" * 4100, {}, 414, "uri-too-long"),
    ("/api/v1/" + "x" * 4100, {}, 414, "uri-too-long"),
    ("/api/v1/me", {"X-Big": "x" * 8200}, 431, "header-fields-too-large"),
    ("/api/v1/me", {f"X-Many-{i}": "1" for i in range(101)}, 431, "header-fields-too-large"),
])
def test_oversized_request_lines_and_headers_are_json_under_api(client, path, headers, status,
                                                                code):
    answer = client.get(path, headers=headers)
    assert_error(answer, status, code)
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_oversized_request_lines_elsewhere_get_a_page(client):
    answer = client.get("/sign-in?next=" + "x" * 4100)
    assert answer.status_code == 414 and answer.mimetype == "text/html"
    assert "request line is longer than 4094 bytes" in answer.get_data(as_text=True)
    assert client.get("/sign-in?next=" + "x" * 3000).status_code == 200  # under the limit


# --- through gunicorn ------------------------------------------------------------------------

def raw_request(base_url: str, head: bytes, body: bytes = b"") -> tuple[int, bytes, bytes]:
    """Send bytes to the server; (status, head, body) of its answer (the server may close
    the connection before it has read a body it refuses)."""
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head + body)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    answer_head, _, answer_body = received.partition(b"\r\n\r\n")
    return int(answer_head.split(b" ", 2)[1]), answer_head, answer_body


def chunks_of(body: bytes, size: int = 65536) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size])
                    for i in range(0, len(body), size)) + b"0\r\n\r\n"


def test_through_gunicorn_every_api_refusal_is_json(database, tmp_path_factory, admin_token):
    with running_server(database, tmp_path_factory.mktemp("gunicorn-faults"), workers=1) as url:
        auth = f"Authorization: Bearer {admin_token}\r\n".encode()
        ten_mb = b'{"name": "' + b"x" * (10 * 1024 * 1024) + b'"}'
        cases = [
            (b"POST /api/v1/teams HTTP/1.1\r\nHost: t\r\n" + auth
             + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
             b"Connection: close\r\n\r\n", chunks_of(ten_mb), 413, b"body-too-large"),
            (b"GET /api/v1/" + b"x" * 5000 + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
             b"", 414, b"uri-too-long"),
            (b"GET /api/v1/me HTTP/1.1\r\nHost: t\r\nX-Big: " + b"x" * 9000
             + b"\r\nConnection: close\r\n\r\n", b"", 431, b"header-fields-too-large"),
            (b"TRACE /api/v1/me HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", b"", 405,
             b"method-not-allowed"),
        ]
        for head, body, status, code in cases:
            got, answer_head, answer_body = raw_request(url, head, body)
            assert got == status, (head[:60], answer_head, answer_body[:200])
            assert b"Content-Type: application/json" in answer_head, answer_head
            assert b'"code":"' + code + b'"' in answer_body, answer_body[:200]
            if status == 405:
                assert b"Allow: " in answer_head, answer_head
