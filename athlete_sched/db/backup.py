"""A copy of a live SQLite database through SQLite's online backup API
(sqlite3.Connection.backup), for `flask db backup` (cli.py).

The copy is taken in one step: one read transaction on the source, so it is the database
as one commit left it. The app's SQLite files run in WAL mode (engine.py), where a reader
never blocks a writer: requests and jobs keep writing meanwhile, and what they commit after
the copy began is simply not in it. The copy goes to a temporary file beside the target,
is checked (`PRAGMA quick_check`), switched to a plain rollback journal (one
self-contained file, no -wal beside it) and only then renamed into place.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

from ..extensions import db


def backend() -> str:
    """The database's backend: "sqlite" or "postgresql"."""
    return db.engine.dialect.name


def source_path() -> str | None:
    """The SQLite database's file (None in memory)."""
    name = db.engine.url.database
    return None if name in (None, "", ":memory:") else name


def copy_sqlite(target: Path) -> tuple[int, str]:
    """Copy the app's SQLite database to `target` (replaced if it exists): the copy's page
    count and its quick_check verdict ("ok": the copy is in place; anything else: it was
    not sound and `target` is left as it was)."""
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        with closing(db.engine.raw_connection()) as source, \
                closing(sqlite3.connect(partial, isolation_level=None)) as copy:
            source.driver_connection.backup(copy)  # pages=-1: every page in one step
            verdict = copy.execute("PRAGMA quick_check").fetchone()[0]
            copy.execute("PRAGMA journal_mode = DELETE")
            pages = copy.execute("PRAGMA page_count").fetchone()[0]
        if verdict == "ok":
            os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return pages, verdict
