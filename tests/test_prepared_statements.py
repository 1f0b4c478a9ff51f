"""PostgreSQL: a unit that wrote nothing ends without a ROLLBACK (db/engine.end_unwritten),
so the connection keeps the statements psycopg prepared on it; one that wrote is rolled
back as before. psycopg drops every prepared statement of a connection on a rollback, and
a refused booking attempt ends in one: under load, every connection lost its prepared
statements every few requests, and the proposals key was planned afresh each time."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from conftest import backend_of

from athlete_sched.db import engine as db_engine
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
    """end_unwritten commits only a transaction without a transaction id: a row inserted
    (or locked) is rolled back with the rest."""
    assert backend_of(database) == "postgresql"
    with app.app_context(), db.engine.connect() as connection:
        connection.execute(sa.text(
            "INSERT INTO site (name, timezone, address) VALUES ('Gone', 'UTC', '')"))
        db_engine.end_unwritten(connection)
        connection.rollback()
        connection.execute(sa.text(
            "SELECT id FROM schedule_version WHERE id = 1 FOR UPDATE")).all()
        db_engine.end_unwritten(connection)  # a row lock: a transaction id too
        connection.rollback()
        assert connection.execute(sa.text(
            "SELECT count(*) FROM site WHERE name = 'Gone'")).scalar_one() == 0
        connection.rollback()


def test_a_read_keeps_the_prepared_statements_and_a_rollback_drops_them(app, database):
    """The reason for end_unwritten, as psycopg behaves: a ROLLBACK drops the connection's
    prepared statements; a read-only transaction ended by end_unwritten keeps them. A
    failed transaction is left to the rollback."""
    assert backend_of(database) == "postgresql"
    with app.app_context(), db.engine.connect() as connection:
        def prepare() -> None:
            for _ in range(6):
                connection.execute(sa.text("SELECT n FROM schedule_version WHERE id = 1"))

        def count() -> int:
            return connection.exec_driver_sql(PREPARED).scalar_one()

        prepare()
        assert count() > 0
        connection.rollback()
        assert count() == 0  # psycopg: DEALLOCATE ALL with the ROLLBACK
        prepare()
        db_engine.end_unwritten(connection)
        connection.rollback()
        assert count() > 0
        with pytest.raises(sa.exc.ProgrammingError):
            connection.execute(sa.text("SELECT no_such_column FROM schedule_version"))
        db_engine.end_unwritten(connection)  # failed: only a rollback ends it
        connection.rollback()
        assert count() == 0
