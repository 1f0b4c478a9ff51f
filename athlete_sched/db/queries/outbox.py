"""The outbox: invitation emails written in the transaction of the change they announce,
sent after its commit. A sender claims a message (attempts + 1) and records the outcome,
each in a short transaction of its own (the `connection` the unit of work hands over)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Connection

from ...extensions import db
from ..models import MailMessage

TABLE = MailMessage.__table__


def add(messages: Sequence[MailMessage]) -> list[int]:
    """Add the messages to the current transaction; their ids."""
    db.session.add_all(messages)
    db.session.flush()
    return [m.id for m in messages]


def claim(connection: Connection, message_id: int, lease: timedelta,
          at: datetime) -> tuple[str, str] | None:
    """Take the message for sending: (recipient, text), or None if it was sent, is gone, or
    another sender's claim is younger than `lease`."""
    free = or_(TABLE.c.last_error.is_not(None), TABLE.c.last_attempt_at.is_(None),
               TABLE.c.last_attempt_at <= at - lease)
    claimed = connection.execute(
        update(TABLE).where(and_(TABLE.c.id == message_id, TABLE.c.sent_at.is_(None), free))
        .values(attempts=TABLE.c.attempts + 1, last_attempt_at=at, last_error=None))
    if claimed.rowcount != 1:
        return None
    row = connection.execute(select(TABLE.c.recipient, TABLE.c.message)
                             .where(TABLE.c.id == message_id)).one()
    return row.recipient, row.message


def record(connection: Connection, message_id: int, error: str | None, at: datetime) -> None:
    """The outcome of a send: sent at `at`, or the error (kept for a retry)."""
    values: dict[str, object] = {"last_error": error[:2000]} if error else {"sent_at": at}
    connection.execute(update(TABLE).where(TABLE.c.id == message_id).values(**values))


def unsent(connection: Connection, max_attempts: int | None = None) -> list[int]:
    """The ids of the unsent messages (tried fewer than `max_attempts` times), oldest first."""
    query = select(TABLE.c.id).where(TABLE.c.sent_at.is_(None)).order_by(TABLE.c.id)
    if max_attempts is not None:
        query = query.where(TABLE.c.attempts < max_attempts)
    return list(connection.scalars(query))
