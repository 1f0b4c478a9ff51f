"""Which database errors are faults of the database's surroundings, not of the request or
the code: the database is out of reach for a moment (`UNAVAILABLE`), or its disk is full
(`FULL`). services/unit_of_work.py runs a read again after a lost connection and turns
these into 503 / 507 answers (web/errors.py); every other error stays what it is.

- PostgreSQL: SQLSTATE 53100 (disk_full; "could not extend file") is FULL. UNAVAILABLE:
  class 08 (connection exceptions), 57P01-57P03 (the server or an administrator ended
  the session: pg_terminate_backend, a shutdown, not accepting connections yet), 53300
  (too many connections), a connection SQLAlchemy saw drop (`connection_invalidated`),
  and a driver error without any SQLSTATE (psycopg could not reach the server at all).
- SQLite: "database or disk is full" (SQLITE_FULL) is FULL; "disk I/O error",
  "unable to open database file" and "database is locked" (the busy timeout ran out) are
  UNAVAILABLE.
- The pool could not hand out a connection in time (sqlalchemy.exc.TimeoutError):
  UNAVAILABLE.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

UNAVAILABLE = "unavailable"
FULL = "full"

PG_FULL = frozenset({"53100"})
PG_UNAVAILABLE = frozenset({"57P01", "57P02", "57P03", "53300"})
SQLITE_FULL = ("database or disk is full",)
SQLITE_UNAVAILABLE = ("disk i/o error", "unable to open database file", "database is locked")


def fault_of(exc: BaseException) -> str | None:
    """FULL, UNAVAILABLE or None (see the module docstring)."""
    if isinstance(exc, PoolTimeout):
        return UNAVAILABLE
    if not isinstance(exc, DBAPIError):
        return None
    sqlstate = getattr(exc.orig, "sqlstate", None)
    message = str(exc.orig).lower()
    if sqlstate in PG_FULL or any(text in message for text in SQLITE_FULL):
        return FULL
    if exc.connection_invalidated or sqlstate in PG_UNAVAILABLE or (
            sqlstate is not None and sqlstate.startswith("08")):
        return UNAVAILABLE
    if any(text in message for text in SQLITE_UNAVAILABLE):
        return UNAVAILABLE
    if isinstance(exc, OperationalError) and sqlstate is None and _is_psycopg(exc):
        return UNAVAILABLE
    return None


def lost_connection(exc: BaseException) -> bool:
    """The connection itself was lost (a read may run again on a new one)."""
    return isinstance(exc, DBAPIError) and (
        exc.connection_invalidated or fault_of(exc) == UNAVAILABLE)


def _is_psycopg(exc: DBAPIError) -> bool:
    return type(exc.orig).__module__.startswith("psycopg")
