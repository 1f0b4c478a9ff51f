"""What `GET /healthz` reads (services/health.py): whether the database answers, the
schema's migration revision against the migrations' head, and the oldest outstanding job
of each kind. Each read is one short index lookup (no scan, whatever the table sizes):

- the oldest unsent message: ix_mail_message_unsent (sent_at, id), its first entry with
  sent_at IS NULL;
- the earliest due subscription: ix_busy_calendar_due (kind, due_at), its first entry
  with kind = 'url'.
"""

from __future__ import annotations

import ast
import logging
from datetime import datetime
from functools import cache

from sqlalchemy import inspect, select, text
from sqlalchemy.exc import SQLAlchemyError

from ...extensions import MIGRATIONS, db
from ..models import BusyCalendar, MailMessage
from .calendars import URL

log = logging.getLogger(__name__)
VERSION_TABLE = "alembic_version"  # Alembic's, as Flask-Migrate leaves it


def unreachable() -> str | None:
    """None if the database answers a `SELECT 1`, else the kind of error (its class name
    only: the message may name hosts and users; it is logged instead)."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.warning("health: the database does not answer: %s",
                    " ".join(str(getattr(exc, "orig", None) or exc).split()))
        return type(getattr(exc, "orig", None) or exc).__name__
    return None


def schema_revisions() -> frozenset[str]:
    """The revisions the database says it is at (Alembic's version table; empty when the
    database was never migrated)."""
    connection = db.session.connection()
    if not inspect(connection).has_table(VERSION_TABLE):
        return frozenset()
    return frozenset(connection.scalars(text(f"SELECT version_num FROM {VERSION_TABLE}")))


@cache
def migration_graph() -> dict[str, frozenset[str]]:
    """Each revision of migrations/versions -> the revisions it follows (its
    `down_revision`), read once per process from the files' own assignments. Not through
    Alembic: a web worker never imports it (extensions.init_migrations says why);
    tests/test_health.py checks that Alembic finds the same heads."""
    graph: dict[str, frozenset[str]] = {}
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        values = {target.id: node.value for node in ast.parse(path.read_text()).body
                  if isinstance(node, ast.Assign) for target in node.targets
                  if isinstance(target, ast.Name)}
        if "revision" not in values:
            continue
        down = ast.literal_eval(values["down_revision"]) if "down_revision" in values else None
        downs = down if isinstance(down, tuple | list) else (down,) if down else ()
        graph[ast.literal_eval(values["revision"])] = frozenset(downs)
    return graph


def migration_heads() -> frozenset[str]:
    """The revisions no other follows: what `flask db upgrade` brings a database to."""
    graph = migration_graph()
    return frozenset(graph) - frozenset().union(*graph.values())


def oldest_unsent_mail() -> datetime | None:
    """When the oldest message still waiting to be sent was written (None: none waits):
    the first unsent one, as messages are written in time order (their ids grow)."""
    table = MailMessage.__table__
    return db.session.scalar(select(table.c.created_at).where(table.c.sent_at.is_(None))
                             .order_by(table.c.sent_at, table.c.id).limit(1))


def earliest_due_subscription() -> datetime | None:
    """When the subscription that has waited longest for its sync was due (None: no
    subscriptions)."""
    table = BusyCalendar.__table__
    return db.session.scalar(select(table.c.due_at)
                             .where(table.c.kind == URL, table.c.due_at.is_not(None))
                             .order_by(table.c.kind, table.c.due_at).limit(1))
