"""Unbound extensions and the SQLite transaction discipline.

SQLite allows one writer at a time. A write request opens its transaction with
`BEGIN IMMEDIATE`, which takes the write lock *before* the first read, so the re-check
before an insert sees the latest committed state and no other process can slip in
between. Read-only requests use a plain deferred `BEGIN`. pysqlite's own implicit
transaction handling is switched off so that SQLAlchemy's BEGIN is the one that counts
(the recipe in SQLAlchemy's SQLite dialect documentation).
"""

from __future__ import annotations

from flask import has_request_context, request
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
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


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()


def _wants_write_lock() -> bool:
    """Every transaction takes the write lock except those of read-only HTTP requests."""
    return not (has_request_context() and request.method in SAFE_METHODS)


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
