"""`flask --app wsgi mail retry`: send the invitation emails a failed send left behind."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from .services import mail as outbox

mail = AppGroup("mail", help="Invitation emails (iMIP) in the outbox.")


@mail.command("retry")
@click.option("--max-attempts", type=click.IntRange(min=1), default=None,
              help="Skip messages already tried this many times.")
def retry(max_attempts: int | None) -> None:
    """Send every unsent message, oldest first, recording each outcome as it goes.
    Exits with status 1 if any message failed again (it stays queued)."""
    if not current_app.config.get("MAIL_SERVER"):
        raise click.ClickException("MAIL_SERVER is not set: nothing can be sent")
    tally = outbox.retry(max_attempts)
    for error in tally.errors:
        click.echo(f"failed: {error}", err=True)
    click.echo(f"sent {tally.sent}, failed {tally.failed}, skipped {tally.skipped}")
    if tally.failed:
        raise SystemExit(1)
