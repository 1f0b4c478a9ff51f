"""The clinic's background work as its admin sees it (the page "Background work"): where
the job queue runs, when a worker last finished a round, each job and how often it runs,
the mail waiting to be sent and the sends that failed; and "run the jobs now", which
hands every job to a worker at once (services/background.soon) instead of at its next
periodic round. Admins only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app

from ..db.queries import outbox
from . import background, due_work, unit_of_work
from .access import Caller, require_role
from .common import stamp  # the heartbeat is written with the real clock

FAILURES_SHOWN = 20


@dataclass(frozen=True)
class Job:
    name: str
    every_minutes: int


@dataclass(frozen=True)
class Status:
    store: str  # where the queue is kept
    inline: bool  # tasks run where they are enqueued (JOBS_IMMEDIATE): no worker needed
    last_round: datetime | None
    last_round_minutes: int | None  # how long ago
    jobs: list[Job]
    unsent: int
    failed: int
    failures: list[outbox.Failure]
    mail_on: bool


def status_for(caller: Caller) -> Status:
    require_role(caller, ("admin",))
    queue, config = background.queue(), current_app.config
    unsent, failed = outbox.waiting()
    last = _last_round(queue)
    return Status(
        store="Redis (JOBS_URL)" if config.get("JOBS_URL") else
        "a SQLite file in the instance folder",
        inline=bool(queue is not None and queue.immediate),
        last_round=last, last_round_minutes=None if last is None else
        max(0, int((stamp() - last).total_seconds() // 60)),
        jobs=[Job(work.name, max(1, round(work.every.total_seconds() / 60)))
              for work in due_work.schedule()],
        unsent=unsent, failed=failed, failures=outbox.failures(FAILURES_SHOWN),
        mail_on=bool(config.get("MAIL_SERVER")))


def _last_round(queue: background.Queue | None) -> datetime | None:
    """When a worker last finished a round (None: never, no queue, or out of reach)."""
    if queue is None:
        return None
    try:
        return queue.last_round()
    except Exception:  # noqa: BLE001 - the page says "never" and /healthz says why
        return None


def run_now_for(caller: Caller) -> list[str]:
    """Hand every job to a worker once the caller's unit has committed (a job runs units of
    its own, which must not wait for the caller's), in schedule order; their names."""
    require_role(caller, ("admin",))
    names = [work.name for work in due_work.schedule()]
    for name in names:
        unit_of_work.after_commit(lambda name=name: background.soon(name))
    return names
