"""The tuned reads keep their index plans with and without fresh statistics, on both
backends: the reads of db/queries/ (booking_race's early read of a lost race among them)
and the booking guard (db/guard.py's CHECK_SQL; on PostgreSQL the query of
booking_refusal() as the database holds it).

A clinic is bulk-loaded as bench/propose.py loads its history (50 therapists with 5,000
day changes, 24,000 bookings, 12,000 events, then 10,000 busy intervals and 6,000 periods
of time off). The
statements are captured from real calls of the query functions (a before_cursor_execute
hook, so the test follows the code) and explained (EXPLAIN QUERY PLAN / EXPLAIN):

1. before any statistics;
2. after ANALYZE (PostgreSQL: VACUUM ANALYZE) and, on SQLite, after PRAGMA optimize;
3. after teams, busy intervals and time off arrived in a clinic that had none (or a few)
   when it was analyzed: statistics that call those tables empty or tiny;
4. after ANALYZE again.

On PostgreSQL each statement is explained with its values (a custom plan) and as a generic
plan: psycopg prepares a statement it has run a few times, and the server may then keep
one plan for all values (booking_refusal() caches its plan the same way). No plan may read
booking, busy_interval, time_off, event or working_day whole (SQLite: SCAN, or a skip-scan
through an index whose first column is unconstrained; PostgreSQL: Seq Scan), unless the
table holds fewer than 2,000 rows, as in bench/propose.py: reading a few pages whole is the
planner's right call.

trips() (db/queries/sites.py) has a test of its own besides: its team part must read
team_member first and then each team's events by team_id, which no scan check can tell
from a walk of ix_event_team_id from end to end (PostgreSQL: a merge join along it).

The case seen in production: team and team_member empty while event and booking are big.
After ANALYZE, SQLite's statistics say every event has the same team_id (all NULL), and it
read the team events through a scan of event (bench/propose.py at 1,000,000 bookings:
6 -> 100 ms a proposals request).

Each test runs on a database of its own (the backend of the `database` fixture): the
statistics it starts without and the ones it makes stay its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import _create_pg_database, _drop_pg_database, backend_of, migrate

from athlete_sched.core.intervals import Interval

BIG_TABLES = ("booking", "busy_interval", "time_off", "event", "working_day")
SCAN_MATTERS_FROM_ROWS = 2_000  # as bench/propose.py

THERAPISTS = 50
ATHLETES = 1_000
EVENTS = 12_000  # a pre and a post booking each
BUSY = 10_000
TIME_OFF = 6_000
T0 = datetime(2025, 3, 3, 6, 0, tzinfo=UTC)  # the history starts here
SLOT = timedelta(hours=36)  # a therapist's sessions lie this far apart: two years
NEAR = T0 + timedelta(days=500)  # the spans asked about lie amid the history
ATHLETE = 7  # in the first team, where there are teams
SINCE = NEAR - timedelta(days=60)  # the trips read from here (the first team's events on)


# --- the clinic, bulk-inserted ------------------------------------------------------------

def _insert(conn: sa.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    from athlete_sched.extensions import db

    for i in range(0, len(rows), 5_000):
        conn.execute(db.metadata.tables[table].insert(), rows[i:i + 5_000])


def _event(event_id: int, start: datetime, travel: bool = False,
           **owner: int | None) -> dict[str, Any]:
    """A three-hour race; with `travel`, away from a day before to a day after it."""
    end = start + timedelta(hours=3)
    return {"id": event_id, "athlete_id": None, "team_id": None, **owner, "name": "Race",
            "sport": "running", "timezone": "Europe/Berlin", "start": start,
            "start_is_date": False, "end": end, "end_is_date": False, "priority": "A",
            "created_at": T0, "updated_at": T0, "occupied_end": end,
            "travel_depart": start - timedelta(days=1) if travel else None,
            "travel_return": end + timedelta(days=1) if travel else None}


def _clinic(conn: sa.Connection) -> None:
    """Therapists with weekly hours, athletes, their events (one in three with travel) and a
    pre and a post booking of each event (4 % cancelled), on a grid that never overlaps per
    therapist or athlete: event e is athlete e % ATHLETES's, booked with therapist
    e % THERAPISTS in that therapist's slots 2 * (e // THERAPISTS) and the next."""
    _insert(conn, "therapist", [
        {"id": t, "name": f"T{t}", "email": f"t{t}@plans.test", "timezone": "Europe/Berlin",
         "session_minutes": 45, "buffer_minutes": 15, "slot_step_minutes": 15}
        for t in range(1, THERAPISTS + 1)])
    _insert(conn, "working_period", [
        {"therapist_id": t, "day": d, "start_minute": 480, "end_minute": 1080}
        for t in range(1, THERAPISTS + 1) for d in range(6)])
    _working_days(conn)
    _insert(conn, "athlete", [
        {"id": a, "name": f"A{a}", "email": f"a{a}@plans.test", "sport": "running",
         "timezone": "Europe/Berlin"} for a in range(1, ATHLETES + 1)])
    events, bookings = [], []
    for e in range(EVENTS):
        first = T0 + 2 * (e // THERAPISTS) * SLOT
        athlete = e % ATHLETES + 1
        events.append(_event(e + 1, first + 2 * SLOT, e % 3 == 0, athlete_id=athlete))
        for k, kind in enumerate(("pre", "post")):
            at = first + k * SLOT
            bookings.append({
                "id": 2 * e + k + 1, "event_id": e + 1, "athlete_id": athlete,
                "therapist_id": e % THERAPISTS + 1, "kind": kind, "start": at,
                "end": at + timedelta(minutes=45), "block_end": at + timedelta(minutes=60),
                "status": "cancelled" if e % 25 == 0 else "confirmed",
                "uid": f"plans-{e}-{kind}", "sequence": 0, "notes": "", "created_at": T0,
                "updated_at": T0})
    _insert(conn, "event", events)
    _insert(conn, "booking", bookings)


def _working_days(conn: sa.Connection) -> None:
    """A day change a week per therapist over the two years (5,000): every other one
    closed, the others with one period."""
    days = [(t, (T0 + timedelta(weeks=w, days=t % 7)).date())
            for t in range(1, THERAPISTS + 1) for w in range(100)]
    _insert(conn, "working_day", [{"id": i + 1, "therapist_id": t, "day": day,
                                   "closed": i % 2 == 0} for i, (t, day) in enumerate(days)])
    _insert(conn, "working_day_period", [
        {"working_day_id": i + 1, "start_minute": 600, "end_minute": 840}
        for i in range(len(days)) if i % 2])


def _teams(conn: sa.Connection, first: int, count: int, members: int) -> None:
    """Teams first.. of `members` athletes each (athlete ATHLETE is in team 1), four
    events a team (ids after the athletes' events), every other one with travel."""
    numbers = range(first, first + count)
    _insert(conn, "team", [{"id": t, "name": f"Team {t}"} for t in numbers])
    _insert(conn, "team_member", [
        {"team_id": t, "athlete_id": (ATHLETE - 1 + (t - 1) * members + m) % ATHLETES + 1}
        for t in numbers for m in range(members)])
    _insert(conn, "event", [
        _event(EVENTS + 4 * t + k, NEAR + timedelta(days=7 * (t + k) - 30, hours=3), k % 2 == 0,
               team_id=t)
        for t in numbers for k in range(4)])


def _blocks(conn: sa.Connection, first: int, busy: int, time_off: int) -> None:
    """Busy intervals first..busy and periods of time off first..time_off."""
    _insert(conn, "busy_interval", [
        {"therapist_id": i % THERAPISTS + 1, "start": T0 + i * timedelta(minutes=103),
         "end": T0 + i * timedelta(minutes=103) + timedelta(minutes=90), "source": "upload"}
        for i in range(first, busy)])
    _insert(conn, "time_off", [
        {"therapist_id": i % THERAPISTS + 1, "start": T0 + i * timedelta(minutes=173),
         "end": T0 + i * timedelta(minutes=173) + timedelta(hours=9), "reason": ""}
        for i in range(first, time_off)])


def _fix_sequences(conn: sa.Connection) -> None:
    if conn.dialect.name == "postgresql":
        for table in ("therapist", "athlete", "event", "booking", "team", "working_day"):
            conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT coalesce(max(id), 1) FROM {table}))"))


# --- statistics ---------------------------------------------------------------------------

def _analyze(engine: sa.Engine) -> None:
    """Fresh statistics, as ANALYZE / autovacuum leave them. A SQLite connection reads them
    when it loads the schema: the pool starts anew."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def _optimize(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA optimize")
    engine.dispose()


# --- the reads, captured from real calls --------------------------------------------------

def _reads() -> list[tuple[str, Callable[[], Any]]]:
    """Every tuned read, called as the services call it (one and two spans; one and several
    therapists or athletes)."""
    from athlete_sched.db import guard
    from athlete_sched.db.queries import (
        booking_race,
        bookings,
        events,
        sites,
        therapists,
        working_days,
    )

    pre = Interval(NEAR, NEAR + timedelta(days=2))
    post = Interval(NEAR + timedelta(days=5), NEAR + timedelta(days=8))
    every = list(range(1, THERAPISTS + 1))
    event = ATHLETE  # one of the athlete's own events
    session = Interval(NEAR + timedelta(hours=3), NEAR + timedelta(hours=3, minutes=45))
    claim = guard.Claim(None, ATHLETE, event, "pre", 3, session, timedelta(minutes=15), NEAR)
    return [
        ("therapist schedules", lambda: therapists.schedules()),
        ("therapist schedule", lambda: therapists.schedules(3)),
        ("therapist schedules with day changes",
         lambda: therapists.schedules(near=[pre, post])),
        ("therapist schedule with day changes", lambda: therapists.schedules(3, [pre])),
        ("therapist schedules with loads",
         lambda: therapists.schedules_with_loads(None, [pre, post])),
        ("therapist schedule with loads", lambda: therapists.schedules_with_loads(3, [pre])),
        ("therapist schedules at sites with loads",
         lambda: therapists.schedules_with_loads(None, [pre, post], [1, 2])),
        ("day changes of one", lambda: working_days.near(3, [session])),
        ("blocked and booked", lambda: therapists.blocked_and_booked_in(every, [pre, post],
                                                                       [pre, post])),
        ("blocked and booked of one", lambda: therapists.blocked_and_booked_in([3], [pre],
                                                                              [pre])),
        ("sessions", lambda: bookings.athletes_sessions_in([ATHLETE], [pre, post])),
        ("sessions of three", lambda: bookings.athletes_sessions_in([ATHLETE, 8, 9], [pre])),
        ("event timings", lambda: events.athletes_event_timings_in([ATHLETE], [pre, post])),
        ("event timings of three", lambda: events.athletes_event_timings_in([ATHLETE, 8, 9],
                                                                           [pre])),
        ("events", lambda: events.athlete_events_in(ATHLETE, [pre, post])),
        ("bookings between", lambda: bookings.athlete_bookings_between(ATHLETE, pre)),
        ("confirmed booking", lambda: bookings.confirmed(ATHLETE, event, "pre")),
        ("guard", lambda: guard.refusal(claim)),
        ("lost race", lambda: booking_race.race_context(event, 3, "pre", session.start)),
        ("trips", lambda: sites.trips([ATHLETE], SINCE)),
        ("trips of three", lambda: sites.trips([ATHLETE, 8, 9], SINCE)),
    ]


def _captured(app, reads: list[tuple[str, Callable[[], Any]]] | None = None
              ) -> list[tuple[str, str, Any]]:
    """(read, statement, parameters) of every statement the reads (default: all) send."""
    from athlete_sched.extensions import db

    found: list[tuple[str, str, Any]] = []
    current = [""]

    def hook(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            found.append((current[0], statement, parameters))

    with app.app_context():
        engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", hook)
        try:
            for name, read in reads or _reads():
                current[0] = name
                read()
                db.session.rollback()
        finally:
            sa.event.remove(engine, "before_cursor_execute", hook)
    assert {name for name, _, _ in found} == {name for name, _ in reads or _reads()}
    return found


# --- plans --------------------------------------------------------------------------------

def _refusal_query(conn: sa.Connection) -> tuple[str, list[str], list[str]]:
    """PostgreSQL: the query booking_refusal() runs, as the database holds it, with its
    arguments as $1.., and the arguments' names (without p_) and types."""
    source, names, types = conn.exec_driver_sql(
        "SELECT prosrc, proargnames, string_to_array(oidvectortypes(proargtypes), ', ') "
        "FROM pg_proc WHERE proname = 'booking_refusal'").one()
    query = re.search(r"RETURN \((.*)\);\s*END", source, re.S).group(1)
    for i, name in sorted(enumerate(names), key=lambda item: -len(item[1])):
        query = re.sub(rf"\b{name}\b", f"${i + 1}", query)
    return query, [name.removeprefix("p_") for name in names], types


def _pg_plans(conn: sa.Connection, statement: str, parameters: dict[str, Any]
              ) -> list[tuple[str, str]]:
    """The custom and the generic plan of a statement, prepared as the server prepares it
    (psycopg's %(name)s as $n; booking_refusal's call as the query inside it)."""
    import psycopg

    if "booking_refusal(" in statement:
        sql, names, types = _refusal_query(conn)
        prepare = f"PREPARE plans_probe({', '.join(types)}) AS {sql}"
    else:
        names = []

        def number(match: re.Match) -> str:
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}"

        prepare = "PREPARE plans_probe AS " + re.sub(r"%\((\w+)\)s", number, statement)
    conn.exec_driver_sql(prepare)
    types = conn.exec_driver_sql("SELECT parameter_types::text[] FROM pg_prepared_statements "
                                 "WHERE name = 'plans_probe'").scalar_one()
    # EXECUTE takes no bound parameters: the values go in as literals.
    call = "EXECUTE plans_probe" + (
        f"({', '.join(f'%s::{kind}' for kind in types)})" if types else "")
    plans = []
    for mode in ("custom", "generic"):
        conn.exec_driver_sql(f"SET plan_cache_mode = force_{mode}_plan")
        with psycopg.ClientCursor(conn.connection.driver_connection) as cursor:
            cursor.execute(f"EXPLAIN {call}", [parameters[name] for name in names])
            plans.append((mode, "\n".join(row[0] for row in cursor.fetchall())))
    conn.exec_driver_sql("RESET plan_cache_mode")
    conn.exec_driver_sql("DEALLOCATE plans_probe")
    return plans


def _plans(conn: sa.Connection, statement: str, parameters: Any) -> list[tuple[str, str]]:
    """(mode, plan) of a statement: SQLite's one plan (mode ""), PostgreSQL's custom and
    generic plans."""
    if conn.dialect.name == "sqlite":
        return [("", "\n".join(row[3] for row in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + statement, parameters)))]
    return _pg_plans(conn, statement, parameters)


def _scans(dialect: str, statement: str, plan: str, rows: dict[str, int]) -> list[str]:
    """The big tables `plan` reads whole."""
    if dialect == "postgresql":
        scanned = re.findall(rf"Seq Scan on ({'|'.join(BIG_TABLES)})\b", plan)
    else:  # SQLite names a table by its alias in the statement
        names = {table: table for table in BIG_TABLES}
        for table, alias in re.findall(
                rf"\b(?:FROM|JOIN)\s+({'|'.join(BIG_TABLES)})\s+(?:AS\s+)?(\w+)", statement):
            if alias.upper() not in {"WHERE", "JOIN", "INDEXED", "CROSS", "ON", "UNION"}:
                names[alias] = table
        scanned = [names[name] for name in re.findall(
            r"^(?:SCAN (\w+)\b|SEARCH (\w+) USING .*INDEX \w+ \(ANY\()", plan, re.M)
            for name in name if name in names]
    return [table for table in scanned if rows[table] >= SCAN_MATTERS_FROM_ROWS]


def _check(app, stage: str) -> list[str]:
    """The reads' plans at this stage: what reads a big table whole, and a log of all."""
    from athlete_sched.extensions import db

    captured = _captured(app)
    with app.app_context():
        engine = db.engine
    dialect, failures, log = engine.dialect.name, [], [f"===== {stage}"]
    with engine.connect() as conn:
        rows = {t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()
                for t in BIG_TABLES}
        for name, statement, parameters in captured:
            for mode, plan in _plans(conn, statement, parameters):
                label = f"{stage}: {name}{f' ({mode})' if mode else ''}"
                log.append(f"-- {label}: {' '.join(statement.split())[:200]}\n{plan}")
                if scanned := _scans(dialect, statement, plan, rows):
                    failures.append(f"{label} reads {', '.join(scanned)} whole:\n{plan}")
        conn.rollback()
    print("\n".join(log))  # shown with the failure (or with -s)
    return failures


# --- the test -----------------------------------------------------------------------------

@pytest.fixture
def plans_app(database: str, app_config: dict[str, Any], tmp_path: Path) -> Iterator[Any]:
    """The app on a fresh migrated database of `database`'s backend."""
    from athlete_sched import create_app
    from athlete_sched.extensions import db

    url, admin = ((f"sqlite:///{tmp_path / 'plans.db'}", None)
                  if backend_of(database) == "sqlite" else _create_pg_database())
    try:
        migrate(url)
        app = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": url})
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    finally:
        if admin is not None:
            _drop_pg_database(url, admin)


@pytest.mark.parametrize("few", [0, 3], ids=["none-when-analyzed", "few-when-analyzed"])
def test_the_tuned_reads_use_their_indexes_with_and_without_statistics(plans_app, few):
    """`few`: the teams (of `few` athletes), busy intervals and periods of time off the
    clinic has when it is first analyzed; none is the case seen in production."""
    from athlete_sched.extensions import db

    with plans_app.app_context():
        engine = db.engine
    with engine.begin() as conn:
        _clinic(conn)
        if few:
            _teams(conn, first=1, count=1, members=few)
            _blocks(conn, 0, busy=few, time_off=few)
        _fix_sequences(conn)
    failures = _check(plans_app, "no statistics")
    _analyze(engine)
    failures += _check(plans_app, "after ANALYZE")
    if engine.dialect.name == "sqlite":
        _optimize(engine)
        failures += _check(plans_app, "after PRAGMA optimize")
    with engine.begin() as conn:
        _teams(conn, first=2 if few else 1, count=50, members=10)
        _blocks(conn, few, busy=BUSY, time_off=TIME_OFF)
        _fix_sequences(conn)
    failures += _check(plans_app, "teams, busy intervals and time off came after ANALYZE")
    _analyze(engine)
    failures += _check(plans_app, "all analyzed")
    assert not failures, "\n\n".join(failures)


# --- trips: a team's travel, through team_member first -------------------------------------

def _trips_plans(app, stage: str) -> list[tuple[str, str, str]]:
    """(label, statement, plan) of each statement trips() sends, for one and for three
    athletes; each call finds the first team's trips (every member's) with the athlete's
    own."""
    from athlete_sched.db.queries import sites
    from athlete_sched.extensions import db

    found: dict[str, Any] = {}
    reads = [(f"trips of {len(ids)}", lambda ids=ids: found.setdefault(
        len(ids), sites.trips(ids, SINCE))) for ids in ([ATHLETE], [ATHLETE, 8, 9])]
    captured = _captured(app, reads)
    team_events = {EVENTS + 4, EVENTS + 6}  # the first team's, with travel
    for ids in ([ATHLETE], [ATHLETE, 8, 9]):
        assert team_events <= {event for event, _ in found[len(ids)][ATHLETE]}
    with app.app_context():
        engine = db.engine
    with engine.connect() as conn:
        plans = [(f"{stage}: {name}{f' ({mode})' if mode else ''}", statement, plan)
                 for name, statement, parameters in captured
                 for mode, plan in _plans(conn, statement, parameters)]
        conn.rollback()
    return plans


def test_trips_read_team_member_first_then_each_teams_events(plans_app):
    """trips() reads an athlete's team events team_member first (by athlete), then event by
    team_id, one index range per membership, never event whole nor ix_event_team_id from
    end to end. A previous version joined event and team_member with only event's hint:
    after ANALYZE of a clinic without teams, SQLite read SCAN event USING INDEX
    ix_event_team_id (every team event of the clinic) and then team_member."""
    from athlete_sched.extensions import db

    with plans_app.app_context():
        engine = db.engine
    with engine.begin() as conn:
        _clinic(conn)
        _fix_sequences(conn)
    _analyze(engine)  # statistics of a clinic without teams: every team_id is NULL
    with engine.begin() as conn:
        _teams(conn, first=1, count=50, members=10)
        _fix_sequences(conn)
    plans = _trips_plans(plans_app, "teams came after ANALYZE")
    _analyze(engine)
    plans += _trips_plans(plans_app, "all analyzed")
    for label, statement, plan in plans:
        if engine.dialect.name == "sqlite":
            reads = [line for line in plan.splitlines() if line.startswith(("SCAN", "SEARCH"))]
            assert reads == [  # own events; then team_member, then event, in this order
                "SEARCH event USING INDEX ix_event_athlete_id (athlete_id=?)",
                "SEARCH team_member USING INDEX ix_team_member_athlete_id (athlete_id=?)",
                "SEARCH event USING INDEX ix_event_team_id (team_id=?)"], f"{label}\n{plan}"
            # the order is forced, not left to the statistics
            assert "team_member INDEXED BY ix_team_member_athlete_id CROSS JOIN event" in (
                statement), statement
        else:
            assert "Seq Scan on event" not in plan, f"{label}\n{plan}"
            assert re.search(r"Index Cond: \(team_id = team_member\.team_id\)", plan), (
                f"{label}\n{plan}")  # each team's events, probed per membership
            assert "ix_event_athlete_id" in plan and "ix_event_team_id" in plan, (
                f"{label}\n{plan}")
