"""A clinic whose reminders are all due at one instant: the message source of bench/jobs.py.

`fill(url, due=10_000)` fills a migrated database (a SQLite URL or a PostgreSQL URL) with
`due` confirmed tune-up sessions, each of its own athlete (Europe/Berlin, reminders on),
all on Wednesday 12 May 2027 between 02:00 and 18:00 Berlin time (15-minute sessions, 64
a therapist), so that every reminder is due at NOW, Tuesday 11 May 2027 09:00 Berlin
(07:00Z) with the default REMINDER_HOUR, and none was sent yet. With `history`, as many
further confirmed sessions of the same therapists lie on other days (a clinic's past and
future: none of them due at NOW), so that finding the due ones can be timed and its plan
read in a big clinic (`explain`). Rows are bulk-inserted (a bench, not the app's path);
ids follow what the database already holds, and PostgreSQL's sequences are moved past
them, so the app can go on writing.

Then, in the bench::

    clinic = fill(url, due=10_000)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "MAIL_SERVER": ..., ...})
    with app.app_context():
        queued = reminders.run(clinic.now)   # == clinic.due, each message queued once

Run it alone to fill a database, print the plan of the due read and time finding them::

    .venv/bin/python bench/reminder_clinic.py sqlite:////tmp/r.db --due 10000 --history 0
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NOW = datetime(2027, 5, 11, 7, 0, tzinfo=UTC)  # Tue 11 May 2027 09:00 Berlin (CEST)
DAY_START = datetime(2027, 5, 12, 0, 0, tzinfo=UTC)  # Wed 12 May 02:00 Berlin
SESSION = timedelta(minutes=15)
PER_THERAPIST = 64  # 16 hours of 15-minute sessions
WRITTEN = datetime(2027, 4, 1, tzinfo=UTC)  # booked long before the reminders' time
CHUNK = 5_000


@dataclass(frozen=True)
class Filled:
    """What `fill` made: the instant every reminder is due at and how many there are."""

    now: datetime
    due: int
    history: int
    therapists: int


def _next_id(conn: sa.Connection, table: str) -> int:
    return conn.execute(sa.text(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")).scalar_one()


def _insert(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), CHUNK):
        conn.execute(table.insert(), rows[i:i + CHUNK])


def _booking(booking_id: int, therapist: int, athlete: int, start: datetime) -> dict[str, Any]:
    return {"id": booking_id, "event_id": None, "athlete_id": athlete,
            "therapist_id": therapist, "kind": "tune-up", "start": start,
            "end": start + SESSION, "block_end": start + SESSION, "status": "confirmed",
            "uid": f"reminder-bench-{booking_id}@athlete-sched", "sequence": 0, "notes": "",
            "created_at": WRITTEN, "updated_at": WRITTEN}


def fill(url: str, due: int = 10_000, history: int = 0) -> Filled:
    """Fill the migrated database at `url` (see the module doc); returns what was made."""
    from athlete_sched.extensions import db

    tables = db.metadata.tables
    engine = sa.create_engine(url)
    therapists = -(-due // PER_THERAPIST)
    try:
        with engine.begin() as conn:
            t0, a0, b0 = (_next_id(conn, t) for t in ("therapist", "athlete", "booking"))
            _insert(conn, tables["therapist"], [
                {"id": t0 + t, "name": f"Therapist {t}", "email": f"t{t0 + t}@bench.test",
                 "timezone": "Europe/Berlin", "session_minutes": 15, "buffer_minutes": 0,
                 "slot_step_minutes": 15} for t in range(therapists)])
            _insert(conn, tables["athlete"], [
                {"id": a0 + a, "name": f"Athlete {a}", "email": f"a{a0 + a}@bench.test",
                 "sport": "running", "timezone": "Europe/Berlin", "reminders": True}
                for a in range(due)])
            _insert(conn, tables["booking"], [
                _booking(b0 + i, t0 + i // PER_THERAPIST, a0 + i,
                         DAY_START + (i % PER_THERAPIST) * SESSION) for i in range(due)])
            _history(conn, tables["booking"], b0 + due, t0, therapists, a0, due, history)
            if conn.dialect.name == "postgresql":
                for table in ("therapist", "athlete", "booking"):
                    conn.execute(sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"))
    finally:
        engine.dispose()
    return Filled(NOW, due, history, therapists)


def _history(conn: sa.Connection, table: sa.Table, first_id: int, t0: int, therapists: int,
             a0: int, athletes: int, count: int) -> None:
    """`count` sessions on other days: two a day per therapist (08:00 and 12:00Z) from
    3 May 2025 on, skipping 10-13 May 2027; the athletes' in turn (never two of one
    athlete at once): none is due at NOW."""
    def rows() -> Any:
        i, day = 0, 0
        while i < count:
            at = datetime(2025, 5, 3, 8, 0, tzinfo=UTC) + timedelta(days=day)
            day += 1
            if abs(at - DAY_START) < timedelta(days=2):
                continue
            for t in range(therapists):
                for k in range(2):
                    if i < count:
                        yield _booking(first_id + i, t0 + t, a0 + i % athletes,
                                       at + timedelta(hours=4 * k))
                        i += 1

    chunk: list[dict[str, Any]] = []
    for row in rows():
        chunk.append(row)
        if len(chunk) == CHUNK:
            conn.execute(table.insert(), chunk)
            chunk = []
    if chunk:
        conn.execute(table.insert(), chunk)


def explain(url: str, now: datetime = NOW) -> str:
    """The plan of the read that finds the reminders due at `now` (EXPLAIN QUERY PLAN /
    EXPLAIN of the statement the app sends, captured from a real call)."""
    from athlete_sched import create_app
    from athlete_sched.core import reminders as rules
    from athlete_sched.db.queries import reminders as queries
    from athlete_sched.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    sent: list[tuple[str, Any]] = []

    def hook(_conn, _cursor, statement, parameters, _context, _many):  # noqa: ANN001
        sent.append((statement, parameters))

    with app.app_context():
        engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", hook)
        try:
            queries.sessions_starting(rules.reminder_starts(now, 9))
            db.session.rollback()
        finally:
            sa.event.remove(engine, "before_cursor_execute", hook)
        statement, parameters = next(s for s in sent if s[0].lstrip().startswith("SELECT"))
        sqlite = engine.dialect.name == "sqlite"
        with engine.connect() as conn:
            plan = conn.exec_driver_sql(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ")
                                        + statement, parameters).all()
        engine.dispose()
    return "\n".join(str(row[-1]) for row in plan)


def time_find(url: str, now: datetime = NOW, runs: int = 5) -> tuple[int, float]:
    """How many reminders and check-ins are due at `now` and not yet sent, and the median
    seconds of finding them (services/reminders.due_notices: the reads and the due rule)."""
    import statistics
    import time

    from athlete_sched import create_app
    from athlete_sched.extensions import db
    from athlete_sched.services import reminders

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    times, found = [], 0
    with app.app_context():
        for _ in range(runs):
            began = time.perf_counter()
            found = len(reminders.due_notices(now, reminders.reminder_hour()))
            times.append(time.perf_counter() - began)
            db.session.rollback()
        db.engine.dispose()
    return found, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="a migrated database (SQLAlchemy URL)")
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--history", type=int, default=0)
    parser.add_argument("--migrate", action="store_true", help="migrate the database first")
    args = parser.parse_args()
    if args.migrate:
        from common import migrate

        migrate(args.url)
    filled = fill(args.url, args.due, args.history)
    print(f"{filled.due} reminders due at {filled.now:%Y-%m-%dT%H:%M}Z "
          f"({filled.therapists} therapists, {filled.history} other sessions)")
    print(explain(args.url, filled.now))
    found, seconds = time_find(args.url, filled.now)
    print(f"found {found} due in {seconds * 1000:.0f} ms (median of 5)")


if __name__ == "__main__":
    main()
