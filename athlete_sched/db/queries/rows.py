"""Rows of any model: by id, add, delete, flush. Never commits (the unit of work does)."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.exc import IntegrityError, InvalidRequestError

from ...extensions import db

T = TypeVar("T")

# The largest id an id column holds (PostgreSQL `integer`); larger ids cannot exist.
MAX_ID = 2**31 - 1


def get(model: type[T], ident: int) -> T | None:
    """The row with this id, or None. An id no id column can hold is simply not found (the
    database would refuse the query)."""
    return db.session.get(model, ident) if 0 < ident <= MAX_ID else None


def add(row: T) -> T:
    """Add the row and flush, so that it has its id."""
    db.session.add(row)
    db.session.flush()
    return row


def delete(row: object) -> None:
    db.session.delete(row)
    db.session.flush()


def flush() -> None:
    """Write the pending changes (the database checks its constraints now)."""
    db.session.flush()


def add_pending(row: object) -> None:
    """Add the row; the caller flushes (to map the database's refusals of it)."""
    db.session.add(row)


def add_unless_there(row: object) -> bool:
    """Insert the row in a savepoint; False if a concurrent insert of the same unique key
    won (the first feed of an owner, the first screening of an athlete)."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return False
    return True


def detach(row: object) -> None:
    """Take the row out of the session: its loaded columns stay readable after the
    session ends (nothing expires them), from any thread; it is never written or read
    again through this session."""
    db.session.expunge(row)


def statements_see_new_commits() -> bool:
    """Whether a later statement of this transaction may see commits an earlier one did
    not: PostgreSQL's READ COMMITTED, yes; SQLite, no (the unit of work's BEGIN, db/
    engine.py, holds one snapshot from the first read to the end)."""
    return db.session.connection().dialect.name == "postgresql"


def reread(row: object) -> bool:
    """Read the row's columns again from the database (a later state than when it was
    loaded); False if it is gone."""
    try:
        db.session.refresh(row)
    except InvalidRequestError:  # ObjectDeletedError: deleted since
        return False
    return True
