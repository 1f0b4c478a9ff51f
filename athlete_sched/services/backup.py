"""`flask db backup PATH` (cli.py): a consistent copy of the live SQLite database, taken
while the app keeps writing (db/backup.py: SQLite's online backup API). PostgreSQL has
its own tools: pg_dump and pg_restore (README, "Backup and restore")."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.errors import InvalidValue
from ..db import backup

POSTGRESQL = ("the database is PostgreSQL: back it up with pg_dump -Fc and restore it with "
              "pg_restore into a fresh database (README, \"Backup and restore\")")


@dataclass(frozen=True)
class Copy:
    path: Path
    pages: int


def copy_to(target: Path, replace: bool = False) -> Copy:
    """Copy the SQLite database to `target`; refused on PostgreSQL, for a database in
    memory, onto the database itself, or onto an existing file unless `replace`."""
    if backup.backend() != "sqlite":
        raise InvalidValue(POSTGRESQL)
    source = backup.source_path()
    if source is None:
        raise InvalidValue("the database is in memory: there is no file to back up")
    target = target.expanduser().absolute()
    if target.exists() and target.resolve() == Path(source).resolve():
        raise InvalidValue(f"{target} is the database itself: choose another path")
    if target.exists() and not replace:
        raise InvalidValue(f"{target} exists: choose another path, or --replace it")
    if not target.parent.is_dir():
        raise InvalidValue(f"{target.parent} is not a directory")
    pages, verdict = backup.copy_sqlite(target)
    if verdict != "ok":
        raise InvalidValue(f"the copy failed SQLite's quick_check ({verdict}); nothing was "
                           f"written to {target}")
    return Copy(target, pages)
