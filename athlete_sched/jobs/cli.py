"""`flask --app wsgi jobs run-due` and `flask --app wsgi jobs worker`."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import AppGroup

from ..services import due_work
from ..services.background import EXTENSION
from ..services.common import now

log = logging.getLogger(__name__)
jobs = AppGroup("jobs", help="Background work: mail, calendar syncs and the rest.")


@jobs.command("run-due")
def run_due() -> None:
    """Run every job once, in schedule order, and exit: one line per job with how many
    items it handled. A failing job is reported and the others still run; the exit
    status is then 1. For cron (instead of a worker) and for tests."""
    queue, failed = current_app.extensions[EXTENSION], 0
    for work in due_work.schedule():
        try:
            count = work.run(now())
        except Exception as exc:  # noqa: BLE001 - reported; the next job still runs
            log.exception("jobs: %s failed", work.name)
            click.echo(f"{work.name}: failed: {type(exc).__name__}: {exc}", err=True)
            failed += 1
            continue
        click.echo(f"{work.name}: {count}")
    if not failed:
        queue.beat()
    if failed:
        raise SystemExit(1)


@jobs.command("worker")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Tasks run at once (threads of this process).")
@click.option("--periodic/--no-periodic", default=True, show_default=True,
              help="Schedule the periodic rounds here too (one host is enough).")
@click.option("--verbose", is_flag=True,
              help="Log every task Huey enqueues and runs (INFO), not only problems.")
def worker(workers: int, periodic: bool, verbose: bool) -> None:
    """Run the Huey consumer until SIGINT (finishes running tasks) or SIGTERM: periodic
    rounds of every job and whatever is enqueued ("mail" after a booking). Huey's own
    lines about each task enqueued and run are left out unless --verbose: a worker beside
    the development server would otherwise write a dozen lines a minute into its terminal;
    the rounds that did something are logged as "jobs: <name> handled <n>"."""
    if not verbose:
        logging.getLogger("huey").setLevel(logging.WARNING)
    huey = current_app.extensions[EXTENSION].huey
    if huey.immediate:
        raise click.ClickException("JOBS_IMMEDIATE is on: tasks run where they are "
                                   "enqueued, there is nothing for a worker to do")
    where = current_app.config.get("JOBS_URL") and "Redis" or "SQLite in the instance folder"
    click.echo(f"jobs worker: {workers} thread(s), queue {huey.name!r} on {where}, "
               f"periodic {'on' if periodic else 'off'}", err=True)
    huey.create_consumer(workers=workers, worker_type="thread", periodic=periodic).run()
