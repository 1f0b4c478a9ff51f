"""The unit of work: how every request, command and job opens, locks, commits and rolls
back, on both backends, in this one module. Services add and flush; only this module
commits.

A unit is one transaction, committed once at its end or rolled back as a whole:

- **A request.** The app runs each view as a unit (`run_view`, called by the app's
  dispatch). A write request (any method but GET, HEAD and OPTIONS, or a read that called
  `restart_as_writer`) commits when the view answers with a status below 400; an error
  answer or an exception rolls everything back, so a failed request changes nothing. A
  read request only reads; its transaction ends when the view has answered.
- **A command or a job**: `run(work)`.
- **Retries.** On PostgreSQL a deadlock or a serialization failure (SQLSTATE 40P01,
  40001) is not the client's fault: the unit is rolled back and run again, up to
  ATTEMPTS times (a view is parse -> service -> serialize, so running it again is safe;
  mail leaves only after a commit). A read request whose database connection was lost
  (killed, the server restarted: db/faults.py) runs once more on a new connection (the
  pool checks each one it hands out: pool_pre_ping).
- **Faults.** When the database stays out of reach, or a write finds the disk full, the
  unit raises `DatabaseUnavailable` (503 with Retry-After) or `StorageFull` (507), never a
  bare driver error; a write whose connection was lost is not run again (whether its
  commit arrived cannot be known): it is a 503, and the client may retry.

How each backend begins (`install`; the connections themselves: db/engine.py):

- SQLite allows one writer at a time. A write unit opens its transaction with
  `BEGIN IMMEDIATE`, which takes the write lock *before* the first read, so the re-check
  before an insert sees the latest committed state and no other process can slip in
  between; a read uses a plain deferred `BEGIN`. A write view marked `begins_as_reader`
  (booking: most attempts at a popular slot lose the race) begins as a reader: its
  checks read one snapshot without the write lock, so a refusal answers without queueing
  behind the writers or holding the lock while it answers. Once the checks pass, the
  service calls `writing()`, which takes the write lock in the same transaction: taken,
  nothing was committed since the snapshot the checks read, so they hold under the lock;
  refused (SQLite answers at once: another writer holds the lock, or committed since the
  snapshot), the unit is rolled back and run again from the start, as a reader again
  (it sees that commit) up to READER_PASSES times, then as a writer (BEGIN IMMEDIATE).
- PostgreSQL runs writers side by side under READ COMMITTED. A read request takes its
  connection in autocommit mode: each statement reads a fresh snapshot either way, and
  what goes is the BEGIN and the ROLLBACK (two round trips) and, with the ROLLBACK,
  psycopg's clearing of its prepared statements.
  A write view marked `begins_as_reader` reads in autocommit mode too, until its service
  calls `reads_done()` (a booking attempt: after the early answer to a lost race, services/
  lost_races.py); from there on it runs in one transaction, on a connection taken afresh,
  committed or rolled back as any writer's. A refusal from those first reads costs no
  BEGIN and no ROLLBACK. A transaction rolled back that wrote nothing (no transaction id:
  a refused booking) ends with a COMMIT instead, to the same effect, because psycopg drops
  every statement it prepared on the connection at a ROLLBACK (db/engine.py's "rollback"
  hook).

Locks (`lock_booking_writers`): two PostgreSQL transactions that insert conflicting rows
at the same instant each find the other's uncommitted row in the exclusion index, wait
for each other, and one dies as a deadlock. So before booking rows are written, a service
takes advisory locks on their therapists and athletes, all at once, in one global order
(therapists, then athletes, by id): writers that could conflict queue up instead, and
unrelated ones still write in parallel. The booking guard's function (db/guard.py) takes
the same keys for a single booking. On SQLite BEGIN IMMEDIATE already serializes writers.

After the commit (`after_commit`): a service registers what must happen only once the
change is committed (the outbox sends its mail). The callbacks run after the real commit
(not a savepoint's release), outside any transaction, and never fail the unit; a rollback
of the whole transaction forgets them. `separate()` gives a short transaction of its own
beside the unit (the outbox's claim and record of each message).

The hooks here and in db/engine.py are the app's only database event hooks: the engine's
"connect" and "rollback" (db/engine.py) and "begin" (SQLite), and the session's
"after_commit" and "after_soft_rollback" (the callbacks).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, SessionTransaction

from ..core.errors import Conflict, InvalidValue
from ..db import engine, faults
from ..extensions import db

log = logging.getLogger(__name__)
T = TypeVar("T")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ATTEMPTS = 5
READER_PASSES = 3  # a unit begun as a reader (SQLite) runs as one at most this many times
RETRY_AFTER_SECONDS = 5  # a 503's Retry-After when the database is out of reach
RETRY_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock
# Key spaces of pg_advisory_xact_lock(int, int): (space, therapist id) / (space, athlete id).
# migration 0003's booking_refusal() takes the same lock keys: changing these numbers
# needs a new migration (tests/test_guard.py checks that they match).
THERAPIST_LOCK_SPACE = 0x6173_0001
ATHLETE_LOCK_SPACE = 0x6173_0002
_AFTER_COMMIT = "athlete_sched.after_commit"  # session.info: callbacks of this transaction
_COLLECTED = "athlete_sched.collected"  # session.info: name -> items gathered (`collected`)
_WRITES = "athlete_sched_writes"  # a connection's execution option: begin as a writer
_READER_FIRST = "athlete_sched_begins_as_reader"  # a view's attribute (begins_as_reader)


class _AsWriter(Exception):  # noqa: N818 - a signal to _attempts, never an error
    """Raised by `writing()` in a unit begun as a reader that could not take the write
    lock: run it again (`busy`: another writer holds the lock now)."""

    def __init__(self, busy: bool) -> None:
        super().__init__()
        self.busy = busy


class ConcurrentChange(Conflict):
    """A constraint the checks before it could not see: a concurrent writer won a race."""

    code = "conflict"

    def __init__(self) -> None:
        super().__init__("the change conflicts with the current data (another request "
                         "changed it first); reload and try again")


class UnstorableValue(InvalidValue):
    """A value the database cannot hold that validation let through: still the client's."""

    code = "invalid"

    def __init__(self) -> None:
        super().__init__("a value is outside what the database can store")


class DatabaseFault(Exception):
    """The database's surroundings failed, not the request: `code` and `message` for the
    answer, `retry_after` seconds for a client (None: retrying soon will not help)."""

    code = "database-fault"
    message = "the database failed"
    retry_after: int | None = None

    def __init__(self) -> None:
        super().__init__(self.message)


class DatabaseUnavailable(DatabaseFault):
    code = "database-unavailable"
    message = "the database cannot be reached at the moment: try again in a few seconds"
    retry_after = RETRY_AFTER_SECONDS


class StorageFull(DatabaseFault):
    code = "storage-full"
    message = ("the database's disk is full, so nothing was saved; the clinic's "
               "administrator has to free space (reading still works)")


def fault(exc: BaseException) -> DatabaseFault | None:
    """The fault `exc` is (a database out of reach, a full disk), or None."""
    kind = faults.fault_of(exc)
    if kind == faults.UNAVAILABLE:
        return DatabaseUnavailable()
    if kind == faults.FULL:
        return StorageFull()
    return None


# --- the units ----------------------------------------------------------------------------------

def reading() -> bool:
    """Whether the current unit only reads: a GET, HEAD or OPTIONS request that has not
    restarted as a writer. Commands and jobs write."""
    return (has_request_context() and request.method in SAFE_METHODS
            and not g.get("write_lock"))


def run_view(view: Callable[[], Any]) -> Any:
    """Run a request's view as the unit (see the module docstring); its response."""
    def finish(answer: Any) -> None:
        if reading() or answer.status_code >= 400:
            db.session.rollback()
        else:
            db.session.commit()

    return _attempts(lambda: current_app.make_response(view()), finish)


def run(work: Callable[[], T]) -> T:
    """Run `work` (a command, a job) as one unit: commit at its end, roll back on an
    error, run again after a deadlock or serialization failure."""
    return _attempts(work, lambda _result: db.session.commit())


def _attempts(work: Callable[[], T], finish: Callable[[T], None]) -> T:
    """`work`, then `finish` (commit), up to ATTEMPTS times while PostgreSQL reports a
    deadlock or a serialization failure, and a read once more after a lost connection;
    any error rolls the transaction back first. A unit begun as a reader that reaches
    `writing()` runs again from the start as a writer (not counted as an attempt)."""
    lost = passes = 0
    attempt = 0
    while True:
        attempt += 1
        try:
            result = work()
            finish(result)
            return result
        except _AsWriter as exc:
            db.session.rollback()
            attempt, passes = attempt - 1, passes + 1
            if passes >= READER_PASSES:
                g.write_lock = True  # the next run begins with BEGIN IMMEDIATE
            elif exc.busy:  # the writer holding the lock has not committed yet
                time.sleep(random.uniform(0.001, 0.005) * passes)  # noqa: S311 - jitter
            continue
        except Exception as exc:
            _roll_back_after(exc)
            again = _retryable(exc) or (lost == 0 and reading()
                                        and faults.lost_connection(exc))
            if attempt == ATTEMPTS or not again:
                _raise_as_refusal(exc)
                _raise_as_fault(exc)
                raise
            lost += faults.lost_connection(exc)
            _pause(attempt, exc)


def _roll_back_after(exc: Exception) -> None:
    """Roll back after `exc`; on a connection that is gone, a failed rollback only says so
    again, and the session is closed (it gives the connection back to be discarded)."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the first error is the one to report
        if faults.fault_of(exc) is None:
            raise
        log.warning("rollback after a database fault failed; the session is closed")
        db.session.close()


def _raise_as_fault(exc: Exception) -> None:
    """A database out of reach or a full disk: raise it as such (503 / 507)."""
    found = fault(exc)
    if found is not None:
        log.error("database fault (%s): %s", found.code, getattr(exc, "orig", exc))
        raise found from exc


def rollback() -> None:
    """Undo what the unit did so far and go on in a fresh transaction (a page that shows
    a form again after a refused change)."""
    db.session.rollback()


def _raise_as_refusal(exc: Exception) -> None:
    """The database refused a write the checks let through: raise it as the client's
    error, not ours (a 409 or a 422 instead of a 500). Anything else: return."""
    if isinstance(exc, IntegrityError | DataError):
        log.warning("the database refused a write: %s", exc.orig)
        refusal = ConcurrentChange() if isinstance(exc, IntegrityError) else UnstorableValue()
        raise refusal from exc


def _retryable(exc: BaseException) -> bool:
    return (isinstance(exc, DBAPIError)
            and getattr(exc.orig, "sqlstate", None) in RETRY_SQLSTATES)


def _pause(attempt: int, exc: BaseException) -> None:
    """A short random wait before the next attempt, so that the writers that collided do
    not collide again in step."""
    log.warning("unit of work: %s, attempt %d of %d; running it again",
                type(getattr(exc, "orig", exc)).__name__, attempt, ATTEMPTS)
    time.sleep(random.uniform(0.005, 0.02) * attempt)  # noqa: S311 - jitter, not security


def restart_as_writer() -> None:
    """For a GET that finds it must write (a row created on first use): end the read
    transaction (SQLite) or the autocommit connection (PostgreSQL), so that what follows
    runs in one write transaction, begun on SQLite with BEGIN IMMEDIATE (a deferred read
    transaction cannot safely become a writer while another commits), and is committed at
    the end of the request. Loaded objects are expired and reload in the new transaction."""
    g.write_lock = True
    db.session.rollback()


def begins_as_reader(view: Callable[..., T]) -> Callable[..., T]:
    """Mark a write view whose requests are mostly refused by what is already committed
    (a booking attempt at a slot someone else took): on SQLite its unit begins as a reader
    (see the module docstring), and its service calls `writing()` before it writes.
    PostgreSQL: its first reads run in autocommit mode, until the service calls
    `reads_done()` (its writers never wait for one lock; what it saves is the BEGIN and
    the ROLLBACK of a refusal)."""
    setattr(view, _READER_FIRST, True)
    return view


# Takes SQLite's write lock and changes nothing (an UPDATE begins a write transaction
# whatever its WHERE finds).
_TAKE_WRITE_LOCK = text("UPDATE schedule_version SET n = n WHERE 0")
_SQLITE_REFUSED_LOCK = frozenset({"SQLITE_BUSY", "SQLITE_BUSY_SNAPSHOT"})


def reads_done() -> None:
    """A view begun as a reader (`begins_as_reader`) goes on from its first reads to its
    checks and writes. PostgreSQL: those reads ran in autocommit mode; what follows runs in
    one transaction of the unit, on a connection taken afresh (nothing was written before).
    SQLite: nothing (its transaction goes on as a reader until `writing()`)."""
    if has_request_context() and g.pop("reads_without_transaction", False):
        db.session.rollback()


def writing() -> None:
    """The unit is about to write. Begun as a reader (`begins_as_reader`, SQLite): take the
    write lock in this transaction; if SQLite refuses it, the unit runs again from the
    start (see the module docstring). Otherwise: nothing."""
    if not (has_request_context() and g.get("began_as_reader") and not g.get("write_lock")):
        return
    try:
        db.session.execute(_TAKE_WRITE_LOCK)
    except OperationalError as exc:
        name = getattr(exc.orig, "sqlite_errorname", None)
        if name in _SQLITE_REFUSED_LOCK:
            raise _AsWriter(busy=name == "SQLITE_BUSY") from exc
        raise
    g.write_lock = True


def release() -> None:
    """End the unit's transaction before a long computation that needs no database (on
    SQLite a write transaction holds the database's write lock meanwhile). Only before
    anything was written: what follows starts a new transaction of the same unit."""
    if db.session.new or db.session.dirty or db.session.deleted:
        raise RuntimeError("release() after a change: it would be lost")
    db.session.rollback()


# --- locks --------------------------------------------------------------------------------------

def lock_booking_writers(therapist_ids: Iterable[int | None],
                         athlete_ids: Iterable[int | None]) -> None:
    """PostgreSQL: queue behind every open transaction that books one of these therapists
    or athletes (advisory locks held until commit or rollback, all taken in one statement,
    in the one global order, so lockers never deadlock one another). SQLite: nothing to do
    (BEGIN IMMEDIATE)."""
    connection = db.session.connection()
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


# Waits while another session holds the lock, and says whether it had to; in autocommit mode
# the statement's own transaction ends with it, and the lock with it.
_WAIT_FOR_WRITER = text("SELECT CASE WHEN pg_try_advisory_xact_lock(:s, :k) THEN false "
                        "ELSE (SELECT true FROM pg_advisory_xact_lock(:s, :k)) END")


def waited_for_booking_writer(therapist_id: int) -> bool:
    """PostgreSQL, in a unit whose first reads run in autocommit mode (`begins_as_reader`,
    before `reads_done()`): when a transaction that books the therapist holds their lock
    now (`lock_booking_writers`, the guard's function), wait until it ends; whether there
    was one. Holds no lock afterwards. A lost race's read made while the winner was still
    under way saw the slot free; read again after this, it sees the winner's booking and
    is refused then, instead of running the whole write transaction only to queue for the
    same lock and be refused at its end. Anywhere else: False, at once."""
    if not (has_request_context() and g.get("reads_without_transaction")):
        return False
    return bool(db.session.execute(_WAIT_FOR_WRITER, {
        "s": THERAPIST_LOCK_SPACE, "k": therapist_id}).scalar_one())


# --- after the commit ---------------------------------------------------------------------------

def after_commit(callback: Callable[[], object]) -> None:
    """Run `callback` once the current transaction has committed (never if it rolls back)."""
    db.session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def collected(name: str, callback: Callable[[list], object]) -> list:
    """A list that gathers items through the transaction (`name` tells lists apart);
    `callback(items)` runs once after the commit. The outbox gathers the ids of the
    messages a unit wrote, to send them over one SMTP connection."""
    lists = db.session.info.setdefault(_COLLECTED, {})
    if name not in lists:
        items = lists[name] = []
        after_commit(lambda: callback(items))
    return lists[name]


def _run_after_commit(orm: Session) -> None:
    """Session hook "after_commit": run the transaction's callbacks (not a savepoint's
    release: only the real commit). A callback's failure is logged; the change is
    committed and the caller's answer must not turn into an error."""
    if orm.in_nested_transaction():
        return
    orm.info.pop(_COLLECTED, None)
    for callback in orm.info.pop(_AFTER_COMMIT, ()):
        try:
            callback()
        except Exception:  # noqa: BLE001 - a bug or an outage here must not fail the caller
            log.exception("after-commit work failed; the change itself is committed")


def _forget_after_commit(orm: Session, previous: SessionTransaction) -> None:
    """Session hook "after_soft_rollback": the whole transaction rolled back, so forget its
    callbacks. (A savepoint's rollback keeps them: they must cope with rows it undid.)"""
    if previous.parent is None:
        orm.info.pop(_AFTER_COMMIT, None)
        orm.info.pop(_COLLECTED, None)


@contextmanager
def separate() -> Iterator[Connection]:
    """A short write transaction of its own, beside the unit's, committed when the block
    ends (rolled back if it raises)."""
    with own_connection() as connection, connection.begin():
        yield connection


@contextmanager
def own_connection(single_statements: bool = False) -> Iterator[Connection]:
    """A connection of its own beside the unit's, for several short write transactions
    one after the other (`with connection.begin():` each; BEGIN IMMEDIATE on SQLite): the
    outbox's claim of a batch, then the outcome of each message. `single_statements`:
    each of those transactions is one statement, so on PostgreSQL the connection runs in
    autocommit mode (one round trip a statement instead of BEGIN, statement, COMMIT;
    `begin()` then sends nothing); SQLite keeps its BEGIN IMMEDIATE."""
    with db.engine.connect() as connection:
        connection.execution_options(**{_WRITES: True})
        if single_statements and connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection


# --- installing ---------------------------------------------------------------------------------

def install(app: Flask) -> None:
    """Set up the app's engine for its backend (db/engine.py: the connections), BEGIN or
    BEGIN IMMEDIATE on SQLite, reads in autocommit on PostgreSQL, and the session's
    after-commit hooks."""
    with app.app_context():
        db_engine = db.engine
    engine.configure(db_engine)
    if db_engine.dialect.name == "sqlite":
        event.listen(db_engine, "begin", _begin_sqlite)
    elif db_engine.dialect.name == "postgresql":
        app.before_request(_reads_without_transaction)
    for name, hook in (("after_commit", _run_after_commit),
                       ("after_soft_rollback", _forget_after_commit)):
        if not event.contains(db.session, name, hook):
            event.listen(db.session, name, hook)


def _begin_sqlite(connection: Connection) -> None:
    """Engine hook "begin" (SQLite): BEGIN IMMEDIATE for a writer, BEGIN for a reader and
    for the unit of a view that begins as a reader, until it calls `writing()`."""
    writes = connection.get_execution_options().get(_WRITES) or not reading()
    if writes and not connection.get_execution_options().get(_WRITES) and _reader_first():
        g.began_as_reader, writes = True, False
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def _reader_first() -> bool:
    """Whether this request's view begins as a reader and has not yet asked to write."""
    return (has_request_context() and not g.get("write_lock")
            and getattr(current_app.view_functions.get(request.endpoint or ""),
                        _READER_FIRST, False))


# Requests that take no connection before their view: a static file, and the health check
# (which must answer, with its JSON, when the database does not).
OWN_CONNECTION = frozenset({"static", "health.healthz"})


def _reads_without_transaction() -> None:
    """PostgreSQL, before every request: a read request other than those in OWN_CONNECTION,
    and a write view that begins as a reader until it calls `reads_done()`, takes the
    session's connection in autocommit mode (see the module docstring). The connection's
    isolation level is reset when it goes back to the pool."""
    if request.endpoint in OWN_CONNECTION:
        return
    if reading() or _reader_first():
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        g.reads_without_transaction = not reading()
