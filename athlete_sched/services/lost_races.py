"""The early answer to a booking attempt that lost the race for a slot.

Under load most attempts at a popular slot come after its winner committed: they end in
the booking guard's 'slot-taken' (db/guard.py), or 'already-booked' for an athlete who
holds their session already, after every rule before it passed. `early` reaches that
same answer from one statement (db/queries/booking_race.py): the event, the athlete's
screening decision, the clinic's settings and the schedules' counter read together,
the therapist's schedule from the per-process cache (services/schedules.py) at that
counter, and a read of the guard's first two rules that never refuses what the guard
would allow.

It answers only when it can prove the full path's answer (services/bookings.py): every
rule before the guard passes, in the same order and with the same functions
(the access rules, the screening gate, check_bookable, the site), and the committed
state already refuses the claim. Whenever anything is not so (an error, a team event, a
course or tune-up, a naive start, a slot the read finds free, the schedule not cached at
that counter), it refuses nothing and the full path runs as before: it raises whatever error
comes first, and the guard, inside the write transaction, decides for every booking that
gets its slot. The database's constraints stay the last word for every write.

On PostgreSQL, attempts made while the slot's winner is still under way read it free. When
the read finds the slot free and another transaction holds the therapist's booking lock,
the attempt waits for that writer to end, outside any transaction of its own
(unit_of_work.waited_for_booking_writer), and reads once more: the winner's booking is
there then, and the refusal costs one more statement instead of a whole write
transaction that would queue for the same lock and be refused at its end. What the
early read learned (the screening gate's answer, the therapist's schedule near the
session: `Known`) goes to the full path, which then reads neither again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

from flask import g

from ..core.availability import TherapistSchedule
from ..core.checks import check_bookable, session_site
from ..core.errors import AlreadyBooked, Conflict, DomainError, SlotTaken
from ..core.intervals import Interval
from ..core.kinds import WINDOW_KINDS
from ..core.screening import NOT_CLEARED
from ..core.sites import allows
from ..db.queries import booking_race
from . import access, schedules, sites, unit_of_work
from .access import Caller
from .common import now, policy, window_for


@dataclass(frozen=True)
class Known:
    """What the early read learned that the full path would read again, in the same unit
    (SQLite: the same snapshot; PostgreSQL: a read as unlocked as the full path's own):
    whether the athlete's latest screening decision is "not cleared", and the therapist's
    schedule near the session asked for (`span`; None: not in the cache)."""

    athlete_id: int
    not_cleared: bool
    therapist_id: int
    span: Interval | None
    schedule: TherapistSchedule | None


@dataclass(frozen=True)
class Early:
    """The early answer: the refusal (None: go on with the full path) and what is known."""

    refusal: Conflict | None = None
    known: Known | None = None


NOTHING = Early()


def early(caller: Caller, data: Any) -> Early:
    """The guard's refusal of this booking attempt when the full path would end in it
    (see the module doc), and what the full path need not read again. Leaves the clinic's
    saved settings for the request (services/common.saved_settings) as well."""
    return _early(caller, data, again=False)


def _early(caller: Caller, data: Any, again: bool) -> Early:
    """`early`; `again`: the second read, after waiting for a writer of the therapist."""
    start = data.start
    if (data.kind not in WINDOW_KINDS or data.event_id is None or start.tzinfo is None
            or caller.role == "therapist"):
        return NOTHING
    found = booking_race.race_context(data.event_id, data.therapist_id, data.kind, start)
    if found is None:
        return NOTHING
    if g.get("clinic_settings") is None:
        g.clinic_settings = found.settings
    event, athlete_id = found.event, found.event.athlete_id
    if (athlete_id is None or data.athlete_id not in (None, athlete_id)
            or not access.acts_for_athlete(caller, athlete_id)):
        return NOTHING
    if (found.taken is None and not again
            and unit_of_work.waited_for_booking_writer(data.therapist_id)):
        return _early(caller, data, again=True)  # read again: that writer has ended
    span, schedule = _schedule(data, found.schedule_version)
    known = Known(athlete_id, found.decision == NOT_CLEARED, data.therapist_id, span, schedule)
    if (found.taken is None or known.not_cleared or span is None or schedule is None
            or not _bookable(event, athlete_id, data, span, schedule)):
        return Early(known=known)
    if found.taken == AlreadyBooked.code:
        return Early(AlreadyBooked(athlete_id, event.id, data.kind), known)
    return Early(SlotTaken(data.therapist_id, span.start), known)


def _schedule(data: Any, version: int) -> tuple[Interval | None, TherapistSchedule | None]:
    """The session asked for and the therapist's schedule near it (with the one-day changes
    of the dates it touches, as bookings._place reads it), from the cache at `version`;
    (None, None) when it is not there (the cache is off, or no such therapist)."""
    start = data.start.astimezone(UTC)  # as services/common.localize gives it
    weekly = schedules.weekly_at(data.therapist_id, version)
    if weekly is None:
        return None, None
    span = Interval.of(start, start + timedelta(
        minutes=data.duration_minutes or weekly.session_minutes))
    near = schedules.near(data.therapist_id, [span], version=version)
    return (span, near[0]) if len(near) == 1 else (None, None)


def _bookable(event: booking_race.RaceEvent, athlete_id: int, data: Any, span: Interval,
              schedule: TherapistSchedule) -> bool:
    """Whether the rules of time and the site allow the session (as bookings._place checks
    them)."""
    try:
        session = check_bookable(schedule, data.kind, window_for(event, data.kind),
                                 span.start, span.end - span.start, now(), policy().notice)
    except DomainError:
        return False
    _, site_id = session_site(schedule, session)
    return allows(sites.where(event, athlete_id), site_id, session)
