"""Huey for the app: which storage, the tasks, and the heartbeat the health check reads.

- JOBS_URL unset: SqliteHuey, its file `jobs.db` in the instance folder (WAL; one host).
  `redis://host:port/db` (or rediss://): RedisHuey, so that workers on several hosts share
  one queue. JOBS_NAME names the queue (several clinics may share one Redis).
- JOBS_IMMEDIATE (default: on under TESTING): a task runs where it is enqueued, at once,
  with Huey's in-memory storage. Tests of anything but the queue itself use it.
- A worker process builds the app once (the `flask` command does) and runs each task in
  an app context of its own; each entry gets `services.common.now()`.
- After every finished round of an entry, the time is written to the queue's storage
  (HEARTBEAT): GET /healthz fails when no round has finished for HEALTH_JOBS_STUCK_MINUTES.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask

from ..services import due_work
from ..services.common import now, stamp

if TYPE_CHECKING:
    from huey import Huey

log = logging.getLogger(__name__)
HEARTBEAT = "athlete_sched.last_round"
HOLD = "athlete_sched.hold"
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def build(app: Flask) -> Huey:
    """The Huey instance the app's config asks for (no task registered yet). Huey is
    imported here, when the queue is first used: a web worker that never enqueues never
    loads it."""
    from huey import RedisHuey, SqliteHuey

    config = app.config
    name = config.get("JOBS_NAME") or "athlete_sched"
    immediate = config.get("JOBS_IMMEDIATE")
    immediate = bool(config.get("TESTING")) if immediate is None else bool(immediate)
    url = config.get("JOBS_URL")
    if url:
        if not url.startswith(REDIS_SCHEMES):
            raise ValueError(f"JOBS_URL must be a Redis URL (redis://host:port/db), "
                             f"not {url.split(':', 1)[0]}:...")
        return RedisHuey(name, url=url, immediate=immediate, results=False)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(sqlite_file(app)), immediate=immediate,
                      results=False)


def sqlite_file(app: Flask) -> Path:
    return Path(app.instance_path) / "jobs.db"


def every_minutes(every: timedelta) -> int:
    """Huey looks at its periodic tasks once a minute: `every` in whole minutes (>= 1)."""
    return max(1, round(every.total_seconds() / 60))


def at_every(every: timedelta) -> Callable[[datetime], bool]:
    """Huey's `validate_datetime` for a round every `every`: the minutes since the epoch
    (Huey passes naive UTC) divisible by it, so all workers agree on the minute."""
    minutes = every_minutes(every)

    def due(at: datetime) -> bool:
        return int(at.replace(tzinfo=UTC).timestamp() // 60) % minutes == 0

    return due


class Jobs:
    """The app's queue (services/background.py's Queue), built on first use: a web worker
    that never enqueues never opens it."""

    def __init__(self, app: Flask) -> None:
        self.app, self._huey, self._lock = app, None, threading.Lock()
        self._tasks: dict[str, Callable] = {}

    @property
    def huey(self) -> Huey:
        with self._lock:
            if self._huey is None:
                self._huey = self._register(build(self.app))
        return self._huey

    @property
    def immediate(self) -> bool:
        return bool(self.huey.immediate)

    def soon(self, name: str) -> None:
        """Enqueue the task "due" for the entry `name`."""
        self.huey  # noqa: B018 - builds the queue and its tasks
        self._tasks["due"](name)

    def last_round(self) -> datetime | None:
        found = self.huey.get(HEARTBEAT, peek=True)
        return datetime.fromisoformat(found) if found else None

    def hold(self, name: str, held: timedelta) -> bool:
        """Hold the round `name` (services/background.alone): True if no other worker
        held it, or its hold ran out (it died in the round). The hold is a key in the
        queue's storage whose value is when it runs out; two workers taking an expired
        hold at once may both get it, which costs a duplicate round, never a duplicate
        message (the entries are idempotent by the database)."""
        key, until = f"{HOLD}.{name}", (stamp() + held).isoformat()
        if self.huey.put_if_empty(key, until):
            return True
        found = self.huey.get(key, peek=True)
        if found is not None and datetime.fromisoformat(found) > stamp():
            return False
        self.huey.delete(key)  # ran out
        return self.huey.put_if_empty(key, until)

    def let_go(self, name: str) -> None:
        self.huey.delete(f"{HOLD}.{name}")

    def beat(self) -> None:
        """Note that a round finished now (the health check's heartbeat)."""
        try:
            self.huey.put(HEARTBEAT, stamp().isoformat())
        except Exception:  # noqa: BLE001 - the round itself succeeded
            log.exception("jobs: could not write the heartbeat")

    def run(self, name: str) -> int:
        """Run the entry `name` once in an app context of its own; how many items."""
        with self.app.app_context():
            count = due_work.entry(name).run(now())
        log.log(logging.INFO if count else logging.DEBUG, "jobs: %s handled %d", name, count)
        self.beat()
        return count

    def _register(self, huey: Huey) -> Huey:
        self._tasks["due"] = huey.task(name="due")(self.run)
        with self.app.app_context():
            entries = due_work.schedule()
        for work in entries:
            task = huey.periodic_task(at_every(work.every), name=f"every.{work.name}")
            self._tasks[work.name] = task(self._runner(work.name))
        return huey

    def _runner(self, name: str) -> Callable[[], int]:
        def run_entry() -> int:
            return self.run(name)

        return run_entry
