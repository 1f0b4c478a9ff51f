"""Shared fixtures. Every test that touches the database runs on SQLite and on PostgreSQL
(the `database` fixture is parametrized); the PostgreSQL leg skips with a reason where no
server is reachable, and under CI=true any skip fails the run (see pytest_sessionfinish).

- `app`, `client`, `runner`: a fresh app on the backend, clock pinned to NOW.
- `api`: the test client with an admin bearer token; `api.as_(token)` acts as another user.
- `page_as(role, email)`: a test client signed in to the pages (tests/pageutil.py reads them).
- `make_therapist`, `make_athlete`, `make_event`, `make_user`: factories over the real API.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

NOW = datetime(2027, 1, 4, 0, 0, tzinfo=UTC)  # a Monday; every test date is after it
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_skipped: list[str] = []
_passed_by_backend = {"sqlite": 0, "postgresql": 0}


# --- backends -----------------------------------------------------------------------------

def postgres_reachable() -> str | None:
    """None if PostgreSQL answers at PG_ADMIN_URL, else the reason it does not."""
    try:
        engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not here"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"


def _create_pg_database() -> tuple[str, sa.Engine]:
    name = f"athlete_sched_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG_ADMIN_URL).set(database=name)
    return url.render_as_string(hide_password=False), admin


def _drop_pg_database(url: str, admin: sa.Engine) -> None:
    name = sa.engine.make_url(url).database
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def migrate(url: str, revision: str = "head", down: bool = False) -> None:
    """Bring the database up (or `down`) to `revision` with the real migrations; by default
    the empty database to the current schema."""
    from flask_migrate import downgrade, upgrade

    from athlete_sched import create_app
    from athlete_sched.extensions import db, init_migrations

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    init_migrations(app)
    with app.app_context():
        (downgrade if down else upgrade)(revision=revision)
        db.engine.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[str]:
    """A migrated database URL for the session, one per backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
        migrate(url)
        yield url
        return
    reason = postgres_reachable()
    if reason:
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL} ({reason}); start it or set "
                    f"TEST_POSTGRES_URL - .ci/run starts it and runs this leg")
    url, admin = _create_pg_database()
    try:
        migrate(url)
        yield url
    finally:
        _drop_pg_database(url, admin)


def backend_of(url: str) -> str:
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def clear(engine: sa.Engine) -> None:
    """Empty every table (keeping schema, triggers and constraints) but the commit counters
    (db/version.py, schedule_version, feed_version, proposals_version: they only ever
    grow)."""
    from athlete_sched.extensions import db

    tables = [t.name for t in reversed(db.metadata.sorted_tables)
              if t.name not in ("data_version", "schedule_version", "feed_version",
                                "proposals_version")]
    with engine.begin() as conn:
        for table in tables:  # children first; on PostgreSQL DELETE, not TRUNCATE: a TRUNCATE
            conn.execute(sa.text(f"DELETE FROM {table}"))  # of 20 tables took 0.5 s a test
        if engine.dialect.name == "postgresql":  # what TRUNCATE's RESTART IDENTITY did
            for (sequence,) in conn.execute(_USED_SEQUENCES, {"tables": tables}):
                conn.execute(sa.text(f'ALTER SEQUENCE "{sequence}" RESTART'))


# The sequences owned by (serial or identity columns of) the given tables that have handed
# out a number since they were made or restarted.
_USED_SEQUENCES = sa.text(
    "SELECT s.sequencename FROM pg_sequences s "
    "JOIN pg_class c ON c.relname = s.sequencename AND c.relkind = 'S' "
    "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = s.schemaname "
    "JOIN pg_depend d ON d.objid = c.oid AND d.deptype IN ('a', 'i') "
    "JOIN pg_class t ON t.oid = d.refobjid "
    "WHERE s.schemaname = current_schema() AND s.last_value IS NOT NULL "
    "AND t.relname = ANY(:tables)")


# --- app and clients ----------------------------------------------------------------------

@pytest.fixture
def app_config(database: str, tmp_path: Path) -> dict[str, Any]:
    return {"SQLALCHEMY_DATABASE_URI": database, "TESTING": True, "SECRET_KEY": "test",
            "FROZEN_NOW": NOW.isoformat()}


@pytest.fixture
def app(app_config: dict[str, Any]):
    from athlete_sched import create_app
    from athlete_sched.extensions import db

    app = create_app(app_config)
    yield app
    with app.app_context():
        db.session.remove()
        clear(db.engine)
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Api:
    """The Flask test client with a bearer token. Methods return the response."""

    def __init__(self, client, token: str) -> None:
        self.client, self.token = client, token

    def as_(self, token: str) -> Api:
        return Api(self.client, token)

    def _call(self, method: str, url: str, json: Any = None, **kwargs: Any):
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        if json is not None:
            kwargs["json"] = json
        return self.client.open(url, method=method, headers=headers, **kwargs)

    def get(self, url: str, **kw: Any):
        return self._call("GET", url, **kw)

    def post(self, url: str, json: Any = None, **kw: Any):
        return self._call("POST", url, json, **kw)

    def put(self, url: str, json: Any = None, **kw: Any):
        return self._call("PUT", url, json, **kw)

    def patch(self, url: str, json: Any = None, **kw: Any):
        return self._call("PATCH", url, json, **kw)

    def delete(self, url: str, **kw: Any):
        return self._call("DELETE", url, **kw)


PASSWORD = "correct horse battery"  # what `page_as` signs in with


@pytest.fixture
def make_user(app):
    """make_user(role, email=None, name='', password=None) -> token (created through the
    service; with a password, the user can also sign in to the pages)."""
    from athlete_sched.extensions import db
    from athlete_sched.services.accounts import create_user

    def make(role: str, email: str | None = None, name: str = "",
             password: str | None = None) -> str:
        with app.app_context():
            _, token = create_user(email or f"{role}-{uuid.uuid4().hex[:8]}@test.example",
                                   role, name, password)
            db.session.commit()
        return token

    return make


@pytest.fixture
def page_as(app, make_user):
    """page_as(role, email=None) -> a new test client signed in to the pages as a new user
    of that role (an athlete or therapist user acts as the profile with its email: make
    that first, with make_athlete / make_therapist)."""
    from pageutil import sign_in

    def make(role: str, email: str | None = None):
        email = email or f"{role}-{uuid.uuid4().hex[:8]}@test.example"
        make_user(role, email, password=PASSWORD)
        signed = app.test_client()
        assert sign_in(signed, email, PASSWORD).status_code == 303
        return signed

    return make


@pytest.fixture
def admin_token(make_user) -> str:
    return make_user("admin", "admin@test.example")


@pytest.fixture
def api(client, admin_token) -> Api:
    return Api(client, admin_token)


def _created(response) -> dict[str, Any]:
    assert response.status_code == 201, response.get_json()
    return response.get_json()


WEEKDAYS_8_TO_18 = [{"day": d, "start": s, "end": e}
                    for d in ("mon", "tue", "wed", "thu", "fri", "sat")
                    for s, e in (("08:00", "12:00"), ("13:00", "18:00"))]


@pytest.fixture
def make_therapist(api):
    def make(**fields: Any) -> dict[str, Any]:
        body = {"name": "Ana Ruiz", "email": f"t-{uuid.uuid4().hex[:8]}@clinic.test",
                "timezone": "Europe/Berlin", "working_hours": WEEKDAYS_8_TO_18, **fields}
        return _created(api.post("/api/v1/therapists", body))

    return make


@pytest.fixture
def make_athlete(api):
    def make(**fields: Any) -> dict[str, Any]:
        body = {"name": "Mara Runner", "email": f"a-{uuid.uuid4().hex[:8]}@athletes.test",
                "sport": "running", "timezone": "Europe/Berlin", **fields}
        return _created(api.post("/api/v1/athletes", body))

    return make


@pytest.fixture
def make_event(api):
    def make(athlete_id: int | None = None, **fields: Any) -> dict[str, Any]:
        body = {"name": "Rennsteig Marathon", "sport": "running",
                "timezone": "Europe/Berlin", "start": "2027-05-15T08:00",
                "end": "2027-05-15T12:30", **fields}
        if athlete_id is not None:
            body["athlete_id"] = athlete_id
        return _created(api.post("/api/v1/events", body))

    return make


# --- CI: a skipped test is a failed run ---------------------------------------------------

def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)
    elif report.when == "call" and report.passed:
        for backend in _passed_by_backend:
            if f"[{backend}" in report.nodeid or f"-{backend}" in report.nodeid:
                _passed_by_backend[backend] += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):
        return  # a pytest-xdist worker: the controller sees every report and judges the run
    if os.environ.get("CI", "").lower() == "true" and _skipped:
        print(f"\nCI=true: {len(_skipped)} test(s) were skipped; CI needs every leg to run:")
        for nodeid in _skipped[:20]:
            print(f"  skipped: {nodeid}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if os.environ.get("CI", "").lower() == "true" and session.testscollected > 0:
        print(f"\ndatabase tests passed per backend: {_passed_by_backend}")
        if _passed_by_backend["postgresql"] == 0 and _passed_by_backend["sqlite"] > 0:
            print("CI=true: no test ran on PostgreSQL")
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


# --- speed: cheap password hashes in the test process --------------------------------------
# argon2id with argon2-cffi's defaults (64 MiB, 3 passes, 4 lanes) costs about a second per
# hash or check on the 2-core CI machine, and page_as, sign-ins, invitations and the demo
# data do several per test: measured, it was the largest single cost of the suite. In the
# test process the same algorithm (argon2id, same salt and hash lengths) runs with the
# smallest cost; servers the tests start as subprocesses (gunicorn, deploy/run) keep the
# real one, and test_accounts checks the production parameters through this fixture's value.

@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[Any]:
    """Yields the production hasher (services/accounts.py's) while a cheap one stands in."""
    from argon2 import PasswordHasher

    from athlete_sched.services import accounts

    production = accounts._hasher
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "_hasher", cheap)
        patch.setattr(accounts, "_NOBODY", cheap.hash("no such user: the same work"))
        yield production


# --- speed: one compiled URL builder per route for the whole session -----------------------
# Every test makes its own app (create_app), and werkzeug compiles two URL-builder functions
# per route for it (Python source built as an AST, then compile()): about 85% of create_app,
# around half a second a test on the CI machine, over 3,800 tests. The function depends only
# on the rule (its text, parsed trace and defaults) and reaches the rule's converters through
# its `self` argument, so the compiled function is kept and bound to each new rule instead.

def _share_url_builders() -> None:
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder
    compiled: dict[tuple[Any, ...], Any] = {}

    def shared(self: Rule, append_unknown: bool = True) -> Any:
        key = (type(self), self.rule, append_unknown, tuple(self._trace),
               repr(sorted((self.defaults or {}).items(), key=repr)),
               tuple((name, type(conv), repr(sorted(
                         (k, v) for k, v in vars(conv).items() if k != "map")))
                     for name, conv in sorted(self._converters.items())))
        if key not in compiled:
            compiled[key] = compile_builder(self, append_unknown)
        return compiled[key]

    Rule._compile_builder = shared


_share_url_builders()


# --- speed: SQL compiled once per kind of database for the whole session -------------------
# SQLAlchemy keeps the SQL it compiled per engine (keyed by the engine's dialect object), and
# every test's app makes a new engine: every statement was compiled again in every test,
# about a quarter of an API test's time (tests/api/test_bad_input.py, profiled). Here the
# statements are compiled once per kind of dialect - the same class, driver and options on
# the same server (everything compiling reads) - and that first dialect compiles for the
# later equal ones, as one long-lived engine would in production. Each engine still
# connects, runs and commits on its own; only the SQL text and its bind order are shared.

def _share_compiled_sql() -> None:
    from sqlalchemy.sql.elements import ClauseElement
    from sqlalchemy.util import LRUCache

    compile_w_cache = ClauseElement._compile_w_cache
    shared_cache = LRUCache(20_000)
    first_of_kind: dict[tuple[Any, ...], Any] = {}

    def kind(dialect: Any) -> tuple[Any, ...] | None:
        if dialect.server_version_info is None:  # not yet initialized: nothing to compare
            return None
        return (type(dialect), dialect.dbapi, dialect.server_version_info,
                dialect.default_schema_name, dialect.paramstyle, dialect.positional,
                dialect.label_length, dialect.max_identifier_length,
                dialect.use_insertmanyvalues, dialect.insertmanyvalues_page_size,
                getattr(dialect, "_json_serializer", None),
                getattr(dialect, "_json_deserializer", None),
                getattr(dialect, "_has_native_hstore", None),
                getattr(dialect, "native_datetime", None))

    def shared(self: Any, dialect: Any, *, compiled_cache: Any, **kw: Any) -> Any:
        key = kind(dialect) if compiled_cache is not None else None
        if key is None:
            return compile_w_cache(self, dialect, compiled_cache=compiled_cache, **kw)
        first = first_of_kind.setdefault(key, dialect)
        return compile_w_cache(self, first, compiled_cache=shared_cache, **kw)

    ClauseElement._compile_w_cache = shared


_share_compiled_sql()
