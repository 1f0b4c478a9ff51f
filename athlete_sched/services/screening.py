"""Screening: an athlete's answers to the special considerations, and the decision a
therapist records after reviewing them (core/screening.py has the list and the flags).

- `save_answers` stores the answers (every key; a key left out is "not answered"). When
  the answers or the note change, an earlier "cleared" is withdrawn: the therapist must
  review again. A "not cleared" stays the latest decision (its `reviewed_at` now before
  `answered_at`) until a therapist reviews the new answers: new answers alone never lift
  it. Sending the same answers again changes nothing.
- `record_review` stores a therapist's (or an admin's) decision on the current answers.
- `excluded_by_screening` tells a planner which athletes a therapist did not clear.
- `check_cleared` is the gate: every booking and every move of a session runs it
  (services/bookings._place, the one road of every booking path), so while the latest
  decision is "not cleared" nothing can be booked for the athlete (ScreeningNotCleared,
  409). New answers alone do not lift it; a "cleared" review of the current answers does.

Who may do what (someone who may not see the athlete's screening at all gets NotFound,
someone who may see it but not do this gets Forbidden):
- read: the athlete, admins, and a therapist who has or had a booking with the athlete
  (any status); their coaches read the *state* only (not-answered, awaiting-review,
  cleared, not-cleared), never an answer or a note;
- answer: the athlete and admins (a coach or a therapist: Forbidden);
- review: a therapist with a confirmed booking with the athlete, or an admin.

The app informs and flags; it never decides a medical question: flagged answers alone
exclude no one. Nothing of this goes into a calendar file, a feed or an email
(services/calendars.py and services/mail_text.py never read it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..core import screening as core
from ..core.errors import Conflict, DomainError, Forbidden, NotFound, ScreeningNotCleared
from ..db.models import Athlete, Screening
from ..db.queries import bookings, rows
from ..db.queries import screening as stored
from . import access
from .access import Caller
from .common import found, stamp

ANSWERERS = ("athlete", "admin")  # who writes answers (among those acting for the athlete)


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
    return stored.of(athlete_id)


def answers_of(row: Screening) -> dict[str, bool | None]:
    """The stored answers with every current key (keys no longer known are left out)."""
    return {key: row.answers.get(key) for key in core.KEYS}


def save_answers(athlete_id: int, answers: Mapping[str, bool | None], note: str) -> Screening:
    """Store the athlete's answers (every key: left out = None) and note. A change clears
    the therapist's decision; the same answers and note again change nothing."""
    values = core.normalized(answers)
    row = stored.locked(athlete_id)
    if row is None:
        first = Screening(athlete_id=athlete_id, answers=values, note=note,
                          answered_at=stamp())
        if rows.add_unless_there(first):
            return first
        row = stored.locked(athlete_id)  # a concurrent first answer won: change that one
        if row is None:
            raise NoScreening(athlete_id)
    if answers_of(row) != values or row.note != note:
        row.answers, row.note, row.answered_at = values, note, stamp()
        if row.decision != core.NOT_CLEARED:  # "not cleared" stands until a new review
            _clear_review(row)
    rows.flush()
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
    row = stored.locked(athlete_id)
    if row is None:
        raise NoScreening(athlete_id)
    if seen_answered_at is not None and seen_answered_at != row.answered_at:
        raise StaleScreening(row.answered_at)
    row.decision, row.review_note = decision, note
    row.reviewed_by_therapist_id, row.reviewed_at = therapist_id, stamp()
    rows.flush()
    return row


def summaries(athlete_ids: Iterable[int]) -> dict[int, dict[str, Any] | None]:
    """What a booking shows of each athlete's screening: the flagged keys and the
    therapist's decision (None: not answered yet), in one query."""
    ids = sorted(set(athlete_ids))
    found_ = stored.of_athletes(ids)
    return {athlete_id: None if (row := found_.get(athlete_id)) is None else
            {"flagged": core.flagged(row.answers), "decision": row.decision}
            for athlete_id in ids}


def excluded_by_screening(athlete_ids: Iterable[int]) -> dict[int, str]:
    """The athletes among `athlete_ids` whom a therapist recorded as not cleared, each with
    the reason "screening". Flagged answers alone never exclude anyone."""
    return {athlete_id: core.EXCLUSION_REASON
            for athlete_id in stored.with_decision(athlete_ids, core.NOT_CLEARED)}


def not_cleared(athlete_id: int) -> bool:
    """Whether the athlete's latest recorded decision is "not cleared" (one small query)."""
    return stored.decision_of(athlete_id)[1] == core.NOT_CLEARED


def check_cleared(athlete_id: int) -> None:
    """The gate of every booking path: ScreeningNotCleared while the athlete's latest
    decision is "not cleared". Flagged answers, or none, never block."""
    if not_cleared(athlete_id):
        raise ScreeningNotCleared(athlete_id)


# --- for a caller -------------------------------------------------------------------------------

def _readable(caller: Caller, athlete_id: int) -> Athlete:
    """The athlete, if the caller may read their screening; else NotFound."""
    athlete = found(Athlete, athlete_id, "athlete")
    if access.acts_for_athlete(caller, athlete.id):
        return athlete
    if (caller.role == "therapist" and caller.therapist_id is not None
            and bookings.exists_between(caller.therapist_id, athlete.id)):
        return athlete
    raise NotFound("athlete", athlete.id)


@dataclass(frozen=True)
class ScreeningRead:
    """What a caller reads of a screening: the row (its answers and notes), or, for a
    coach, the state alone (`row` None)."""

    athlete_id: int
    state: str
    row: Screening | None = None


def read_for(caller: Caller, athlete_id: int) -> ScreeningRead:
    """The athlete's screening (NoScreening until answered); a coach gets the state only,
    also before any answer, and never reads an answer or a note."""
    athlete = _readable(caller, athlete_id)
    if caller.role == "coach":
        answered, decision = stored.decision_of(athlete.id)
        return ScreeningRead(athlete.id, core.state(answered, decision))
    row = screening_of(athlete.id)
    if row is None:
        raise NoScreening(athlete.id)
    return ScreeningRead(athlete.id, core.state(True, row.decision), row)


def answer_for(caller: Caller, athlete_id: int, answers: Mapping[str, bool | None],
               note: str) -> Screening:
    """The athlete or an admin answers (a coach or a therapist: Forbidden)."""
    athlete = _readable(caller, athlete_id)
    if caller.role not in ANSWERERS or not access.acts_for_athlete(caller, athlete.id):
        raise Forbidden("only the athlete or an admin answers the screening")
    return save_answers(athlete.id, answers, note)


def review_for(caller: Caller, athlete_id: int, decision: str, note: str,
               answered_at: datetime | None) -> Screening:
    """A therapist with a confirmed booking with the athlete, or an admin, records a
    decision on the current answers."""
    athlete = _readable(caller, athlete_id)
    therapist_id = None
    if caller.role != "admin":
        if caller.role != "therapist" or caller.therapist_id is None or \
                not bookings.exists_between(caller.therapist_id, athlete.id,
                                            confirmed_only=True):
            raise Forbidden("only a therapist with a booking with the athlete, or an admin, "
                            "records a screening decision")
        therapist_id = caller.therapist_id
    return record_review(athlete.id, therapist_id, decision, note, answered_at)
