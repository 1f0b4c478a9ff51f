"""Benchmark: GET /api/v1/events/{id}/proposals on a clinic with two years of history.

Run from the repository root::

    .venv/bin/python bench/propose.py                          # SQLite, full size
    .venv/bin/python bench/propose.py --backend postgresql     # fresh database on :5432
    .venv/bin/python bench/propose.py --quick                  # scaled down (smoke check)
    .venv/bin/python bench/propose.py --profile -v             # + cProfile, query plans
    .venv/bin/python bench/propose.py --history 1000000        # + growth to 1M bookings

The clinic (fixed seed): 50 therapists in four time zones with realistic weekly hours,
4,000 athletes and 200 upcoming events (therapists and events created through the API, the
clock pinned with FROZEN_NOW). The EMPTY clinic is that alone. The LOADED clinic is the
same database after two years of history went in by bulk insert: about 100,000 bookings
(mostly past, 11 % in the coming three months; never overlapping per therapist or
athlete, so the database's triggers / exclusion constraints accept them), 20,000 imported
busy intervals and the therapists' time off. `--quick`: 10 therapists, 40 events, 10,000
bookings, 2,000 busy intervals. `--history N`: N bookings instead, the history reaching as
far back as it takes at the same density (busy intervals and time off too); when N is more
than the default, a second database with the same clinic gets the history of the last
100,000 of those bookings only, and the two are measured in turns. A loaded database is
analyzed before it is measured (SQLite ANALYZE, PostgreSQL VACUUM ANALYZE), as an
operator keeps it (README: operations).

Checks (exit 1 if one fails, 2 if a part could not be measured, e.g. wrk is missing):
- in-process (Flask test client, admin token), one warm-up round over the events, then
  the median of `--runs` rounds' p50 / p95: loaded p95 <= 25 ms, and loaded p95 <= 3 x
  empty p95 (the cost follows the window, not the history); with `--history` N above the
  default, p95 at N <= 1.5 x p95 at 100,000 bookings, measured in the same run;
- no proposed slot overlaps a booking (buffer included), busy interval or time off of its
  therapist, checked against every future row with plain overlap tests (the bounded
  queries must not miss anything);
- EXPLAIN of every query one proposals request sends, before and after ANALYZE: no full
  scan of booking, busy_interval, time_off or event (tables of a few pages excepted);
- under `wrk` against gunicorn (2 workers, loopback, 4 connections), alternating runs
  after a warm-up, medians: proposals requests/s >= 0.25 x the requests/s of
  GET /api/v1/me on the same server (wrk rotates over the 200 events). The server runs
  as configured by default, with its per-worker proposals cache (services/cache.py, keyed
  by the database's data version); the same ratio with the cache off is printed as well.
  The in-process figures above are taken with the cache off: they time the computation.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import math
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time as clock
import urllib.error
import urllib.request
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from common import fresh_database, print_table, profile_by_package  # noqa: E402

from athlete_sched.core.intervals import Interval  # noqa: E402
from athlete_sched.core.windows import EventTiming, event_span, event_windows  # noqa: E402

NOW = datetime(2027, 1, 4, tzinfo=UTC)  # a Monday, as in tests/conftest.py
RECOVERY_GAP = timedelta(minutes=60)
P95_TARGET_MS = 25.0
HISTORY_RATIO_TARGET = 3.0
HISTORY_GROWTH_TARGET = 1.5  # loaded p95 at --history N / at the default size's bookings
WRK_RATIO_TARGET = 0.25
ZONES = ("Europe/Berlin", "Europe/Berlin", "Europe/London", "America/New_York",
         "America/Denver")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SPORTS = ("running", "running", "mtb", "cycling", "triathlon")
WEEKLY_PATTERNS: tuple[tuple[tuple[str, ...], tuple[tuple[str, str], ...]], ...] = (
    (("mon", "tue", "wed", "thu", "fri"), (("08:00", "12:00"), ("13:00", "18:00"))),
    (("mon", "tue", "wed", "thu"), (("07:30", "15:30"),)),
    (("tue", "wed", "thu", "fri", "sat"), (("10:00", "14:00"), ("15:00", "19:00"))),
    (("mon", "wed", "fri"), (("09:00", "13:00"),)),
    (("mon", "tue", "wed", "thu", "fri"), (("12:00", "20:00"),)),
    (("sat", "sun"), (("08:00", "12:00"),)),
)


@dataclass(frozen=True)
class Size:
    therapists: int
    events: int
    bookings: int
    busy: int
    athletes: int


FULL = Size(therapists=50, events=200, bookings=100_000, busy=20_000, athletes=4_000)
QUICK = Size(therapists=10, events=40, bookings=10_000, busy=2_000, athletes=400)


@dataclass
class Clinic:
    """What the API created: ids and therapist settings the history generator needs."""

    token: str
    therapists: list[dict[str, Any]]
    event_ids: list[int]
    athletes: list[tuple[int, str, str]]  # (id, sport, timezone)
    sites: list[int] = field(default_factory=list)


@dataclass
class Row:
    """One line of the report."""

    name: str
    value: str
    target: str = ""
    ok: bool | None = None  # None: information only


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    unmeasured: list[str] = field(default_factory=list)

    def add(self, name: str, value: str, target: str = "", ok: bool | None = None) -> None:
        self.rows.append(Row(name, value, target, ok))

    def print(self, title: str) -> None:
        print_table(["measure", "value", "target", "result"],
                    [(r.name, r.value, r.target,
                      "" if r.ok is None else ("PASS" if r.ok else "FAIL")) for r in self.rows],
                    title)
        for note in self.unmeasured:
            print(f"NOT MEASURED: {note}")

    def exit_code(self) -> int:
        if any(r.ok is False for r in self.rows):
            return 1
        return 2 if self.unmeasured else 0


# --- statistics ---------------------------------------------------------------------------

def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


# --- databases ----------------------------------------------------------------------------

def make_app(url: str):
    """The app on `url` with the clock pinned (as the tests pin it)."""
    from athlete_sched import create_app

    # The proposals cache is off in-process: the latency figures are the computation's.
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "FROZEN_NOW": NOW.isoformat(),
                       "PROPOSALS_CACHE_SIZE": 0})


def bulk_insert(engine: sa.Engine, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows in one transaction: SQLite in chunks of executemany, PostgreSQL by COPY
    (a million bookings: the server parses no INSERT, the constraints and triggers still
    check every row); on PostgreSQL move the id sequence past the explicit ids. Values for
    columns the table lacks are left out."""
    if not rows:
        return
    columns = [c for c in rows[0] if c in table.c]
    with engine.begin() as conn:
        if engine.dialect.name != "postgresql":
            if set(rows[0]) - set(columns):
                rows = [{c: row[c] for c in columns} for row in rows]
            for i in range(0, len(rows), 50_000):
                conn.execute(table.insert(), rows[i:i + 50_000])
            return
        quote = engine.dialect.identifier_preparer.quote
        with conn.connection.driver_connection.cursor() as cursor, cursor.copy(
                f"COPY {quote(table.name)} ({', '.join(map(quote, columns))}) FROM STDIN"
                ) as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
        if "id" in columns:
            conn.execute(sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"(SELECT max(id) FROM {table.name}))"))


# --- the clinic, through the API ----------------------------------------------------------

def admin_token(app) -> str:
    from athlete_sched.extensions import db
    from athlete_sched.services.accounts import create_user

    with app.app_context():
        _, token = create_user("bench-admin@clinic.test", "admin", "Bench admin")
        db.session.commit()
    return token


def therapist_bodies(rng: random.Random, count: int,
                     sites: Sequence[int] = ()) -> list[dict[str, Any]]:
    """Therapists in a few zones, each with one of the weekly patterns and own settings;
    with `sites`, the i-th at sites[i % len(sites)] (the rng draws are the same either
    way: a clinic at sites is the same clinic, placed)."""
    bodies = []
    for i in range(count):
        days, periods = WEEKLY_PATTERNS[i % len(WEEKLY_PATTERNS)]
        bodies.append({
            "name": f"Therapist {i + 1}", "email": f"therapist{i + 1}@clinic.test",
            "timezone": ZONES[i % len(ZONES)],
            "session_minutes": rng.choice((30, 45, 45, 60)),
            "buffer_minutes": rng.choice((0, 5, 10, 15)),
            "slot_step_minutes": rng.choice((15, 15, 30)),
            "working_hours": [{"day": d, "start": s, "end": e} for d in days for s, e in periods],
        })
        if sites:
            bodies[-1]["site_id"] = sites[i % len(sites)]
    return bodies


def athlete_rows(rng: random.Random, count: int) -> list[dict[str, Any]]:
    return [{"id": i, "name": f"Athlete {i}", "email": f"athlete{i}@athletes.test",
             "sport": rng.choice(SPORTS), "timezone": rng.choice(ZONES)}
            for i in range(1, count + 1)]


def event_body(rng: random.Random, athlete: tuple[int, str, str], day: date) -> dict[str, Any]:
    """A race or ride on `day`: mostly timed, some all-day, some multi-day stage races."""
    athlete_id, sport, zone = athlete
    body: dict[str, Any] = {"athlete_id": athlete_id, "name": f"Race {day.isoformat()}",
                            "sport": sport, "timezone": zone,
                            "priority": rng.choice("AABC")}
    roll = rng.random()
    if roll < 0.8:
        start = datetime.combine(day, time(rng.choice((7, 8, 9, 10)), rng.choice((0, 30))))
        end = start + timedelta(minutes=rng.choice((90, 150, 240, 330, 480)))
        body.update(start=start.isoformat(timespec="minutes"),
                    end=end.isoformat(timespec="minutes"))
    elif roll < 0.9:
        body.update(start=day.isoformat())
    else:
        body.update(start=day.isoformat(),
                    end=(day + timedelta(days=rng.randint(2, 4))).isoformat())
    return body


@dataclass(frozen=True)
class Sites:
    """How a clinic is spread over sites: `count` sites (in the therapists' zones); with
    `homes`, every athlete has a home site; a third of the upcoming events (`travel`)
    have a venue site and the athlete's travel around the race."""

    count: int
    homes: bool = True
    travel: bool = True


def travel_fields(rng: random.Random, body: dict[str, Any], sites: Sequence[int],
                  home: int | None) -> None:
    """A venue site other than home and travel from the day before the race (noon) to
    the day after it ends (18:00), in the event's zone."""
    first = date.fromisoformat(body["start"][:10])
    last = date.fromisoformat(body.get("end", body["start"])[:10])
    body["venue_site_id"] = rng.choice([s for s in sites if s != home] or list(sites))
    body["travel"] = {
        "depart": datetime.combine(first - timedelta(days=1), time(12)).isoformat(),
        "return": datetime.combine(last + timedelta(days=1), time(18)).isoformat()}


def build_clinic(app, size: Size, rng: random.Random, layout: Sites | None = None) -> Clinic:
    """Therapists and upcoming events through the API; athletes bulk-inserted. With a
    `layout`, the sites first (through the API), drawn from their own random stream, so
    the clinic's ids and rows are those of the same seed without sites."""
    from athlete_sched.db.models import Athlete
    from athlete_sched.extensions import db

    token = admin_token(app)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    placing = random.Random(7919)  # not `rng`: its stream stays the plain clinic's
    sites: list[int] = []
    for i in range(layout.count if layout else 0):
        response = client.post("/api/v1/sites", headers=headers, json={
            "name": f"Site {i + 1}", "timezone": ZONES[i % len(ZONES)]})
        assert response.status_code == 201, response.get_json()
        sites.append(response.get_json()["id"])
    therapists = []
    for body in therapist_bodies(rng, size.therapists, sites):
        response = client.post("/api/v1/therapists", json=body, headers=headers)
        assert response.status_code == 201, response.get_json()
        therapists.append(response.get_json())
    rows = athlete_rows(rng, size.athletes)
    if sites and layout and layout.homes:
        for row in rows:
            row["home_site_id"] = placing.choice(sites)
    with app.app_context():
        bulk_insert(db.engine, Athlete.__table__, rows)
    athletes = [(r["id"], r["sport"], r["timezone"]) for r in rows]
    event_ids = []
    for i, athlete in enumerate(athletes[:size.events]):
        day = NOW.date() + timedelta(days=rng.randint(7, 180))
        body = event_body(rng, athlete, day)
        if sites and layout and layout.travel and i % 3 == 0:
            travel_fields(placing, body, sites, rows[i].get("home_site_id"))
        response = client.post("/api/v1/events", json=body, headers=headers)
        assert response.status_code == 201, response.get_json()
        event_ids.append(response.get_json()["id"])
    return Clinic(token, therapists, event_ids, athletes, sites)


# --- two years of history, generated directly ---------------------------------------------

HISTORY_FIRST = (NOW - timedelta(days=730)).date()
HISTORY_LAST = (NOW + timedelta(days=90)).date()  # some bookings are still to come


@dataclass(frozen=True)
class Tile:
    """A therapist's session position; tiles of one therapist never overlap, buffer included."""

    start: datetime
    end: datetime
    block_end: datetime
    therapist_id: int


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def therapist_tiles(therapist: dict[str, Any], first: date, last: date) -> list[Tile]:
    """Back-to-back session positions inside each working period, local wall-clock."""
    tz = ZoneInfo(therapist["timezone"])
    session = timedelta(minutes=therapist["session_minutes"])
    block = session + timedelta(minutes=therapist["buffer_minutes"])
    periods: dict[int, list[tuple[time, time]]] = {}
    for p in therapist["working_hours"]:
        periods.setdefault(DAYS.index(p["day"]), []).append((_clock(p["start"]), _clock(p["end"])))
    tiles = []
    day = first
    while day <= last:
        for start, end in periods.get(day.weekday(), ()):
            cursor = datetime.combine(day, start, tzinfo=tz).astimezone(UTC)
            stop = datetime.combine(day, end, tzinfo=tz).astimezone(UTC)
            while cursor + block <= stop:
                tiles.append(Tile(cursor, cursor + session, cursor + block, therapist["id"]))
                cursor += block
        day += timedelta(days=1)
    return tiles


class TileBoard:
    """Every therapist's tiles, sorted by start; hands out each at most once."""

    def __init__(self, therapists: Sequence[dict[str, Any]], first: date, last: date) -> None:
        self.tiles = sorted((t for th in therapists for t in therapist_tiles(th, first, last)),
                            key=lambda t: (t.start, t.therapist_id))
        self.starts = [t.start for t in self.tiles]
        self.used = bytearray(len(self.tiles))

    def block(self, therapist_id: int, period: Interval) -> None:
        """Mark the therapist's tiles that overlap `period` (time off) as taken."""
        lo = bisect_left(self.starts, period.start - timedelta(days=1))
        for i in range(lo, bisect_left(self.starts, period.end)):
            tile = self.tiles[i]
            if tile.therapist_id == therapist_id and tile.block_end > period.start:
                self.used[i] = 1

    def take(self, rng: random.Random, window: Interval) -> Tile | None:
        """A random free tile wholly inside `window`, or None."""
        lo = bisect_left(self.starts, window.start)
        count = bisect_left(self.starts, window.end) - lo
        for _ in range(4 if count else 0):
            first = rng.randrange(count)
            for k in range(min(count, 32)):
                i = lo + (first + k) % count
                if not self.used[i] and self.tiles[i].end <= window.end:
                    self.used[i] = 1
                    return self.tiles[i]
        return None


def _stored(value: date | datetime, tz: ZoneInfo) -> datetime:
    """How the services store an event date: a date becomes its local midnight."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.combine(value, time(), tzinfo=tz).astimezone(UTC)


def _timing(body: dict[str, Any], tz: ZoneInfo) -> EventTiming:
    def value(text: str | None) -> date | datetime | None:
        if text is None:
            return None
        if "T" in text:
            return datetime.fromisoformat(text).replace(tzinfo=tz).astimezone(UTC)
        return date.fromisoformat(text)

    return EventTiming(tz=tz, start=value(body["start"]), end=value(body.get("end")))


def history_event(rng: random.Random, event_id: int, athlete: tuple[int, str, str],
                  day: date) -> tuple[dict[str, Any], EventTiming]:
    """An event row as the services would store it, and its timing."""
    body = event_body(rng, athlete, day)
    tz = ZoneInfo(body["timezone"])
    timing = _timing(body, tz)
    row = {"id": event_id, "athlete_id": athlete[0], "team_id": None, "name": body["name"],
           "sport": body["sport"], "timezone": body["timezone"],
           "start": _stored(timing.start, tz), "start_is_date": "T" not in body["start"],
           "end": None if timing.end is None else _stored(timing.end, tz),
           "end_is_date": "end" in body and "T" not in body["end"],
           "priority": body["priority"], "created_at": NOW - timedelta(days=800),
           "updated_at": NOW - timedelta(days=800), "occupied_end": event_span(timing).end}
    return row, timing


def history_events(rng: random.Random, athletes: Sequence[tuple[int, str, str]],
                   first_id: int, first: date = HISTORY_FIRST
                   ) -> list[tuple[dict[str, Any], EventTiming]]:
    """Each athlete races every 2 to 14 weeks from `first` on; two events of one athlete
    are far enough apart that their windows (D-3 .. E+4) never meet."""
    found = []
    for athlete in athletes:
        day = first + timedelta(days=rng.randrange(40))
        while day <= HISTORY_LAST:
            row, timing = history_event(rng, first_id + len(found), athlete, day)
            found.append((row, timing))
            day = timing.last_day + timedelta(days=rng.randint(14, 100))
    return found


def booking_row(booking_id: int, event: dict[str, Any], kind: str, tile: Tile,
                cancelled: bool) -> dict[str, Any]:
    created = tile.start - timedelta(days=10)
    return {"id": booking_id, "event_id": event["id"], "athlete_id": event["athlete_id"],
            "therapist_id": tile.therapist_id, "kind": kind, "start": tile.start,
            "end": tile.end, "block_end": tile.block_end,
            "status": "cancelled" if cancelled else "confirmed",
            "uid": f"bench-{booking_id}@athlete-sched", "sequence": 1 if cancelled else 0,
            "notes": "", "created_at": created, "updated_at": created}


def history_bookings(rng: random.Random, events: list[tuple[dict[str, Any], EventTiming]],
                     board: TileBoard, target: int) -> list[dict[str, Any]]:
    """Up to `target` pre/post bookings on free tiles inside the events' windows."""
    rows: list[dict[str, Any]] = []
    order = list(range(len(events)))
    rng.shuffle(order)
    for index in order:
        event, timing = events[index]
        windows = event_windows(timing, RECOVERY_GAP)
        for kind, window in (("pre", windows.pre), ("post", windows.post)):
            tile = board.take(rng, window)
            if tile is not None and len(rows) < target:
                rows.append(booking_row(len(rows) + 1, event, kind, tile, rng.random() < 0.04))
        if len(rows) >= target:
            break
    rows.sort(key=lambda r: r["start"])  # chronological: the overlap triggers stay cheap
    return rows


def time_off_rows(rng: random.Random, therapists: Sequence[dict[str, Any]],
                  board: TileBoard, first: date = HISTORY_FIRST) -> list[dict[str, Any]]:
    """Whole local days off: a holiday of 5 to 14 days every half year, and single days
    now and then. Their tiles are taken off the board, so no booking falls in them."""
    rows = []
    for therapist in therapists:
        tz = ZoneInfo(therapist["timezone"])
        day = first + timedelta(days=rng.randrange(60))
        while day < HISTORY_LAST + timedelta(days=120):
            holiday = rng.random() < 0.3
            length = rng.randint(5, 14) if holiday else 1
            start = datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)
            end = datetime.combine(day + timedelta(days=length), time(), tzinfo=tz)
            rows.append({"id": len(rows) + 1, "therapist_id": therapist["id"], "start": start,
                         "end": end.astimezone(UTC), "reason": "holiday" if holiday else ""})
            board.block(therapist["id"], Interval(start, end.astimezone(UTC)))
            day += timedelta(days=length + rng.randint(20, 80))
    return rows


def busy_rows(rng: random.Random, therapists: Sequence[dict[str, Any]],
              count: int, first: date = HISTORY_FIRST) -> list[dict[str, Any]]:
    """Imported calendar entries: 30 min to 3 h in the working day, a few whole days."""
    rows = []
    span_days = (HISTORY_LAST - first).days + 90
    for i in range(count):
        therapist = therapists[i % len(therapists)]
        tz = ZoneInfo(therapist["timezone"])
        day = first + timedelta(days=rng.randrange(span_days))
        if rng.random() < 0.03:
            start = datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)
            end = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC)
        else:
            local = datetime.combine(day, time(7), tzinfo=tz) + timedelta(
                minutes=15 * rng.randrange(48))
            start = local.astimezone(UTC)
            end = start + timedelta(minutes=rng.choice((30, 60, 60, 90, 120, 180)))
        rows.append({"id": i + 1, "therapist_id": therapist["id"], "start": start, "end": end,
                     "source": "upload"})
    return rows


@dataclass
class History:
    """Rows to bulk-insert, each list in the order it goes in."""

    events: list[dict[str, Any]]
    bookings: list[dict[str, Any]]
    busy: list[dict[str, Any]]
    time_off: list[dict[str, Any]]

    def counts(self) -> dict[str, int]:
        return {"events": len(self.events), "bookings": len(self.bookings),
                "future bookings": sum(1 for b in self.bookings if b["start"] >= NOW),
                "busy intervals": len(self.busy), "time off periods": len(self.time_off)}


def history(clinic: Clinic, size: Size, rng: random.Random, bookings: int) -> History:
    """About `bookings` bookings of history (fewer if the tiles run out) with their events,
    busy intervals and time off, as dense as the default size's (`size.bookings` in two
    years and three months): a longer history reaches further back, not deeper into the
    coming weeks the proposals read. With `bookings` = size.bookings: the default clinic,
    the same rows as ever for a seed."""
    scale = max(1.0, bookings / size.bookings)
    first = HISTORY_LAST - timedelta(days=round((HISTORY_LAST - HISTORY_FIRST).days * scale))
    events = history_events(rng, clinic.athletes, max(clinic.event_ids) + 1, first)
    board = TileBoard(clinic.therapists, first - timedelta(days=4),
                      HISTORY_LAST + timedelta(days=14))
    time_off = time_off_rows(rng, clinic.therapists, board, first)
    booked = history_bookings(rng, events, board, bookings)
    busy = busy_rows(rng, clinic.therapists, round(size.busy * scale), first)
    return History([row for row, _ in events], booked, busy, time_off)


def split_history(rows: History, recent: int) -> list[History]:
    """`rows` as [the last `recent` bookings' history, the history before it] (just [rows]
    if it holds no more): the events from the first of those bookings' events on with all
    their bookings, and the busy intervals and time off from its start on; the rest,
    older, second."""
    if len(rows.bookings) <= recent:
        return [rows]
    start_of = {event["id"]: event["start"] for event in rows.events}
    cut = sorted((start_of[b["event_id"]] for b in rows.bookings), reverse=True)[recent - 1]

    def parts(items: list[dict[str, Any]], start: Any) -> tuple[list[dict[str, Any]], ...]:
        return ([i for i in items if start(i) >= cut], [i for i in items if start(i) < cut])

    events = parts(rows.events, lambda e: e["start"])
    bookings = parts(rows.bookings, lambda b: start_of[b["event_id"]])
    busy = parts(rows.busy, lambda b: b["start"])
    time_off = parts(rows.time_off, lambda t: t["start"])
    return [History(*(part[i] for part in (events, bookings, busy, time_off))) for i in (0, 1)]


def insert_history(app, rows: History) -> None:
    from athlete_sched.db.models import Booking, BusyInterval, Event, TimeOff
    from athlete_sched.extensions import db

    with app.app_context():
        engine = db.engine
    bulk_insert(engine, Event.__table__, rows.events)
    bulk_insert(engine, Booking.__table__, rows.bookings)
    bulk_insert(engine, BusyInterval.__table__, rows.busy)
    bulk_insert(engine, TimeOff.__table__, rows.time_off)


def analyze(app) -> None:
    """Fresh statistics, as an operator keeps them (README: PRAGMA optimize, autovacuum):
    SQLite ANALYZE, PostgreSQL VACUUM ANALYZE (what autovacuum does after a bulk load).
    SQLite's connections read statistics when they load the schema, so the pool starts
    anew."""
    from athlete_sched.extensions import db

    with app.app_context():
        db.session.remove()
        engine = db.engine
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                    sa.text("VACUUM ANALYZE"))
        else:
            with engine.begin() as conn:
                conn.execute(sa.text("ANALYZE"))
        engine.dispose()


def load_history(app, clinic: Clinic, size: Size, rng: random.Random) -> dict[str, int]:
    """Bulk-insert the default size's history and analyze; returns the row counts."""
    rows = history(clinic, size, rng, size.bookings)
    insert_history(app, rows)
    analyze(app)
    return rows.counts()


# --- in-process timing --------------------------------------------------------------------

def proposals_url(event_id: int) -> str:
    return f"/api/v1/events/{event_id}/proposals"


def timed_round(client, headers: dict[str, str], event_ids: Sequence[int]) -> list[float]:
    """Milliseconds per request, one request per event; any non-200 is an error."""
    times = []
    for event_id in event_ids:
        began = clock.perf_counter()
        response = client.get(proposals_url(event_id), headers=headers)
        times.append((clock.perf_counter() - began) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"event {event_id}: {response.status_code} {response.get_json()}")
    return times


@dataclass(frozen=True)
class Latency:
    p50: float
    p95: float
    slots: int


def proposed_slots(app, token: str, event_ids: Sequence[int]) -> list[tuple[int, Interval]]:
    """Every slot the API proposes for the events, as (therapist_id, Interval) pairs."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    slots = []
    for event_id in event_ids:
        body = client.get(proposals_url(event_id), headers=headers).get_json()
        slots += [(s["therapist_id"], Interval(_instant(s["start"]), _instant(s["end"])))
                  for s in body["pre"] + body["post"]]
    return slots


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def measure_in_process(app, token: str, event_ids: Sequence[int], runs: int) -> Latency:
    """One warm-up round over all events, then the median p50 / p95 of `runs` rounds."""
    return measure_side_by_side([(app, token)], event_ids, runs)[0]


def measure_side_by_side(apps: Sequence[tuple[Any, str]], event_ids: Sequence[int],
                         runs: int) -> list[Latency]:
    """measure_in_process for each (app, token), their rounds taken in turns (the first
    app first in even rounds, last in odd ones), so that a slower or busier stretch of the
    machine falls on all of them alike."""
    sides = [(app, app.test_client(), {"Authorization": f"Bearer {token}"})
             for app, token in apps]
    for _, client, headers in sides:
        timed_round(client, headers, event_ids)
    gc.collect()  # start the timed rounds without the set-up's garbage
    rounds: list[list[list[float]]] = [[] for _ in sides]
    for r in range(runs):
        order = list(enumerate(sides))
        for i, (_, client, headers) in (order if r % 2 == 0 else order[::-1]):
            rounds[i].append(timed_round(client, headers, event_ids))
    return [Latency(statistics.median(percentile(r, 50) for r in side_rounds),
                    statistics.median(percentile(r, 95) for r in side_rounds),
                    len(proposed_slots(app, token, event_ids)))
            for (app, token), side_rounds in zip(apps, rounds, strict=True)]


def conflicting_slots(app, clinic: Clinic) -> int:
    """Proposed slots that overlap a confirmed booking (buffer included) or a busy interval
    of their therapist, found with plain unbounded overlap tests on every future row: a
    cross-check that the bounded queries miss nothing."""
    from athlete_sched.db.models import Booking, BusyInterval, TimeOff
    from athlete_sched.extensions import db

    pads = {t["id"]: timedelta(minutes=t["buffer_minutes"]) for t in clinic.therapists}
    taken: dict[int, list[Interval]] = {t: [] for t in pads}
    with app.app_context():
        rows = db.session.execute(sa.select(Booking.therapist_id, Booking.start, Booking.end)
                                  .where(Booking.status == "confirmed", Booking.end > NOW))
        for tid, start, end in rows:
            taken[tid].append(Interval(start - pads[tid], end + pads[tid]))
        for model in (BusyInterval, TimeOff):
            rows = db.session.execute(sa.select(model.therapist_id, model.start, model.end)
                                      .where(model.end > NOW))
            for tid, start, end in rows:
                taken[tid].append(Interval(start, end))
        db.session.rollback()
    return sum(1 for tid, slot in proposed_slots(app, clinic.token, clinic.event_ids)
               if any(b.start < slot.end and slot.start < b.end for b in taken[tid]))


def profile_round(app, token: str, event_ids: Sequence[int]) -> None:
    """cProfile over one round (after a warm-up): own time per package, top functions."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    timed_round(client, headers, event_ids)
    shares, top = profile_by_package(lambda: timed_round(client, headers, event_ids))
    print("\nown time per package, one loaded round:")
    for package, share in shares[:12]:
        print(f"  {share:6.1%}  {package}")
    print(top)


# --- EXPLAIN of the queries behind one request --------------------------------------------

HISTORY_TABLES = ("booking", "busy_interval", "time_off", "event")
FULL_SCAN = {
    "sqlite": re.compile(rf"\bSCAN ({'|'.join(HISTORY_TABLES)})\b"),
    "postgresql": re.compile(rf"Seq Scan on ({'|'.join(HISTORY_TABLES)})\b"),
}
# A planner may rightly read a table of a few pages whole (PostgreSQL does for time off);
# a full scan counts as a failure from this many rows on.
SCAN_MATTERS_FROM_ROWS = 2_000


def captured_queries(app, token: str, event_id: int) -> list[tuple[str, Any]]:
    """The SELECTs one proposals request sends to the database, with their parameters."""
    from athlete_sched.extensions import db

    captured: list[tuple[str, Any]] = []

    def hook(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", hook)
    try:
        response = app.test_client().get(proposals_url(event_id),
                                          headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", hook)
    return captured


def explain_plans(app, queries: Sequence[tuple[str, Any]]) -> list[tuple[str, str, bool]]:
    """(statement, plan, full scan of a sizeable history table?) for every captured query."""
    from athlete_sched.extensions import db

    with app.app_context():
        engine = db.engine
        dialect = engine.dialect.name
        prefix = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
        found = []
        with engine.connect() as conn:
            rows_in = {t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()
                       for t in HISTORY_TABLES}
            for statement, parameters in queries:
                rows = conn.exec_driver_sql(prefix + statement, parameters).fetchall()
                plan = "\n".join(" ".join(str(v) for v in row) for row in rows)
                scanned = FULL_SCAN[dialect].findall(plan)
                found.append((statement, plan,
                              any(rows_in[t] >= SCAN_MATTERS_FROM_ROWS for t in scanned)))
    return found


def print_plans(plans: Sequence[tuple[str, str, bool]]) -> None:
    for statement, plan, bad in plans:
        tables = [t for t in HISTORY_TABLES if re.search(rf"\bFROM {t}\b", statement)]
        if not tables:
            continue
        print(f"\n-- {'FULL SCAN' if bad else 'ok'}: {' '.join(statement.split())[:300]}")
        print("   " + plan.replace("\n", "\n   "))


# --- gunicorn + wrk -----------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(url: str, cache: bool = True) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": url, "FLASK_FROZEN_NOW": NOW.isoformat(),
           "PYTHONPATH": str(ROOT)}
    if not cache:
        env["FLASK_PROPOSALS_CACHE_SIZE"] = "0"
    return env


def spawn_gunicorn(port: int, env: dict[str, str], app_spec: str = "wsgi:app",
                   cwd: Path = ROOT, workers: int = 2) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", app_spec],
        cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def first_ok(url: str, headers: dict[str, str], process: subprocess.Popen,
             timeout: float = 30.0) -> float:
    """Poll `url` until it answers 200; the perf_counter time of that answer. A probe that
    finds nobody listening, or a server too slow to answer it (a socket timeout: a worker
    still importing on a slow start), is followed by the next, until `timeout`."""
    deadline = clock.perf_counter() + timeout
    while (left := deadline - clock.perf_counter()) > 0:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                        timeout=min(5.0, left)) as response:
                if response.status == 200:
                    return clock.perf_counter()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            clock.sleep(0.01)  # not answering yet: polling is the only signal there is
    raise RuntimeError(f"{url} did not answer 200 within {timeout} s")


WRK_SCRIPT = """
local ids = {%s}
local token = "%s"
local i = 0
request = function()
  i = i + 1
  local path = "%s"
  if #ids > 0 then path = "/api/v1/events/" .. ids[(i - 1) %% #ids + 1] .. "/proposals" end
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
end
"""


def wrk_script(workdir: Path, name: str, token: str, event_ids: Sequence[int],
               path: str = "") -> Path:
    script = workdir / f"{name}.lua"
    script.write_text(WRK_SCRIPT % (", ".join(map(str, event_ids)), token, path))
    return script


def run_wrk(port: int, script: Path, seconds: int, connections: int = 4) -> float:
    """Requests/s of one wrk run; raises if any answer was not 2xx or a socket failed."""
    result = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script),
         f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True)
    out = result.stdout
    if "Non-2xx" in out or re.search(r"Socket errors: .*(connect|read|write|timeout) [1-9]", out):
        raise RuntimeError(f"wrk saw failed requests:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not match:
        raise RuntimeError(f"cannot read wrk output:\n{out}")
    return float(match.group(1))


def measure_wrk(url: str, clinic: Clinic, workdir: Path, runs: int,
                seconds: int, cache: bool = True) -> tuple[float, float]:
    """Median requests/s of /me and of proposals, alternating runs after a warm-up each."""
    me = wrk_script(workdir, "me", clinic.token, [], "/api/v1/me")
    proposals = wrk_script(workdir, "proposals", clinic.token, clinic.event_ids)
    port = free_port()
    server = spawn_gunicorn(port, server_env(url, cache))
    try:
        first_ok(f"http://127.0.0.1:{port}/api/v1/me",
                 {"Authorization": f"Bearer {clinic.token}"}, server)
        run_wrk(port, me, 1)
        run_wrk(port, proposals, 1)
        me_rps, prop_rps = [], []
        for _ in range(runs):
            me_rps.append(run_wrk(port, me, seconds))
            prop_rps.append(run_wrk(port, proposals, seconds))
    finally:
        stop(server)
    return statistics.median(me_rps), statistics.median(prop_rps)


# --- the run ------------------------------------------------------------------------------

def in_process_part(app, clinic: Clinic, size: Size, rng: random.Random, args,
                    report: Report, recent: tuple[Any, Clinic] | None = None) -> History:
    """Empty, then loaded with the history (N = --history bookings) and analyzed; the
    query plans are checked before that ANALYZE too. With N above the default size,
    `recent` is a second database with the same clinic (built from the same seed), loaded
    with the history of the last `size.bookings` bookings only: the two are measured in
    turns and their p95 compared (HISTORY_GROWTH_TARGET). Each database gets its history
    in time order, as the database's overlap triggers check it cheaply."""
    empty = measure_in_process(app, clinic.token, clinic.event_ids, args.runs)
    began = clock.perf_counter()
    rows = history(clinic, size, rng, args.history)
    report.add("history generated in", f"{clock.perf_counter() - began:.1f} s")
    began = clock.perf_counter()
    insert_history(app, rows)
    report.add("history loaded in", f"{clock.perf_counter() - began:.1f} s")
    explain_part(app, clinic, args, report, "before ANALYZE")
    analyze(app)
    for name, count in rows.counts().items():
        report.add(f"history {name}", f"{count:,}")
    sides = [(app, clinic.token)]
    if recent is not None:
        recent_rows = split_history(rows, size.bookings)[0]
        began = clock.perf_counter()
        insert_history(recent[0], recent_rows)
        analyze(recent[0])
        report.add(f"recent {recent_rows.counts()['bookings']:,} bookings' history "
                   f"(second database) loaded in", f"{clock.perf_counter() - began:.1f} s")
        sides.append((recent[0], recent[1].token))
    measured = measure_side_by_side(sides, clinic.event_ids, args.runs)
    loaded = measured[0]
    report.add("slots proposed (empty / loaded)", f"{empty.slots:,} / {loaded.slots:,}")
    bad = conflicting_slots(app, clinic)
    report.add("proposed slots hitting history", f"{bad}", "0", bad == 0)
    report.add("empty p50 / p95", f"{empty.p50:.2f} / {empty.p95:.2f} ms")
    report.add(f"loaded p50 / p95 at {len(rows.bookings):,} bookings",
               f"{loaded.p50:.2f} / {loaded.p95:.2f} ms")
    if recent is not None:
        report.add(f"loaded p50 / p95 at {recent_rows.counts()['bookings']:,} bookings",
                   f"{measured[1].p50:.2f} / {measured[1].p95:.2f} ms")
    report.add("loaded p95", f"{loaded.p95:.2f} ms", f"<= {P95_TARGET_MS:g} ms",
               loaded.p95 <= P95_TARGET_MS)
    ratio = loaded.p95 / empty.p95
    report.add("loaded p95 / empty p95", f"{ratio:.2f}x", f"<= {HISTORY_RATIO_TARGET:g}x",
               ratio <= HISTORY_RATIO_TARGET)
    if recent is not None:
        if measured[1].slots != loaded.slots:
            report.add("slots proposed, second database", f"{measured[1].slots:,}",
                       f"{loaded.slots:,}", False)
        growth = loaded.p95 / measured[1].p95
        report.add(f"p95 at {len(rows.bookings):,} / at {recent_rows.counts()['bookings']:,} "
                   f"bookings", f"{growth:.2f}x", f"<= {HISTORY_GROWTH_TARGET:g}x",
                   growth <= HISTORY_GROWTH_TARGET)
    if args.profile:
        profile_round(app, clinic.token, clinic.event_ids)
    return rows


# --- sites, and a clinic twenty times the size --------------------------------------------

SITES_RATIO_TARGET = 1.2  # the clinic at three sites, travel on a third of the events
LARGE_RATIO_TARGET = 3.0  # 1,000 therapists at ten sites / the 50 therapists
LARGE = Size(therapists=1_000, events=200, bookings=100_000, busy=20_000, athletes=40_000)
LARGE_QUICK = Size(therapists=100, events=40, bookings=10_000, busy=2_000, athletes=4_000)
LARGE_SITES = 10
LARGE_HISTORY_FROM = (NOW - timedelta(days=14)).date()


@dataclass(frozen=True)
class Rate:
    """Median p50 / p95 (ms) and requests/s (in-process, one request after the other)."""

    p50: float
    p95: float
    rps: float
    slots: int


def timed_urls(client, headers: dict[str, str], urls: Sequence[str]) -> list[float]:
    """Milliseconds per request; any non-200 is an error."""
    times = []
    for url in urls:
        began = clock.perf_counter()
        response = client.get(url, headers=headers)
        times.append((clock.perf_counter() - began) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code} {response.get_json()}")
    return times


def measure_urls(sides: Sequence[tuple[Any, str, Sequence[str]]], runs: int) -> list[Rate]:
    """For each (app, token, urls): a warm-up round, then `runs` rounds taken in turns
    (the order reversed every other round, as measure_side_by_side does); the median of
    the rounds' p50, p95 and requests/s."""
    clients = [(app.test_client(), {"Authorization": f"Bearer {token}"}, urls)
               for app, token, urls in sides]
    slots = []
    for client, headers, urls in clients:
        timed_urls(client, headers, urls)
        slots.append(sum(len(body["pre"]) + len(body["post"]) for body in (
            client.get(url, headers=headers).get_json() for url in urls)))
    rounds: list[list[list[float]]] = [[] for _ in clients]
    for r in range(runs):
        order = list(enumerate(clients))
        for i, (client, headers, urls) in (order if r % 2 == 0 else order[::-1]):
            rounds[i].append(timed_urls(client, headers, urls))
    return [Rate(statistics.median(percentile(t, 50) for t in side),
                 statistics.median(percentile(t, 95) for t in side),
                 statistics.median(1000 * len(t) / sum(t) for t in side), count)
            for side, count in zip(rounds, slots, strict=True)]


def recent_history(clinic: Clinic, size: Size, rng: random.Random,
                   first: date = LARGE_HISTORY_FROM) -> History:
    """The large clinic's history from `first` on only (its tiles for two years would be
    millions of objects): up to `size.bookings` bookings, mostly in the coming three
    months the proposals read, with busy intervals and time off as the default's."""
    events = history_events(rng, clinic.athletes, max(clinic.event_ids) + 1, first)
    board = TileBoard(clinic.therapists, first - timedelta(days=4),
                      HISTORY_LAST + timedelta(days=14))
    time_off = time_off_rows(rng, clinic.therapists, board, first)
    booked = history_bookings(rng, events, board, size.bookings)
    busy = busy_rows(rng, clinic.therapists, size.busy, first)
    return History([row for row, _ in events], booked, busy, time_off)


def site_urls(clinic: Clinic, filtered: bool) -> list[str]:
    """Each event's proposals; `filtered`: with ?site_id= (the clinic's sites in turn)."""
    if not filtered:
        return [proposals_url(e) for e in clinic.event_ids]
    return [f"{proposals_url(e)}?site_id={clinic.sites[i % len(clinic.sites)]}"
            for i, e in enumerate(clinic.event_ids)]


def sites_part(app, clinic: Clinic, rows: History, args, report: Report,
               stack: contextlib.ExitStack) -> None:
    """(a) the loaded clinic against the same clinic at three sites (athletes with home
    sites, a third of the events with a venue site and travel), the same history in
    both; (b) a clinic of 1,000 therapists at ten sites (LARGE; 100 with --quick) against
    the 50 (10): p95 without a site filter (against the clinic without sites) and with
    ?site_id= (against the three-site clinic, also filtered). All five measured in
    turns, in the same sitting, after `gc.freeze()` as wsgi.py does after start-up."""
    from athlete_sched.extensions import db

    size = QUICK if args.quick else FULL
    began = clock.perf_counter()
    placed_app = make_app(stack.enter_context(fresh_database(args.backend)))
    placed = build_clinic(placed_app, size, random.Random(args.seed), Sites(3))
    if placed.event_ids != clinic.event_ids or [t["id"] for t in placed.therapists] != [
            t["id"] for t in clinic.therapists]:
        raise RuntimeError("the clinic at sites differs from the clinic without")
    insert_history(placed_app, rows)
    analyze(placed_app)
    large_size = LARGE_QUICK if args.quick else LARGE
    large_app = make_app(stack.enter_context(fresh_database(args.backend)))
    large = build_clinic(large_app, large_size, random.Random(args.seed),
                         Sites(LARGE_SITES, homes=False, travel=False))
    large_rows = recent_history(large, large_size, random.Random(args.seed + 1))
    insert_history(large_app, large_rows)
    analyze(large_app)
    counts = large_rows.counts()
    report.add(f"{large_size.therapists:,}-therapist clinic built and loaded in",
               f"{clock.perf_counter() - began:.1f} s ({counts['bookings']:,} bookings, "
               f"{counts['future bookings']:,} to come)")
    gc.collect()
    gc.freeze()  # as wsgi.py: the set-up's objects out of the collector's way
    plain, at_sites, at_sites_filtered, big, big_filtered = measure_urls([
        (app, clinic.token, site_urls(clinic, False)),
        (placed_app, placed.token, site_urls(placed, False)),
        (placed_app, placed.token, site_urls(placed, True)),
        (large_app, large.token, site_urls(large, False)),
        (large_app, large.token, site_urls(large, True))], args.runs)
    for name, rate in (("no sites", plain), ("3 sites, travel on a third", at_sites),
                       ("3 sites, ?site_id=", at_sites_filtered),
                       (f"{large_size.therapists:,} at {LARGE_SITES} sites", big),
                       (f"{large_size.therapists:,} at {LARGE_SITES} sites, ?site_id=",
                        big_filtered)):
        report.add(f"{name}: p50 / p95, requests/s, slots",
                   f"{rate.p50:.2f} / {rate.p95:.2f} ms, {rate.rps:,.0f}/s, {rate.slots:,}")
    ratio = at_sites.p95 / plain.p95
    report.add("3 sites / no sites, p95", f"{ratio:.2f}x", f"<= {SITES_RATIO_TARGET:g}x",
               ratio <= SITES_RATIO_TARGET)
    ratio = plain.rps / at_sites.rps
    report.add("no sites / 3 sites, requests/s", f"{ratio:.2f}x",
               f"<= {SITES_RATIO_TARGET:g}x", ratio <= SITES_RATIO_TARGET)
    n = f"{large_size.therapists:,} / {size.therapists} therapists"
    ratio = big.p95 / plain.p95
    report.add(f"{n}, p95", f"{ratio:.2f}x", f"<= {LARGE_RATIO_TARGET:g}x",
               ratio <= LARGE_RATIO_TARGET)
    ratio = big_filtered.p95 / at_sites_filtered.p95
    report.add(f"{n}, p95 with ?site_id=", f"{ratio:.2f}x", f"<= {LARGE_RATIO_TARGET:g}x",
               ratio <= LARGE_RATIO_TARGET)
    bad = conflicting_slots(large_app, large)
    report.add(f"proposed slots hitting history, {large_size.therapists:,} therapists",
               f"{bad}", "0", bad == 0)
    for each in (placed_app, large_app):
        with each.app_context():
            db.session.remove()
            db.engine.dispose()


def explain_part(app, clinic: Clinic, args, report: Report, when: str) -> None:
    plans = explain_plans(app, captured_queries(app, clinic.token, clinic.event_ids[0]))
    if args.verbose:
        print(f"\n--- query plans {when}")
        print_plans(plans)
    scans = [statement for statement, _, bad in plans if bad]
    report.add(f"queries per request / full scans, {when}", f"{len(plans)} / {len(scans)}",
               "0 full scans", not scans)
    for statement in scans:
        print(f"FULL SCAN: {' '.join(statement.split())[:300]}")


def wrk_part(url: str, clinic: Clinic, workdir: Path, args, report: Report) -> None:
    if shutil.which("wrk") is None:
        report.unmeasured.append("wrk is not installed (apt-get install -y wrk); the "
                                 "requests/s ratio under gunicorn was skipped")
        return
    try:
        me_rps, prop_rps = measure_wrk(url, clinic, workdir, args.runs, args.wrk_seconds)
        bare_me, bare_prop = measure_wrk(url, clinic, workdir, args.runs, args.wrk_seconds,
                                         cache=False)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"wrk part failed: {exc}")
        report.add("wrk under gunicorn", "failed (see above)", f">= {WRK_RATIO_TARGET:g}", False)
        return
    report.add("wrk /me requests/s", f"{me_rps:,.0f}")
    report.add("wrk proposals requests/s", f"{prop_rps:,.0f}")
    ratio = prop_rps / me_rps
    report.add("proposals / me requests/s", f"{ratio:.2f}", f">= {WRK_RATIO_TARGET:g}",
               ratio >= WRK_RATIO_TARGET)
    # For the record: every request computed afresh (what a write between requests costs).
    report.add("same, proposals cache off", f"{bare_prop / bare_me:.2f} "
               f"({bare_prop:,.0f} / {bare_me:,.0f})")


def run(args) -> Report:
    size = QUICK if args.quick else FULL
    report = Report()
    report.add("backend", args.backend)
    report.add("therapists / upcoming events", f"{size.therapists} / {size.events}")
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-propose-"))
        url = stack.enter_context(fresh_database(args.backend))
        app = make_app(url)
        rng = random.Random(args.seed)
        clinic = build_clinic(app, size, rng)
        recent = None
        if args.history > size.bookings:  # the default's history, for comparison
            recent_app = make_app(stack.enter_context(fresh_database(args.backend)))
            recent_clinic = build_clinic(recent_app, size, random.Random(args.seed))
            if (recent_clinic.event_ids, recent_clinic.athletes) != (
                    clinic.event_ids, clinic.athletes):
                raise RuntimeError("the two databases' clinics differ")
            recent = (recent_app, recent_clinic)
        rows = in_process_part(app, clinic, size, rng, args, report, recent)
        explain_part(app, clinic, args, report, "after ANALYZE")
        if args.sites:
            sites_part(app, clinic, rows, args, report, stack)
        from athlete_sched.extensions import db

        for each in (app, *(recent[:1] if recent else ())):
            with each.app_context():
                db.session.remove()
                db.engine.dispose()
        wrk_part(url, clinic, Path(tmp), args, report)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--quick", action="store_true", help="10 therapists, 10k bookings")
    parser.add_argument("--runs", type=int, default=5, help="timed rounds (median), >= 5")
    parser.add_argument("--seed", type=int, default=20270104)
    parser.add_argument("--history", type=int, default=None, metavar="N",
                        help="bookings of history (default 100,000; 10,000 with --quick); "
                             "more: the default's are loaded and measured first, then the "
                             "older rest")
    parser.add_argument("--wrk-seconds", type=int, default=None,
                        help="length of each wrk run (default 3 s, 1 s with --quick)")
    parser.add_argument("--no-sites", dest="sites", action="store_false",
                        help="skip the sites part (three sites and travel; 1,000 therapists "
                             "at ten sites)")
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile of one loaded round")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the query plans")
    args = parser.parse_args(argv)
    if args.runs < 5:
        parser.error("--runs must be at least 5")
    if args.history is None:
        args.history = (QUICK if args.quick else FULL).bookings
    if args.history < 1_000:
        parser.error("--history must be at least 1,000")
    if args.wrk_seconds is None:
        args.wrk_seconds = 1 if args.quick else 3
    report = run(args)
    report.print(f"proposals benchmark ({'quick' if args.quick else 'full'}, seed {args.seed}, "
                 f"median of {args.runs} rounds after one warm-up)")
    return report.exit_code()


if __name__ == "__main__":
    sys.exit(main())

