"""A feed's bytes, strong ETag and Last-Modified, kept per process until what it shows
changes, and rebuilt by writing again only the entries that changed.

`published_feed(token)` checks, cheapest first:

1. the database's data version (db/version.py, read before any row): unchanged since the
   feed was built, nothing was committed anywhere: the kept feed is served, no other query;
2. else the feed's fingerprint (db/queries/feeds.py: its rows' count and row versions, and
   the counter of the names and settings feeds show; one statement, from the database, so
   every worker on every host and any hand-written SQL count): unchanged, the write was
   elsewhere, and the kept feed (same bytes, same ETag: polls keep getting 304) is served.
   A kept feed knows its owner, so the token's row (still there, still that owner's: not
   rotated) is read in the fingerprint's statement;
3. else it is rebuilt: the (id, row_version) of the rows it lists are read, only the rows
   whose version changed are read in full and written again (core/ical.py), the others'
   lines are taken from the kept feed; after a change of names or settings, every row.
   The bytes are the same as a build from nothing (tests/test_feed_freshness.py).

A kept feed is only ever fresher than what it was checked against, never staler.

Feeds hold nothing medical: a feed's session carries a neutral summary, its times and
the clinic's location (core.ical.feed never writes notes, after-care or attendees).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ..core import ical, kinds
from ..core.errors import DomainError
from ..core.windows import event_span
from ..db.models import Athlete, CalendarFeed, Team, Therapist
from ..db.queries import calendars, feeds, rows
from ..db.version import data_version
from .accounts import hash_token
from .cache import cache_for
from .calendars import UID_DOMAIN, clinic, locations
from .common import now, timing_of

log = logging.getLogger(__name__)
KEPT = "built"  # the cache's version of every kept feed: each holds its own keys
# More changed rows than this: the feed's rows are read whole, in one statement.
CHANGED_ROWS_READ_APART = 500


@dataclass(frozen=True)
class FeedBody:
    body: bytes
    etag: str  # strong: the quoted sha256 of the body
    last_modified: datetime


@dataclass(frozen=True, slots=True)
class _Entry:
    """One listed row's part of a built feed: its row_version, its lines (empty: not
    shown, a cancelled session or an event whose dates cannot be read) and its stamp."""

    version: int
    lines: bytes
    stamp: datetime


@dataclass(frozen=True)
class _Shown:
    """What a feed's entries show beyond their own rows, good while the names counter
    (fingerprint[0]) stays: the feed's frame (its name) and where sessions are."""

    frame: bytes
    location: str  # the clinic's: a session without a site
    places: dict[int | None, str]  # site id -> location


@dataclass(frozen=True)
class _Built:
    """A feed as the cache keeps it: the answer and what it was checked against."""

    answer: FeedBody
    data_version: Hashable
    owner: tuple[str, int]  # ('therapist', 'athlete' or 'team', its id)
    fingerprint: feeds.Fingerprint
    shown: _Shown
    sessions: dict[int, _Entry]  # booking id -> entry, in the feed's order
    races: dict[int, _Entry]  # event id -> entry, in the feed's order


def published_feed(token: str) -> FeedBody | None:
    """The feed of `token` (None: unknown or rotated), kept while nothing it shows changed
    (the module doc). Looked up by the token's hash (the cache too: no token is kept in
    clear), and the stored hash compared in constant time."""
    at, cache, token_hash = now(), cache_for("feeds"), hash_token(token)
    # Read before any row the feed is built from (db/version.py); no cache, no query.
    version = data_version() if cache.size > 0 else None
    kept: _Built | None = cache.get(token_hash, KEPT, at)
    if kept is not None and kept.data_version == version:
        return kept.answer
    if kept is not None:  # still this owner's feed, and the same? One statement
        stored, fingerprint = feeds.fingerprint_of_token(token_hash, *kept.owner)
        if (stored is not None and hmac.compare_digest(stored, token_hash)
                and kept.fingerprint == fingerprint):
            cache.put(token_hash, KEPT, replace(kept, data_version=version), at)
            return kept.answer
    feed = calendars.feed_by_token_hash(token_hash)
    if feed is None or not hmac.compare_digest(feed.token_hash, token_hash):
        return None
    scope = _scope(feed)
    fingerprint = feeds.fingerprint(**scope)
    if kept is not None and kept.fingerprint == fingerprint:
        built = replace(kept, data_version=version)  # a write elsewhere: same feed
    else:
        built = _build(feed, scope, fingerprint, version, kept)
    cache.put(token_hash, KEPT, built, at)
    return built.answer


def _scope(feed: CalendarFeed) -> dict[str, int]:
    """The feed's owner as the queries take it: therapist_id, athlete_id or team_id."""
    for column in ("therapist_id", "athlete_id", "team_id"):
        if getattr(feed, column) is not None:
            return {column: getattr(feed, column)}
    raise ValueError(f"calendar feed {feed.id} has no owner")


def _build(feed: CalendarFeed, scope: dict[str, int], fingerprint: feeds.Fingerprint,
           version: Hashable, kept: _Built | None) -> _Built:
    """The feed built again. From `kept`, while the names counter (fingerprint[0]) is the
    same: its frame and locations, the entries of a part (sessions: fingerprint[1:3];
    races: the rest) whose fingerprint is the same, and the lines of unchanged rows."""
    if kept is None or kept.fingerprint[0] != fingerprint[0]:
        kept = None
    shown = kept.shown if kept is not None else _shown(feed)
    if kept is not None and kept.fingerprint[1:3] == fingerprint[1:3]:
        sessions = kept.sessions
    else:
        sessions = _session_entries(scope, _says(feed), shown,
                                    kept.sessions if kept is not None else {})
    if feed.therapist_id is not None:
        races: dict[int, _Entry] = {}
    elif kept is not None and kept.fingerprint[3:] == fingerprint[3:]:
        races = kept.races
    else:
        races = _race_entries(scope, kept.races if kept is not None else {})
    listed = [*sessions.values(), *races.values()]
    body = ical.feed_of_entries(shown.frame, [e.lines for e in listed])
    changed = max([feed.rotated_at, *(e.stamp for e in listed)])
    answer = FeedBody(body, f'"{hashlib.sha256(body).hexdigest()}"', changed)
    (column, owner_id), = scope.items()
    return _Built(answer, version, (column.removesuffix("_id"), owner_id), fingerprint, shown,
                  sessions, races)


def _shown(feed: CalendarFeed) -> _Shown:
    """The feed's frame (its owner's name) and the sessions' locations, read afresh."""
    if feed.therapist_id is not None:
        name = f"{rows.get(Therapist, feed.therapist_id).name} – sessions"
    elif feed.athlete_id is not None:
        name = f"{rows.get(Athlete, feed.athlete_id).name} – races and sessions"
    else:
        name = f"{rows.get(Team, feed.team_id).name} – races and sessions"
    location = clinic().location
    return _Shown(ical.feed_frame(name), location, locations(location))


def _says(feed: CalendarFeed) -> Callable[[feeds.FeedRow], str]:
    """What a session's summary says of who and what, in the feed of its owner's kind."""
    if feed.therapist_id is not None:
        return lambda r: f"{r.athlete} · {r.event or 'tune-up'}"
    if feed.athlete_id is not None:
        return lambda r: f"{r.event or 'tune-up'} · with {r.therapist}"
    return lambda r: f"{r.athlete} with {r.therapist} · {r.event or 'tune-up'}"


def _changed(listed: list[tuple[int, int]], before: dict[int, _Entry]) -> list[int]:
    return [i for i, v in listed if (e := before.get(i)) is None or e.version != v]


def _merged(listed: list[tuple[int, int]], before: dict[int, _Entry],
            fresh: dict[int, _Entry], changed: list[int]) -> dict[int, _Entry]:
    """The entries in the listed order: the fresh ones of changed rows (a row deleted since
    it was listed has none and is left out), the kept ones of the others."""
    read_again = set(changed)
    return {i: entry for i, _ in listed
            if (entry := (fresh.get(i) if i in read_again else before[i])) is not None}


def _session_entries(scope: dict[str, int], says: Callable[[feeds.FeedRow], str],
                     shown: _Shown, before: dict[int, _Entry]) -> dict[int, _Entry]:
    """The feed's bookings, by id in the feed's order; only the changed ones are read."""
    listed = feeds.booking_versions(**scope) if before else []
    changed = _changed(listed, before)
    apart = bool(before) and len(changed) <= CHANGED_ROWS_READ_APART
    found_ = feeds.feed_rows(**scope, ids=changed) if apart else feeds.feed_rows(**scope)
    fresh = {r.id: _Entry(r.row_version, ical.session_entry(s), r.updated_at)
             for r, s in zip(found_, _sessions(found_, says, shown), strict=True)}
    return _merged(listed, before, fresh, changed) if apart else fresh


def _race_entries(scope: dict[str, int], before: dict[int, _Entry]) -> dict[int, _Entry]:
    """The feed's events, by id in the feed's order; only the changed ones are read."""
    listed = feeds.event_versions(**scope) if before else []
    changed = _changed(listed, before)
    apart = bool(before) and len(changed) <= CHANGED_ROWS_READ_APART
    found_ = feeds.feed_events(**scope, ids=changed) if apart else feeds.feed_events(**scope)
    fresh = {e.id: _Entry(e.row_version, b"" if (race := _race(e)) is None
                          else ical.race_entry(race), e.updated_at) for e in found_}
    return _merged(listed, before, fresh, changed) if apart else fresh


def _sessions(found_: list[feeds.FeedRow], says: Callable[[feeds.FeedRow], str],
              shown: _Shown) -> list[ical.Session]:
    """The feed's sessions: each booking with a neutral summary (`says` names who and what)."""
    return [ical.Session(uid=r.uid, sequence=r.sequence, stamp=r.updated_at, start=r.start,
                         end=r.end, cancelled=r.status == "cancelled",
                         location=shown.places.get(r.site_id, shown.location),
                         summary=f"{kinds.summary(r.kind, published=True)} · {says(r)}")
            for r in found_]


def _race(event: feeds.FeedEvent) -> ical.Race | None:
    """The event as a feed entry: all-day from its first to its last
    local day, or timed from its start to its finish (no finish: the end of its last local
    day)."""
    try:
        timing = timing_of(event)
    except (DomainError, ValueError):  # stored data no valid event has: leave it out
        log.warning("event %s left out of a feed: its dates cannot be read", event.id)
        return None
    uid = f"event-{event.id}@{UID_DOMAIN}"
    if event.start_is_date:
        return ical.Race(uid, event.updated_at, event.name, timing.first_day,
                         timing.last_day + timedelta(days=1))
    span = event_span(timing)
    return ical.Race(uid, event.updated_at, event.name, span.start, span.end)
