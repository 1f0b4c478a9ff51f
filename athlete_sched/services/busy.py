"""Busy calendars: a therapist's uploaded export and subscribed secret iCal addresses,
expanded once per change (core/ical_import.py) and stored as busy intervals, which the
proposals and the booking guard read like time off. Nothing here parses a calendar for a
proposal or a booking.

Each calendar (a BusyCalendar row) owns its intervals: a good import replaces them as one
unit (delete + bulk insert in the caller's transaction, the calendar row locked first); a
failed one raises or is recorded before any interval changes, so the last good import stays
in force. An unchanged body (same sha256) is not expanded again unless the last expansion
is older than REEXPAND_AFTER (the horizon moves on with the clock).

Expanding takes seconds for a big calendar, so `expand` touches no database: an upload
(`import_busy_upload`) releases the unit's transaction before it expands (on SQLite a
write transaction holds the database's write lock). Subscriptions are fetched by
`refresh` (no database either; `refresh_all` runs up to CALENDAR_SYNC_WORKERS of them at
once) and written by `record`; the CLI command `calendars sync` records each one as a unit
of its own, as soon as its fetch is done.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime, timedelta
from typing import NamedTuple
from urllib.parse import urlsplit, urlunsplit

from flask import current_app

from ..core.errors import Conflict, DomainError, InvalidValue, NotFound
from ..core.intervals import Interval, pieces
from ..core.zones import load_zone
from ..db.models import BusyCalendar, Therapist
from ..db.queries import MAX_BUSY_SPAN, calendars, rows
from ..db.queries.calendars import UPLOAD, URL
from . import access, memory, unit_of_work
from .access import Caller
from .busy_fetch import FetchError, Limits, fetch
from .common import now, stamp

log = logging.getLogger(__name__)
REEXPAND_AFTER = timedelta(days=7)
MAX_SUBSCRIPTIONS = 20
MAX_URL_LENGTH = 2048


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def horizon() -> Interval:
    """The span imports cover: from a day before now to CALENDAR_HORIZON_DAYS after it."""
    start = now()
    return Interval(start - timedelta(days=1),
                    start + timedelta(days=current_app.config["CALENDAR_HORIZON_DAYS"]))


def expand(body: bytes, zone: str) -> list[Interval]:
    """The busy intervals of `body` for a therapist in `zone` (no database access).
    Raises CalendarUnparsable or CalendarTooComplex."""
    # The parser (icalendar's reading side, recurring-ical-events, x-wr-timezone) is
    # imported by the first import, not with the app: a web worker starts about 8 ms
    # sooner (bench/coldstart.py), and only uploads and syncs parse a calendar.
    from ..core import ical_import

    try:
        return ical_import.busy_intervals(body, load_zone(zone), horizon())
    finally:
        memory.give_back(len(body))


def _recent(synced_at: datetime | None) -> bool:
    """Whether an import made at `synced_at` still covers the horizon well enough."""
    return synced_at is not None and synced_at > stamp() - REEXPAND_AFTER


def _fresh(calendar: BusyCalendar | None, body_hash: str) -> bool:
    """Whether `calendar` already holds a recent import of a body with this hash."""
    return (calendar is not None and calendar.body_hash == body_hash
            and _recent(calendar.synced_at))


def store(calendar: BusyCalendar, intervals: list[Interval], body_hash: str) -> None:
    """Replace the calendar's busy intervals with `intervals` (one unit, not committed).
    One longer than MAX_BUSY_SPAN is stored as consecutive pieces (the database refuses
    longer rows, so that the window queries can stop reading early; db/queries.py);
    `busy_count` counts the intervals, not the pieces."""
    calendars.replace_busy_intervals(calendar, [
        {"therapist_id": calendar.therapist_id, "start": piece.start, "end": piece.end,
         "source": calendar.kind, "calendar_id": calendar.id}
        for interval in intervals for piece in pieces(interval, MAX_BUSY_SPAN)])
    calendar.body_hash, calendar.busy_count = body_hash, len(intervals)
    calendar.synced_at = calendar.checked_at = stamp()
    calendar.error = calendar.error_at = None


# --- the uploaded export ------------------------------------------------------------------

def replace_upload(therapist: Therapist, body: bytes,
                   intervals: list[Interval] | None = None) -> BusyCalendar:
    """Make `body` the therapist's uploaded busy calendar. `intervals`: its expansion, when
    the caller ran `expand` outside the transaction; otherwise it is expanded here, before
    any row changes (a failure raises and the previous import stays)."""
    body_hash = digest(body)
    calendar = calendars.upload_of(therapist.id, lock=True)
    if _fresh(calendar, body_hash):
        return calendar
    if intervals is None:
        intervals = expand(body, therapist.timezone)
    if calendar is None:
        calendar = rows.add(BusyCalendar(therapist_id=therapist.id, kind=UPLOAD,
                                         interval_minutes=60, busy_count=0,
                                         created_at=stamp()))
    store(calendar, intervals, body_hash)
    return calendar


def import_busy_upload(caller: Caller, therapist_id: int,
                       read_body: Callable[[], bytes]) -> BusyCalendar:
    """PUT .../busy-calendar: make the body the therapist's uploaded busy calendar (read
    with `read_body` once the caller may). A body already in force is not expanded again;
    otherwise the unit's transaction is released while the body is expanded (seconds for
    a big calendar), and a body that does not parse raises before any row changes, so the
    previous import stays in force."""
    therapist = access.own_therapist(caller, therapist_id)
    body = read_body()
    calendar = calendars.upload_of(therapist.id)
    if _fresh(calendar, digest(body)):
        return calendar
    zone = therapist.timezone
    unit_of_work.release()  # nothing was written; the therapist row reloads afterwards
    return replace_upload(therapist, body, expand(body, zone))


def upload_for(caller: Caller, therapist_id: int) -> BusyCalendar | None:
    """The therapist's imported upload (the therapist or an admin)."""
    return calendars.upload_of(access.own_therapist(caller, therapist_id).id)


# --- subscriptions ------------------------------------------------------------------------

def normalise_url(url: str) -> str:
    """An http(s) address; webcal:// and webcals:// (how calendar apps publish them)
    become https://. Raises InvalidValue(field='url')."""
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("webcal", "webcals"):
        scheme = "https"
    if scheme not in ("http", "https") or not parts.hostname:
        raise InvalidValue("the address must be an http(s):// or webcal:// URL", field="url")
    if len(url) > MAX_URL_LENGTH or any(c.isspace() or ord(c) < 32 for c in url):
        raise InvalidValue(f"the address must be a single URL of at most {MAX_URL_LENGTH} "
                           "characters", field="url")
    return urlunsplit((scheme, *parts[1:]))


def subscriptions_for(caller: Caller, therapist_id: int) -> list[BusyCalendar]:
    return calendars.subscriptions(access.own_therapist(caller, therapist_id).id)


def add_subscription_for(caller: Caller, therapist_id: int, url: str,
                         interval_minutes: int) -> BusyCalendar:
    """Subscribe the therapist to a calendar address; it is due for a sync at once."""
    therapist = access.own_therapist(caller, therapist_id)
    url = normalise_url(url)
    existing = calendars.subscriptions(therapist.id)
    if any(s.url == url for s in existing):
        raise Conflict("this calendar address is already subscribed", field="url")
    if len(existing) >= MAX_SUBSCRIPTIONS:
        raise InvalidValue(f"at most {MAX_SUBSCRIPTIONS} subscriptions per therapist",
                           field="url")
    at = stamp()
    return rows.add(BusyCalendar(therapist_id=therapist.id, kind=URL, url=url, busy_count=0,
                                 interval_minutes=interval_minutes, due_at=at,
                                 created_at=at))


def delete_subscription_for(caller: Caller, therapist_id: int, subscription_id: int) -> None:
    """Remove a subscription and the busy intervals it brought in."""
    therapist = access.own_therapist(caller, therapist_id)
    calendar = rows.get(BusyCalendar, subscription_id)
    if calendar is None or calendar.therapist_id != therapist.id or calendar.kind != URL:
        raise NotFound("calendar subscription", subscription_id)
    calendars.delete_calendar(calendar)


class Due(NamedTuple):
    """What a sync needs to know of one subscription, read before any fetch."""

    id: int
    therapist_id: int
    zone: str
    url: str
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    synced_at: datetime | None


def due_subscriptions(at: datetime, everything: bool = False) -> list[Due]:
    """The subscriptions due at `at` (all of them with `everything`), oldest due first."""
    return [Due(c.id, c.therapist_id, zone, c.url or "", c.etag, c.last_modified, c.body_hash,
                c.synced_at) for c, zone in calendars.due_subscriptions(at, everything)]


class Outcome(NamedTuple):
    """What one refresh found: `intervals` for a new import, `error` for a failure, neither
    when the calendar is unchanged. `validators`: the server's (ETag, Last-Modified) to keep,
    None to keep the stored ones."""

    summary: str
    intervals: list[Interval] | None = None
    body_hash: str | None = None
    validators: tuple[str | None, str | None] | None = None
    error: str | None = None


def refresh(due: Due) -> Outcome:
    """Fetch one subscription (conditional GET) and expand a changed body. No database."""
    config = current_app.config
    limits = Limits(config["CALENDAR_FETCH_TIMEOUT"], config["CALENDAR_MAX_BYTES"],
                    config["CALENDAR_FETCH_PRIVATE"], config.get("CALENDAR_FETCH_CA_BUNDLE"))
    recent = _recent(due.synced_at)  # else fetch the whole body, to expand it afresh
    try:
        body, validators = fetch(due.url, due.etag if recent else None,
                                 due.last_modified if recent else None, limits)
    except FetchError as exc:
        return Outcome(f"failed: {exc}", error=str(exc))
    if body is None:
        return Outcome("not modified (HTTP 304)", validators=validators)
    body_hash = digest(body)
    if recent and due.body_hash == body_hash:
        return Outcome("unchanged", validators=validators)
    try:
        intervals = expand(body, due.zone)
    except DomainError as exc:
        return Outcome(f"failed: {exc.message}", error=exc.message)
    return Outcome(f"imported {len(intervals)} busy intervals", intervals, body_hash,
                   validators)


def refresh_guarded(due: Due) -> Outcome:
    """`refresh`, with an unexpected error logged and turned into a failed outcome (one
    subscription must not stop the others)."""
    try:
        return refresh(due)
    except Exception:
        log.exception("calendar subscription %s: unexpected error", due.id)
        return Outcome("failed: unexpected error (logged)",
                       error="an unexpected error; it was logged for the clinic")


def refresh_all(due: list[Due], workers: int) -> Iterator[tuple[Due, Outcome]]:
    """Refresh every subscription in `due`, up to `workers` at once (threads: a fetch
    mostly waits on its server, and each has its own total deadline, so a slow server
    holds one worker for at most CALENDAR_FETCH_TIMEOUT). Yields each (due, outcome) as
    soon as it is done, for the caller to record in a unit of its own. No database."""
    if not due:
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def one(item: Due) -> Outcome:
        with app.app_context():
            return refresh_guarded(item)

    with ThreadPoolExecutor(max(1, min(workers, len(due))), "calendar-sync") as pool:
        running = {pool.submit(one, item): item for item in due}
        for done in as_completed(running):
            yield running[done], done.result()


def record(due: Due, outcome: Outcome) -> bool:
    """Write a refresh's outcome (not committed). False if the subscription is gone."""
    calendar = calendars.locked(due.id)
    if calendar is None:
        return False
    at = stamp()
    if outcome.error is not None:
        calendar.error, calendar.error_at = outcome.error, at
    else:
        calendar.error = calendar.error_at = None
        if outcome.validators is not None:
            calendar.etag, calendar.last_modified = outcome.validators
        if outcome.intervals is not None and outcome.body_hash is not None:
            store(calendar, outcome.intervals, outcome.body_hash)
    calendar.checked_at = at
    calendar.due_at = at + timedelta(minutes=calendar.interval_minutes)
    return True


# --- for the therapist's page -------------------------------------------------------------

class BusyCalendars(NamedTuple):
    """A therapist's busy calendars: the uploaded export (if any) and the subscriptions."""

    therapist: Therapist
    upload: BusyCalendar | None
    subscriptions: list[BusyCalendar]


def calendars_for(caller: Caller, therapist_id: int) -> BusyCalendars:
    therapist = access.own_therapist(caller, therapist_id)
    return BusyCalendars(therapist, calendars.upload_of(therapist.id),
                         calendars.subscriptions(therapist.id))


def delete_upload_for(caller: Caller, therapist_id: int) -> None:
    """Remove the uploaded calendar and the busy intervals it brought in."""
    therapist = access.own_therapist(caller, therapist_id)
    calendar = calendars.upload_of(therapist.id, lock=True)
    if calendar is None:
        raise NotFound("busy calendar upload", therapist.id)
    calendars.delete_calendar(calendar)


def sync_now_for(caller: Caller, therapist_id: int, subscription_id: int) -> Outcome:
    """Fetch one subscription now and record the outcome (its error, if it failed). The
    unit's transaction is released while the address is fetched and expanded."""
    therapist = access.own_therapist(caller, therapist_id)
    calendar = rows.get(BusyCalendar, subscription_id)
    if calendar is None or calendar.therapist_id != therapist.id or calendar.kind != URL:
        raise NotFound("calendar subscription", subscription_id)
    due = Due(calendar.id, therapist.id, therapist.timezone, calendar.url or "", calendar.etag,
              calendar.last_modified, calendar.body_hash, calendar.synced_at)
    unit_of_work.release()
    outcome = refresh(due)
    if not record(due, outcome):
        raise NotFound("calendar subscription", subscription_id)
    return outcome
