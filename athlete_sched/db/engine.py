"""How each backend's connections are set up (engine "connect" hooks, installed once per
app by services/unit_of_work.install; the transactions on them are the unit of work's):

- SQLite: a busy timeout (a writer waits for the write lock instead of failing), foreign
  keys on, and for a file WAL with synchronous=NORMAL; pysqlite's own implicit
  transaction handling is switched off, so that the BEGIN the unit of work sends is the
  one that counts (the recipe in SQLAlchemy's SQLite dialect documentation). The commits
  this process makes are counted for the data version (version.py). And a compiler that
  renders the tuned reads' INDEXED BY hints (queries/spans.py), which SQLAlchemy's SQLite
  compiler silently drops.
- PostgreSQL: every session in UTC. Instants are compared and stored as timestamptz either
  way, but psycopg then returns them with `datetime.UTC` itself, so reading one needs no
  conversion (types.py; a proposals request reads about 1,500). And a transaction rolled
  back that wrote nothing is committed instead, keeping the statements psycopg prepared
  on the connection (`end_unwritten`).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url

from . import version

SQLITE_BUSY_TIMEOUT_MS = 30_000
_UNWRITTEN = "SELECT pg_current_xact_id_if_assigned() IS NULL"


def engine_options(config: Any) -> dict[str, Any]:
    """SQLALCHEMY_ENGINE_OPTIONS with the pool sized by DATABASE_POOL_SIZE: connections kept
    open per process (the threads of a gunicorn worker each hold one while they serve a
    request; SQLAlchemy's default of 5 would close and open again a connection for every
    request that finds the 5 in use: on PostgreSQL, a new server process each time). Not
    for an in-memory SQLite database (one connection); options given explicitly win."""
    options = dict(config["SQLALCHEMY_ENGINE_OPTIONS"])
    size = config.get("DATABASE_POOL_SIZE")
    url = make_url(config["SQLALCHEMY_DATABASE_URI"])
    if size and not (url.get_backend_name() == "sqlite"
                     and url.database in (None, "", ":memory:")):
        options.setdefault("pool_size", int(size))
    return options


def configure(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
        version.track(engine)
    elif engine.dialect.name == "postgresql":
        _configure_postgresql(engine)


@cache
def _sqlite_compiler() -> type:
    """SQLite's compiler, rendering the table hints of `Select.with_hint(..., "sqlite")`
    after the table name (`FROM booking INDEXED BY ix_booking_athlete_end`), as the MySQL
    compiler renders its own. SQLAlchemy's SQLite compiler drops them (its
    get_from_hint_text returns None): without this, a hint is silently ignored. Imported
    here, where a SQLite engine exists, so that a PostgreSQL worker does not load it."""
    from sqlalchemy.dialects.sqlite.base import SQLiteCompiler

    class HintingSQLiteCompiler(SQLiteCompiler):
        def get_from_hint_text(self, table, text):  # type: ignore[no-untyped-def]
            return text

    return HintingSQLiteCompiler


def _configure_sqlite(engine: Engine) -> None:
    engine.dialect.statement_compiler = _sqlite_compiler()

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


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.execute("SET TIME ZONE 'UTC'")
        dbapi_connection.commit()

    event.listen(engine, "rollback", end_unwritten)


def end_unwritten(connection: Connection) -> None:
    """PostgreSQL, as a transaction is about to be rolled back (the engine's "rollback"
    hook): commit it instead when it wrote nothing (no transaction id was assigned: no row
    inserted, changed, deleted or locked); the rollback then finds nothing to do. Both end
    such a transaction alike (its advisory locks are released either way), but psycopg
    answers a rollback by dropping every statement it prepared on the connection (a
    rolled-back transaction could have created what they name), so that each is parsed
    and planned afresh until it is prepared again (the proposals key: about 4 ms of
    planning). Refused booking attempts roll back all day. A connection that is idle
    (autocommit reads), in a failed transaction or gone: nothing is sent, and a failure
    of the check itself is left to the rollback that follows."""
    if connection.invalidated or connection.closed:
        return
    raw = connection.connection.dbapi_connection
    if raw is None or raw.info.transaction_status != TransactionStatus.INTRANS:
        return
    try:
        if raw.execute(_UNWRITTEN).fetchone()[0]:
            raw.commit()
    except psycopg.Error:
        return  # the rollback that follows ends the transaction, or finds the connection gone
