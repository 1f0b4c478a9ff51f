"""How a request meets the database (services/unit_of_work.py), on both backends.

- PostgreSQL: a read-only request (GET, HEAD, OPTIONS) takes its connection in autocommit
  mode (no BEGIN / ROLLBACK, and psycopg keeps its prepared statements across requests);
  a write request, or a GET that restarts as a writer, runs in one transaction.
- SQLite: a read-only request reads in a deferred transaction, a writer begins with BEGIN
  IMMEDIATE (tests/test_concurrency.py covers the locking).
- PostgreSQL sessions run in UTC, so instants come back with `datetime.UTC` itself.
"""

from __future__ import annotations

from datetime import UTC

import pytest
from conftest import backend_of
from sqlalchemy import select

from athlete_sched.db.models import Event
from athlete_sched.extensions import db
from athlete_sched.services.unit_of_work import restart_as_writer


def _autocommit() -> bool:
    """Whether the session's connection runs each statement as its own transaction."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        return connection.connection.dbapi_connection.autocommit
    return not connection.connection.dbapi_connection.in_transaction


@pytest.mark.parametrize(("method", "expected"), [
    ("GET", True), ("HEAD", True), ("OPTIONS", True), ("POST", False), ("PATCH", False),
    ("DELETE", False)])
def test_postgresql_reads_outside_a_transaction_and_writes_inside_one(app, database, method,
                                                                       expected):
    with app.test_request_context("/", method=method):
        app.preprocess_request()
        db.session.execute(select(1))
        postgresql = backend_of(database) == "postgresql"
        assert _autocommit() is (expected and postgresql)
        db.session.remove()


def test_a_get_that_must_write_gets_a_transaction_after_all(app, database):
    with app.test_request_context("/", method="GET"):
        app.preprocess_request()
        db.session.execute(select(1))
        restart_as_writer()
        db.session.execute(select(1))
        assert _autocommit() is False
        db.session.remove()
    with app.test_request_context("/", method="GET"):  # the next request reads again
        app.preprocess_request()
        db.session.execute(select(1))
        assert _autocommit() is (backend_of(database) == "postgresql")
        db.session.remove()


def test_a_feed_created_by_a_get_is_kept(api, make_therapist):
    """GET .../feed creates the feed on first use (restart_as_writer): it is committed, so
    the second GET answers the same address."""
    therapist = make_therapist()
    first = api.get(f"/api/v1/therapists/{therapist['id']}/feed")
    second = api.get(f"/api/v1/therapists/{therapist['id']}/feed")
    assert first.status_code == second.status_code == 200
    assert first.get_json() == second.get_json()


def test_instants_come_back_in_utc_itself(app, make_athlete, make_event):
    event = make_event(make_athlete()["id"], start="2027-03-15T09:00", end="2027-03-15T12:00")
    with app.app_context():
        start, end = db.session.execute(
            select(Event.start, Event.end).where(Event.id == event["id"])).one()
        assert start.tzinfo is UTC and end.tzinfo is UTC
        assert start.hour == 8  # 09:00 in Berlin (UTC+1)
