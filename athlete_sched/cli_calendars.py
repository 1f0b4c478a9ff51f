"""`flask calendars sync`: refresh the busy calendars subscribed by URL (cron it, e.g. every
few minutes; each subscription is fetched when its own interval has passed)."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import click
from flask.cli import AppGroup

from .services import busy, unit_of_work
from .services.common import stamp

log = logging.getLogger(__name__)
calendars = AppGroup("calendars", help="Busy calendars subscribed by URL.")


def _refresh(item: busy.Due) -> busy.Outcome:
    try:
        return busy.refresh(item)
    except Exception:  # one subscription must not stop the others; recorded as failed
        log.exception("calendar subscription %s: unexpected error", item.id)
        return busy.Outcome("failed: unexpected error (logged)",
                            error="an unexpected error; it was logged for the clinic")


@calendars.command("sync")
@click.option("--all", "everything", is_flag=True,
              help="Refresh every subscription, due or not.")
def sync(everything: bool) -> None:
    """Refresh every due subscription: one line each, then a summary. A failed fetch or
    import keeps the last good one and is recorded (the exit status stays 0). Each
    subscription is fetched and expanded outside any transaction, then written as a unit
    of its own."""
    due = unit_of_work.run(lambda: busy.due_subscriptions(stamp(), everything))
    failed = 0
    for item in due:
        outcome = _refresh(item)
        host = urlsplit(item.url).hostname  # never the whole (secret) address
        if not unit_of_work.run(lambda item=item, outcome=outcome: busy.record(item, outcome)):
            click.echo(f"subscription {item.id}: removed during the sync")
            continue
        failed += outcome.error is not None
        click.echo(f"subscription {item.id} (therapist {item.therapist_id}, {host}): "
                   f"{outcome.summary}")
    click.echo(f"{len(due)} subscription(s) due, {failed} failed")
