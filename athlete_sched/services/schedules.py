"""The clinic's schedules as proposals start from them, cached per process.

A proposals request ranks every therapist who works where the athlete can be by the best
start its schedule allows (core/proposals.bounds), so it needs every such schedule: weekly
hours, settings, site, and the one-day changes near the windows. Read from the database
that is one row per therapist each time (at 1,000 therapists about 7 ms on SQLite), the
same rows request after request: schedules change when someone edits hours, not when the
clinic books.

So they are kept per worker process, keyed by the schedules' own commit counter
(db/queries/therapists.schedule_version, migration 0015: it grows with every committed
write to therapist, working_period, working_day or working_day_period, whoever wrote it),
read in the request's transaction before the schedules: an entry is served only while
nothing the schedules are built from has changed, so it is never stale, on one worker or
on many hosts. Bookings, which change all day, do not touch the counter. An entry holds
every therapist's weekly schedule and their one-day changes from a week before today on;
a request about earlier dates (an event long past) reads afresh.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from ..core.availability import TherapistSchedule
from ..core.intervals import Interval
from ..core.working_days import WorkingDay
from ..db.queries import therapists, working_days
from .cache import cache_for
from .common import now

# One-day changes are kept from this long before today: a cache entry serves a week's
# requests about the present and the future before it is read again.
DAYS_BEHIND = timedelta(days=7)


@dataclass(frozen=True)
class _Clinic:
    """Every therapist's weekly schedule (by id), their one-day changes from `since` on,
    and for each site the therapists whose weekly hours are there (their own site, or a
    weekly period's)."""

    since: date
    weekly: tuple[TherapistSchedule, ...]
    days: dict[int, tuple[WorkingDay, ...]]
    weekly_at: dict[int | None, frozenset[int]]


def _clinic(since: date) -> _Clinic:
    weekly, days = therapists.weekly_schedules(since)
    at: dict[int | None, set[int]] = {}
    for schedule in weekly:
        for site in {schedule.site_id, *(p.site_id for p in schedule.working_hours
                                          if p.site_id is not None)}:
            at.setdefault(site, set()).add(schedule.therapist_id)
    return _Clinic(since, tuple(weekly), days,
                   {site: frozenset(ids) for site, ids in at.items()})


def _cached(since: date, version: int | None = None) -> _Clinic:
    """The clinic's schedules at `version` (None: read the counter now)."""
    cache, at = cache_for("schedules"), now()
    if version is None:
        version = therapists.schedule_version() if cache.size > 0 else None
    clinic = cache.get(since, version, at)
    if clinic is None:
        clinic = _clinic(since)
        cache.put(since, version, clinic, at)
    return clinic


def near(therapist_id: int | None, windows: Sequence[Interval],
         sites: Sequence[int] | None = None, version: int | None = None
         ) -> list[TherapistSchedule]:
    """Every therapist's schedule (or the one asked for), by id, with its one-day changes
    of the local dates the windows touch: `therapists.schedules(therapist_id, windows)`,
    from the cache. With `sites`, only the therapists who work at one of them (their own
    site, a weekly period's, or a one-day change's near the windows: a race-weekend
    tent). `version`: the schedules' counter if the request read it already, in its
    transaction and before any schedule (the proposals key does: proposal_keys.Facts)."""
    first, last = working_days.dates_near(windows)
    since = now().date() - DAYS_BEHIND
    if first < since:  # before what the cache keeps: read as it was
        return therapists.schedules_with_loads(therapist_id, windows, sites, loads=False)[0]
    clinic = _cached(since, version)
    changed = {tid: near_days for tid, days in clinic.days.items()
               if (near_days := tuple(d for d in days if first <= d.day <= last))}
    wanted: set[int] | None = None
    if sites is not None:
        wanted = set().union(*(clinic.weekly_at.get(site, ()) for site in sites))
        wanted |= {tid for tid, days in changed.items()
                   if any(d.site_id in sites for d in days)}
    chosen = [s for s in clinic.weekly
              if (therapist_id is None or s.therapist_id == therapist_id)
              and (wanted is None or s.therapist_id in wanted)]
    return [replace(s, working_days=changed[s.therapist_id])
            if s.therapist_id in changed else s for s in chosen]


def weekly_at(therapist_id: int, version: int) -> TherapistSchedule | None:
    """The therapist's weekly schedule (settings and hours, no one-day changes) from the
    cache at `version`, the schedules' counter this request read; None when the cache is
    off or there is no such therapist."""
    if cache_for("schedules").size <= 0:
        return None
    clinic = _cached(now().date() - DAYS_BEHIND, version)
    return next((s for s in clinic.weekly if s.therapist_id == therapist_id), None)
