"""The athletes' screening rows: answers, note, and the therapist's decision.

Rows are read `FOR UPDATE` before a change (PostgreSQL; SQLite writers hold the write lock
from BEGIN IMMEDIATE), so an answer change and a review never interleave."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from ...extensions import db
from ..models import Screening


def of(athlete_id: int) -> Screening | None:
    return db.session.get(Screening, athlete_id)


def locked(athlete_id: int) -> Screening | None:
    """The athlete's row, read afresh and locked for the rest of the transaction."""
    return db.session.scalar(
        select(Screening).where(Screening.athlete_id == athlete_id).with_for_update()
        .execution_options(populate_existing=True))


def decision_of(athlete_id: int) -> tuple[bool, str | None]:
    """Whether the athlete answered, and the recorded decision (None: none), in one small
    query that reads no answer and no note (never the identity map: always the stored
    row as this transaction sees it)."""
    found = db.session.execute(select(Screening.decision).where(
        Screening.athlete_id == athlete_id)).first()
    return (False, None) if found is None else (True, found[0])


def of_athletes(athlete_ids: Iterable[int]) -> dict[int, Screening]:
    """The screening rows of these athletes (those who answered), in one query."""
    ids = sorted(set(athlete_ids))
    if not ids:
        return {}
    return {row.athlete_id: row for row in db.session.scalars(
        select(Screening).where(Screening.athlete_id.in_(ids)))}


def with_decision(athlete_ids: Iterable[int], decision: str) -> list[int]:
    """The athletes among `athlete_ids` whose recorded decision is `decision`."""
    ids = sorted(set(athlete_ids))
    if not ids:
        return []
    return list(db.session.scalars(select(Screening.athlete_id).where(
        Screening.athlete_id.in_(ids), Screening.decision == decision)))


def decisions_of(athlete_ids: Iterable[int]) -> dict[int, str | None]:
    """The recorded decision of each athlete who answered (None: awaiting review), in one
    query that reads no answer and no note."""
    ids = sorted(set(athlete_ids))
    if not ids:
        return {}
    return dict(db.session.execute(select(Screening.athlete_id, Screening.decision)
                                   .where(Screening.athlete_id.in_(ids))).all())
