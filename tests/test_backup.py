"""Backup and restore, each as the README does it, taken while the app keeps writing, then
restored into a fresh database and compared table by table, row by row:

- SQLite: `flask --app wsgi db backup PATH` (SQLite's online backup API), restored by
  copying the file to a fresh path and `flask db upgrade`;
- PostgreSQL: `pg_dump -Fc`, `pg_restore` into a fresh database and `flask db upgrade`.

While the copy is taken a writer keeps committing pairs of outbox rows: the copy must hold
whole pairs only, exactly the rows committed before its snapshot (a prefix by id), and
every other table as it was."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import NOW, _create_pg_database, _drop_pg_database, backend_of, migrate

ROOT = Path(__file__).resolve().parents[1]
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]


def _flask(args: list[str], url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env.update(DATABASE_URL=url, ATHLETE_SCHED_INSTANCE=str(tmp_path / "instance"),
               LOG_FORMAT="text")
    return subprocess.run([*FLASK, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180, check=False)


def _load_demo(url: str) -> None:
    from athlete_sched import create_app
    from athlete_sched.extensions import db
    from athlete_sched.services import unit_of_work
    from athlete_sched.services.demo import load_demo

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True,
                      "FROZEN_NOW": NOW.isoformat()})
    with app.app_context():
        unit_of_work.run(load_demo)
        db.engine.dispose()


class Writer(threading.Thread):
    """Commits pairs of outbox rows (one `sequence` number each) until stopped; records when
    each commit returned."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.engine = sa.create_engine(url, connect_args={"timeout": 30}
                                       if url.startswith("sqlite") else {})
        self.stopping, self.commits, self.error = threading.Event(), [], None

    def run(self) -> None:
        from athlete_sched.db.models import MailMessage

        try:
            pair = 1_000_000
            while not self.stopping.is_set():
                pair += 1
                at = datetime.now(UTC).replace(microsecond=0)
                with self.engine.begin() as conn:
                    conn.execute(MailMessage.__table__.insert(), [
                        {"recipient": f"w{n}@writer.test", "method": "REQUEST",
                         "sequence": pair, "message": "x" * 2000, "attempts": 0,
                         "created_at": at, "sent_at": at} for n in (1, 2)])
                self.commits.append(time.monotonic())
                time.sleep(0.002)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
        finally:
            self.engine.dispose()

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 60
        while len(self.commits) < count and time.monotonic() < deadline and self.is_alive():
            time.sleep(0.01)
        assert len(self.commits) >= count, self.error

    def commits_between(self, start: float, end: float) -> int:
        return sum(start <= at <= end for at in self.commits)


def _rows(url: str) -> dict[str, list[tuple]]:
    """Every table's rows, sorted."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            tables = sorted(sa.inspect(conn).get_table_names())
            return {t: sorted((tuple(row) for row in conn.execute(sa.text(f'SELECT * FROM "{t}"'))),
                              key=repr) for t in tables}
    finally:
        engine.dispose()


def _schema(url: str) -> list[tuple]:
    """The schema's objects: tables, indexes, triggers and functions by name and text,
    constraints by name and kind, partial indexes without their WHERE (PostgreSQL prints
    a restored CHECK or index predicate differently: the same expression, cast apart)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                query = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY 1, 2"
            else:
                query = """SELECT 'index', indexname, tablename,
                           split_part(indexdef, ' WHERE ', 1) FROM pg_indexes
                           WHERE schemaname = 'public'
                           UNION ALL SELECT 'constraint', conname, conrelid::regclass::text,
                           contype::text FROM pg_constraint
                           WHERE connamespace = 'public'::regnamespace
                           UNION ALL SELECT 'trigger', tgname, tgrelid::regclass::text,
                           pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
                           UNION ALL SELECT 'function', proname, '', prosrc FROM pg_proc
                           WHERE pronamespace = 'public'::regnamespace ORDER BY 1, 2"""
            return sorted(tuple(row) for row in conn.execute(sa.text(query)))
    finally:
        engine.dispose()


def _outbox(url: str) -> list[tuple[int, int]]:
    """(id, sequence) of every outbox row, by id (the writer's pairs share a sequence)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(
                sa.text("SELECT id, sequence FROM mail_message ORDER BY id"))]
    finally:
        engine.dispose()


def _compare(source: str, restored: str, before: int) -> None:
    """The restored database is the source as of one moment while the writer ran: every
    table equal, the outbox a prefix of the source's by id, in whole pairs, holding every
    pair committed before the copy began."""
    assert _schema(restored) == _schema(source)
    got, want = _rows(restored), _rows(source)
    assert got.keys() == want.keys()
    assert {"alembic_version", "booking", "athlete", "therapist"} <= got.keys()
    for table in got:
        if table == "mail_message":
            continue
        assert got[table] == want[table], table
    assert got["booking"], "the demo clinic's bookings are there"
    copied, written = _outbox(restored), _outbox(source)
    last = max(row_id for row_id, _ in copied)
    assert copied == [(row_id, pair) for row_id, pair in written if row_id <= last]
    assert sorted(got["mail_message"], key=repr) == sorted(
        (row for row in want["mail_message"] if row[0] <= last), key=repr)
    pairs = Counter(pair for _, pair in copied)
    assert set(pairs.values()) == {2}, "a commit copied in half"
    assert len(pairs) >= before
    assert len(written) > len(copied), "the writer went on after the copy"


def _healthy(url: str) -> None:
    from athlete_sched import create_app
    from athlete_sched.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    response = app.test_client().get("/healthz", buffered=True)
    with app.app_context():
        db.engine.dispose()
    assert response.status_code == 200, response.get_json()


def _while_writing(url: str, copy: Any) -> tuple[Writer, int, int]:
    """Run `copy()` while the writer commits; (writer, pairs before, pairs during)."""
    writer = Writer(url)
    writer.start()
    try:
        writer.wait_for(20)
        before = len(writer.commits)
        started = time.monotonic()
        copy()
        ended = time.monotonic()
        writer.wait_for(len(writer.commits) + 5)  # and more after it
    finally:
        writer.stopping.set()
        writer.join(30)
    assert writer.error is None, writer.error
    return writer, before, writer.commits_between(started, ended)


# --- SQLite ---------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_backup_taken_while_writing_restores_every_row(database, tmp_path):
    """The SQLite leg: `flask db backup`; the PostgreSQL leg: pg_dump and pg_restore."""
    if backend_of(database) == "sqlite":
        _sqlite_round_trip(tmp_path)
    else:
        _postgresql_round_trip(tmp_path)


def _sqlite_round_trip(tmp_path: Path) -> None:
    source = tmp_path / "live.db"
    url = f"sqlite:///{source}"
    migrate(url)
    _load_demo(url)
    backup, results = tmp_path / "backups" / "athlete_sched.db", []
    backup.parent.mkdir()

    _, before, during = _while_writing(
        url, lambda: results.append(_flask(["db", "backup", str(backup)], url, tmp_path)))

    [result] = results
    assert result.returncode == 0, result.stderr
    assert "quick_check ok" in result.stdout
    assert during > 0, "the writer committed while the backup ran"
    assert not backup.with_name(backup.name + "-wal").exists()
    with sa.create_engine(f"sqlite:///{backup}").connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "delete"
    # The README's restore: copy the file to a fresh path, then `flask db upgrade`.
    fresh = tmp_path / "restored" / "athlete_sched.db"
    fresh.parent.mkdir()
    shutil.copyfile(backup, fresh)
    upgrade = _flask(["db", "upgrade"], f"sqlite:///{fresh}", tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr
    _compare(url, f"sqlite:///{fresh}", before)
    _healthy(f"sqlite:///{fresh}")


@pytest.mark.slow
def test_backups_in_a_row_while_writing_are_each_one_commit_state(tmp_path):
    """SQLite: ten backups of a 5 MB database while the writer commits as fast as it can:
    each copy holds whole pairs only, a prefix of what was written."""
    from athlete_sched import create_app
    from athlete_sched.db.models import MailMessage
    from athlete_sched.extensions import db
    from athlete_sched.services import backup

    url = f"sqlite:///{tmp_path / 'live.db'}"
    migrate(url)
    at = datetime.now(UTC).replace(microsecond=0)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(MailMessage.__table__.insert(), [
            {"recipient": "old@writer.test", "method": "REQUEST", "sequence": n // 2,
             "message": "y" * 2000, "attempts": 0, "created_at": at, "sent_at": at}
            for n in range(2500)])
    engine.dispose()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    copies: list[Path] = []

    def ten() -> None:
        with app.app_context():
            for n in range(10):
                copies.append(backup.copy_to(tmp_path / f"copy-{n}.db").path)
            db.engine.dispose()

    _, _, during = _while_writing(url, ten)
    assert during > 0
    written, sizes = _outbox(url), set()
    for copy in copies:
        copied = _outbox(f"sqlite:///{copy}")
        assert copied == written[:len(copied)], copy
        pairs = Counter(pair for _, pair in copied)
        assert set(pairs.values()) == {2}, f"{copy}: a commit in half"
        sizes.add(len(copied))
    assert len(sizes) > 1, "the writer committed between the copies"


def test_backup_refuses_what_it_cannot_do(app, runner, database, tmp_path):
    """On PostgreSQL it points at pg_dump; on SQLite it refuses to overwrite a file
    (unless --replace) or the database itself."""
    with app.app_context():
        if backend_of(database) == "postgresql":
            result = runner.invoke(args=["db", "backup", str(tmp_path / "x.db")])
            assert result.exit_code == 1
            assert "pg_dump" in result.output and "README" in result.output
            assert not (tmp_path / "x.db").exists()
            return
        target = tmp_path / "copy.db"
        assert runner.invoke(args=["db", "backup", str(target)]).exit_code == 0
        again = runner.invoke(args=["db", "backup", str(target)])
        assert again.exit_code == 1 and "--replace" in again.output
        assert runner.invoke(args=["db", "backup", "--replace", str(target)]).exit_code == 0
        itself = runner.invoke(args=["db", "backup", "--replace",
                                     database.removeprefix("sqlite:///")])
        assert itself.exit_code == 1 and "the database itself" in itself.output
        nowhere = runner.invoke(args=["db", "backup", str(tmp_path / "no" / "such.db")])
        assert nowhere.exit_code == 1 and "not a directory" in nowhere.output


def test_db_help_lists_backup(runner):
    result = runner.invoke(args=["db", "--help"])
    assert result.exit_code == 0
    assert "backup" in result.output and "upgrade" in result.output


# --- PostgreSQL -----------------------------------------------------------------------------

def _libpq(url: str) -> str:
    """A URL for libpq's tools (no SQLAlchemy driver name)."""
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(
        hide_password=False)


def _postgresql_round_trip(tmp_path: Path) -> None:
    missing = [tool for tool in ("pg_dump", "pg_restore") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not on PATH: install PostgreSQL's client tools "
                    "(Debian: postgresql-client); .ci/run has them")
    (live, admin), (fresh, admin2) = _create_pg_database(), _create_pg_database()
    try:
        _dump_and_restore(live, fresh, tmp_path)
    finally:
        _drop_pg_database(live, admin)
        _drop_pg_database(fresh, admin2)


def _dump_and_restore(live: str, fresh: str, tmp_path: Path) -> None:
    migrate(live)
    _load_demo(live)
    dump, results = tmp_path / "athlete_sched.dump", []

    def pg_dump() -> None:  # the README's command
        results.append(subprocess.run(["pg_dump", "-Fc", "-f", str(dump), _libpq(live)],
                                      capture_output=True, text=True, timeout=180,
                                      check=False))

    _, before, during = _while_writing(live, pg_dump)
    [result] = results
    assert result.returncode == 0, result.stderr
    assert during > 0, "the writer committed while pg_dump ran"
    restore = subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "-d",
                              _libpq(fresh), str(dump)],
                             capture_output=True, text=True, timeout=180, check=False)
    assert restore.returncode == 0, restore.stderr
    upgrade = _flask(["db", "upgrade"], fresh, tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr
    _compare(live, fresh, before)
    _healthy(fresh)
