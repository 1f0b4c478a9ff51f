"""A therapist's weekly hours as the hours page edits them: the working periods of each
weekday (several periods a day leave breaks between them) and the session settings
(length, buffer after a session, slot step). Saved through the service the API's PUT
working-hours uses (services/clinic.py), in one unit: the periods and the settings change
together or not at all. Confirmed sessions to come that the new hours would leave outside
are shown first (SessionsAffected, services/affected.py); the therapist then keeps or
cancels them. A therapist changes
their own; an admin anyone's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..db.models import Therapist
from ..db.queries import rows
from . import access, clinic
from .access import Caller

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


def periods_by_day(therapist: Therapist) -> dict[str, list[tuple[int, int, int | None]]]:
    """Each weekday's (start, end) minutes after local midnight, in order, with the site
    of the period when it is not the therapist's own (None: their own)."""
    found: dict[str, list[tuple[int, int, int | None]]] = {day: [] for day in DAYS}
    for period in sorted(therapist.working_hours, key=lambda p: (p.day, p.start_minute)):
        other = None if period.site_id == therapist.site_id else period.site_id
        found[DAYS[period.day]].append((period.start_minute, period.end_minute, other))
    return found


def save_hours_for(caller: Caller, therapist_id: int, working_hours: Sequence[Any],
                   settings: Settings, on_affected: str | None = None) -> Therapist:
    """Replace the weekly periods (validated like the API's: day, start, end) and set the
    session settings. Confirmed sessions to come that would fall outside the new hours
    raise SessionsAffected, unless `on_affected` is keep (they stay booked) or cancel
    (services/affected.py, the API's road)."""
    therapist = clinic.replace_working_hours_for(caller, therapist_id, working_hours,
                                                 on_affected)
    therapist.session_minutes = settings.session_minutes
    therapist.buffer_minutes = settings.buffer_minutes
    therapist.slot_step_minutes = settings.slot_step_minutes
    rows.flush()
    return therapist
