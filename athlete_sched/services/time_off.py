"""Time off as the therapist's page takes it: a date range means whole days, the last
date included, in the therapist's zone; optional times make the first and last day part
days. Stored through services/clinic.py like the API's time off. Confirmed sessions to
come inside it are shown first (SessionsAffected, services/affected.py); the therapist
then keeps or cancels them. A
therapist manages their own; an admin anyone's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..core.zones import load_zone
from ..db.models import Therapist, TimeOff
from . import access, clinic
from .access import Caller

MAX_LISTED = 1000


@dataclass(frozen=True)
class DaysOff:
    """The time off of one therapist, by start."""

    therapist: Therapist
    tz: ZoneInfo
    entries: list[TimeOff]


def time_off_for(caller: Caller, therapist_id: int) -> DaysOff:
    therapist = access.own_therapist(caller, therapist_id)
    found = clinic.time_off_page_for(caller, therapist.id, 0, MAX_LISTED)
    return DaysOff(therapist, load_zone(therapist.timezone),
                   sorted(found, key=lambda t: (t.start, t.id)))


def local_bounds(first: date, last: date, start: time | None,
                 end: time | None) -> tuple[date | datetime, date | datetime]:
    """Wall-clock bounds of the days `first` to `last` (both included): from `start` on the
    first day (else its midnight) to `end` on the last day (else the midnight after it)."""
    begin = datetime.combine(first, start) if start is not None else first
    finish = datetime.combine(last, end) if end is not None else last + timedelta(days=1)
    return begin, finish


def add_days_off_for(caller: Caller, therapist_id: int, first: date, last: date,
                     start: time | None, end: time | None, reason: str,
                     on_affected: str | None = None) -> TimeOff:
    """Add time off from `first` to `last` (included) in the therapist's zone. Raises
    InvalidPeriod when it would end before it starts, and SessionsAffected when confirmed
    sessions to come fall in it, unless `on_affected` is keep (they stay booked) or
    cancel (services/affected.py, the API's road)."""
    begin, finish = local_bounds(first, last, start, end)
    return clinic.add_time_off_for(caller, therapist_id, begin, finish, reason, on_affected)


def remove_for(caller: Caller, therapist_id: int, time_off_id: int) -> None:
    clinic.delete_time_off_for(caller, therapist_id, time_off_id)
