"""The background work of the clinic, as one list: what runs when it is due.

Each entry is a `DueWork`: a name, how often a worker runs it, and `run(now)`, which does
one round of whatever is due at `now` (services.common.now(): FROZEN_NOW pins it) and
returns how many items it handled. The job queue (athlete_sched/jobs) runs every entry
periodically; `flask --app wsgi jobs run-due` runs each once, in this order, and exits.

What every `run` promises, because several workers on several hosts may run the same
entry at the same moment, and a worker may die in the middle of it:

- **Idempotent.** Running it twice at the same `now` does nothing the second time: what it
  did is recorded in the database, in the same transaction as its effect (a unique key, a
  claimed row), never in the worker's memory.
- **Its own units of work.** It opens them with services.unit_of_work.run (one per item or
  per batch), so a failure of one item rolls back that item only and is recorded or
  logged; it raises only for a fault of the whole round (the database out of reach).
- **Nothing lost.** A claim is a lease: an item a dead worker had claimed is due again
  once its lease has passed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import calendar_sync, mail, race_subscriptions, reminders, waitlist
from .common import stamp


@dataclass(frozen=True)
class DueWork:
    name: str
    every: timedelta
    run: Callable[[datetime], int]


def schedule() -> list[DueWork]:
    """Every entry, in the order `run-due` runs them: what creates mail comes before the
    mail's delivery, so one `run-due` sends what it queued."""
    return [  # `every` in whole minutes (the job queue looks once a minute)
        DueWork("calendars", timedelta(minutes=1), _calendars),
        # entries that queue mail (new races, reminders, check-ins, offers), before "mail"
        DueWork("race-calendars", timedelta(minutes=5), race_subscriptions.run_due),
        DueWork("reminders", timedelta(minutes=1), reminders.run),
        DueWork("waitlist", timedelta(minutes=1), waitlist.run),
        DueWork("mail", timedelta(minutes=1), _mail),
    ]


def _calendars(_now: datetime) -> int:
    """Subscriptions whose own interval has passed (due_at is written with the real clock,
    stamp(), as `flask calendars sync` reads it); how many were refreshed."""
    return calendar_sync.sync(stamp())[0]


def _mail(_now: datetime) -> int:
    """Every due message of the outbox (services/mail.py: claims are leases on the real
    clock); how many were tried."""
    return mail.send_due()


def entry(name: str) -> DueWork:
    """The entry called `name` (KeyError if there is none)."""
    return {work.name: work for work in schedule()}[name]
