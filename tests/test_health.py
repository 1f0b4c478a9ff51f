"""`GET /healthz`: ok on a migrated database; 503 with the failing check named when the
database does not answer, when its schema is behind the migrations, when an email has
waited too long or a calendar subscription is overdue; the checks read through their
indexes. On SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import _create_pg_database, _drop_pg_database, backend_of, migrate

UNREACHABLE = {
    "sqlite": "sqlite:////nonexistent-directory-for-athlete-sched/missing.db",
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:1/test",  # nothing listens on 1
}


def _health(client) -> tuple[int, dict[str, Any]]:
    response = client.get("/healthz", buffered=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.mimetype == "application/json"
    return response.status_code, response.get_json()


def test_a_migrated_database_is_healthy(client):
    status, body = _health(client)
    assert status == 200, body
    assert body["status"] == "ok"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok", "migrations": "ok", "mail_outbox": "ok", "calendar_sync": "ok",
        "jobs": "ok"}
    assert body["checks"]["migrations"]["revision"] == body["checks"]["migrations"]["head"]
    assert re.fullmatch(r"\d{4}", body["checks"]["migrations"]["head"])
    assert body["checks"]["mail_outbox"]["oldest_unsent_minutes"] is None


def test_it_needs_no_sign_in_and_answers_head(client):
    assert client.head("/healthz", buffered=True).status_code == 200


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_database_that_does_not_answer_is_503(backend):
    from athlete_sched import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": UNREACHABLE[backend], "TESTING": True})
    status, body = _health(app.test_client())
    assert status == 503
    assert body["status"] == "fail"
    assert body["checks"]["database"]["status"] == "fail"
    assert body["checks"]["database"]["error"] == "OperationalError"
    for name in ("migrations", "mail_outbox", "calendar_sync"):
        assert body["checks"][name]["status"] == "not-run"
    assert "127.0.0.1" not in str(body) and "nonexistent" not in str(body)  # no addresses


@pytest.fixture
def fresh_database(database: str, tmp_path: Path) -> Iterator[str]:
    """A new, empty database of `database`'s backend."""
    url, admin = ((f"sqlite:///{tmp_path / 'fresh.db'}", None)
                  if backend_of(database) == "sqlite" else _create_pg_database())
    try:
        yield url
    finally:
        if admin is not None:
            _drop_pg_database(url, admin)


def _health_of(url: str, app_config: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    from athlete_sched import create_app
    from athlete_sched.extensions import db

    app = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": url})
    try:
        return _health(app.test_client())
    finally:
        with app.app_context():
            db.engine.dispose()


def test_a_database_behind_the_migrations_is_503(fresh_database, app_config):
    from athlete_sched.db.queries.health import migration_heads

    migrate(fresh_database, "0014")
    status, body = _health_of(fresh_database, app_config)
    assert status == 503, body
    migrations = body["checks"]["migrations"]
    assert migrations["status"] == "fail"
    assert migrations["revision"] == "0014"
    assert migrations["head"] == ",".join(sorted(migration_heads()))
    assert migrations["state"].startswith("behind")
    assert body["checks"]["database"]["status"] == "ok"


def test_a_database_never_migrated_is_503(fresh_database, app_config):
    status, body = _health_of(fresh_database, app_config)
    assert status == 503
    assert body["checks"]["migrations"]["revision"] is None
    assert body["checks"]["migrations"]["state"].startswith("not migrated")


def test_the_heads_are_alembics():
    """The health check reads the migration files itself (no Alembic in a web worker):
    it must find what Alembic finds."""
    from alembic.script import ScriptDirectory

    from athlete_sched.db.queries.health import migration_graph, migration_heads
    from athlete_sched.extensions import MIGRATIONS

    scripts = ScriptDirectory(str(MIGRATIONS))
    assert migration_heads() == frozenset(scripts.get_heads())
    assert migration_graph().keys() == {s.revision for s in scripts.walk_revisions()}


# --- jobs ---------------------------------------------------------------------------------

def _mail(app, created_ago: timedelta, sent: bool = False) -> None:
    from athlete_sched.db.models import MailMessage
    from athlete_sched.extensions import db

    now = datetime.now(UTC).replace(microsecond=0)
    with app.app_context():
        db.session.add(MailMessage(recipient="mara@athletes.test", method="REQUEST",
                                   sequence=0, message="...", attempts=1,
                                   last_error="550 no such user" if not sent else None,
                                   created_at=now - created_ago,
                                   sent_at=now if sent else None))
        db.session.commit()


def clear_mail(app) -> None:
    from athlete_sched.extensions import db

    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM mail_message"))


def test_an_email_waiting_too_long_is_a_stuck_outbox(app, client):
    _mail(app, timedelta(hours=5), sent=True)  # sent: not waiting
    _mail(app, timedelta(minutes=5))  # waiting, but not for long
    status, body = _health(client)
    assert status == 200, body
    assert body["checks"]["mail_outbox"] == {"status": "ok", "oldest_unsent_minutes": 5,
                                             "limit_minutes": 30}
    clear_mail(app)
    _mail(app, timedelta(hours=2))  # messages are written in time order (ids grow)
    _mail(app, timedelta(minutes=1))
    status, body = _health(client)
    assert status == 503
    assert body["status"] == "fail"
    assert body["checks"]["mail_outbox"]["status"] == "fail"
    assert body["checks"]["mail_outbox"]["oldest_unsent_minutes"] >= 120
    assert "mara" not in str(body) and "550" not in str(body)  # no recipient, no error text
    assert body["checks"]["database"]["status"] == "ok"


def test_the_outbox_limit_is_configurable(app, client):
    app.config["HEALTH_MAIL_STUCK_MINUTES"] = 180
    _mail(app, timedelta(hours=2))
    assert _health(client)[0] == 200


def _subscription(app, therapist_id: int, due_ago: timedelta) -> None:
    from athlete_sched.db.models import BusyCalendar
    from athlete_sched.extensions import db

    now = datetime.now(UTC).replace(microsecond=0)
    with app.app_context():
        db.session.add(BusyCalendar(therapist_id=therapist_id, kind="url",
                                    url="https://calendar.example/secret-address.ics",
                                    interval_minutes=60, due_at=now - due_ago,
                                    created_at=now - due_ago))
        db.session.commit()


def test_an_overdue_calendar_subscription_is_a_stuck_sync(app, client, make_therapist):
    therapist = make_therapist()
    _subscription(app, therapist["id"], timedelta(minutes=10))  # cron has not come yet
    status, body = _health(client)
    assert status == 200, body
    assert body["checks"]["calendar_sync"]["most_overdue_minutes"] == 10
    _subscription(app, therapist["id"], timedelta(hours=3))
    status, body = _health(client)
    assert status == 503
    assert body["checks"]["calendar_sync"]["status"] == "fail"
    assert body["checks"]["calendar_sync"]["most_overdue_minutes"] >= 180
    assert "calendar.example" not in str(body)


# --- cheap: the job checks read through their indexes ----------------------------------

def test_the_job_checks_read_through_their_indexes(app, make_therapist):
    """With thousands of sent messages and subscriptions, each check is an index lookup,
    not a scan of its table (SQLite: SEARCH ... USING INDEX; PostgreSQL, analyzed: an
    index scan and no Seq Scan)."""
    from athlete_sched.db.models import BusyCalendar, MailMessage
    from athlete_sched.db.queries import health
    from athlete_sched.extensions import db

    therapist = make_therapist()
    statements: list[tuple[str, Any]] = []

    def hook(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    with app.app_context():
        engine = db.engine
        now = datetime.now(UTC)
        with engine.begin() as conn:
            conn.execute(MailMessage.__table__.insert(), [
                {"recipient": "x@y.test", "method": "REQUEST", "sequence": 0, "message": "",
                 "attempts": 1, "created_at": now - timedelta(minutes=i),
                 "sent_at": now - timedelta(minutes=i)} for i in range(3000)])
            conn.execute(BusyCalendar.__table__.insert(), [
                {"therapist_id": therapist["id"], "kind": "url", "url": "https://c.test/x",
                 "interval_minutes": 60, "busy_count": 0, "due_at": now + timedelta(minutes=i),
                 "created_at": now} for i in range(3000)])
            conn.execute(sa.text("ANALYZE"))
        sa.event.listen(engine, "before_cursor_execute", hook)
        try:
            health.oldest_unsent_mail()
            health.earliest_due_subscription()
        finally:
            sa.event.remove(engine, "before_cursor_execute", hook)
            db.session.rollback()
        assert len(statements) == 2
        with engine.connect() as conn:
            for statement, parameters in statements:
                if engine.dialect.name == "sqlite":
                    plan = " | ".join(row[3] for row in conn.exec_driver_sql(
                        "EXPLAIN QUERY PLAN " + statement, parameters))
                    assert re.search(r"SEARCH \w+ USING (COVERING )?INDEX ix_", plan), plan
                    assert "TEMP B-TREE" not in plan, plan
                else:
                    plan = " | ".join(row[0] for row in conn.exec_driver_sql(
                        "EXPLAIN " + statement, parameters))
                    assert "Index" in plan and "Seq Scan" not in plan, plan
                    assert "Sort" not in plan, plan
