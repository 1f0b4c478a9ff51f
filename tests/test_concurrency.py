"""No double booking, ever: simultaneous requests against a real multi-worker server.

A gunicorn server with 4 worker processes runs on the test database (SQLite and
PostgreSQL, via the `database` fixture); the data is created in-process through the API
of the `app` fixture (same database). Each racing request has its own thread and
`requests.Session`, and a `threading.Barrier` releases them together. After every race a
self-join over the booking table must find no overlap for any therapist (blocked range
`[start, block_end)`) or athlete (`[start, end)`), and no athlete with two confirmed
sessions of one kind for one event.

Then, in-process: a unit of work with two bookings racing a single booking must not
deadlock on PostgreSQL (a regression test, see services/unit_of_work.py); and below
the service, raw SQL that would double-book is refused by the database itself
(PostgreSQL exclusion constraints, SQLite triggers, a partial unique index).
"""

from __future__ import annotations

import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from threading import Barrier
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
import sqlalchemy as sa
from server import Server, serve  # tests/ is on sys.path (rootdir)

pytestmark = pytest.mark.slow
BARRIER_TIMEOUT_S = 30
REQUEST_TIMEOUT_S = 60
BERLIN = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True)
class Outcome:
    """One racing request: what was sent and what came back."""

    body: dict[str, Any]
    status: int
    answer: dict[str, Any]

    @property
    def code(self) -> str | None:
        return self.answer.get("error", {}).get("code")


@pytest.fixture(scope="module")
def server(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`gunicorn -w 4 wsgi:app` on the backend's test database, for this module."""
    yield from serve(database, tmp_path_factory.mktemp("gunicorn"))


# --- racing -------------------------------------------------------------------------------

def _post_together(url: str, token: str, body: dict[str, Any], barrier: Barrier) -> Outcome:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {token}"
        barrier.wait()
        response = session.post(f"{url}/api/v1/bookings", json=body, timeout=REQUEST_TIMEOUT_S)
    try:
        answer = response.json()
    except ValueError:
        answer = {"raw": response.text[:500]}
    return Outcome(body, response.status_code, answer)


def race(server: Server, token: str, bodies: list[dict[str, Any]]) -> list[Outcome]:
    """POST every body to /bookings at once, one thread and session each; in body order."""
    barrier = Barrier(len(bodies), timeout=BARRIER_TIMEOUT_S)
    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        futures = [pool.submit(_post_together, server.url, token, b, barrier) for b in bodies]
        outcomes = [f.result() for f in futures]
    unexpected = [o for o in outcomes if o.status not in (201, 409)]
    assert not unexpected, f"{unexpected[:3]}\n--- server log ---\n{server.log()[-4000:]}"
    return outcomes


# --- what the database holds --------------------------------------------------------------

OVERLAPS_SQL = """
SELECT 'therapist' AS who, a.id, b.id FROM {table} a JOIN {table} b
  ON a.therapist_id = b.therapist_id AND a.id < b.id
 AND a.status = 'confirmed' AND b.status = 'confirmed'
 AND a.start < b.block_end AND b.start < a.block_end
UNION ALL
SELECT 'athlete', a.id, b.id FROM {table} a JOIN {table} b
  ON a.athlete_id = b.athlete_id AND a.id < b.id
 AND a.status = 'confirmed' AND b.status = 'confirmed'
 AND a.start < b."end" AND b.start < a."end"
UNION ALL
SELECT 'same kind', MIN(id), MAX(id) FROM {table} WHERE status = 'confirmed'
 GROUP BY athlete_id, event_id, kind HAVING COUNT(*) > 1
"""


def overlaps(engine: sa.Engine, table: str = "booking") -> list[tuple[str, int, int]]:
    """Every pair of confirmed bookings that must not coexist (empty when all is well)."""
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(OVERLAPS_SQL.format(table=table)))]


def confirmed(app, **where: int) -> list[dict[str, Any]]:
    """Confirmed booking rows (as dicts with aware UTC instants), filtered by column."""
    from athlete_sched.db.models import Booking
    from athlete_sched.extensions import db

    with app.app_context():
        query = sa.select(Booking).where(Booking.status == "confirmed").filter_by(**where)
        rows = [{"id": b.id, "start": b.start, "end": b.end, "block_end": b.block_end,
                 "athlete_id": b.athlete_id} for b in db.session.scalars(query)]
        db.session.remove()
        return rows


def assert_no_overlaps(app) -> None:
    from athlete_sched.extensions import db

    with app.app_context():
        assert overlaps(db.engine) == []


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- a) one slot, fifty athletes ------------------------------------------------------------

def test_fifty_athletes_racing_for_one_slot_get_one_booking(
        app, api, server, make_therapist, make_athlete, make_event):
    therapist = make_therapist(buffer_minutes=10)
    events = [make_event(make_athlete()["id"]) for _ in range(50)]
    bodies = [{"event_id": e["id"], "therapist_id": therapist["id"], "kind": "pre",
               "start": "2027-05-12T08:00"} for e in events]

    outcomes = race(server, api.token, bodies)

    assert Counter(o.status for o in outcomes) == {201: 1, 409: 49}
    assert {o.code for o in outcomes if o.status == 409} == {"slot-taken"}
    winner = next(o.answer for o in outcomes if o.status == 201)
    assert winner["start"] == "2027-05-12T06:00:00Z"  # 08:00 Berlin (CEST)
    rows = confirmed(app, therapist_id=therapist["id"])
    assert [r["id"] for r in rows] == [winner["id"]]
    assert_no_overlaps(app)


# --- b) overlapping starts of different lengths ---------------------------------------------

DURATIONS = (5, 10, 15, 20, 30, 45, 60, 90, 120, 240, 480)
PERIOD_START, PERIOD_MINUTES = 8 * 60, 10 * 60  # one working period, 08:00-18:00 Berlin


def random_sessions(count: int, seed: int) -> list[tuple[int, int]]:
    """(minutes after 08:00, duration) on a 5-minute grid, each inside the period."""
    rng = random.Random(seed)
    found = []
    for _ in range(count):
        duration = rng.choice(DURATIONS)
        found.append((5 * rng.randrange((PERIOD_MINUTES - duration) // 5 + 1), duration))
    return found


def blocked(start: datetime, minutes: int, buffer: timedelta) -> tuple[datetime, datetime]:
    return start, start + timedelta(minutes=minutes) + buffer


def intersect(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def test_overlapping_sessions_of_different_lengths_never_share_a_therapist(
        app, api, server, make_therapist, make_athlete, make_event):
    buffer = timedelta(minutes=10)
    therapist = make_therapist(
        buffer_minutes=10, slot_step_minutes=5,
        working_hours=[{"day": "wed", "start": "08:00", "end": "18:00"}])
    sessions = random_sessions(40, seed=20270512)
    bodies = []
    for offset, minutes in sessions:
        event = make_event(make_athlete()["id"])
        clock = PERIOD_START + offset
        bodies.append({"event_id": event["id"], "therapist_id": therapist["id"], "kind": "pre",
                       "start": f"2027-05-12T{clock // 60:02d}:{clock % 60:02d}",
                       "duration_minutes": minutes})

    outcomes = race(server, api.token, bodies)

    winners = [o for o in outcomes if o.status == 201]
    losers = [o for o in outcomes if o.status == 409]
    assert winners and losers, "the seed must produce both overlaps and free sessions"
    assert {o.code for o in losers} == {"slot-taken"}
    won = [blocked(instant(o.answer["start"]), o.body["duration_minutes"], buffer)
           for o in winners]
    for i, a in enumerate(won):
        assert not any(intersect(a, b) for b in won[i + 1:]), f"winners overlap at {a}"
    for o in losers:
        start = datetime.fromisoformat(o.body["start"]).replace(tzinfo=BERLIN)
        mine = blocked(start, o.body["duration_minutes"], buffer)
        assert any(intersect(mine, w) for w in won), f"{o.body} was refused but was free"
    rows = confirmed(app, therapist_id=therapist["id"])
    assert sorted((r["id"], r["start"], r["block_end"]) for r in rows) == sorted(
        (o.answer["id"], *blocked(instant(o.answer["start"]), o.body["duration_minutes"],
                                  buffer)) for o in winners)
    assert_no_overlaps(app)


# --- c) one athlete, several therapists at the same time ------------------------------------

# Windows that all contain Thursday 2027-05-13: the post windows of races on Mon 10 to
# Wed 12 May (finish + 1 h to local 00:00 of E+4) and the pre windows of races on Sat 15
# and Sun 16 May (days D-3 and D-2). The last entry asks twice for the pre of the first
# pre race, which the one-pre-per-event rule refuses as well.
RACES = (("2027-05-10", "post"), ("2027-05-11", "post"), ("2027-05-12", "post"),
         ("2027-05-15", "pre"), ("2027-05-16", "pre"))


def athlete_requests(make_event, athlete_id: int, therapist_ids: list[int],
                     clock: str) -> list[dict[str, Any]]:
    """One request per race (and the repeated pre), each with its own therapist."""
    events = [(make_event(athlete_id, start=f"{day}T08:00", end=f"{day}T12:30"), kind)
              for day, kind in RACES]
    events.append(events[3])
    return [{"event_id": e["id"], "therapist_id": t, "kind": kind,
             "start": f"2027-05-13T{clock}"}
            for (e, kind), t in zip(events, therapist_ids, strict=True)]


def test_one_athlete_booking_several_therapists_at_once_gets_one(
        app, api, server, make_therapist, make_athlete, make_event):
    therapist_ids = [make_therapist()["id"] for _ in range(len(RACES) + 1)]
    athletes = [make_athlete()["id"] for _ in range(4)]
    bodies, whose = [], []
    for i, athlete_id in enumerate(athletes):  # athletes an hour apart: therapists stay free
        mine = athlete_requests(make_event, athlete_id, therapist_ids, f"{8 + i:02d}:00")
        bodies += mine
        whose += [athlete_id] * len(mine)

    outcomes = race(server, api.token, bodies)

    for athlete_id in athletes:
        mine = [o for o, a in zip(outcomes, whose, strict=True) if a == athlete_id]
        assert Counter(o.status for o in mine) == {201: 1, 409: len(RACES)}, mine
        assert {o.code for o in mine if o.status == 409} <= {"athlete-busy", "already-booked"}
        assert [r["id"] for r in confirmed(app, athlete_id=athlete_id)] == [
            o.answer["id"] for o in mine if o.status == 201]
    assert_no_overlaps(app)


# --- a unit of work with two bookings racing a single booking ------------------------------

def _book(ids: tuple[int, int, int], start: datetime, kind: str = "pre") -> None:
    """bookings.book in the current app context (no commit)."""
    from athlete_sched.db.models import Event, Therapist
    from athlete_sched.extensions import db
    from athlete_sched.services import bookings

    event_id, athlete_id, therapist_id = ids
    get = db.session.get
    bookings.book(get(Event, event_id), get(Therapist, therapist_id), athlete_id, kind, start)


def _book_and_commit(app, ids: tuple[int, int, int], start: datetime) -> str:
    """Book and commit in this thread's own app context: "booked" or the refusal's code."""
    from athlete_sched.core.errors import DomainError
    from athlete_sched.extensions import db

    with app.app_context():
        try:
            _book(ids, start)
            db.session.commit()
            return "booked"
        except DomainError as exc:
            db.session.rollback()
            return exc.code


def _wait_until_someone_waits(engine: sa.Engine, timeout: float = 10.0) -> None:
    """PostgreSQL: return once a session of this database waits for a lock (bounded)."""
    query = sa.text("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'")
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while conn.execute(query).scalar_one() == 0:
            assert time.monotonic() < deadline, "the other booking never queued"
            conn.rollback()
            time.sleep(0.01)  # polling another session's state; there is nothing to wait on


def test_two_booking_unit_of_work_racing_a_single_booking_does_not_deadlock(
        app, database, make_therapist, make_athlete, make_event):
    """Regression. A holds its 08:00 booking (uncommitted); B books 08:30 with the same
    therapist and, on PostgreSQL, used to insert its row and wait for A in the exclusion
    index; A then booked 09:00 (free as far as A can see), found B's row there and waited
    for B: a deadlock, so one of them failed with a 500 after deadlock_timeout. Now B
    queues behind A before writing anything, A commits both bookings, and B is refused
    cleanly (its 08:30 overlaps A's 08:00). SQLite serializes the two at BEGIN IMMEDIATE."""
    from athlete_sched.extensions import db

    therapist_id = make_therapist()["id"]  # 45-minute sessions, no buffer
    a1, a2, b = [(event["id"], event["athlete_id"], therapist_id)
                 for event in (make_event(make_athlete()["id"]) for _ in range(3))]
    with ThreadPoolExecutor(max_workers=1) as pool, app.app_context():
        _book(a1, datetime(2027, 5, 12, 8, 0, tzinfo=BERLIN))
        db.session.flush()
        other = pool.submit(_book_and_commit, app, b, datetime(2027, 5, 12, 8, 30, tzinfo=BERLIN))
        if database.startswith("postgresql"):
            _wait_until_someone_waits(db.engine)
        _book(a2, datetime(2027, 5, 12, 9, 0, tzinfo=BERLIN))
        db.session.commit()
        assert other.result(timeout=60) == "slot-taken"
    rows = confirmed(app, therapist_id=therapist_id)
    assert sorted(r["athlete_id"] for r in rows) == sorted([a1[1], a2[1]])
    assert_no_overlaps(app)


# --- the database refuses double bookings by itself -----------------------------------------

COLUMNS = ("event_id", "athlete_id", "therapist_id", "kind", "start", "end", "block_end",
           "status", "uid", "sequence", "notes", "created_at", "updated_at")


def insert_sql(table: str = "booking", *, with_id: bool = False) -> sa.TextClause:
    """A raw INSERT of one booking row, instants bound as UTC like the model stores them."""
    from athlete_sched.db.types import UTCDateTime

    names = ("id", *COLUMNS) if with_id else COLUMNS
    values = ", ".join(f":{n}" for n in names)
    columns = ", ".join(f'"{n}"' for n in names)
    statement = sa.text(f"INSERT INTO {table} ({columns}) VALUES ({values}) RETURNING id")
    return statement.bindparams(*(sa.bindparam(name, type_=UTCDateTime()) for name in (
        "start", "end", "block_end", "created_at", "updated_at")))


@dataclass(frozen=True)
class Row:
    """A booking row written by hand: whose, with whom, when (Berlin wall-clock, 12 May)."""

    athlete: int  # index into the test's athletes (each with its own event)
    therapist: int  # index into the test's therapists
    clock: str
    minutes: int = 45
    buffer: int = 10
    status: str = "confirmed"
    kind: str = "pre"

    def values(self, ids: dict[str, list[int]]) -> dict[str, Any]:
        start = datetime.fromisoformat(f"2027-05-12T{self.clock}:00+02:00")
        end = start + timedelta(minutes=self.minutes)
        return {"event_id": ids["events"][self.athlete],
                "athlete_id": ids["athletes"][self.athlete],
                "therapist_id": ids["therapists"][self.therapist], "kind": self.kind,
                "start": start, "end": end, "block_end": end + timedelta(minutes=self.buffer),
                "status": self.status, "uid": f"{uuid.uuid4()}@test", "sequence": 0,
                "notes": "", "created_at": start, "updated_at": start}


A0_T0_0800 = Row(0, 0, "08:00")  # blocks therapist 0 from 08:00 to 08:55 (45 min + 10)
CASES = [
    # (rows already there, the probe row, what refuses the probe: None = accepted)
    ([A0_T0_0800], Row(1, 0, "08:50"), "therapist_overlap"),
    ([A0_T0_0800], Row(1, 0, "07:10"), "therapist_overlap"),  # ends 07:55, buffer to 08:05
    ([A0_T0_0800], Row(1, 0, "08:55"), None),  # half-open: starting as the buffer ends
    ([A0_T0_0800], Row(1, 0, "07:05"), None),  # 07:05-07:50, buffer to 08:00
    ([A0_T0_0800], Row(0, 1, "08:30", kind="post"), "athlete_overlap"),
    ([A0_T0_0800], Row(0, 1, "10:00"), "one_confirmed_per_kind"),
    ([A0_T0_0800], Row(0, 1, "10:00", kind="post"), None),
    ([Row(0, 0, "08:00", status="cancelled")], Row(1, 0, "08:00"), None),
    ([Row(0, 0, "08:00", status="cancelled")], Row(0, 1, "08:00"), None),
    ([A0_T0_0800], Row(1, 0, "08:00", status="cancelled"), None),
]


def _insert(conn: sa.Connection, row: Row, ids: dict[str, list[int]]) -> int:
    return conn.execute(insert_sql(), row.values(ids)).scalar_one()


@pytest.fixture
def rows_ids(make_therapist, make_athlete, make_event) -> dict[str, list[int]]:
    athletes = [make_athlete()["id"] for _ in range(2)]
    return {"athletes": athletes,
            "events": [make_event(a)["id"] for a in athletes],
            "therapists": [make_therapist()["id"] for _ in range(2)]}


def _refusal(exc: sa.exc.IntegrityError) -> str:
    text = str(exc.orig)
    return "one_confirmed_per_kind" if "booking.athlete_id, booking.event_id" in text else text


@pytest.mark.parametrize(("first", "probe", "refused_by"), CASES)
def test_database_refuses_double_booking_rows(app, rows_ids, first, probe, refused_by):
    from athlete_sched.extensions import db

    with app.app_context():
        engine = db.engine
        with engine.begin() as conn:
            for row in first:
                _insert(conn, row, rows_ids)
        if refused_by is None:
            with engine.begin() as conn:
                _insert(conn, probe, rows_ids)
        else:
            with pytest.raises(sa.exc.IntegrityError) as refused, engine.begin() as conn:
                _insert(conn, probe, rows_ids)
            assert refused_by in _refusal(refused.value)
        with engine.connect() as conn:
            count = conn.execute(sa.text("SELECT COUNT(*) FROM booking")).scalar_one()
        assert count == len(first) + (refused_by is None)
        assert overlaps(engine) == []


def test_database_refuses_an_update_into_an_overlap(app, rows_ids):
    """Re-confirming a cancelled booking whose time is now taken is refused too."""
    from athlete_sched.extensions import db

    with app.app_context(), db.engine.begin() as conn:
        old = _insert(conn, Row(0, 0, "08:00", status="cancelled"), rows_ids)
        _insert(conn, Row(1, 0, "08:30"), rows_ids)
    with app.app_context():
        with pytest.raises(sa.exc.IntegrityError) as refused, db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE booking SET status = 'confirmed' WHERE id = :id"),
                         {"id": old})
        assert "therapist_overlap" in str(refused.value.orig)


# An UPDATE of each column the overlap and span guards read, into a refusal (SQLite's
# guards fire on an UPDATE OF those columns since 0017, so that the row_version stamp does
# not run them again: every one of them must still be guarded).
UPDATES = [
    pytest.param(Row(1, 1, "08:20"), "therapist_id = :t0", "therapist_overlap",
                 id="therapist_id"),
    pytest.param(Row(1, 0, "10:00"), "start = :a_start, \"end\" = :a_end, block_end = :a_block",
                 "therapist_overlap", id="start-end-block_end"),
    pytest.param(Row(1, 0, "10:00"), "block_end = :a_block_far", "ck_booking_span",
                 id="block_end-span"),
    pytest.param(Row(1, 1, "08:20"), "athlete_id = :a0", "athlete_overlap", id="athlete_id"),
]


@pytest.mark.parametrize(("second", "change", "refused_by"), UPDATES)
def test_database_refuses_an_update_of_each_guarded_column(app, rows_ids, second, change,
                                                           refused_by):
    from athlete_sched.db.types import UTCDateTime
    from athlete_sched.extensions import db

    first = A0_T0_0800.values(rows_ids)
    with app.app_context(), db.engine.begin() as conn:
        _insert(conn, A0_T0_0800, rows_ids)
        moved = _insert(conn, second, rows_ids)
    params = {"id": moved, "t0": rows_ids["therapists"][0], "a0": rows_ids["athletes"][0],
              "a_start": first["start"] + timedelta(minutes=20),
              "a_end": first["end"] + timedelta(minutes=20),
              "a_block": first["block_end"] + timedelta(minutes=20),
              "a_block_far": first["start"] + timedelta(days=2)}
    statement = sa.text(f"UPDATE booking SET {change} WHERE id = :id").bindparams(
        *(sa.bindparam(name, type_=UTCDateTime()) for name in params
          if name.startswith("a_") and re.search(rf":{name}\b", change)))
    with app.app_context():
        with pytest.raises(sa.exc.IntegrityError) as refused, db.engine.begin() as conn:
            conn.execute(statement, params)
        assert refused_by in str(refused.value.orig)
        with db.engine.begin() as conn:  # a column no guard reads: the stamp follows
            conn.execute(sa.text("UPDATE booking SET sequence = 1 WHERE id = :id"),
                         {"id": moved})
        assert overlaps(db.engine) == []


def test_overlap_query_finds_what_it_looks_for(app, rows_ids):
    """The self-join used above is not vacuous: on a copy of the table without the
    constraints it reports each kind of double booking."""
    from athlete_sched.extensions import db

    rows = [A0_T0_0800, Row(1, 0, "08:50"), Row(0, 1, "08:30"), Row(0, 1, "11:00")]
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("CREATE TEMPORARY TABLE booking_probe AS "
                             "SELECT * FROM booking WHERE 1 = 0"))
        for ident, row in enumerate(rows, start=1):
            conn.execute(insert_sql("booking_probe", with_id=True),
                         {"id": ident, **row.values(rows_ids)})
        found = [tuple(r) for r in conn.execute(sa.text(OVERLAPS_SQL.format(
            table="booking_probe")))]
        conn.execute(sa.text("DROP TABLE booking_probe"))
    # 1 and 2 share therapist 0 (2 starts inside 1's buffer); 1 and 3 share athlete 0;
    # 1, 3 and 4 are all athlete 0's pre for one event.
    assert sorted(found) == [("athlete", 1, 3), ("same kind", 1, 4), ("therapist", 1, 2)]
