"""The early answer to a booking attempt that lost the race for a slot.

Under load most attempts at a popular slot come after its winner committed: they end in
the booking guard's 'slot-taken' (db/guard.py), or 'already-booked' for an athlete who
holds their session already, after every rule before it passed. `lost` reaches that
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
that counter), it returns None and the full path runs as before: it raises whatever error
comes first, and the guard, inside the write transaction, decides for every booking that
gets its slot. The database's constraints stay the last word for every write.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from flask import g

from ..core.checks import check_bookable, session_site
from ..core.errors import AlreadyBooked, Conflict, DomainError, SlotTaken
from ..core.intervals import Interval
from ..core.kinds import WINDOW_KINDS
from ..core.screening import NOT_CLEARED
from ..core.sites import allows
from ..db.queries import booking_race
from . import access, schedules, sites
from .access import Caller
from .common import now, policy, window_for


def lost(caller: Caller, data: Any) -> Conflict | None:
    """The guard's refusal of this booking attempt when the full path would end in it
    (see the module doc), else None. Leaves the clinic's saved settings for the request
    (services/common.saved_settings), so the full path does not read them again."""
    start = data.start
    if (data.kind not in WINDOW_KINDS or data.event_id is None or start.tzinfo is None
            or caller.role == "therapist"):
        return None
    found = booking_race.race_context(data.event_id, data.therapist_id, data.kind, start)
    if found is None:
        return None
    if g.get("clinic_settings") is None:
        g.clinic_settings = found.settings
    if found.taken is None:
        return None
    event, athlete_id = found.event, found.event.athlete_id
    if (athlete_id is None or data.athlete_id not in (None, athlete_id)
            or not access.acts_for_athlete(caller, athlete_id)
            or found.decision == NOT_CLEARED):
        return None
    session = _bookable(event, athlete_id, data, found.schedule_version)
    if session is None:
        return None
    if found.taken == AlreadyBooked.code:
        return AlreadyBooked(athlete_id, event.id, data.kind)
    return SlotTaken(data.therapist_id, session.start)


def _bookable(event: booking_race.RaceEvent, athlete_id: int, data: Any,
              version: int) -> Interval | None:
    """The session asked for if the rules of time and the site allow it (as services/
    bookings._place checks them), else None; None too when the therapist's schedule is not
    in the cache at `version` (or the therapist does not exist)."""
    start = data.start.astimezone(UTC)  # as services/common.localize gives it
    weekly = schedules.weekly_at(data.therapist_id, version)
    if weekly is None:
        return None
    duration = timedelta(minutes=data.duration_minutes or weekly.session_minutes)
    # With the one-day changes of the dates the session touches, as bookings._place reads.
    near = schedules.near(data.therapist_id, [Interval.of(start, start + duration)],
                          version=version)
    if len(near) != 1:
        return None
    schedule = near[0]
    try:
        session = check_bookable(schedule, data.kind, window_for(event, data.kind), start,
                                 duration, now(), policy().notice)
    except DomainError:
        return None
    _, site_id = session_site(schedule, session)
    if not allows(sites.where(event, athlete_id), site_id, session):
        return None
    return session
