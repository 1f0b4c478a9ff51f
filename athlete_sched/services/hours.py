"""A therapist's weekly hours as the hours page edits them: the working periods of each
weekday (several periods a day leave breaks between them) and the session settings
(length, buffer after a session, slot step). Saved through the service the API's PUT
working-hours uses (services/clinic.py), in one unit: the periods and the settings change
together or not at all. Confirmed sessions to come that the new hours would leave outside
are shown first (SessionsAffected); saving anyway keeps them booked. A therapist changes
their own; an admin anyone's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo

from ..core.availability import WorkingPeriod, working_intervals
from ..core.errors import Conflict
from ..core.intervals import Interval
from ..core.zones import load_zone
from ..db.models import Therapist
from ..db.queries import rows, therapists
from ..db.queries.therapists import WeekRow
from . import access, clinic
from .access import Caller
from .common import now

DAYS = tuple(clinic.DAY_NUMBERS)  # mon … sun


@dataclass(frozen=True)
class Settings:
    """How long a session is, the free minutes kept after it, and the step between the
    start times offered."""

    session_minutes: int
    buffer_minutes: int
    slot_step_minutes: int


def hours_for(caller: Caller, therapist_id: int) -> Therapist:
    """The therapist (their periods: `working_hours`, by day and start)."""
    return access.own_therapist(caller, therapist_id)


def periods_by_day(therapist: Therapist) -> dict[str, list[tuple[int, int]]]:
    """Each weekday's (start, end) minutes after local midnight, in order."""
    found: dict[str, list[tuple[int, int]]] = {day: [] for day in DAYS}
    for period in sorted(therapist.working_hours, key=lambda p: (p.day, p.start_minute)):
        found[DAYS[period.day]].append((period.start_minute, period.end_minute))
    return found


class SessionsAffected(Conflict):
    """Confirmed sessions to come that a change of hours or time off would leave outside
    working hours or inside time off."""

    code = "sessions-affected"

    def __init__(self, sessions: list[WeekRow]) -> None:
        super().__init__(f"{len(sessions)} confirmed session(s) to come are affected by the "
                         "change", affected=[s.id for s in sessions])
        self.sessions = sessions


def outside_hours(tz: ZoneInfo, periods: Sequence[WorkingPeriod],
                  sessions: Sequence[WeekRow]) -> list[WeekRow]:
    """The sessions not wholly inside one of the weekly periods (local to `tz`)."""
    def inside(session: WeekRow) -> bool:
        span = Interval(session.start, session.end)
        return any(p.start <= span.start and span.end <= p.end
                   for p in working_intervals(tz, periods, span))

    return [s for s in sessions if not inside(s)]


def _core_periods(working_hours: Sequence[Any]) -> list[WorkingPeriod]:
    """The API schema's periods (day name, start and end minutes) as the core's."""
    def clock(minutes: int) -> time:
        return time.max if minutes >= 1440 else time(minutes // 60, minutes % 60)

    return [WorkingPeriod(clinic.DAY_NUMBERS[p.day], clock(p.start), clock(p.end))
            for p in working_hours]


def save_hours_for(caller: Caller, therapist_id: int, working_hours: Sequence[Any],
                   settings: Settings, keep_affected: bool = False) -> Therapist:
    """Replace the weekly periods (validated like the API's: day, start, end) and set the
    session settings. Confirmed sessions to come that would fall outside the new hours
    raise SessionsAffected, unless `keep_affected` (they stay booked)."""
    therapist = access.managed_therapist(caller, therapist_id)
    if not keep_affected:
        affected = outside_hours(load_zone(therapist.timezone), _core_periods(working_hours),
                                 therapists.upcoming_confirmed(therapist.id, now()))
        if affected:
            raise SessionsAffected(affected)
    therapist = clinic.replace_working_hours_for(caller, therapist_id, working_hours)
    therapist.session_minutes = settings.session_minutes
    therapist.buffer_minutes = settings.buffer_minutes
    therapist.slot_step_minutes = settings.slot_step_minutes
    rows.flush()
    return therapist
