"""The booking guard (athlete_sched/db/guard.py): one statement, every conflict rule.

Each rule is refused on its own (a table: one obstacle, one claim, the answer), the
buffer counts on both sides, touching intervals are allowed, cancelled bookings and the
booking being moved are ignored, and the events of the athlete's teams count. When
several rules refuse, the first in the contract's order wins. On PostgreSQL the check
takes the advisory locks first, so a check that waited for a concurrent writer sees its
booking. The data goes in through the API (bookings, time off, events, teams); busy
intervals, which have no API yet, through the model. Then migration 0003: occupied_end is
back-filled for stored events and kept current when an event moves. Both backends.
"""

from __future__ import annotations

import importlib.util
import itertools
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import NOW, _create_pg_database, _drop_pg_database, backend_of, migrate

BUFFER = timedelta(minutes=15)
# Wednesday 12 May 2027, Berlin summer time (UTC+2): the claim is 10:00-10:45 local.
CLAIM_AT = "2027-05-12T08:00Z"


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@dataclass
class World:
    """Two therapists (T with a 15-minute buffer, U with none), athletes A and B with the
    same race on Saturday 15 May, and A's second event on Friday 14 May (its pre window
    holds Wednesday too, so A can be busy then with another booking)."""

    api: Any
    ids: dict[str, int]

    def book(self, athlete: str, therapist: str, event: str, kind: str, start: str) -> int:
        body = {"event_id": self.ids[event], "kind": kind, "therapist_id": self.ids[therapist],
                "start": instant(start).strftime("%Y-%m-%dT%H:%M:%SZ")}
        response = self.api.post("/api/v1/bookings", body)
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["athlete_id"] == self.ids[athlete]
        return response.get_json()["id"]

    def cancel(self, booking_id: int) -> None:
        assert self.api.post(f"/api/v1/bookings/{booking_id}/cancel").status_code == 200

    def time_off(self, therapist: str, start: str, end: str) -> None:
        response = self.api.post(f"/api/v1/therapists/{self.ids[therapist]}/time-off",
                                 {"start": start, "end": end})
        assert response.status_code == 201, response.get_json()

    def event(self, owner: dict[str, int], **fields: Any) -> int:
        body = {"name": "Gravel Ride", "sport": "mtb", "timezone": "Europe/Berlin", **owner,
                **fields}
        response = self.api.post("/api/v1/events", body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    def team_event(self, members: list[str], start: str, end: str) -> int:
        team = self.api.post("/api/v1/teams", {"name": "Trail Crew"}).get_json()
        for name in members:
            added = self.api.post(f"/api/v1/teams/{team['id']}/members",
                                  {"athlete_id": self.ids[name]})
            assert added.status_code == 201, added.get_json()
        return self.event({"team_id": team["id"]}, start=start, end=end)


@pytest.fixture
def world(api, make_therapist, make_athlete, make_event) -> World:
    ids = {"T": make_therapist(buffer_minutes=15)["id"], "U": make_therapist()["id"],
           "A": make_athlete()["id"], "B": make_athlete()["id"]}
    ids["E"] = make_event(ids["A"])["id"]  # Sat 15 May 08:00-12:30 Berlin
    ids["F"] = make_event(ids["B"])["id"]
    ids["E2"] = make_event(ids["A"], start="2027-05-14T18:00", end="2027-05-14T20:00")["id"]
    return World(api, ids)


def claim(world: World, start: str = CLAIM_AT, minutes: int = 45, **changes: Any):
    """A's pre session for race E with T at `start`; `changes` replace fields."""
    from athlete_sched.core.intervals import Interval
    from athlete_sched.db.guard import Claim

    at = instant(start)
    ids = world.ids
    fields = {"booking_id": None, "athlete_id": ids["A"], "event_id": ids["E"], "kind": "pre",
              "therapist_id": ids["T"], "session": Interval(at, at + timedelta(minutes=minutes)),
              "buffer": BUFFER, "now": NOW}
    return Claim(**{**fields, **changes})


def refusal(app, the_claim) -> str | None:
    from athlete_sched.db import guard
    from athlete_sched.extensions import db

    with app.app_context():
        try:
            return guard.refusal(the_claim)
        finally:
            db.session.rollback()


def add_busy(app, world: World, therapist: str, start: str, end: str) -> None:
    from athlete_sched.db.models import BusyInterval
    from athlete_sched.extensions import db

    with app.app_context():
        db.session.add(BusyInterval(therapist_id=world.ids[therapist], start=instant(start),
                                    end=instant(end), source="upload"))
        db.session.commit()


# --- each rule on its own -------------------------------------------------------------------

Setup = Callable[[World], Any]
RULES: list[Any] = [
    pytest.param(lambda w: None, CLAIM_AT, None, id="nothing-stored-free"),
    # AlreadyBooked: a confirmed session of this kind for this event, at any time
    # (on Wednesday: A's Friday event closes Thursday to needling, services/season.py)
    pytest.param(lambda w: w.book("A", "U", "E", "pre", "2027-05-12T12:00Z"), CLAIM_AT,
                 "already-booked", id="same-kind-same-event"),
    pytest.param(lambda w: w.cancel(w.book("A", "U", "E", "pre", "2027-05-12T12:00Z")),
                 CLAIM_AT, None, id="same-kind-cancelled-ignored"),
    pytest.param(lambda w: w.book("A", "U", "E", "post", "2027-05-17T07:00Z"), CLAIM_AT,
                 None, id="other-kind-same-event-free"),
    # SlotTaken: the therapist's bookings, widened by the buffer on both sides
    pytest.param(lambda w: w.book("B", "T", "F", "pre", "2027-05-12T08:00Z"), CLAIM_AT,
                 "slot-taken", id="therapist-same-slot"),
    pytest.param(lambda w: w.book("B", "T", "F", "pre", "2027-05-12T07:01Z"), CLAIM_AT,
                 "slot-taken", id="therapist-ends-inside-buffer-before"),
    pytest.param(lambda w: w.book("B", "T", "F", "pre", "2027-05-12T07:00Z"), CLAIM_AT,
                 None, id="therapist-ends-one-buffer-before-touching"),
    pytest.param(lambda w: w.book("B", "T", "F", "pre", "2027-05-12T08:59Z"), CLAIM_AT,
                 "slot-taken", id="therapist-starts-inside-buffer-after"),
    pytest.param(lambda w: w.book("B", "T", "F", "pre", "2027-05-12T09:00Z"), CLAIM_AT,
                 None, id="therapist-starts-one-buffer-after-touching"),
    pytest.param(lambda w: w.cancel(w.book("B", "T", "F", "pre", "2027-05-12T08:00Z")),
                 CLAIM_AT, None, id="therapist-cancelled-ignored"),
    pytest.param(lambda w: w.book("B", "U", "F", "pre", "2027-05-12T08:00Z"), CLAIM_AT,
                 None, id="other-therapist-same-slot-free"),
    pytest.param(lambda w: w.time_off("T", "2027-05-12T07:30Z", "2027-05-12T08:30Z"),
                 CLAIM_AT, "slot-taken", id="time-off-overlaps"),
    pytest.param(lambda w: w.time_off("T", "2027-05-12T06:00Z", "2027-05-12T08:00Z"),
                 CLAIM_AT, None, id="time-off-ends-at-start-touching"),
    pytest.param(lambda w: w.time_off("T", "2027-05-12T08:45Z", "2027-05-12T10:00Z"),
                 CLAIM_AT, None, id="time-off-starts-at-end-touching-no-buffer"),
    pytest.param(lambda w: w.time_off("U", "2027-05-12T07:00Z", "2027-05-12T10:00Z"),
                 CLAIM_AT, None, id="other-therapists-time-off-free"),
    # AthleteBusy: the athlete's own sessions (no buffer) and events, teams' events included
    pytest.param(lambda w: w.book("A", "U", "E2", "pre", "2027-05-12T08:30Z"), CLAIM_AT,
                 "athlete-busy", id="athlete-booked-elsewhere"),
    pytest.param(lambda w: w.book("A", "U", "E2", "pre", "2027-05-12T07:15Z"), CLAIM_AT,
                 None, id="athlete-booking-ends-at-start-touching"),
    pytest.param(lambda w: w.cancel(w.book("A", "U", "E2", "pre", "2027-05-12T08:00Z")),
                 CLAIM_AT, None, id="athlete-cancelled-ignored"),
    pytest.param(lambda w: None, "2027-05-15T10:00Z", "athlete-busy",
                 id="athlete-racing-own-event"),
    pytest.param(lambda w: None, "2027-05-15T10:30Z", None,
                 id="athlete-own-event-finished-touching"),
    pytest.param(lambda w: w.event({"athlete_id": w.ids["A"]}, start="2027-05-20"),
                 "2027-05-20T21:15Z", "athlete-busy", id="all-day-event-to-local-midnight"),
    pytest.param(lambda w: w.event({"athlete_id": w.ids["A"]}, start="2027-05-20"),
                 "2027-05-20T22:00Z", None, id="all-day-event-over-at-local-midnight"),
    pytest.param(lambda w: w.event({"athlete_id": w.ids["B"]}, start="2027-05-20"),
                 "2027-05-20T21:15Z", None, id="other-athletes-event-free"),
    pytest.param(lambda w: w.team_event(["B", "A"], "2027-05-25T10:00", "2027-05-25T14:00"),
                 "2027-05-25T09:00Z", "athlete-busy", id="team-event-of-athletes-team"),
    pytest.param(lambda w: w.team_event(["B"], "2027-05-25T10:00", "2027-05-25T14:00"),
                 "2027-05-25T09:00Z", None, id="team-event-of-another-team-free"),
]


@pytest.mark.parametrize(("setup", "start", "expected"), RULES)
def test_each_rule_on_its_own(app, world: World, setup: Setup, start: str,
                              expected: str | None):
    setup(world)
    assert refusal(app, claim(world, start)) == expected


def test_busy_interval_refuses_and_touching_is_free(app, world: World):
    add_busy(app, world, "T", "2027-05-12T08:40Z", "2027-05-12T09:30Z")
    add_busy(app, world, "T", "2027-05-12T07:00Z", "2027-05-12T08:00Z")
    assert refusal(app, claim(world, "2027-05-12T08:00Z")) == "slot-taken"
    assert refusal(app, claim(world, "2027-05-12T09:30Z")) is None
    assert refusal(app, claim(world, "2027-05-12T07:15Z")) == "slot-taken"
    assert refusal(app, claim(world, "2027-05-12T10:00Z", therapist_id=world.ids["U"])) is None


def test_the_buffer_is_the_claims_therapists_on_both_sides(app, world: World):
    world.book("B", "U", "F", "pre", "2027-05-12T07:01Z")  # U keeps no buffer
    with_u = {"therapist_id": world.ids["U"]}
    assert refusal(app, claim(world, "2027-05-12T07:46Z", **with_u, buffer=BUFFER * 0)) is None
    assert refusal(app, claim(world, "2027-05-12T07:46Z", **with_u)) == "slot-taken"
    assert refusal(app, claim(world, "2027-05-12T06:02Z", **with_u)) == "slot-taken"
    assert refusal(app, claim(world, "2027-05-12T06:01Z", **with_u)) is None  # touching
    assert refusal(app, claim(world, "2027-05-12T06:02Z", **with_u, buffer=BUFFER * 0)) is None


def test_a_moving_booking_is_not_its_own_conflict(app, world: World):
    booking_id = world.book("A", "T", "E", "pre", CLAIM_AT)
    assert refusal(app, claim(world)) == "already-booked"
    assert refusal(app, claim(world, booking_id=booking_id)) is None
    assert refusal(app, claim(world, "2027-05-12T08:30Z", booking_id=booking_id)) is None


# --- the order of the errors ----------------------------------------------------------------

def test_already_booked_comes_first_then_slot_taken_then_athlete_busy(app, world: World):
    world.book("A", "T", "E", "pre", CLAIM_AT)  # all three rules refuse the same claim
    assert refusal(app, claim(world)) == "already-booked"
    # the therapist and the athlete are both busy (a post claim, so not the same kind)
    assert refusal(app, claim(world, kind="post")) == "slot-taken"
    # only the athlete is busy (another therapist)
    assert refusal(app, claim(world, kind="post", therapist_id=world.ids["U"])) == (
        "athlete-busy")


def test_check_raises_the_domain_error_with_its_data(app, world: World):
    from athlete_sched.core.errors import AlreadyBooked, AthleteBusy, SlotTaken
    from athlete_sched.db import guard
    from athlete_sched.extensions import db

    world.book("A", "T", "E", "pre", CLAIM_AT)
    cases = [(claim(world), AlreadyBooked, {"athlete_id": world.ids["A"],
                                            "event_id": world.ids["E"], "kind": "pre"}),
             (claim(world, kind="post"), SlotTaken, {"therapist_id": world.ids["T"],
                                                     "start": instant(CLAIM_AT)}),
             (claim(world, kind="post", therapist_id=world.ids["U"]), AthleteBusy,
              {"athlete_id": world.ids["A"], "start": instant(CLAIM_AT)})]
    with app.app_context():
        for the_claim, error, data in cases:
            with pytest.raises(error) as raised:
                guard.check(the_claim)
            assert raised.value.data == data
        assert guard.check(claim(world, "2027-05-13T08:00Z", kind="post",
                                 therapist_id=world.ids["U"])) is None
        db.session.rollback()


# --- locks and concurrency ------------------------------------------------------------------

class StatementLog:
    """The SQL statements an engine sends while active."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine, self.statements = engine, []

    def _seen(self, _conn, _cursor, statement: str, *_args: Any) -> None:
        self.statements.append(statement)

    def __enter__(self) -> StatementLog:
        sa.event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc: Any) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._seen)

    def count(self, text: str) -> int:
        return sum(text in statement for statement in self.statements)


def _book_service(world: World, athlete: str, event: str, start: str) -> None:
    from athlete_sched.db.models import Event, Therapist
    from athlete_sched.extensions import db
    from athlete_sched.services import bookings

    get, ids = db.session.get, world.ids
    bookings.book(get(Event, ids[event]), get(Therapist, ids["T"]), ids[athlete], "pre",
                  instant(start))


def test_one_statement_per_check_and_the_flush_does_not_lock_again(app, database,
                                                                   world: World):
    """The guard sends one statement (PostgreSQL: the fast refusal's read without locks,
    then, only if it found nothing, the locks and the check, all in one); the flush that
    inserts the booking does not take the locks again, in either transaction."""
    from athlete_sched.extensions import db

    with app.app_context(), StatementLog(db.engine) as log:
        _book_service(world, "A", "E", CLAIM_AT)
        db.session.commit()
        _book_service(world, "B", "F", "2027-05-12T09:00Z")  # a new transaction
        db.session.commit()
    guard_sql = "booking_refusal(" if backend_of(database) == "postgresql" else "THEN 'slot-"
    assert log.count(guard_sql) == 2
    assert log.count("pg_advisory_xact_lock") == 0
    # Reads of bookings besides the guard's: the season check's, after the guard (under its
    # locks), one a booking (services/season.py).
    season_reads = log.count("SELECT booking.event_id, booking.kind")
    assert season_reads == 2
    # The rest: the guard's statement (PostgreSQL: its fast read; the function's own reads
    # are not statements of the session), one per booking.
    assert log.count("FROM booking") - season_reads == 2


VERSIONS = Path(__file__).parents[1] / "migrations" / "versions"


def _migration(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"migration_{path.stem}", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    return migration


def _words(sql: str) -> str:
    return " ".join(sql.split())


def _function_sql(check_sql: str) -> str:
    return _words(re.sub(r":(\w+)", r"p_\1", check_sql))


def test_the_postgresql_function_runs_the_same_query_as_sqlite():
    """The newest migration defining booking_refusal() (0003, redefined by 0009, 0020)
    gives it guard.CHECK_SQL with `:name` as `p_name`; a redefinition's downgrade restores the
    definition before it."""
    from athlete_sched.db.guard import CHECK_SQL

    definitions = [migration for migration in map(_migration, sorted(VERSIONS.glob("*.py")))
                   if hasattr(migration, "BOOKING_REFUSAL")]
    assert [m.revision for m in definitions] == ["0003", "0009", "0020"]
    assert _function_sql(CHECK_SQL) in _words(definitions[-1].BOOKING_REFUSAL)
    for before, after in itertools.pairwise(definitions):
        assert _words(after.PREVIOUS_BOOKING_REFUSAL) == _words(before.BOOKING_REFUSAL).replace(
            "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")


def test_migration_0009_gives_booking_refusal_the_query_of_check_sql(scratch_database: str):
    """PostgreSQL: the function the database runs holds CHECK_SQL after the upgrade and
    0003's query after the downgrade; SQLite: nothing to do, up and down."""
    from athlete_sched.db.guard import CHECK_SQL

    def function_source() -> str | None:
        if backend_of(scratch_database) != "postgresql":
            return None
        engine = sa.create_engine(scratch_database)
        try:
            with engine.connect() as conn:
                return _words(conn.execute(sa.text(
                    "SELECT prosrc FROM pg_proc WHERE proname = 'booking_refusal'")).scalar_one())
        finally:
            engine.dispose()

    migrate(scratch_database)
    source = function_source()
    assert source is None or _function_sql(CHECK_SQL) in source
    migrate(scratch_database, "0019", down=True)  # 0020's downgrade: 0009's function again
    source = function_source()
    assert source is None or ("waitlist_entry" not in source
                              and "CROSS JOIN event e" in source)
    migrate(scratch_database, "0008", down=True)
    source = function_source()
    assert source is None or "JOIN event e ON e.team_id = m.team_id" in source
    migrate(scratch_database)


def _sqlite_write_lock_free(url: str) -> bool:
    """Whether another SQLite connection could begin writing right now (no waiting)."""
    other = sqlite3.connect(sa.engine.make_url(url).database, timeout=0,
                            isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


def test_the_check_runs_holding_the_writers_locks(app, database, world: World):
    """PostgreSQL: the advisory locks of the claim's therapist and athlete, and no others.
    SQLite: the database's write lock (BEGIN IMMEDIATE), so no other writer can start."""
    from athlete_sched.db import guard
    from athlete_sched.extensions import db
    from athlete_sched.services.unit_of_work import ATHLETE_LOCK_SPACE, THERAPIST_LOCK_SPACE

    postgres = backend_of(database) == "postgresql"
    with app.app_context():
        assert guard.refusal(claim(world)) is None
        if postgres:
            held = set(db.session.execute(sa.text(
                "SELECT classid::int, objid::int FROM pg_locks WHERE locktype = 'advisory' "
                "AND pid = pg_backend_pid() AND granted")).all())
        else:
            held = _sqlite_write_lock_free(database)
        db.session.rollback()
    if postgres:
        assert held == {(THERAPIST_LOCK_SPACE, world.ids["T"]),
                        (ATHLETE_LOCK_SPACE, world.ids["A"])}
    else:
        assert held is False
        assert _sqlite_write_lock_free(database)  # released with the transaction


def _wait_for_a_lock_wait(engine: sa.Engine, deadline_s: float = 10.0) -> None:
    """PostgreSQL: return once a session of this database waits for a lock."""
    query = sa.text("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'")
    deadline = time.monotonic() + deadline_s
    with engine.connect() as conn:
        while not conn.execute(query).scalar():
            assert time.monotonic() < deadline, "the second check never queued"
            time.sleep(0.01)
            conn.rollback()


def test_a_check_that_waited_for_a_writer_sees_its_booking(app, database, world: World):
    """B's booking of T at 10:00 is written but not committed when A's check for the same
    slot starts: the check queues (PostgreSQL: advisory lock; SQLite: BEGIN IMMEDIATE) and,
    once B commits, reads B's booking and refuses."""
    from athlete_sched.extensions import db

    answers: list[str | None] = []
    with app.app_context():
        _book_service(world, "B", "F", CLAIM_AT)
        checker = threading.Thread(target=lambda: answers.append(refusal(app, claim(world))))
        checker.start()
        if backend_of(database) == "postgresql":
            _wait_for_a_lock_wait(db.engine)
        db.session.commit()
    checker.join(timeout=30)
    assert answers == ["slot-taken"]


# --- event.occupied_end: migration 0003 and event changes -----------------------------------

def test_moving_an_event_moves_the_time_it_occupies(app, api, world: World):
    event = world.event({"athlete_id": world.ids["A"]}, start="2027-06-05T09:00",
                        end="2027-06-05T13:00")
    assert refusal(app, claim(world, "2027-06-05T10:00Z")) == "athlete-busy"
    moved = api.patch(f"/api/v1/events/{event}", {"start": "2027-06-06T09:00",
                                                   "end": "2027-06-06T13:00"})
    assert moved.status_code == 200, moved.get_json()
    assert refusal(app, claim(world, "2027-06-05T10:00Z")) is None
    assert refusal(app, claim(world, "2027-06-06T10:00Z")) == "athlete-busy"
    api.patch(f"/api/v1/events/{event}", {"end": None})  # no finish: occupied to midnight
    assert refusal(app, claim(world, "2027-06-06T21:15Z")) == "athlete-busy"
    assert refusal(app, claim(world, "2027-06-06T22:00Z")) is None


@pytest.fixture
def scratch_database(database: str, tmp_path: Path) -> Iterator[str]:
    """An empty database on the same backend, for migrating up and down."""
    if backend_of(database) == "sqlite":
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    url, admin = _create_pg_database()
    try:
        yield url
    finally:
        _drop_pg_database(url, admin)


# (timezone, start, start_is_date, end, end_is_date) as stored -> occupied_end
STORED_EVENTS = [
    # finish known: the finish
    (("Europe/Berlin", "2027-05-15T06:00Z", False, "2027-05-15T10:30Z", False),
     "2027-05-15T10:30Z"),
    # all-day, one day: local midnight after it (Berlin summer time)
    (("Europe/Berlin", "2027-05-19T22:00Z", True, None, False), "2027-05-20T22:00Z"),
    # a stage race over three local days in Denver, ending on a date
    (("America/Denver", "2027-06-01T06:00Z", True, "2027-06-03T06:00Z", True),
     "2027-06-04T06:00Z"),
    # a start time without an end, on the day summer time ends: midnight is UTC+1 again
    (("Europe/Berlin", "2027-10-31T08:00Z", False, None, False), "2027-10-31T23:00Z"),
]


def _insert_old_events(engine: sa.Engine) -> None:
    sqlite = engine.dialect.name == "sqlite"  # stores UTC text, as the UTCDateTime type does
    event = sa.table("event", *(sa.column(c) for c in (
        "id", "athlete_id", "name", "sport", "timezone", "start", "start_is_date", "end",
        "end_is_date", "priority", "created_at")))

    def value(text: str | None):
        if text is None:
            return None
        return instant(text).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else instant(text)

    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO athlete (id, name, email, sport, timezone) VALUES "
                             "(1, 'Mara', 'mara@athletes.test', 'running', 'Europe/Berlin')"))
        for i, ((tz, start, start_is_date, end, end_is_date), _) in enumerate(STORED_EVENTS):
            conn.execute(event.insert().values(
                id=i + 1, athlete_id=1, name="Race", sport="running", timezone=tz,
                start=value(start), start_is_date=start_is_date, end=value(end),
                end_is_date=end_is_date, priority="A", created_at=value("2027-01-01T00:00Z")))


def test_migration_0003_fills_occupied_end_and_requires_it(scratch_database: str):
    from athlete_sched.db.types import UTCDateTime

    migrate(scratch_database, "0002")
    engine = sa.create_engine(scratch_database)
    try:
        _insert_old_events(engine)
        migrate(scratch_database, "0003")
        query = sa.text("SELECT occupied_end FROM event ORDER BY id").columns(
            occupied_end=UTCDateTime)
        with engine.connect() as conn:
            assert list(conn.execute(query).scalars()) == [
                instant(expected) for _, expected in STORED_EVENTS]
        with pytest.raises(sa.exc.IntegrityError, match="occupied_end"), engine.begin() as conn:
            conn.execute(sa.text("UPDATE event SET occupied_end = NULL WHERE id = 1"))
        migrate(scratch_database, "0002", down=True)
        with engine.connect() as conn:
            assert "occupied_end" not in {c["name"] for c in sa.inspect(conn).get_columns("event")}
        migrate(scratch_database, "0003")  # and up again
    finally:
        engine.dispose()


def test_migration_0008_splits_busy_intervals_longer_than_7_days_and_refuses_them(
        scratch_database: str):
    """Rows already longer than 7 days become pieces of at most 7 days that touch (same
    therapist, source and calendar); shorter rows are left alone; then the database refuses
    a longer row; down and up again."""
    from athlete_sched.db.types import UTCDateTime

    migrate(scratch_database, "0007")
    engine = sa.create_engine(scratch_database)
    sqlite = engine.dialect.name == "sqlite"

    def value(text: str):
        return instant(text).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else instant(text)

    busy = sa.table("busy_interval", *(sa.column(c) for c in (
        "therapist_id", "start", "end", "source")))
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO therapist (id, name, email, timezone, session_minutes, "
                "buffer_minutes, slot_step_minutes) VALUES "
                "(1, 'Ana', 'ana@clinic.test', 'Europe/Berlin', 45, 0, 15)"))
            conn.execute(busy.insert(), [
                {"therapist_id": 1, "start": value("2027-02-01T00:00Z"),
                 "end": value("2027-02-19T12:00Z"), "source": "upload"},
                {"therapist_id": 1, "start": value("2027-03-01T00:00Z"),
                 "end": value("2027-03-08T00:00Z"), "source": "url"}])
        migrate(scratch_database, "0008")
        query = sa.text('SELECT start, "end", source FROM busy_interval ORDER BY start'
                        ).columns(start=UTCDateTime, end=UTCDateTime)
        with engine.connect() as conn:
            assert [tuple(row) for row in conn.execute(query)] == [
                (instant("2027-02-01T00:00Z"), instant("2027-02-08T00:00Z"), "upload"),
                (instant("2027-02-08T00:00Z"), instant("2027-02-15T00:00Z"), "upload"),
                (instant("2027-02-15T00:00Z"), instant("2027-02-19T12:00Z"), "upload"),
                (instant("2027-03-01T00:00Z"), instant("2027-03-08T00:00Z"), "url")]
        with pytest.raises(sa.exc.IntegrityError, match="ck_busy_interval_span"), \
                engine.begin() as conn:
            conn.execute(busy.insert().values(
                therapist_id=1, start=value("2027-04-01T00:00Z"),
                end=value("2027-04-08T00:00:01Z"), source="upload"))
        migrate(scratch_database, "0007", down=True)
        with engine.begin() as conn:  # no limit below 0008
            conn.execute(busy.insert().values(
                therapist_id=1, start=value("2027-04-01T00:00Z"),
                end=value("2027-04-20T00:00Z"), source="upload"))
        migrate(scratch_database, "0008")  # and up again: the new long row is split
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM busy_interval")).scalar() == 7
    finally:
        engine.dispose()
