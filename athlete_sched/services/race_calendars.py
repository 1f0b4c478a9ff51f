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

One race calendar per athlete: either the uploaded file or one subscription
(services/race_subscriptions.py; an upload while subscribed is refused, subscribing takes
over the upload's races).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from ..core.errors import CalendarUnparsable, Conflict, DomainError
from ..core.race_calendar import Race, races
from ..core.zones import load_zone
from ..db.models import Athlete, Event, RaceCalendar
from ..db.queries import race_calendars as q
from ..db.queries import rows
from ..db.queries.race_calendars import UPLOAD, URL
from . import access, events, memory, race_mail, unit_of_work
from .access import Caller
from .common import localize, now, stamp

DEFAULT_INTERVAL = 360


class RaceCalendarSubscribed(Conflict):
    code = "race-calendar-subscribed"

    def __init__(self) -> None:
        super().__init__("the athlete's races come from a subscription: unsubscribe "
                         "before uploading a race calendar", field="body")


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
        before = (event.start, event.end)
        events.follow_calendar(event, race.timezone, race.start, race.end)
        if (event.start, event.end) != before:  # not a new zone name alone
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


def stored(calendar: RaceCalendar, found: list[Race], body_hash: str) -> None:
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
    stored(calendar, found, digest(body))
    return counts
