"""Benchmark: calendar export (core/ical.py and the cached feeds), plus the import rows of
bench/ical_import.py when that module exists.

Run from the repository root::

    .venv/bin/python bench/ical.py                         # SQLite, ~5 min
    .venv/bin/python bench/ical.py --backend postgresql    # fresh database on :5432
    .venv/bin/python bench/ical.py --quick                 # smaller, ~1.5 min
    .venv/bin/python bench/ical.py --parts feeds --backend both   # one part only

Checks (exit 1 if one fails, 2 if a part could not be measured):
- **export** of 10,000 bookings (`--quick`: 2,000; fixed seed) through core/ical.py, as a
  feed (METHOD:PUBLISH) and as one invite file (METHOD:REQUEST: attendees, after-care,
  reminder), against building and serializing the same events with icalendar directly,
  two ways (timed in the same run): with `Component.add`, the documented API, and with
  icalendar's typed values assigned directly, as the core does. All three must produce
  identical bytes; after one warm-up of each they are timed in turn, `--runs` times (CPU
  time), medians: core / each baseline <= 1.1.
- **feed through the app** (Flask test client, a fresh migrated database): a therapist's
  and an athlete's feed of 2,000 sessions and 1,000 races (`--quick`: 400 / 200), bulk
  inserted. The first GET builds the feed; then a repeated GET of the unchanged feed
  (full body, from the per-process cache) median <= 5 ms, and a GET with If-None-Match
  (304) p95 <= 5 ms: `--runs` rounds of 100 requests after a warm-up, median of the
  rounds' figures. Issue 14, `3 x --runs` times each: after a write elsewhere (another
  therapist's time off, committed on another connection) the next GET with the feed's
  ETag must still answer 304 with that ETag (kept, not rebuilt; median time shown); after
  one change to the owner's feed (one of its bookings updated by hand-written SQL) the
  GET that rebuilds it median <= 100 ms, and its bytes equal a fresh app's build from
  nothing (empty cache).
- **import** (hook): if bench/ical_import.py exists, its
  `import_rows(quick: bool) -> list[(name, value, target, ok)]` rows join the table.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import math
import random
import statistics
import sys
import time as clock
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from common import fresh_database, print_table  # noqa: E402
from icalendar import (  # noqa: E402
    Alarm,
    Calendar,
    Event,
    vCalAddress,
    vDDDTypes,
    vDuration,
    vInt,
    vText,
)

from athlete_sched.core import ical  # noqa: E402

NOW = datetime(2027, 1, 4, tzinfo=UTC)  # as in tests/conftest.py
EXPORT_RATIO_TARGET = 1.1
FEED_MS_TARGET = 5.0
REBUILD_MS_TARGET = 100.0  # issue 14: a feed of 2,000 sessions rebuilt after one change
REQUESTS_PER_ROUND = 100
CLINIC = ical.Clinic(name="Needle & Co", email="bookings@clinic.example",
                     location="Needle & Co, Torstr. 1, Berlin", reminder=timedelta(hours=2))
FIRST_NAMES = ("Mara", "Tom", "Zoë", "Jörg", "Ana", "Łukasz", "Siobhán", "Kenji", "Amélie")
LAST_NAMES = ("Runner", "Biker", "O'Neil", "Müller, Jr.", "Ruiz; PT", "Nakamura", "Dubois")
Row = tuple[str, str, str, bool | None]


# --- export: core/ical.py against icalendar alone -----------------------------------------

def sessions(count: int, rng: random.Random) -> list[ical.Session]:
    """`count` confirmed sessions of 30-60 minutes over two years, names with commas,
    semicolons, quotes and non-ASCII letters (no notes: an invite never carries them)."""
    out = []
    for i in range(count):
        start = NOW + timedelta(minutes=15 * rng.randrange(0, 70_000))
        athlete = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        therapist = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        kind = rng.choice(("pre-race", "post-race"))
        out.append(ical.Session(
            uid=f"{rng.getrandbits(128):032x}@athlete-sched", sequence=rng.choice((0, 0, 1, 2)),
            stamp=NOW - timedelta(seconds=rng.randrange(1, 10**7)), start=start,
            end=start + timedelta(minutes=rng.choice((30, 45, 60))), cancelled=False,
            summary=f"Physio session – {kind} · {athlete} · Race {i % 97}",
            location=CLINIC.location,
            attendees=(ical.Person(f"athlete{i}@athletes.test", athlete),
                       ical.Person(f"therapist{i % 50}@clinic.test", therapist))))
    return out


def raw_calendar(method: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", ical.PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    return calendar


def raw_vevent(s: ical.Session, typed: bool) -> Event:
    """A session's VEVENT with icalendar's documented `Component.add`, or (`typed`) with
    its typed values assigned directly, as core/ical.py does."""
    event = Event()
    if typed:
        event["UID"], event["SEQUENCE"] = vText(s.uid), vInt(s.sequence)
        event["DTSTAMP"], event["DTSTART"] = vDDDTypes(s.stamp), vDDDTypes(s.start)
        event["DTEND"], event["SUMMARY"] = vDDDTypes(s.end), vText(s.summary)
        event["LOCATION"], event["STATUS"] = vText(s.location), vText("CONFIRMED")
        return event
    event.add("uid", s.uid)
    event.add("sequence", s.sequence)
    event.add("dtstamp", s.stamp)
    event.add("dtstart", s.start)
    event.add("dtend", s.end)
    event.add("summary", s.summary)
    event.add("location", s.location)
    event.add("status", "CONFIRMED")
    return event


def raw_feed(name: str, items: Sequence[ical.Session], typed: bool = False) -> bytes:
    """The baseline: the same feed, written with icalendar directly."""
    calendar = raw_calendar("PUBLISH")
    calendar.add("name", name)
    calendar.add("x-wr-calname", name)
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(timedelta(hours=1)))
    for s in items:
        calendar.add_component(raw_vevent(s, typed))
    return calendar.to_ical()


def raw_address(email: str, name: str, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    address.params["CN"] = name
    address.params.update(params)
    return address


def raw_invites(items: Sequence[ical.Session], typed: bool = False) -> bytes:
    """The baseline: the same REQUEST file, written with icalendar directly."""
    calendar = raw_calendar("REQUEST")
    for s in items:
        event = raw_vevent(s, typed)
        attendees = [raw_address(p.email, p.name, CUTYPE="INDIVIDUAL", ROLE="REQ-PARTICIPANT",
                                 PARTSTAT="NEEDS-ACTION", RSVP="TRUE") for p in s.attendees]
        alarm = Alarm()
        if typed:
            event["DESCRIPTION"] = vText(ical.AFTER_CARE)
            event["ORGANIZER"] = raw_address(CLINIC.email, CLINIC.name)
            event["ATTENDEE"] = attendees
            alarm["ACTION"], alarm["DESCRIPTION"] = vText("DISPLAY"), vText(s.summary)
            alarm["TRIGGER"] = vDDDTypes(-CLINIC.reminder)
        else:
            event.add("description", ical.AFTER_CARE)
            event.add("organizer", raw_address(CLINIC.email, CLINIC.name))
            for attendee in attendees:
                event.add("attendee", attendee)
            alarm.add("action", "DISPLAY")
            alarm.add("description", s.summary)
            alarm.add("trigger", -CLINIC.reminder)
        event.add_component(alarm)
        calendar.add_component(event)
    return calendar.to_ical()


def interleaved(fns: Sequence[Callable[[], Any]], runs: int) -> list[list[float]]:
    """CPU seconds of each function: one warm-up each, then `runs` rounds in turn."""
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for round_ in range(runs):
        order = list(range(len(fns)))
        if round_ % 2:
            order.reverse()
        for i in order:
            gc.collect()
            began = clock.process_time()
            fns[i]()
            times[i].append(clock.process_time() - began)
    return times


def export_rows(count: int, runs: int, seed: int) -> list[Row]:
    """core/ical.py against icalendar used directly in two ways, each a baseline held to
    the target: the documented `Component.add`, and typed values assigned directly (the
    core's own technique, so that ratio is what the core adds: cleaning, checks)."""
    items = sessions(count, random.Random(seed))
    name = "Ana Ruiz – sessions"
    cases = [
        ("feed", lambda: ical.feed(name, items), lambda: raw_feed(name, items),
         lambda: raw_feed(name, items, typed=True)),
        ("invites", lambda: ical.invites(items, CLINIC), lambda: raw_invites(items),
         lambda: raw_invites(items, typed=True)),
    ]
    rows: list[Row] = []
    for label, core, added, typed in cases:
        same = core() == added() == typed()
        core_s, added_s, typed_s = (statistics.median(t)
                                    for t in interleaved([core, added, typed], runs))
        rows += [
            (f"export {count:,} bookings as {label}: core/ical.py", f"{core_s * 1e3:,.0f} ms",
             "", None),
            ("  icalendar, Component.add", f"{added_s * 1e3:,.0f} ms", "", None),
            ("  icalendar, typed values assigned", f"{typed_s * 1e3:,.0f} ms", "", None),
            (f"  core / icalendar add (identical bytes: {same})", f"{core_s / added_s:.3f}x",
             f"<= {EXPORT_RATIO_TARGET}x", same and core_s / added_s <= EXPORT_RATIO_TARGET),
            ("  core / icalendar typed", f"{core_s / typed_s:.3f}x",
             f"<= {EXPORT_RATIO_TARGET}x", same and core_s / typed_s <= EXPORT_RATIO_TARGET)]
    return rows


# --- feeds through the app ----------------------------------------------------------------

def bulk_insert(engine: sa.Engine, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        for i in range(0, len(rows), 5_000):
            conn.execute(table.insert(), rows[i:i + 5_000])


def seed_clinic(app, races: int) -> dict[str, int]:
    """One therapist, one athlete, `races` races on consecutive days, each with a pre
    (07:00Z two days before) and a post session (09:00Z the day after): never overlapping;
    and another therapist ("other"), whose time off is the write elsewhere."""
    from athlete_sched.db.models import Athlete, Booking, Event, Therapist
    from athlete_sched.extensions import db

    with app.app_context():
        therapist = Therapist(name="Ana Ruiz", email="ana@clinic.test", timezone="Europe/Berlin")
        athlete = Athlete(name="Mara Runner", email="mara@athletes.test", sport="running",
                          timezone="Europe/Berlin")
        db.session.add_all([therapist, athlete])
        db.session.flush()
        other = Therapist(name="Ben Okafor", email="ben@clinic.test", timezone="Europe/Berlin")
        db.session.add(other)
        db.session.flush()
        ids = {"therapist": therapist.id, "athlete": athlete.id, "other": other.id}
        db.session.commit()
        db.session.close()  # SQLite: a write transaction of its own would lock out the next
        first = NOW + timedelta(days=7, hours=8)
        events = [{"id": i + 1, "athlete_id": ids["athlete"], "name": f"Race {i}, \"Trail\"",
                   "sport": "running", "timezone": "Europe/Berlin",
                   "start": first + timedelta(days=i), "start_is_date": False,
                   "end": first + timedelta(days=i, hours=4), "end_is_date": False,
                   "priority": "A", "created_at": NOW, "updated_at": NOW,
                   "occupied_end": first + timedelta(days=i, hours=4)} for i in range(races)]
        bookings = []
        for event in events:
            for kind, start in (("pre", event["start"] - timedelta(days=2, hours=1)),
                                ("post", event["start"] + timedelta(days=1, hours=1))):
                bookings.append({
                    "event_id": event["id"], "athlete_id": ids["athlete"],
                    "therapist_id": ids["therapist"], "kind": kind, "start": start,
                    "end": start + timedelta(minutes=45),
                    "block_end": start + timedelta(minutes=45), "status": "confirmed",
                    "uid": f"{kind}-{event['id']}@athlete-sched", "sequence": 0,
                    "notes": "", "created_at": NOW, "updated_at": NOW})
        bulk_insert(db.engine, Event.__table__, events)
        bulk_insert(db.engine, Booking.__table__, bookings)
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('event', 'id'), "
                                     "(SELECT max(id) FROM event))"))
    return ids


def app_config(url: str) -> dict[str, Any]:
    """The benchmark's app: the clock pinned, and without the per-token fetch limit
    (RATELIMIT_FEED, 60 a minute), which thousands of timed fetches of one feed exceed."""
    return {"SQLALCHEMY_DATABASE_URI": url, "FROZEN_NOW": NOW.isoformat(),
            "RATELIMIT_ENABLED": False}


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def request_ms(get: Callable[[], Any], expect: int) -> list[float]:
    out = []
    for _ in range(REQUESTS_PER_ROUND):
        began = clock.perf_counter()
        response = get()
        out.append((clock.perf_counter() - began) * 1e3)
        if response.status_code != expect:
            raise AssertionError(f"expected {expect}, got {response.status_code}")
    return out


def feed_rows(backend: str, races: int, runs: int) -> list[Row]:
    from athlete_sched import create_app
    from athlete_sched.extensions import db
    from athlete_sched.services.accounts import create_user

    rows: list[Row] = []
    with fresh_database(backend) as url:
        app = create_app(app_config(url))
        ids = seed_clinic(app, races)
        with app.app_context():
            _, token = create_user("bench-admin@clinic.test", "admin")
            db.session.commit()
        client = app.test_client()
        auth = {"Authorization": f"Bearer {token}"}
        for owner in ("therapist", "athlete"):
            link = client.get(f"/api/v1/{owner}s/{ids[owner]}/feed", headers=auth).get_json()
            path = "/" + link["url"].split("/", 3)[3]
            began = clock.perf_counter()
            first = client.get(path)
            built_ms = (clock.perf_counter() - began) * 1e3
            etag = first.headers["ETag"]
            label = f"{backend}, {owner} feed ({len(first.get_data()) // 1024:,} KiB)"
            full = [request_ms(lambda p=path: client.get(p), 200) for _ in range(runs + 1)][1:]
            match = {"If-None-Match": etag}
            cond = [request_ms(lambda p=path, h=match: client.get(p, headers=h), 304)
                    for _ in range(runs + 1)][1:]
            repeat = statistics.median(statistics.median(r) for r in full)
            p95 = statistics.median(percentile(r, 95) for r in cond)
            rows += [(f"{label}: first GET (builds it)", f"{built_ms:,.1f} ms", "", None),
                     (f"{label}: repeated GET, unchanged (median)", f"{repeat:.2f} ms",
                      f"<= {FEED_MS_TARGET} ms", repeat <= FEED_MS_TARGET),
                     (f"{label}: 304 on If-None-Match (p95)", f"{p95:.2f} ms",
                      f"<= {FEED_MS_TARGET} ms", p95 <= FEED_MS_TARGET)]
            rows += after_writes(app, client, url, path, owner, ids, etag, 3 * runs)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return rows


def hand_written(app, statement: str, **params: Any) -> None:
    """Commit hand-written SQL on a connection of its own (not the request's)."""
    from athlete_sched.extensions import db

    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text(statement), params)


def fresh_build(url: str, path: str) -> bytes:
    """The feed as a fresh app (empty cache) builds it from nothing."""
    from athlete_sched import create_app
    from athlete_sched.extensions import db

    app = create_app(app_config(url))
    try:
        return app.test_client().get(path).get_data()
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def after_writes(app, client, url: str, path: str, owner: str, ids: dict[str, int],
                 etag: str, times: int) -> list[Row]:
    """Issue 14: a write elsewhere keeps the feed (304, same ETag); a change to one of its
    bookings rebuilds it within the target, with a fresh build's bytes."""
    kept_ms, kept = [], True
    for i in range(times):
        start = NOW + timedelta(days=3000 + i)
        hand_written(app, 'INSERT INTO time_off (therapist_id, start, "end", reason) '
                     "VALUES (:t, :s, :e, 'bench')", t=ids["other"], s=start,
                     e=start + timedelta(hours=1))
        began = clock.perf_counter()
        response = client.get(path, headers={"If-None-Match": etag})
        kept_ms.append((clock.perf_counter() - began) * 1e3)
        kept = kept and response.status_code == 304 and response.headers["ETag"] == etag
    column = "therapist_id" if owner == "therapist" else "athlete_id"
    rebuild_ms, body = [], b""
    for i in range(times):
        hand_written(app, f"UPDATE booking SET sequence = sequence + 1 WHERE id = (SELECT "
                     f"min(id) FROM booking WHERE {column} = :o) + :k", o=ids[owner], k=i)
        began = clock.perf_counter()
        response = client.get(path, headers={"If-None-Match": etag})
        rebuild_ms.append((clock.perf_counter() - began) * 1e3)
        body, etag = response.get_data(), response.headers["ETag"]
    same = response.status_code == 200 and body == fresh_build(url, path)
    kept_median, rebuilt = statistics.median(kept_ms), statistics.median(rebuild_ms)
    label = f"{url.split(':', 1)[0].split('+')[0]}, {owner} feed"
    return [(f"{label}: GET after a write elsewhere (304, same ETag: {kept}; median)",
             f"{kept_median:.2f} ms", "304, kept", kept),
            (f"{label}: GET rebuilding it after one change (median; bytes = a fresh build: "
             f"{same})", f"{rebuilt:.1f} ms", f"<= {REBUILD_MS_TARGET:.0f} ms",
             same and rebuilt <= REBUILD_MS_TARGET)]


# --- the import side (bench/ical_import.py, written separately) ---------------------------

def import_part(quick: bool) -> tuple[list[Row], str | None]:
    """HOOK: the rows of bench/ical_import.py's `import_rows(quick)`, if that module exists
    (None as the note), else no rows and a note that the import was not measured."""
    if importlib.util.find_spec("ical_import") is None:
        return [], "bench/ical_import.py is missing: the import figures were not measured"
    import ical_import  # type: ignore[import-not-found]

    return list(ical_import.import_rows(quick)), None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--quick", action="store_true",
                        help="2,000 bookings exported; feeds of 400 sessions")
    parser.add_argument("--runs", type=int, default=5, help="timed rounds (median), >= 5")
    parser.add_argument("--seed", type=int, default=20270104)
    parser.add_argument("--parts", default="export,feeds,import",
                        help="comma-separated parts to run (default: export,feeds,import)")
    args = parser.parse_args(argv)
    parts = set(args.parts.split(","))
    if args.runs < 5:
        parser.error("--runs must be at least 5")
    if not parts or parts - {"export", "feeds", "import"}:
        parser.error("--parts takes export, feeds and import")
    rows: list[Row] = []
    if "export" in parts:
        rows += export_rows(2_000 if args.quick else 10_000, args.runs, args.seed)
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    for backend in backends if "feeds" in parts else ():
        rows += feed_rows(backend, 200 if args.quick else 1_000, args.runs)
    note = None
    if "import" in parts:
        imported, note = import_part(args.quick)
        rows += imported
    print_table(["measure", "value", "target", "result"],
                [(name, value, target, "" if ok is None else ("PASS" if ok else "FAIL"))
                 for name, value, target, ok in rows],
                f"calendar benchmark ({'quick' if args.quick else 'full'}, seed {args.seed}, "
                f"median of {args.runs} rounds after one warm-up)")
    if note:
        print(f"NOT MEASURED: {note}")
    if any(ok is False for *_, ok in rows):
        return 1
    return 2 if note else 0


if __name__ == "__main__":
    sys.exit(main())
