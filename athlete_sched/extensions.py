"""Unbound extensions and the transaction discipline of each backend.

SQLite allows one writer at a time. A write request opens its transaction with
`BEGIN IMMEDIATE`, which takes the write lock *before* the first read, so the re-check
before an insert sees the latest committed state and no other process can slip in
between. Read-only requests use a plain deferred `BEGIN`. pysqlite's own implicit
transaction handling is switched off so that SQLAlchemy's BEGIN is the one that counts
(the recipe in SQLAlchemy's SQLite dialect documentation).

PostgreSQL runs writers side by side; its exclusion constraints refuse overlapping
bookings. But two transactions that insert conflicting rows at the same instant each
find the other's uncommitted row in the exclusion index, wait for each other and one
dies as a *deadlock* (after `deadlock_timeout`, as an error no client should see).
`lock_for_booking` prevents that: before booking rows are written, the transaction takes
advisory locks on their therapists and athletes, always in one global order, so writers
that could conflict queue up instead (held to commit or rollback; unrelated therapists and
athletes still write in parallel). The next writer then finds the first one committed and
is refused cleanly by the constraint.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from flask import Flask, g, has_request_context, request
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Key spaces of pg_advisory_xact_lock(int, int): (space, therapist id) / (space, athlete id).
# migration 0003's booking_refusal() takes the same lock keys: changing these numbers
# needs a new migration (tests/test_guard.py checks that they match).
THERAPIST_LOCK_SPACE = 0x6173_0001
ATHLETE_LOCK_SPACE = 0x6173_0002


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
csrf = CSRFProtect()  # page forms; the bearer-token API is exempt


MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def init_migrations(app: Flask) -> None:
    """Flask-Migrate for `app`, once: its `flask db` commands and what
    flask_migrate.upgrade() and migrations/env.py read (`app.extensions["migrate"]`).
    Called when migrations are asked for (cli.py's `db` group, tests, benchmarks), not by
    create_app: Flask-Migrate brings Alembic and Mako, about 0.2 s of the 1.3 s a web
    worker took to import the app (bench/coldstart.py), and a web worker never migrates."""
    if "migrate" not in app.extensions:
        from flask_migrate import Migrate

        Migrate(app, db, directory=str(MIGRATIONS))


def read_only_request() -> bool:
    """Whether this is a read-only HTTP request (GET, HEAD, OPTIONS) that has not said it
    must write after all (`restart_as_writer`)."""
    return (has_request_context() and request.method in SAFE_METHODS
            and not g.get("write_lock"))


def _wants_write_lock() -> bool:
    """Every transaction takes the write lock except those of read-only HTTP requests."""
    return not read_only_request()


def reads_without_transaction() -> None:
    """PostgreSQL (create_app installs it before every request there), read-only request
    other than a static file: take the session's connection in autocommit mode, so
    that each query is its own transaction. Under READ COMMITTED every statement reads a
    fresh snapshot either way, so the answers are the same; what goes is the BEGIN and the
    ROLLBACK (two round trips a request), and with the ROLLBACK, psycopg's clearing of its
    prepared statements (a rollback drops them all), so the queries every request sends
    are prepared once per connection instead of planned on every call. The connection's
    isolation level is reset when it goes back to the pool."""
    if read_only_request() and request.endpoint != "static":
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def restart_as_writer() -> None:
    """For a GET that finds it must write (a row created on first use): end the read
    transaction (SQLite) or the autocommit connection (PostgreSQL), so that what follows
    runs in one write transaction, begun on SQLite with BEGIN IMMEDIATE (a deferred read
    transaction cannot safely become a writer while another commits). Loaded objects are
    expired and reload in the new transaction."""
    g.write_lock = True
    db.session.rollback()


def configure_sqlite(engine: Engine) -> None:
    """Install the connection pragmas and the BEGIN / BEGIN IMMEDIATE choice on an engine."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _wants_write_lock() else "BEGIN")


def configure_postgresql(engine: Engine) -> None:
    """Run every session in UTC: instants are compared and stored as timestamptz either
    way, but psycopg then returns them with `datetime.UTC` itself, so reading one needs no
    conversion (db/types.py; a proposals request reads about 1,500)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.execute("SET TIME ZONE 'UTC'")
        dbapi_connection.commit()


def lock_for_booking(connection: Connection, therapist_ids: Iterable[int | None],
                     athlete_ids: Iterable[int | None]) -> None:
    """PostgreSQL: queue behind every open transaction that books one of these therapists
    or athletes (advisory locks held until commit or rollback, taken in a global order so
    that lockers never deadlock one another). SQLite: nothing to do (BEGIN IMMEDIATE)."""
    if connection.dialect.name != "postgresql":
        return
    keys = sorted({(THERAPIST_LOCK_SPACE, t) for t in therapist_ids if t is not None}
                  | {(ATHLETE_LOCK_SPACE, a) for a in athlete_ids if a is not None})
    if not keys:
        return
    calls = ", ".join(f"pg_advisory_xact_lock(:s{i}, :k{i})" for i in range(len(keys)))
    params = {f"{name}{i}": value for i, key in enumerate(keys)
              for name, value in zip("sk", key, strict=True)}
    connection.execute(text(f"SELECT {calls}"), params)  # evaluated left to right
