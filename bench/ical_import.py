"""Benchmark: importing a therapist's 5 MB busy calendar, against the libraries alone.

Run from the repository root::

    .venv/bin/python bench/ical_import.py            # full size, ~1-2 min
    .venv/bin/python bench/ical_import.py --quick    # a fifth of the calendar, 3 runs

The calendar (fixed seed, written here as a calendar app exports it: folded lines,
VTIMEZONE, descriptions, attendees, alarms): about 10,000 VEVENTs over three years before
and one after the clock (2027-01-04), 1,500 of them recurring (weekly, daily, monthly,
yearly; ended by UNTIL, COUNT or not at all), EXDATEs on a third of the series, moved or
cancelled occurrences (RECURRENCE-ID overrides) on a fifth, some transparent or cancelled
events, all-day events, UTC and Europe/Berlin times.

- **ours**: the import as the API runs it, through its service function
  `services.busy.import_busy_upload` as one unit of work (parse, expand over the 400-day
  horizon, UTC intervals, merge; delete the previous intervals, bulk insert, commit) into
  a fresh migrated SQLite database;
- **baseline**: `icalendar.Calendar.from_ical` + `recurring_ical_events.of(...).between`
  over the same horizon, on the same bytes.

Target: ours <= 1.2x baseline (one warm-up, then the median of 5 runs; `--quick`: 3). Then
proposals requests are run against the imported calendar while this script counts the
calls of the core's parse step (core/ical_import.parse_calendars, wrapped here): none, as
proposals never parse a calendar.

**Memory** (issue 14; not with `--quick`, which skips it): the app as deployed, one
gthread gunicorn worker (`-c deploy/gunicorn.conf.py`, bench/worker_memory.py) on a fresh
SQLite database. Its **idle** size is its resident memory (VmRSS) once every one of its
threads has answered GETs (a thread's first request grows the worker by its stack and
allocator heap) and it has imported a small calendar (50 events: the parser libraries,
imported by the first import, are part of any worker that has imported once). Then the
5 MB calendar is PUT to `/therapists/{id}/busy-calendar` with the kernel's high-water
mark (VmHWM) reset first, and a second 5 MB calendar (another seed) after it, replacing
the first. **Peak** is the
larger VmHWM of the two imports minus idle: <= 100 MiB. **Kept** is VmRSS after each
import (and two small GETs) minus idle, the larger of the two: "nothing kept" is taken to
mean at most KEPT_MIB (10 MiB), what the allocators keep of a freed heap in partly used
pages and what the first big import leaves in caches (statements, time zones), not one
import's data - the second import, which would add to what the first left, must stay
within it too.

`import_rows(quick)` returns the rows for bench/ical.py; run alone, this script prints
them and exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from common import fresh_database, median, print_table, timed

NOW = datetime(2027, 1, 4, tzinfo=UTC)
PEAK_MIB, KEPT_MIB = 100.0, 10.0
ZONE = "Europe/Berlin"
VTIMEZONE = (
    "BEGIN:VTIMEZONE", "TZID:Europe/Berlin", "X-LIC-LOCATION:Europe/Berlin",
    "BEGIN:DAYLIGHT", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "TZNAME:CEST",
    "DTSTART:19700329T020000", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "END:DAYLIGHT",
    "BEGIN:STANDARD", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "TZNAME:CET",
    "DTSTART:19701025T030000", "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "END:STANDARD",
    "END:VTIMEZONE")
WORDS = ("session", "massage", "review", "plan", "team", "call", "recovery", "knee",
         "shoulder", "notes", "follow-up", "clinic", "invoice", "course", "lecture", "lunch",
         "training", "ride", "run", "swim", "physio", "check", "insurance", "report", "gym",
         "visit", "patient")
DAYS = ("MO", "TU", "WE", "TH", "FR")


# --- the calendar -------------------------------------------------------------------------

def fold(line: str) -> str:
    """RFC 5545 folding at 75 octets (the text here is ASCII)."""
    parts = [line[:75]] + [" " + line[i:i + 74] for i in range(75, len(line), 74)]
    return "\r\n".join(parts)


def _local(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%S")


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize()


def _details(rng: random.Random, uid: str, stamp: str) -> list[str]:
    """What a real export carries besides the times (most of the 5 MB)."""
    lines = [f"DTSTAMP:{stamp}", f"UID:{uid}",
             f"SUMMARY:{_text(rng, 3)}", f"LOCATION:{_text(rng, 2)}\\, Berlin",
             f"DESCRIPTION:{_text(rng, 7)}\\n{_text(rng, 4)}",
             "ORGANIZER;CN=Ana Ruiz:mailto:ana@clinic.example",
             *(f"ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;"
               f"CN=Person {n}:mailto:person{n}@example.com"
               for n in rng.sample(range(500), rng.choice((0, 0, 1, 2))))]
    if rng.random() < 0.3:
        lines += ["BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:Reminder",
                  "TRIGGER:-PT10M", "END:VALARM"]
    return lines


def _times(start: datetime, minutes: int, utc: bool) -> list[str]:
    end = start + timedelta(minutes=minutes)
    if utc:
        return [f"DTSTART:{_local(start)}Z", f"DTEND:{_local(end)}Z"]
    return [f"DTSTART;TZID={ZONE}:{_local(start)}", f"DTEND;TZID={ZONE}:{_local(end)}"]


def _moment(rng: random.Random) -> datetime:
    """A working-hours start between three years before the clock and one year after."""
    day = NOW - timedelta(days=3 * 365) + timedelta(days=rng.randrange(4 * 365))
    return day.replace(tzinfo=None, hour=rng.randint(7, 18), minute=rng.choice((0, 15, 30, 45)))


def _one_off(rng: random.Random, n: int, stamp: str) -> list[str]:
    start = _moment(rng)
    lines = ["BEGIN:VEVENT"]
    if rng.random() < 0.015:
        lines += [f"DTSTART;VALUE=DATE:{start:%Y%m%d}",
                  f"DTEND;VALUE=DATE:{start + timedelta(days=1):%Y%m%d}"]
    else:
        lines += _times(start, rng.choice((30, 45, 60, 90, 120)), rng.random() < 0.3)
    lines += _details(rng, f"{n:05d}-single@bench.example", stamp)
    flag = rng.random()
    lines += (["TRANSP:TRANSPARENT"] if flag < 0.05 else
              ["STATUS:CANCELLED"] if flag < 0.07 else ["STATUS:CONFIRMED", "TRANSP:OPAQUE"])
    return lines + ["END:VEVENT"]


def _rule(rng: random.Random, start: datetime) -> str:
    kind, end = rng.random(), rng.random()
    if kind < 0.65:
        days = rng.sample(DAYS, 1 if rng.random() < 0.8 else 2)
        rule = "FREQ=WEEKLY;BYDAY=" + ",".join(sorted(days, key=DAYS.index))
    elif kind < 0.75:  # daily runs are short: a course, a week of on-call
        rule, end = f"FREQ=DAILY;INTERVAL={rng.choice((1, 1, 2))}", end * 0.9
    elif kind < 0.93:
        rule = f"FREQ=MONTHLY;BYMONTHDAY={start.day}"
    else:
        rule = "FREQ=YEARLY"
    if end < 0.5:
        until = start + timedelta(days=rng.randint(20, 60 if "DAILY" in rule else 240))
        return f"{rule};UNTIL={until:%Y%m%dT%H%M%S}Z"
    if end < 0.93:
        return f"{rule};COUNT={rng.randint(4, 40)}"
    return rule


def _series(rng: random.Random, n: int, stamp: str) -> list[list[str]]:
    """A recurring event, with EXDATEs and overrides (each override its own VEVENT)."""
    start = _moment(rng)
    minutes = rng.choice((30, 60, 90))
    uid = f"{n:05d}-series@bench.example"
    master = ["BEGIN:VEVENT", *_times(start, minutes, False), f"RRULE:{_rule(rng, start)}"]
    picks = [start + timedelta(days=7 * k) for k in rng.sample(range(1, 40), 6)]
    if rng.random() < 0.33:
        master.append(f"EXDATE;TZID={ZONE}:" + ",".join(_local(d) for d in picks[:3]))
    master += [*_details(rng, uid, stamp), "END:VEVENT"]
    overrides = []
    if rng.random() < 0.2:
        for moved in picks[3:3 + rng.randint(1, 3)]:
            body = ["BEGIN:VEVENT", f"RECURRENCE-ID;TZID={ZONE}:{_local(moved)}",
                    *_times(moved + timedelta(hours=rng.randint(1, 3)), minutes, False),
                    *_details(rng, uid, stamp), "SEQUENCE:1"]
            overrides.append(body + (["STATUS:CANCELLED"] if rng.random() < 0.3 else [])
                             + ["END:VEVENT"])
    return [master, *overrides]


def generate_calendar(seed: int = 2027, events: int = 10_000, recurring: int = 1_500) -> bytes:
    """The benchmark calendar: `events` VEVENTs of which `recurring` are series masters
    (overrides count as events)."""
    rng = random.Random(seed)
    stamp = "20261201T090000Z"
    blocks: list[list[str]] = []
    for n in range(recurring):
        blocks += _series(rng, n, stamp)
    blocks += [_one_off(rng, n, stamp) for n in range(max(0, events - len(blocks)))]
    rng.shuffle(blocks)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//athlete_sched//bench//EN",
             "CALSCALE:GREGORIAN", "X-WR-CALNAME:Ana (work)", f"X-WR-TIMEZONE:{ZONE}",
             *VTIMEZONE, *(line for block in blocks for line in block), "END:VCALENDAR"]
    return ("\r\n".join(fold(line) for line in lines) + "\r\n").encode()


# --- measuring ----------------------------------------------------------------------------

def baseline(body: bytes, start: datetime, end: datetime) -> int:
    """icalendar + recurring-ical-events alone: parse, then every occurrence in the span."""
    import icalendar
    import recurring_ical_events

    return len(recurring_ical_events.of(icalendar.Calendar.from_ical(body)).between(start, end))


def _clinic(app) -> tuple[int, str]:
    """A therapist (weekday hours) and an admin token in the bench database."""
    from athlete_sched.extensions import db
    from athlete_sched.services.accounts import create_user

    client = app.test_client()
    _, token = create_user("admin@bench.example", "admin", "Admin")
    db.session.commit()
    hours = [{"day": d, "start": "08:00", "end": "18:00"} for d in ("mon", "tue", "wed", "thu",
                                                                    "fri")]
    answer = client.post("/api/v1/therapists", headers={"Authorization": f"Bearer {token}"},
                         json={"name": "Ana", "email": "ana@clinic.example", "timezone": ZONE,
                               "working_hours": hours})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return answer.get_json()["id"], token


def ours(therapist_id: int, body: bytes) -> tuple[float, int]:
    """(seconds, busy intervals stored) of the import as PUT /busy-calendar runs it: expand
    outside the transaction, store, commit. The stored hash is cleared first (untimed) so
    that the body is expanded every time; the previous intervals are replaced."""
    from athlete_sched.db.queries import calendars
    from athlete_sched.extensions import db
    from athlete_sched.services import busy, unit_of_work
    from athlete_sched.services.access import Caller

    calendar = calendars.upload_of(therapist_id)
    if calendar is not None:
        calendar.body_hash = None
    db.session.commit()
    admin = Caller(role="admin", email="admin@bench.example")

    def run() -> int:
        stored = unit_of_work.run(lambda: busy.import_busy_upload(admin, therapist_id,
                                                                   lambda: body))
        return stored.busy_count

    return timed(run)


def counting_parses() -> list[int]:
    """Count the calls of the core's parse step from now on (a one-cell list)."""
    from athlete_sched.core import ical_import

    count, parse = [0], ical_import.parse_calendars

    def counted(data: bytes):  # type: ignore[no-untyped-def]
        count[0] += 1
        return parse(data)

    ical_import.parse_calendars = counted
    return count


def proposals_parse(app, token: str, therapist_id: int, requests: int) -> tuple[int, int]:
    """(proposals answered 200, calendars parsed meanwhile) for events across the horizon."""
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    athlete = client.post("/api/v1/athletes", headers=auth, json={
        "name": "Mara", "email": "mara@bench.example", "sport": "running",
        "timezone": ZONE}).get_json()["id"]
    parses, answered = counting_parses(), 0
    for week in range(requests):
        day = (NOW + timedelta(days=10 + 7 * week)).date().isoformat()
        event = client.post("/api/v1/events", headers=auth, json={
            "athlete_id": athlete, "name": f"Race {week}", "sport": "running",
            "timezone": ZONE, "start": day}).get_json()["id"]
        got = client.get(f"/api/v1/events/{event}/proposals?therapist_id={therapist_id}",
                         headers=auth)
        answered += got.status_code == 200
    return answered, parses[0]


def measure(quick: bool) -> dict[str, Any]:
    from athlete_sched import create_app
    from athlete_sched.extensions import db

    runs = 3 if quick else 5
    body = generate_calendar(events=2_000, recurring=300) if quick else generate_calendar()
    start, end = NOW - timedelta(days=1), NOW + timedelta(days=400)
    with fresh_database("sqlite") as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "FROZEN_NOW": NOW.isoformat()})
        with app.app_context():
            therapist_id, token = _clinic(app)
            occurrences = baseline(body, start, end)  # warm-up of both
            _, stored = ours(therapist_id, body)
            base_times, our_times = [], []
            for _ in range(runs):  # alternating, so a slow moment hits both
                base_times.append(timed(lambda: baseline(body, start, end))[0])
                our_times.append(ours(therapist_id, body)[0])
            answered, parsed = proposals_parse(app, token, therapist_id, 5 if quick else 20)
            db.session.remove()
            db.engine.dispose()
    return {"bytes": len(body), "vevents": body.count(b"BEGIN:VEVENT"),
            "occurrences": occurrences, "stored": stored, "base": median(base_times),
            "ours": median(our_times), "answered": answered, "parsed": parsed,
            "proposals": 5 if quick else 20}


def memory() -> dict[str, float]:
    """Idle, peak above idle and kept after, MiB, of a gunicorn worker importing two 5 MB
    calendars through the API (see the module docstring)."""
    from worker_memory import Worker

    from athlete_sched import create_app
    from athlete_sched.extensions import db

    bodies = [generate_calendar(seed=seed) for seed in (2027, 2028)]
    with fresh_database("sqlite") as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "FROZEN_NOW": NOW.isoformat()})
        with app.app_context():
            therapist_id, token = _clinic(app)
            db.session.remove()
            db.engine.dispose()
        auth = {"Authorization": f"Bearer {token}"}
        upload = {**auth, "Content-Type": "text/calendar"}
        path = f"/api/v1/therapists/{therapist_id}/busy-calendar"
        with Worker(url, {"FLASK_FROZEN_NOW": NOW.isoformat()}) as worker:
            worker.wait_ready(path, auth)
            worker.warm(path, auth)
            small = generate_calendar(seed=1, events=50, recurring=10)
            assert worker.request("PUT", path, upload, small)[0] == 200, worker.log_tail()
            worker.request("GET", path, auth)
            idle, peaks, after = worker.rss(), [], []
            for body in bodies:
                worker.reset_peak()
                status, answer = worker.request("PUT", path, upload, body)
                assert status == 200, (status, answer[:300], worker.log_tail())
                peaks.append(worker.peak())
                for _ in range(2):
                    worker.request("GET", path, auth)
                after.append(worker.rss())
    return {"idle": idle, "peak": max(peaks) - idle, "kept": max(after) - idle,
            "kept_first": after[0] - idle}


def import_rows(quick: bool) -> list[tuple[str, str, str, bool | None]]:
    """(name, value, target, ok) rows for bench/ical.py."""
    m = measure(quick)
    ratio = m["ours"] / m["base"]
    return [
        ("import: calendar", f"{m['bytes'] / 1e6:.1f} MB, {m['vevents']:,} VEVENTs, "
         f"{m['occurrences']:,} occurrences in 400 days", "", None),
        ("import: icalendar + recurring-ical-events", f"{m['base']:.2f} s", "baseline", None),
        ("import: ours (parse, expand, store, commit)",
         f"{m['ours']:.2f} s ({m['stored']:,} merged busy intervals)", "", None),
        ("import: ours / baseline", f"{ratio:.2f}x", "<= 1.2x", ratio <= 1.2),
        ("proposals: calendars parsed", f"{m['parsed']} in {m['answered']}/{m['proposals']} "
         "requests", "0", m["parsed"] == 0 and m["answered"] == m["proposals"]),
    ] + ([] if quick else memory_rows(memory()))


def memory_rows(m: dict[str, float]) -> list[tuple[str, str, str, bool | None]]:
    return [
        ("import memory: worker idle (VmRSS)", f"{m['idle']:.0f} MiB", "", None),
        ("import memory: peak above idle (VmHWM, 5 MB upload)", f"{m['peak']:.0f} MiB",
         f"<= {PEAK_MIB:.0f} MiB", m["peak"] <= PEAK_MIB),
        ("import memory: kept after import (VmRSS - idle)",
         f"{m['kept']:.1f} MiB (first import: {m['kept_first']:.1f})",
         f"<= {KEPT_MIB:.0f} MiB", m["kept"] <= KEPT_MIB),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller calendar, 3 runs")
    rows = import_rows(parser.parse_args().quick)
    print_table(("measure", "value", "target", "ok"),
                [(n, v, t, "" if ok is None else ("yes" if ok else "NO")) for n, v, t, ok in rows],
                title="Busy-calendar import")
    return 0 if all(ok is not False for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
