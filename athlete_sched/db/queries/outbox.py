"""The outbox: emails written in the transaction of the change they announce, sent by a
job after its commit. A sender claims a batch of messages (attempts + 1, a lease) in one
short transaction and records each outcome in another (the `connection` the unit of work
hands over)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.engine import Connection

from ...extensions import db
from .. import version
from ..models import MailMessage

TABLE = MailMessage.__table__


def add(messages: Sequence[MailMessage]) -> list[int]:
    """Add the messages to the current transaction; their ids."""
    db.session.add_all(messages)
    db.session.flush()
    return [m.id for m in messages]


_ADD_MANY = TABLE.insert().returning(TABLE.c.id)


def add_many(rows: Sequence[dict]) -> list[int]:
    """Add messages given as column values (no ORM object each) to the current
    transaction, in one statement built once and executed for all the rows (a multi-row
    INSERT ... RETURNING); their ids."""
    if not rows:
        return []
    return list(db.session.execute(_ADD_MANY, list(rows)).scalars())


def claim(connection: Connection, at: datetime, lease: timedelta, limit: int,
          ids: Sequence[int] | None = None) -> list[tuple[int, str, str]]:
    """Take up to `limit` messages for sending, oldest first, in the caller's short
    transaction: [(id, recipient, text)]. Each is marked claimed (attempts + 1,
    last_attempt_at = `at`); the claim is a lease of `lease`.

    Without `ids`, the due ones: unsent, never tried or last tried (claimed) at least
    `lease` ago, so a failed message waits one lease before its next try. With `ids`,
    those of them that are unsent and not claimed by a live sender (`flask mail retry`:
    a failed one at once). On PostgreSQL the rows are picked FOR UPDATE SKIP LOCKED, so
    concurrent claimers take disjoint batches without waiting (a row another claimer just
    took is re-checked and left out); on SQLite the transaction began with BEGIN
    IMMEDIATE and claimers take turns. Either way a message is claimed by one sender."""
    expired = or_(TABLE.c.last_attempt_at.is_(None), TABLE.c.last_attempt_at <= at - lease)
    free = and_(TABLE.c.sent_at.is_(None),
                expired if ids is None else or_(expired, TABLE.c.last_error.is_not(None)))
    pick = select(TABLE.c.id).where(free).order_by(TABLE.c.id).limit(limit)
    if ids is not None:
        pick = pick.where(TABLE.c.id.in_(list(ids)))
    if connection.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    claimed = connection.execute(
        update(TABLE).where(TABLE.c.id.in_(pick), free)
        .values(attempts=TABLE.c.attempts + 1, last_attempt_at=at, last_error=None)
        .returning(TABLE.c.id, TABLE.c.recipient, TABLE.c.message))
    return sorted((row.id, row.recipient, row.message) for row in claimed)


def release(connection: Connection, ids: Sequence[int], at: datetime) -> None:
    """Give back claimed messages that were not tried (claimed at `at` and unsent): due
    again at once, for any sender."""
    if ids:
        connection.execute(update(TABLE).where(
            TABLE.c.id.in_(list(ids)), TABLE.c.sent_at.is_(None),
            TABLE.c.last_attempt_at == at).values(last_attempt_at=None))


# A send's outcome, built once: recorded after every message (the sender's hot loop).
_SENT = update(TABLE).where(TABLE.c.id == bindparam("message_id")).values(
    sent_at=bindparam("at"))
_FAILED = update(TABLE).where(TABLE.c.id == bindparam("message_id")).values(
    last_error=bindparam("error"))


def record(connection: Connection, message_id: int, error: str | None, at: datetime) -> None:
    """The outcome of a send: sent at `at`, or the error (kept for a retry)."""
    if error:
        connection.execute(_FAILED, {"message_id": message_id, "error": error[:2000]})
    else:
        connection.execute(_SENT, {"message_id": message_id, "at": at})


class Outcomes:
    """The outcome of each send written on a sender's `connection` (outside any transaction
    of it), each committed before the next send: `record` as above, for the sender's hot
    loop. A message sent is marked through the driver itself, the statement written once:
    SQLAlchemy's execution around it (begin and commit events, the compiled-cache lookup,
    the result) cost more than the statement. SQLite: BEGIN IMMEDIATE, UPDATE, COMMIT (as
    the unit of work's writers begin); PostgreSQL, the connection in autocommit (the
    unit of work's `single_statements`): the UPDATE alone. The stored value is what the
    column's type binds (tests/test_mail.py compares it with `record`'s). An error, a
    failed send or any other backend goes through `record` in `connection.begin()`, so a
    fault is raised as SQLAlchemy's, as everywhere else."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        dialect, driver = connection.dialect, connection.connection.driver_connection
        self.driver, self.sqlite = driver, dialect.name == "sqlite"
        bind = TABLE.c.sent_at.type.dialect_impl(dialect).bind_processor(dialect)
        self.instant = bind or (lambda value: value)
        self.direct = (self.sqlite and not driver.in_transaction) or (
            dialect.name == "postgresql" and getattr(driver, "autocommit", False))
        mark = "?" if self.sqlite else "%s"
        self.sql = f"UPDATE {TABLE.name} SET sent_at = {mark} WHERE id = {mark}"

    def record(self, message_id: int, error: str | None, at: datetime) -> None:
        if self.direct and error is None:
            try:
                self._sent(message_id, at)
                return
            except Exception:  # noqa: BLE001 - undone; the road below raises it typed
                if self.sqlite and self.driver.in_transaction:
                    self.driver.rollback()
        with self.connection.begin():
            record(self.connection, message_id, error, at)

    def _sent(self, message_id: int, at: datetime) -> None:
        params = (self.instant(at), message_id)
        if not self.sqlite:
            self.driver.execute(self.sql, params)
            return
        cursor = self.driver.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
            cursor.execute(self.sql, params)
            cursor.execute("COMMIT")
        finally:
            cursor.close()
        version.committed(self.connection.engine)


@contextmanager
def sending(connection: Connection) -> Iterator[None]:
    """A sender's session on `connection`. On PostgreSQL its commits do not wait for their
    WAL flush (synchronous_commit off, reset at the end): a sender records an outcome after
    every message, and a flush each time cost more than the send. Each row is still
    committed and seen by everyone at once; only a crash of the database server itself may
    lose the last moments' outcomes (wal_writer_delay, 200 ms by default), and those
    messages are sent again after their lease, as if their sender had died. (SQLite: WAL
    with synchronous=NORMAL, the same trade, db/engine.py.)"""
    relaxed = connection.dialect.name == "postgresql"
    if relaxed:
        connection.exec_driver_sql("SET synchronous_commit TO OFF")
        connection.commit()  # a setting of the session, which outlives the transaction
    try:
        yield
    finally:
        if relaxed:
            try:
                connection.rollback()  # whatever a failure left open
                connection.exec_driver_sql("RESET synchronous_commit")
                connection.commit()
            except Exception:  # noqa: BLE001 - a broken connection: never pooled again
                connection.invalidate()


def unsent(connection: Connection, max_attempts: int | None = None) -> list[int]:
    """The ids of the unsent messages (tried fewer than `max_attempts` times), oldest first."""
    query = select(TABLE.c.id).where(TABLE.c.sent_at.is_(None)).order_by(TABLE.c.id)
    if max_attempts is not None:
        query = query.where(TABLE.c.attempts < max_attempts)
    return list(connection.scalars(query))


def waiting() -> tuple[int, int]:
    """(unsent, failed): the messages waiting to be sent, and those of them whose last try
    failed. Both read the range sent_at IS NULL of ix_mail_message_unsent."""
    unsent = TABLE.c.sent_at.is_(None)
    row = db.session.execute(select(func.count(), func.count(TABLE.c.last_error))
                             .where(unsent)).one()
    return int(row[0]), int(row[1])


class Failure(NamedTuple):
    id: int
    recipient: str
    method: str
    attempts: int
    last_error: str
    last_attempt_at: datetime | None


def failures(limit: int) -> list[Failure]:
    """The latest `limit` unsent messages whose last try failed: who to, what kind, how
    often tried, the error, when (never the message's text)."""
    return [Failure(*row) for row in db.session.execute(
        select(TABLE.c.id, TABLE.c.recipient, TABLE.c.method, TABLE.c.attempts,
               TABLE.c.last_error, TABLE.c.last_attempt_at)
        .where(TABLE.c.sent_at.is_(None), TABLE.c.last_error.is_not(None))
        .order_by(TABLE.c.id.desc()).limit(limit))]
