"""The port the job queue plugs into (athlete_sched/jobs installs it on the app), so that
services can hand work to a worker without importing the layer above them:

- `soon(name)`: run the DueWork entry `name` (services/due_work.py) on a worker as soon as
  one is free (the outbox asks for "mail" after a commit that queued messages). If no
  queue is installed, or the queue cannot be reached, nothing is lost: the entry is
  periodic, and what it handles waits in the database for its next round.
- `last_round()`: when a worker last finished a periodic round (the health check).
- `alone(name, held)`: whether this worker may run a round of `name` that another worker
  is not running already (a hold in the queue's storage for at most `held`). Only a
  saving: the entries stay idempotent by the database, so two holders are harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Protocol

from flask import current_app, has_app_context

log = logging.getLogger(__name__)
EXTENSION = "athlete_sched.jobs"


class Queue(Protocol):
    immediate: bool  # tasks run inline where they are enqueued (tests)

    def soon(self, name: str) -> None: ...

    def last_round(self) -> datetime | None: ...

    def hold(self, name: str, held: timedelta) -> bool: ...

    def let_go(self, name: str) -> None: ...


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


@contextmanager
def alone(name: str, held: timedelta) -> Iterator[bool]:
    """True if no other worker is running a round of `name` now: this one then holds it
    (until the block ends, or `held` has passed if the worker dies in it); False if
    another holds it. True as well where tasks run inline (tests), with no queue, or
    with the queue out of reach: the round then runs as if alone."""
    found = queue()
    mine = True
    if found is not None and not found.immediate:
        try:
            mine = found.hold(name, held)
        except Exception:  # noqa: BLE001 - only a saving; the database keeps it correct
            log.exception("jobs: could not hold %s; running the round anyway", name)
            found = None
    try:
        yield mine
    finally:
        if mine and found is not None and not found.immediate:
            try:
                found.let_go(name)
            except Exception:  # noqa: BLE001 - the hold runs out by itself
                log.exception("jobs: could not let go of %s", name)
