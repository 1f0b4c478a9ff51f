"""The port the job queue plugs into (athlete_sched/jobs installs it on the app), so that
services can hand work to a worker without importing the layer above them:

- `soon(name)`: run the DueWork entry `name` (services/due_work.py) on a worker as soon as
  one is free (the outbox asks for "mail" after a commit that queued messages). If no
  queue is installed, or the queue cannot be reached, nothing is lost: the entry is
  periodic, and what it handles waits in the database for its next round.
- `last_round()`: when a worker last finished a periodic round (the health check).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from flask import current_app, has_app_context

log = logging.getLogger(__name__)
EXTENSION = "athlete_sched.jobs"


class Queue(Protocol):
    immediate: bool  # tasks run inline where they are enqueued (tests)

    def soon(self, name: str) -> None: ...

    def last_round(self) -> datetime | None: ...


def queue() -> Queue | None:
    return current_app.extensions.get(EXTENSION) if has_app_context() else None


def soon(name: str) -> None:
    """Ask a worker to run the entry `name` now; a queue out of reach is logged only."""
    found = queue()
    if found is None:
        return
    try:
        found.soon(name)
    except Exception:  # noqa: BLE001 - the periodic round picks the work up anyway
        log.exception("jobs: could not enqueue %s; its next periodic round will do it", name)
