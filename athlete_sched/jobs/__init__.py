"""The job queue: the entry point that runs the clinic's background work
(services/due_work.py) on Huey, beside the web entry point. Like the views, it calls
services only.

- **The queue** (queue.py): Huey, with its SQLite storage in the instance folder by default
  (nothing to install or run) or Redis when JOBS_URL names one (workers on several
  hosts). Each DueWork entry is a periodic task at its `every`, plus the task "due" that
  runs one entry now (the outbox asks for "mail" after a commit: services/background.py).
- **The commands** (cli.py): `flask jobs run-due` runs every entry once and exits (cron,
  tests); `flask jobs worker` runs the Huey consumer until stopped.

Huey's scheduler runs in every consumer, so with several workers each periodic round
may run on several of them at once: every entry is idempotent by the database (its
claims and unique keys), which is what keeps that correct; `--no-periodic` on all but
one host saves the duplicate rounds.
"""

from __future__ import annotations

from flask import Flask

from ..services.background import EXTENSION
from .cli import jobs
from .queue import Jobs

__all__ = ["Jobs", "init_app"]


def init_app(app: Flask) -> None:
    """Install the queue on the app (built on first use) and the `jobs` commands."""
    app.extensions[EXTENSION] = Jobs(app)
    app.cli.add_command(jobs)
