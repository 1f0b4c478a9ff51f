"""Screening: an athlete's answers to the special considerations, and the decision a
therapist records after reviewing them (core/screening.py has the list and the flags).

- `save_answers` stores the answers (every key; a key left out is "not answered"). When
  the answers or the note change, an earlier decision is cleared: the therapist must
  review again. Sending the same answers again changes nothing.
- `record_review` stores a therapist's (or an admin's) decision on the current answers.
- `excluded_by_screening` tells a planner which athletes a therapist did not clear.

The app informs and flags; it never decides a medical question: flagged answers alone
exclude no one. Nothing of this goes into a calendar file, a feed or an email
(services/calendars.py and services/mail_text.py never read this table).

Rows are read `FOR UPDATE` before a change (PostgreSQL; SQLite writers hold the write lock
from BEGIN IMMEDIATE), so an answer change and a review never interleave.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from ..core import screening as core
from ..core.errors import Conflict, DomainError, NotFound
from ..db.models import Booking, Screening
from ..extensions import db
from .common import stamp


class NoScreening(NotFound):
    code = "not-found"

    def __init__(self, athlete_id: int) -> None:
        DomainError.__init__(self, f"athlete {athlete_id} has not answered the screening yet",
                             athlete_id=athlete_id)


class StaleScreening(Conflict):
    """A review sent for answers that have changed since the reviewer read them."""

    code = "stale"

    def __init__(self, answered_at: datetime) -> None:
        super().__init__(f"the answers changed at {answered_at:%Y-%m-%dT%H:%M:%SZ}, after the "
                         "ones you reviewed; read them again and review those",
                         field="answered_at", answered_at=answered_at)


def screening_of(athlete_id: int) -> Screening | None:
    return db.session.get(Screening, athlete_id)


def _locked(athlete_id: int) -> Screening | None:
    """The athlete's row, read afresh and locked for the rest of the transaction."""
    return db.session.scalar(
        select(Screening).where(Screening.athlete_id == athlete_id).with_for_update()
        .execution_options(populate_existing=True))


def answers_of(row: Screening) -> dict[str, bool | None]:
    """The stored answers with every current key (keys no longer known are left out)."""
    return {key: row.answers.get(key) for key in core.KEYS}


def save_answers(athlete_id: int, answers: Mapping[str, bool | None], note: str) -> Screening:
    """Store the athlete's answers (every key: left out = None) and note. A change clears
    the therapist's decision; the same answers and note again change nothing."""
    values = core.normalized(answers)
    row = _locked(athlete_id)
    if row is None:
        row = _insert(athlete_id, values, note)
        if row is not None:
            return row
        row = _locked(athlete_id)  # a concurrent first answer won: change that one
        if row is None:
            raise NoScreening(athlete_id)
    if answers_of(row) != values or row.note != note:
        row.answers, row.note, row.answered_at = values, note, stamp()
        _clear_review(row)
    db.session.flush()
    return row


def _insert(athlete_id: int, values: dict[str, bool | None], note: str) -> Screening | None:
    """Insert the first answers in a savepoint; None if another transaction did first."""
    row = Screening(athlete_id=athlete_id, answers=values, note=note, answered_at=stamp())
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return None
    return row


def _clear_review(row: Screening) -> None:
    row.decision = row.reviewed_at = row.reviewed_by_therapist_id = row.review_note = None


def record_review(athlete_id: int, therapist_id: int | None, decision: str, note: str,
                  seen_answered_at: datetime | None = None) -> Screening:
    """Record the decision on the athlete's current answers (`therapist_id` None: an
    admin). With `seen_answered_at` (the answers' time the reviewer read), refuse with
    StaleScreening if they changed since."""
    if decision not in core.DECISIONS:
        raise ValueError(f"a decision is one of {core.DECISIONS}")
    row = _locked(athlete_id)
    if row is None:
        raise NoScreening(athlete_id)
    if seen_answered_at is not None and seen_answered_at != row.answered_at:
        raise StaleScreening(row.answered_at)
    row.decision, row.review_note = decision, note
    row.reviewed_by_therapist_id, row.reviewed_at = therapist_id, stamp()
    db.session.flush()
    return row


def has_booking_with(therapist_id: int, athlete_id: int, confirmed_only: bool = False) -> bool:
    """Whether the therapist has (or, unless `confirmed_only`, had) a booking with the
    athlete: who may read (any booking) and review (a confirmed one) the screening."""
    where = [Booking.therapist_id == therapist_id, Booking.athlete_id == athlete_id]
    if confirmed_only:
        where.append(Booking.status == "confirmed")
    return bool(db.session.scalar(select(exists().where(*where))))


def for_booking(athlete_id: int) -> dict[str, Any] | None:
    """What a booking's JSON shows of its athlete's screening: the flagged keys and the
    therapist's decision (None: not answered yet)."""
    row = screening_of(athlete_id)
    if row is None:
        return None
    return {"flagged": core.flagged(row.answers), "decision": row.decision}


def for_bookings(athlete_ids: Iterable[int]) -> dict[int, dict[str, Any] | None]:
    """for_booking of several athletes in one query (a list of bookings)."""
    ids = sorted(set(athlete_ids))
    rows = db.session.scalars(select(Screening).where(Screening.athlete_id.in_(ids))) \
        if ids else ()
    found: dict[int, dict[str, Any] | None] = dict.fromkeys(ids)
    for row in rows:
        found[row.athlete_id] = {"flagged": core.flagged(row.answers), "decision": row.decision}
    return found


def excluded_by_screening(athlete_ids: Iterable[int]) -> dict[int, str]:
    """The athletes among `athlete_ids` whom a therapist recorded as not cleared, each with
    the reason "screening". Flagged answers alone never exclude anyone."""
    ids = sorted(set(athlete_ids))
    if not ids:
        return {}
    found = db.session.scalars(select(Screening.athlete_id).where(
        Screening.athlete_id.in_(ids), Screening.decision == core.NOT_CLEARED))
    return {athlete_id: core.EXCLUSION_REASON for athlete_id in found}
