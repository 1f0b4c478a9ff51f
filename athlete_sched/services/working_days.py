"""One-day changes of a therapist's working hours (a race-weekend shift, a short day, a
closed day): list, set, remove. The therapist themself or an admin, as for the weekly
hours. The rules of a day (closed or at least one period, periods ordered and apart) are
the core's (core/working_days.py); proposals and bookings read the changes through the
therapist's schedule (db/queries/therapists.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time

from ..core.errors import DomainError, InvalidValue, NotFound
from ..core.working_days import working_day
from ..core.zones import load_zone
from ..db.models import Therapist, WorkingDay, WorkingDayPeriod
from ..db.queries import rows
from ..db.queries import working_days as days
from . import access, affected, sites
from .access import Caller
from .common import FIRST_YEAR, LAST_YEAR, now

MAX_LIST = 1000


class NoDayChange(NotFound):
    def __init__(self, day: date) -> None:
        DomainError.__init__(self, f"no change of working hours on {day.isoformat()}",
                             field="date", entity="working day", ident=day.isoformat())


@dataclass(frozen=True)
class Upcoming:
    """A therapist's day changes from their local today on, and that today."""

    therapist: Therapist
    today: date
    days: list[WorkingDay]


def _clock(minute: int) -> time:
    return time.max if minute >= 1440 else time(minute // 60, minute % 60)


def _checked_date(day: date) -> date:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise InvalidValue(f"the year must lie between {FIRST_YEAR} and {LAST_YEAR}",
                           field="date")
    return day


def set_day(therapist: Therapist, day: date, closed: bool,
            periods: Sequence[tuple[int, int]], on_affected: str | None = None,
            site_id: int | None = None) -> WorkingDay:
    """Give the local `day` its own periods ((start, end) minutes after local midnight), or
    close it; replaces an earlier change of that day. Refused as a whole (InvalidValue)
    when the day breaks a rule of core.working_days; confirmed sessions to come that day
    outside the new periods raise SessionsAffected unless `on_affected` is keep or cancel
    (services/affected.py). `site_id`: the day is at that site (a race-weekend tent; None:
    the therapist's own)."""
    choice = affected.checked_choice(on_affected)
    site_id = None if site_id == therapist.site_id else sites.checked(site_id)
    new = working_day(_checked_date(day), closed,
                      [(_clock(start), _clock(end)) for start, end in periods], site_id)
    stranded = affected.for_day(therapist, day, new.periods, new.site_id)
    row = days.on(therapist.id, day)
    if row is None:
        row = rows.add(WorkingDay(therapist_id=therapist.id, day=day, closed=closed))
    row.closed, row.site_id = closed, new.site_id
    row.periods = [WorkingDayPeriod(start_minute=start, end_minute=end)
                   for start, end in sorted(periods)]
    rows.flush()
    affected.settle(stranded, choice)
    return row


def remove_day(therapist: Therapist, day: date) -> None:
    """Back to the weekly hours on `day` (NotFound: there was no change)."""
    row = days.on(therapist.id, day)
    if row is None:
        raise NoDayChange(day)
    rows.delete(row)


def list_for(caller: Caller, therapist_id: int, first: date | None, last: date | None,
             limit: int) -> list[WorkingDay]:
    """GET /therapists/{id}/working-days: up to `limit` changes from `first` to `last`
    (one more than a page holds, to tell that there is more)."""
    therapist = access.managed_therapist(caller, therapist_id)
    return days.between(therapist.id, first, last, min(limit, MAX_LIST + 1))


def set_for(caller: Caller, therapist_id: int, day: date, closed: bool,
            periods: Sequence[tuple[int, int]], on_affected: str | None = None,
            site_id: int | None = None) -> WorkingDay:
    """PUT /therapists/{id}/working-days/{date}."""
    return set_day(access.managed_therapist(caller, therapist_id), day, closed, periods,
                   on_affected, site_id)


def remove_for(caller: Caller, therapist_id: int, day: date) -> None:
    """DELETE /therapists/{id}/working-days/{date}."""
    remove_day(access.managed_therapist(caller, therapist_id), day)


# --- the therapist's page -----------------------------------------------------------------

def _own(caller: Caller) -> Therapist:
    if caller.therapist_id is None:
        raise NotFound("therapist", caller.email)
    return access.managed_therapist(caller, caller.therapist_id)


def upcoming_for(caller: Caller, limit: int = 200) -> Upcoming:
    """The signed-in therapist's changes from their local today on."""
    therapist = _own(caller)
    today = now().astimezone(load_zone(therapist.timezone)).date()
    return Upcoming(therapist, today, days.between(therapist.id, today, None, limit))


def set_own(caller: Caller, day: date, closed: bool,
            periods: Sequence[tuple[int, int]], on_affected: str | None = None) -> WorkingDay:
    """The signed-in therapist changes one of their days (not one already past)."""
    therapist = _own(caller)
    today = now().astimezone(load_zone(therapist.timezone)).date()
    if day < today:
        raise InvalidValue("that day has passed: pick today or a later date", field="date")
    return set_day(therapist, day, closed, periods, on_affected)


def remove_own(caller: Caller, day: date) -> None:
    remove_day(_own(caller), day)


