"""A token of the committed state of the database, for caches that must never serve stale data.

`data_version()` returns a hashable value; two equal values mean nothing was committed in
between, by this process or any other, on this host or another. Read it *before* the data
a cache entry is built from: the data then is at least as new as the token, so an entry
can only be fresher than its key, never staler.

- PostgreSQL: `sum(n)` of the data_version table, which deferred triggers (migration 0004)
  raise once per committing transaction that wrote any table an answer is built from,
  whoever wrote it (this app on any host, psql, a migration). A statement sees a prefix of
  the commit order, and every writer adds at least 1, so the sum names the committed state
  it sees; under READ COMMITTED each later statement sees a state at least as new.
  (Not the server's snapshot, pg_current_snapshot(): that moves with every write in any
  database of the cluster, so a shared server would never keep a cache.)
- SQLite: `PRAGMA data_version`, which changes when another connection commits. It is a
  property of one connection (the same number on two connections means nothing), and it
  does not move for the connection's own commits; so the token is (connection serial,
  data_version, commits this process made), the last counted by an engine event. A read
  transaction (deferred BEGIN) keeps the version it began with.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Hashable

from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from ..extensions import db

_SERIAL = "athlete_sched.serial"
_serials = itertools.count(1)
# engine -> commits made through it by this process. Keyed by the engine itself, weakly:
# an id() can be reused by a later engine once an earlier one is gone, and that engine
# would then be taken as tracked without a listener, its own commits never counted.
_local_commits: weakref.WeakKeyDictionary[Engine, int] = weakref.WeakKeyDictionary()


def track(engine: Engine) -> None:
    """Count this process's commits on a SQLite engine (PostgreSQL needs nothing)."""
    if engine.dialect.name != "sqlite" or engine in _local_commits:
        return
    _local_commits[engine] = 0

    @event.listens_for(engine, "commit")
    def _count(_connection):  # type: ignore[no-untyped-def]
        _local_commits[engine] += 1


def committed(engine: Engine) -> None:
    """Count a commit made on a tracked engine's connection through the driver itself
    (not seen by the engine event: db/queries/outbox.Outcomes)."""
    if engine in _local_commits:
        _local_commits[engine] += 1


def commits_of(engine: Engine) -> int | None:
    """The commits this process made through a tracked SQLite engine (None: not tracked)."""
    return _local_commits.get(engine)


def data_version() -> Hashable:
    """The token of the committed state the current session reads (see the module doc)."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        return connection.execute(text("SELECT sum(n) FROM data_version")).scalar_one()
    engine = connection.engine
    commits = commits_of(engine)
    if commits is None:
        raise RuntimeError("data_version() needs track(engine) at app start")
    version = connection.exec_driver_sql("PRAGMA data_version").scalar_one()
    serial = connection.connection.info.setdefault(_SERIAL, next(_serials))
    return (serial, version, commits)
