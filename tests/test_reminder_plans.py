"""Finding due reminders and check-ins stays an index range read however big the clinic
(db/queries/reminders.py), asserted as tests/test_query_plans.py asserts the proposals'
reads: the statements are captured from real calls and explained on both backends (SQLite
EXPLAIN QUERY PLAN; PostgreSQL custom and generic plans), before any statistics, after
ANALYZE (and PRAGMA optimize), and after sent_notice filled up once analyzed empty. The
clinic is test_query_plans' (24,000 bookings over two years); bench/reminder_clinic.py
prints the same plan for a clinic of any size (1,000,000 bookings: README, Performance).

The sessions are read through ix_booking_block_end by a range of block_end (and start in
the index), never booking whole; the notices already sent through their unique key."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from test_query_plans import (  # noqa: F401  (plans_app: a fixture)
    BIG_TABLES,
    NEAR,
    _analyze,
    _captured,
    _clinic,
    _fix_sequences,
    _optimize,
    _plans,
    _scans,
    plans_app,
)

NOTICES = 24_000


def _reads() -> list[tuple[str, Any]]:
    from athlete_sched.core import reminders as rules
    from athlete_sched.db.queries import reminders as queries

    now = NEAR + timedelta(hours=7)
    keys = [rules.notice_key(b, now) for b in range(1, 250)]  # three statements
    return [
        ("reminders", lambda: queries.sessions_starting(rules.reminder_starts(now, 9))),
        ("check-ins", lambda: queries.sessions_starting(rules.check_in_starts(now, 9))),
        ("already sent", lambda: queries.already_sent("reminder", keys)),
    ]


def _sent_notices(conn: sa.Connection, count: int) -> None:
    from athlete_sched.extensions import db

    table = db.metadata.tables["sent_notice"]
    rows = [{"kind": "reminder", "key": f"booking:{i}:20260101T000000Z", "booking_id": i,
             "created_at": NEAR} for i in range(1, count + 1)]
    for i in range(0, len(rows), 5_000):
        conn.execute(table.insert(), rows[i:i + 5_000])


def _check(app, stage: str) -> list[str]:
    from athlete_sched.extensions import db

    captured = _captured(app, _reads())
    with app.app_context():
        engine = db.engine
    dialect, failures, log = engine.dialect.name, [], [f"===== {stage}"]
    with engine.connect() as conn:
        rows = {t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()
                for t in BIG_TABLES}
        notices = conn.exec_driver_sql("SELECT count(*) FROM sent_notice").scalar_one()
        for name, statement, parameters in captured:
            for mode, plan in _plans(conn, statement, parameters):
                label = f"{stage}: {name}{f' ({mode})' if mode else ''}"
                log.append(f"-- {label}: {' '.join(statement.split())[:200]}\n{plan}")
                if scanned := _scans(dialect, statement, plan, rows):
                    failures.append(f"{label} reads {', '.join(scanned)} whole:\n{plan}")
                if name == "already sent":
                    whole = (re.search(r"Seq Scan on sent_notice", plan) if dialect ==
                             "postgresql" else re.search(r"^SCAN sent_notice", plan, re.M))
                    if whole and notices >= 2_000:
                        failures.append(f"{label} reads sent_notice whole:\n{plan}")
                elif not _range_read(dialect, plan):
                    failures.append(f"{label} is no range read of ix_booking_block_end:\n"
                                    f"{plan}")
        conn.rollback()
    print("\n".join(log))  # shown with the failure (or with -s)
    return failures


def _range_read(dialect: str, plan: str) -> bool:
    """booking read by a range of block_end in ix_booking_block_end."""
    if dialect == "sqlite":
        return "SEARCH booking USING INDEX ix_booking_block_end (block_end>? AND block_end<?)" \
            in plan
    return bool(re.search(r"Index (?:Only )?Scan using ix_booking_block_end on booking", plan)
                or re.search(r"Bitmap Index Scan on ix_booking_block_end", plan)) and bool(
        re.search(r"Index Cond: \(\(block_end > .*block_end < ", plan))


def test_finding_due_reminders_is_an_index_range_read_with_and_without_statistics(
        plans_app):  # noqa: F811 - the fixture imported above
    from athlete_sched.extensions import db

    with plans_app.app_context():
        engine = db.engine
    with engine.begin() as conn:
        _clinic(conn)
        _fix_sequences(conn)
    failures = _check(plans_app, "no statistics")
    _analyze(engine)
    failures += _check(plans_app, "after ANALYZE")
    if engine.dialect.name == "sqlite":
        _optimize(engine)
        failures += _check(plans_app, "after PRAGMA optimize")
    with engine.begin() as conn:
        _sent_notices(conn, NOTICES)
    failures += _check(plans_app, "sent_notice filled after ANALYZE")
    _analyze(engine)
    failures += _check(plans_app, "all analyzed")
    assert not failures, "\n\n".join(failures)
