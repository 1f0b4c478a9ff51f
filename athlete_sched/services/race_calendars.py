"""Race calendars (issue 15): an athlete's races imported from a race series' or a
training platform's calendar, uploaded (PUT .../race-calendar) or subscribed by URL and
kept in step by the background work ("race-calendars" in services/due_work.py).

Each VEVENT is one event of the athlete, keyed by its UID (event.calendar_uid), so that a
calendar imported again updates its races instead of adding them twice (core/
race_calendar.py reads the file). The rules (README, "Race calendars"):

- a race over before now is ignored (neither created nor changed nor removed: the
  platform's export may drop or keep its past);
- a new race is created (sport guessed, else the athlete's), and the athlete is told by
  email, with the best slots of its windows (services/race_mail.py);
- a race whose dates changed moves, and its sessions follow as `move_bookings` moves
  them (services/events.follow_calendar: each to the best free slot of its new window;
  one that cannot move stays, flagged outside-window, the athlete told); a new name is
  taken over; the sport is the athlete's to correct and is not changed again;
- a race gone from the calendar, or STATUS:CANCELLED, is deleted when no session was ever
  booked for it, else kept with removed_from_calendar (shown on the season page);
  if it comes back, the mark goes;
- all or nothing: the whole file is read before any row changes, and a race that cannot
  be an event (a stage race longer than an event may last) refuses the whole import.

One race calendar per athlete: either the uploaded file or one subscription (an upload
while subscribed is refused; subscribing takes over the upload's races).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple

from flask import current_app

from ..core.errors import CalendarUnparsable, Conflict, DomainError, NotFound
from ..core.race_calendar import Race, races
from ..core.zones import load_zone
from ..db.models import Athlete, Event, RaceCalendar
from ..db.queries import race_calendars as q
from ..db.queries import rows
from ..db.queries.race_calendars import UPLOAD, URL
from . import access, events, memory, race_mail, unit_of_work
from .access import Caller
from .busy import normalise_url
from .busy_fetch import FetchError, Limits, fetch
from .common import localize, now, stamp

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=10)  # how long a claimed sync is another worker's to wait for
DEFAULT_INTERVAL = 360


class RaceCalendarSubscribed(Conflict):
    code = "race-calendar-subscribed"

    def __init__(self) -> None:
        super().__init__("the athlete's races come from a subscription: unsubscribe "
                         "before uploading a race calendar", field="body")


class AlreadySubscribed(Conflict):
    code = "race-calendar-subscribed"

    def __init__(self) -> None:
        super().__init__("the athlete already has a race calendar subscription: remove it "
                         "first", field="url")


@dataclass
class Counts:
    """What an import did; `new`: the events created (to announce)."""

    created: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    new: list[Event] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "removed": self.removed,
                "unchanged": self.unchanged}


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def read(body: bytes, zone: str) -> list[Race]:
    """The races of `body` (no database). Raises CalendarUnparsable, CalendarTooComplex."""
    try:
        return races(body, zone)
    finally:
        memory.give_back(len(body))


# --- applying a calendar ----------------------------------------------------------------------

@dataclass(frozen=True)
class _Fields:
    """What services.events.create_event reads of a new event."""

    name: str
    sport: str
    timezone: str
    start: date | datetime
    end: date | datetime | None
    priority: str = "A"


def _timing(race: Race) -> tuple:
    """The stored form of the race's dates, to compare with an event's."""
    zone = load_zone(race.timezone)
    end = None if race.end is None else localize(race.end, zone)
    return (race.timezone, localize(race.start, zone), not isinstance(race.start, datetime), end,
            race.end is not None and not isinstance(race.end, datetime))


def _stored_timing(event: Event) -> tuple:
    return (event.timezone, event.start, event.start_is_date, event.end,
            event.end is not None and event.end_is_date)


def _refused(race: Race, exc: DomainError) -> CalendarUnparsable:
    return CalendarUnparsable(f"the event {race.uid} cannot be a race: {exc.message}")


def _update(event: Event, race: Race) -> bool:
    """Bring the event in line with the race; whether anything changed."""
    changed = False
    if _stored_timing(event) != _timing(race):
        events.follow_calendar(event, race.timezone, race.start, race.end)
        race_mail.moved(event)
        changed = True
    if event.name != race.name:
        event.name, changed = race.name, True
    if event.removed_from_calendar:
        event.removed_from_calendar, changed = False, True
    return changed


def _remove(event: Event, counts: Counts) -> None:
    if event.removed_from_calendar:
        counts.unchanged += 1
    elif q.has_bookings(event.id):
        event.removed_from_calendar = True
        counts.removed += 1
    else:
        rows.delete(event)
        counts.removed += 1


def apply(athlete: Athlete, found: list[Race], at: datetime) -> Counts:
    """Make the athlete's calendar races what `found` says at `at` (see the module
    docstring); not committed. The athlete's row is locked first, so two imports for
    one athlete run one after the other."""
    q.athlete_locked(athlete.id)
    existing = q.calendar_events(athlete.id)
    listed = {r.uid: r for r in found if not r.cancelled}
    counts = Counts()
    for uid, race in listed.items():
        if race.ends_before(at):
            continue
        event = existing.get(uid)
        try:
            if event is None:
                event = events.create_event(_Fields(race.name, race.sport or athlete.sport,
                                                    race.timezone, race.start, race.end),
                                            athlete)
                event.calendar_uid = uid
                counts.created += 1
                counts.new.append(event)
            elif _update(event, race):
                counts.updated += 1
            else:
                counts.unchanged += 1
        except CalendarUnparsable:
            raise
        except DomainError as exc:
            raise _refused(race, exc) from None
    for uid, event in existing.items():
        if uid not in listed and event.occupied_end > at:
            _remove(event, counts)
    rows.flush()
    for event in counts.new:
        race_mail.new_race(event, athlete, at)
    return counts


def _stored(calendar: RaceCalendar, found: list[Race], body_hash: str) -> None:
    calendar.body_hash = body_hash
    calendar.event_count = sum(not r.cancelled for r in found)
    calendar.synced_at = calendar.checked_at = stamp()
    calendar.error = calendar.error_at = None


# --- the uploaded file ------------------------------------------------------------------------

def import_upload(caller: Caller, athlete_id: int, read_body: Callable[[], bytes]) -> Counts:
    """PUT .../race-calendar: the body is the athlete's race calendar from now on. The
    unit's transaction is released while the body is read (as busy uploads do)."""
    athlete = access.athlete(caller, athlete_id)
    body = read_body()
    if q.of_athlete(athlete.id, URL) is not None:
        raise RaceCalendarSubscribed()
    zone = athlete.timezone
    unit_of_work.release()  # nothing written yet: no write lock held while it is read
    found = read(body, zone)  # a bad file raises here, before any change
    athlete = access.athlete(caller, athlete_id)  # again, in the unit's new transaction
    q.athlete_locked(athlete.id)  # one import per athlete at a time, from here to commit
    if q.of_athlete(athlete.id, URL) is not None:
        raise RaceCalendarSubscribed()
    calendar = q.of_athlete(athlete.id, UPLOAD, lock=True)
    if calendar is None:
        calendar = rows.add(RaceCalendar(athlete_id=athlete.id, kind=UPLOAD,
                                         interval_minutes=DEFAULT_INTERVAL, event_count=0,
                                         created_at=stamp()))
    counts = apply(athlete, found, now())
    _stored(calendar, found, digest(body))
    return counts


# --- the subscription -------------------------------------------------------------------------

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
            _stored(calendar, outcome.found, outcome.body_hash)
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
