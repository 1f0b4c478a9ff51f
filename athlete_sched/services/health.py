"""The health check behind `GET /healthz`: is this instance fit to serve, and are its
background jobs keeping up? Each check is ok or failed, with a few figures and nothing
personal (no address, no recipient, no message text):

- `database`: the database answers (`SELECT 1`), and how long it took;
- `migrations`: the database's migration revision is the migrations' head (behind: run
  `flask db upgrade`; anything else: the code and the schema do not belong together);
- `mail_outbox`: no invitation email has waited longer than HEALTH_MAIL_STUCK_MINUTES
  to be sent (the job "mail"; a failed send is tried again a lease later);
- `calendar_sync`: no subscribed busy calendar is overdue by more than
  HEALTH_SYNC_OVERDUE_MINUTES (the job "calendars", or `flask calendars sync`);
- `jobs`: a job round (a worker's, or `flask jobs run-due`'s) finished within
  HEALTH_JOBS_STUCK_MINUTES: the heartbeat in the job queue's storage (athlete_sched/jobs),
  so a stopped worker shows even while no mail waits. Read from the queue, not the
  database: it runs without one.

Without a database the other checks cannot run, nor the job checks on a schema that is not
the head's: they are reported as not run, and the whole fails.
Every read is an index lookup (db/queries/health.py), so probing often costs little.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app

from ..db.queries import health as queries
from . import background
from .common import stamp


@dataclass(frozen=True)
class Check:
    """One check: `ok` None means it could not run (no database)."""

    ok: bool | None
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Health:
    checks: dict[str, Check]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks.values())


NOT_RUN = Check(None, {"reason": "the database does not answer"})
NOT_MIGRATED = Check(None, {"reason": "the schema is not at the migrations' head"})


def health() -> Health:
    """Run every check (read only; the caller's unit rolls back)."""
    started = time.perf_counter()
    error = queries.unreachable()
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    if error is not None:
        return Health({"database": Check(False, {"error": error, "ms": elapsed_ms}),
                       "migrations": NOT_RUN, "mail_outbox": NOT_RUN,
                       "calendar_sync": NOT_RUN, "jobs": jobs(stamp())})
    database, schema = Check(True, {"ms": elapsed_ms}), migrations()
    if not schema.ok:  # the job tables may be missing or different: not read
        return Health({"database": database, "migrations": schema,
                       "mail_outbox": NOT_MIGRATED, "calendar_sync": NOT_MIGRATED,
                       "jobs": jobs(stamp())})
    config, at = current_app.config, stamp()
    return Health({
        "database": database,
        "migrations": schema,
        "mail_outbox": waiting(queries.oldest_unsent_mail(), at,
                               config["HEALTH_MAIL_STUCK_MINUTES"], "oldest_unsent_minutes"),
        "calendar_sync": waiting(queries.earliest_due_subscription(), at,
                                 config["HEALTH_SYNC_OVERDUE_MINUTES"],
                                 "most_overdue_minutes"),
        "jobs": jobs(at),
    })


def jobs(at: datetime) -> Check:
    """The last finished job round against HEALTH_JOBS_STUCK_MINUTES (ok without a queue
    to wait on: tasks that run where they are enqueued)."""
    queue = background.queue()
    if queue is None or queue.immediate:
        return Check(True, {"mode": "immediate"})
    try:
        last = queue.last_round()
    except Exception as exc:  # noqa: BLE001 - the queue's storage is out of reach
        return Check(False, {"error": type(exc).__name__})
    limit = current_app.config["HEALTH_JOBS_STUCK_MINUTES"]
    if last is None:
        return Check(False, {"last_round_minutes": None, "limit_minutes": limit,
                             "state": "no job round has finished yet: is a worker running?"})
    return waiting(last, at, limit, "last_round_minutes")


def migrations() -> Check:
    """The database's revision against the migrations' head."""
    current, heads = queries.schema_revisions(), queries.migration_heads()
    facts = {"revision": _one(current), "head": _one(heads)}
    if current == heads:
        return Check(True, facts)
    if not current:
        state = "not migrated: run flask db upgrade"
    elif current <= queries.migration_graph().keys():
        state = "behind: run flask db upgrade"
    else:
        state = "unknown revision: the database is newer than this code, or another branch"
    return Check(False, {**facts, "state": state})


def _one(revisions: frozenset[str]) -> str | None:
    return ",".join(sorted(revisions)) or None


def waiting(since: datetime | None, at: datetime, limit_minutes: int, name: str) -> Check:
    """A job queue is stuck when its oldest item has waited more than `limit_minutes`."""
    waited = max(at - since, timedelta(0)) if since is not None else None
    minutes = None if waited is None else int(waited.total_seconds() // 60)
    ok = waited is None or waited <= timedelta(minutes=limit_minutes)
    return Check(ok, {name: minutes, "limit_minutes": limit_minutes})
