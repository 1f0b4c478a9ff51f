"""`flask calendars sync`: refresh the busy calendars subscribed by URL (cron it, e.g. every
few minutes; each subscription is fetched when its own interval has passed)."""

from __future__ import annotations

from urllib.parse import urlsplit

import click
from flask.cli import AppGroup

from .services import calendar_sync
from .services.common import stamp

calendars = AppGroup("calendars", help="Busy calendars subscribed by URL.")


@calendars.command("sync")
@click.option("--all", "everything", is_flag=True,
              help="Refresh every subscription, due or not.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Fetches at once (default: CALENDAR_SYNC_WORKERS).")
def sync(everything: bool, workers: int | None) -> None:
    """Refresh every due subscription: one line each as it finishes, then a summary. Up to
    CALENDAR_SYNC_WORKERS subscriptions are fetched and expanded at once, outside any
    transaction, each within CALENDAR_FETCH_TIMEOUT seconds in all; each outcome is then
    written as a unit of its own. A failed fetch or import keeps the last good one and is
    recorded (the exit status stays 0)."""
    def report(item, outcome) -> None:  # type: ignore[no-untyped-def]
        host = urlsplit(item.url).hostname  # never the whole (secret) address
        if outcome is None:
            click.echo(f"subscription {item.id}: removed during the sync")
        else:
            click.echo(f"subscription {item.id} (therapist {item.therapist_id}, {host}): "
                       f"{outcome.summary}")

    due, failed = calendar_sync.sync(stamp(), everything, workers, report)
    click.echo(f"{due} subscription(s) due, {failed} failed")
