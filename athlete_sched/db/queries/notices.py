"""The notices already queued (sent_notice): one row per (kind, key), written in the
transaction that queues the notice's mail, so that a notice is queued once whoever runs
the background work and however often."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite

from ...extensions import db
from ..models import SentNotice

TABLE = SentNotice.__table__


def _insert():
    return postgresql.insert if db.session.get_bind(mapper=SentNotice).dialect.name == \
        "postgresql" else sqlite.insert


def record(kind: str, key: str, at: datetime, *, athlete_id: int | None = None,
           booking_id: int | None = None, event_id: int | None = None) -> bool:
    """Record the notice (kind, key) in the current transaction: True if this call recorded
    it, False if it was recorded before (by this worker or another; then queue nothing).
    INSERT ... ON CONFLICT DO NOTHING on both backends: a concurrent writer of the same key
    waits for the other's commit (PostgreSQL) or for the write lock (SQLite), and then
    inserts nothing."""
    inserted = db.session.execute(
        _insert()(TABLE).values(kind=kind, key=key, athlete_id=athlete_id,
                                     booking_id=booking_id, event_id=event_id, created_at=at)
        .on_conflict_do_nothing(index_elements=["kind", "key"]).returning(TABLE.c.id))
    return inserted.first() is not None


def record_many(kind: str, notices: Sequence[tuple[str, int | None, int | None]],
                at: datetime) -> set[str]:
    """Record many notices of one kind in one statement, as `record` does each:
    `notices` are (key, athlete_id, booking_id); the keys this call recorded (the others
    were recorded before). The rows are inserted in the order given, so writers that
    give their keys in one order take them in that order. One statement, built once per
    backend, executed for many rows (SQLAlchemy's "insertmanyvalues" sends it as a
    multi-row INSERT ... RETURNING), so it is not compiled again for every batch."""
    if not notices:
        return set()
    inserted = db.session.execute(
        _record_many(), [{"kind": kind, "key": key, "athlete_id": athlete_id,
                          "booking_id": booking_id, "event_id": None, "created_at": at}
                         for key, athlete_id, booking_id in notices])
    return set(inserted.scalars())


_RECORD_MANY: dict[str, object] = {}


def _record_many():
    insert = _insert()
    found = _RECORD_MANY.get(insert.__module__)
    if found is None:
        found = _RECORD_MANY[insert.__module__] = (
            insert(TABLE).on_conflict_do_nothing(index_elements=["kind", "key"])
            .returning(TABLE.c.key))
    return found
