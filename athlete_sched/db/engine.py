"""How each backend's connections are set up (engine "connect" hooks, installed once per
app by services/unit_of_work.install; the transactions on them are the unit of work's):

- SQLite: a busy timeout (a writer waits for the write lock instead of failing), foreign
  keys on, and for a file WAL with synchronous=NORMAL; pysqlite's own implicit
  transaction handling is switched off, so that the BEGIN the unit of work sends is the
  one that counts (the recipe in SQLAlchemy's SQLite dialect documentation). The commits
  this process makes are counted for the data version (version.py).
- PostgreSQL: every session in UTC. Instants are compared and stored as timestamptz either
  way, but psycopg then returns them with `datetime.UTC` itself, so reading one needs no
  conversion (types.py; a proposals request reads about 1,500).
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine

from . import version

SQLITE_BUSY_TIMEOUT_MS = 30_000


def configure(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
        version.track(engine)
    elif engine.dialect.name == "postgresql":
        _configure_postgresql(engine)


def _configure_sqlite(engine: Engine) -> None:
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
