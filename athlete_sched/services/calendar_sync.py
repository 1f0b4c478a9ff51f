"""Refreshing the busy calendars subscribed by URL: what `flask calendars sync` and the job
"calendars" (services/due_work.py) do. Each subscription is fetched when its own interval
has passed; a refresh's outcome is written as a unit of its own, under the row's lock, so
two workers that refresh the same subscription at once leave one consistent result."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import current_app

from . import busy, unit_of_work
from .busy import Due, Outcome


def sync(at: datetime, everything: bool = False, workers: int | None = None,
         report: Callable[[Due, Outcome | None], None] | None = None) -> tuple[int, int]:
    """Refresh every subscription due at `at` (all with `everything`), up to `workers`
    (default CALENDAR_SYNC_WORKERS) fetched at once outside any transaction; `report(due,
    outcome)` after each is written (outcome None: removed meanwhile). (due, failed)."""
    due = unit_of_work.run(lambda: busy.due_subscriptions(at, everything))
    failed = 0
    for item, outcome in busy.refresh_all(due, workers or
                                          current_app.config["CALENDAR_SYNC_WORKERS"]):
        kept = unit_of_work.run(lambda item=item, outcome=outcome: busy.record(item, outcome))
        failed += kept and outcome.error is not None
        if report is not None:
            report(item, outcome if kept else None)
    return len(due), failed
