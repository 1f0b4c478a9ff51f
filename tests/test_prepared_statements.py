"""PostgreSQL: a transaction rolled back that wrote nothing is committed instead (the
engine's "rollback" hook, db/engine.end_unwritten), so the connection keeps the statements
psycopg prepared on it; one that wrote is rolled back as before. psycopg drops every
prepared statement of a connection on a rollback, and a refused booking attempt ends in
one: under load, every connection lost its prepared statements every few requests, and
the proposals key was planned afresh each time."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from conftest import backend_of

from athlete_sched.extensions import db

pytestmark = pytest.mark.parametrize("database", ["postgresql"], indirect=True)

SLOT = "2027-05-12T09:00"  # Wed, in the pre window of a race on Sat 15 May 2027 (Berlin)
PREPARED = "SELECT count(*) FROM pg_prepared_statements"


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """One connection in the pool: every request below runs on the same."""
    return {**app_config, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 1, "max_overflow": 0}}


def prepared(app) -> int:
    """The statements prepared on the pool's one connection (read in autocommit mode, so
    that reading ends no transaction)."""
    with app.app_context(), db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        return connection.exec_driver_sql(PREPARED).scalar_one()


def test_refused_booking_attempts_keep_the_prepared_statements(app, api, database,
                                                                make_therapist,
                                                                make_athlete, make_event):
    """B's attempts at A's slot, at the therapist's wall-clock time, take the full path
    (a write transaction, the guard) and are refused: each ends its transaction, and the
    statements it ran six times are prepared and still there afterwards."""
    assert backend_of(database) == "postgresql"
    t = make_therapist()["id"]
    a, b = make_athlete()["id"], make_athlete()["id"]
    e, f = make_event(a)["id"], make_event(b)["id"]
    won = api.post("/api/v1/bookings", {"event_id": e, "therapist_id": t, "kind": "pre",
                                        "start": SLOT})
    assert won.status_code == 201, won.get_json()
    for _ in range(6):  # psycopg prepares a statement on its sixth run
        lost = api.post("/api/v1/bookings", {"event_id": f, "therapist_id": t,
                                             "kind": "pre", "start": SLOT})
        assert (lost.status_code, lost.get_json()["error"]["code"]) == (409, "slot-taken")
    assert prepared(app) > 0
    listed = api.get(f"/api/v1/bookings?therapist_id={t}").get_json()["items"]
    assert [x["event_id"] for x in listed] == [e]


def test_a_transaction_that_wrote_is_rolled_back(app, database):
    """The hook commits only a transaction without a transaction id: a row inserted (or
    locked) is rolled back with the rest."""
    assert backend_of(database) == "postgresql"
    with app.app_context(), db.engine.connect() as connection:
        connection.execute(sa.text(
            "INSERT INTO site (name, timezone, address) VALUES ('Gone', 'UTC', '')"))
        connection.rollback()
        connection.execute(sa.text(
            "SELECT id FROM schedule_version WHERE id = 1 FOR UPDATE")).all()
        connection.rollback()  # a row lock: a transaction id too
        assert connection.execute(sa.text(
            "SELECT count(*) FROM site WHERE name = 'Gone'")).scalar_one() == 0
        connection.rollback()


def prepare(connection: sa.Connection) -> int:
    """Run one statement six times (psycopg prepares it on its sixth run); the statements
    prepared on the connection then."""
    for _ in range(6):
        connection.execute(sa.text("SELECT n FROM schedule_version WHERE id = 1"))
    return connection.exec_driver_sql(PREPARED).scalar_one()


def test_a_read_rolled_back_keeps_the_prepared_statements(app, database):
    """The app's engine: a read-only transaction rolled back keeps them; without the hook
    (a plain engine), the ROLLBACK drops them (psycopg: DEALLOCATE ALL). A failed
    transaction is rolled back as ever."""
    assert backend_of(database) == "postgresql"
    with app.app_context(), db.engine.connect() as connection:
        assert prepare(connection) > 0
        connection.rollback()
        assert connection.exec_driver_sql(PREPARED).scalar_one() > 0
        with pytest.raises(sa.exc.ProgrammingError):
            connection.execute(sa.text("SELECT no_such_column FROM schedule_version"))
        connection.rollback()
        assert connection.execute(sa.text("SELECT 1")).scalar_one() == 1
        connection.rollback()
    plain = sa.create_engine(database)
    try:
        with plain.connect() as connection:
            assert prepare(connection) > 0
            connection.rollback()
            assert connection.exec_driver_sql(PREPARED).scalar_one() == 0
            connection.rollback()
    finally:
        plain.dispose()
