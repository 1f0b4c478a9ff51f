"""Race calendar subscriptions (issue 15): an athlete's race calendar by URL, kept in step
by the due work "race-calendars" (services/due_work.py) and by "sync now". Each sync is a
conditional GET through services/busy_fetch.py (public addresses only, one deadline, the
size cap); a body with the hash of the last one is not read again. What a calendar does
to the athlete's races: services/race_calendars.py.

Several workers may run the due work at once: each due subscription is claimed first (its
due time moved on by a lease, LEASE; a worker that dies leaves it due again then), fetched
outside any transaction, and recorded in a unit of its own.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import NamedTuple

from flask import current_app

from ..core.errors import Conflict, DomainError, NotFound
from ..core.race_calendar import Race
from ..db.models import RaceCalendar
from ..db.queries import race_calendars as q
from ..db.queries import rows
from ..db.queries.race_calendars import UPLOAD, URL
from . import access, unit_of_work
from .access import Caller
from .busy import normalise_url
from .busy_fetch import FetchError, Limits, fetch
from .common import now, stamp
from .race_calendars import DEFAULT_INTERVAL, Counts, apply, digest, read, stored

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=10)  # how long a claimed sync is another worker's to wait for


class AlreadySubscribed(Conflict):
    code = "race-calendar-subscribed"

    def __init__(self) -> None:
        super().__init__("the athlete already has a race calendar subscription: remove it "
                         "first", field="url")


def subscription_for(caller: Caller, athlete_id: int) -> RaceCalendar:
    athlete = access.athlete(caller, athlete_id)
    calendar = q.of_athlete(athlete.id, URL)
    if calendar is None:
        raise NotFound("race calendar subscription", athlete.id)
    return calendar


def status_for(caller: Caller, athlete_id: int) -> tuple[RaceCalendar | None,
                                                          RaceCalendar | None]:
    """The athlete's (upload, subscription), either None (for the page)."""
    athlete = access.athlete(caller, athlete_id)
    return q.of_athlete(athlete.id, UPLOAD), q.of_athlete(athlete.id, URL)


def zone_of(caller: Caller, athlete_id: int) -> str:
    """The athlete's zone (the page shows its times in it)."""
    return access.athlete(caller, athlete_id).timezone


def subscribe_for(caller: Caller, athlete_id: int, url: str,
                  interval_minutes: int = DEFAULT_INTERVAL) -> RaceCalendar:
    """Subscribe the athlete to a race calendar address, due for a sync at once. The
    uploaded calendar, if any, is dropped (its races stay, kept in step from now on)."""
    athlete = access.athlete(caller, athlete_id)
    url = normalise_url(url)
    q.athlete_locked(athlete.id)
    if q.of_athlete(athlete.id, URL) is not None:
        raise AlreadySubscribed()
    upload = q.of_athlete(athlete.id, UPLOAD)
    if upload is not None:
        rows.delete(upload)
    at = stamp()
    return rows.add(RaceCalendar(athlete_id=athlete.id, kind=URL, url=url,
                                 interval_minutes=interval_minutes, event_count=0,
                                 due_at=now(), created_at=at))


def unsubscribe_for(caller: Caller, athlete_id: int) -> None:
    """Remove the subscription, if there is one (DELETE is idempotent); the races it
    brought in stay the athlete's events."""
    athlete = access.athlete(caller, athlete_id)
    calendar = q.of_athlete(athlete.id, URL, lock=True)
    if calendar is not None:
        rows.delete(calendar)


class Due(NamedTuple):
    """What a sync needs of one subscription, read before the fetch."""

    id: int
    zone: str
    url: str
    etag: str | None
    last_modified: str | None
    body_hash: str | None


class Outcome(NamedTuple):
    """What a fetch found: `found` and `body_hash` for a changed calendar, `error` for a
    failure, neither when unchanged; `validators` (ETag, Last-Modified) to keep."""

    found: list[Race] | None = None
    body_hash: str | None = None
    validators: tuple[str | None, str | None] | None = None
    error: str | None = None


def refresh(due: Due) -> Outcome:
    """Fetch one subscription (conditional GET, services/busy_fetch.py) and read a changed
    body. No database."""
    config = current_app.config
    limits = Limits(config["CALENDAR_FETCH_TIMEOUT"], config["CALENDAR_MAX_BYTES"],
                    config["CALENDAR_FETCH_PRIVATE"], config.get("CALENDAR_FETCH_CA_BUNDLE"))
    try:
        body, validators = fetch(due.url, due.etag, due.last_modified, limits)
    except FetchError as exc:
        return Outcome(error=str(exc))
    if body is None:
        return Outcome(validators=validators)
    body_hash = digest(body)
    if body_hash == due.body_hash:
        return Outcome(validators=validators)
    try:
        return Outcome(read(body, due.zone), body_hash, validators)
    except DomainError as exc:
        return Outcome(error=exc.message)


def due_of(calendar: RaceCalendar) -> Due:
    athlete = q.athlete_of(calendar)
    return Due(calendar.id, athlete.timezone, calendar.url or "", calendar.etag,
               calendar.last_modified, calendar.body_hash)


def record(due: Due, outcome: Outcome, at: datetime) -> Counts | None:
    """Write a sync's outcome (not committed); the races applied in a savepoint, so that
    a race that cannot be an event is recorded as the error and changes nothing. None
    if the subscription is gone."""
    calendar = q.locked(due.id)
    if calendar is None:
        return None
    counts = Counts()
    error = outcome.error
    if error is None and outcome.found is not None and outcome.body_hash is not None:
        try:
            with q.savepoint():
                counts = apply(q.athlete_of(calendar), outcome.found, at)
        except DomainError as exc:
            error = exc.message
        else:
            stored(calendar, outcome.found, outcome.body_hash)
    if error is not None:
        calendar.error, calendar.error_at = error, stamp()
    else:
        calendar.error = calendar.error_at = None
        if outcome.validators is not None:
            calendar.etag, calendar.last_modified = outcome.validators
    calendar.checked_at = stamp()
    calendar.due_at = at + timedelta(minutes=calendar.interval_minutes)
    return counts


def sync_now_for(caller: Caller, athlete_id: int) -> Counts:
    """Fetch the athlete's subscription now and record the outcome (its error, if it
    failed); the unit's transaction is released during the fetch."""
    calendar = subscription_for(caller, athlete_id)
    due = due_of(calendar)
    unit_of_work.release()
    counts = record(due, refresh(due), now())
    if counts is None:
        raise NotFound("race calendar subscription", athlete_id)
    return counts


def _claim(calendar_id: int, at: datetime) -> Due | None:
    if not q.claim(calendar_id, at, at + LEASE):
        return None
    calendar = q.locked(calendar_id)
    return None if calendar is None else due_of(calendar)


def run_due(at: datetime) -> int:
    """The due work "race-calendars": sync every subscription due at `at`, each claimed
    (a lease), fetched outside any transaction and recorded in a unit of its own. Two
    workers at once: one claims each, the other skips it. How many were synced."""
    synced = 0
    for calendar_id in unit_of_work.run(lambda: q.due(at)):
        due = unit_of_work.run(lambda cid=calendar_id: _claim(cid, at))
        if due is None:
            continue
        try:
            outcome = refresh(due)
        except Exception:  # one subscription must not stop the others
            log.exception("race calendar subscription %s: unexpected error", due.id)
            outcome = Outcome(error="an unexpected error; it was logged for the clinic")
        if unit_of_work.run(lambda d=due, o=outcome: record(d, o, at)) is not None:
            synced += 1
    return synced
