"""One-day changes of therapists' working hours: the rows of a therapist's dates, and the
changes near some spans as the core reads them (row -> core.working_days.WorkingDay).

A change travels to the core as text, as the weekly hours do (therapists.py): per change,
"YYYY-MM-DD" for a closed date, "YYYY-MM-DD:start:end" for each period (minutes after local
midnight), with "@site" after the date for a day at another site, joined by ","; parsed
once per distinct text (`days_of`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, time, timedelta
from functools import cache, lru_cache

from sqlalchemy import ColumnElement, Select, String, bindparam, cast, func, select

from ...core.intervals import Interval
from ...core.working_days import WorkingDay as Day
from ...extensions import db
from ..models import WorkingDay, WorkingDayPeriod

# A UTC instant falls on the local date before, on or after its UTC date in any zone
# (offsets lie within +-24 h): the dates read around some spans reach one day further.
_ZONE_REACH = timedelta(days=1)


# --- rows -------------------------------------------------------------------------------------

def on(therapist_id: int, day: date) -> WorkingDay | None:
    return db.session.scalars(select(WorkingDay).where(
        WorkingDay.therapist_id == therapist_id, WorkingDay.day == day)).first()


def between(therapist_id: int, first: date | None, last: date | None,
            limit: int) -> list[WorkingDay]:
    """Up to `limit` changes of the therapist from `first` to `last` (both included; None:
    unbounded), by date; their periods come with them (one more query for all)."""
    query = select(WorkingDay).where(WorkingDay.therapist_id == therapist_id)
    if first is not None:
        query = query.where(WorkingDay.day >= first)
    if last is not None:
        query = query.where(WorkingDay.day <= last)
    return list(db.session.scalars(query.order_by(WorkingDay.day).limit(limit)))


# --- changes near spans (row -> core) -------------------------------------------------------

def dates_near(spans: Sequence[Interval]) -> tuple[date, date]:
    """The first and last local date, in any zone, that the spans touch."""
    return (min(s.start for s in spans).date() - _ZONE_REACH,
            max(s.end for s in spans).date() + _ZONE_REACH)


def days_text(therapist_id: ColumnElement[int]) -> ColumnElement[str | None]:
    """The text of the therapist's changes from :days_from to :days_to (NULL for none), a
    correlated subquery (one index range of uq_working_day_therapist_id per therapist)."""
    period = func.coalesce(":" + cast(WorkingDayPeriod.start_minute, String) + ":"
                           + cast(WorkingDayPeriod.end_minute, String), "")
    at = func.coalesce("@" + cast(WorkingDay.site_id, String), "")
    return (select(func.aggregate_strings(cast(WorkingDay.day, String) + at + period, ","))
            .select_from(WorkingDay)
            .outerjoin(WorkingDayPeriod, WorkingDayPeriod.working_day_id == WorkingDay.id)
            .where(WorkingDay.therapist_id == therapist_id,
                   WorkingDay.day.between(bindparam("days_from"), bindparam("days_to")))
            .scalar_subquery())


def _clock(minutes: int) -> time:
    return time.max if minutes >= 1440 else time(minutes // 60, minutes % 60)


@lru_cache(maxsize=4096)
def days_of(text: str | None) -> tuple[Day, ...]:
    """The changes of a days text, by date (closed dates without periods; "@site" after a
    date: the day is at that site)."""
    if not text:
        return ()
    found: dict[date, list[tuple[time, time]]] = {}
    at: dict[date, int] = {}
    for part in text.split(","):
        day_text, *minutes = part.split(":")
        day_text, _, site = day_text.partition("@")
        day = date.fromisoformat(day_text)
        periods = found.setdefault(day, [])
        if site:
            at[day] = int(site)
        if minutes:
            periods.append((_clock(int(minutes[0])), _clock(int(minutes[1]))))
    return tuple(Day(day, tuple(periods), at.get(day) if periods else None)
                 for day, periods in sorted(found.items()))


@cache
def _near_statement() -> Select[tuple[str | None]]:
    """The query of `near`, built once: every booking and move sends it, and building the
    expression (and its cache key) cost about as much as running it (bench/load.py)."""
    return select(days_text(bindparam("therapist_id")))


def near(therapist_id: int, spans: Sequence[Interval]) -> tuple[Day, ...]:
    """The therapist's changes of the local dates the spans touch, in one query."""
    first, last = dates_near(spans)
    text = db.session.scalar(_near_statement(), {"therapist_id": therapist_id,
                                                 "days_from": first, "days_to": last})
    return days_of(text)
