"""Helpers shared by the benchmarks: fresh migrated databases, timing, readable tables.

Nothing here knows what a benchmark measures. Import it from a script in bench/ (the
script's own folder is on sys.path when run as `.venv/bin/python bench/<name>.py`)::

    from common import fresh_database, median, print_table, timed
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BACKENDS = ("sqlite", "postgresql")
# The app refuses production without a real SECRET_KEY (athlete_sched/config.py); the
# benchmarks' in-process apps and the gunicorn servers they spawn inherit this one.
os.environ.setdefault("SECRET_KEY", "bench-" + "k" * 40)
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")


# --- databases ----------------------------------------------------------------------------

def migrate(url: str) -> None:
    """Bring an empty database to the current schema with the project's migrations."""
    from flask_migrate import upgrade

    from athlete_sched import create_app
    from athlete_sched.extensions import db, init_migrations

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    init_migrations(app)
    with app.app_context():
        upgrade()
        db.engine.dispose()


@contextmanager
def _sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="athlete_sched_bench_") as folder:
        yield f"sqlite:///{Path(folder) / 'bench.db'}"


@contextmanager
def _postgres_database() -> Iterator[str]:
    name = f"athlete_sched_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(
                hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def fresh_database(backend: str) -> Iterator[str]:
    """The URL of a new, migrated database on `backend` (SQLite: a temporary file;
    PostgreSQL: CREATE DATABASE on the server of TEST_POSTGRES_URL). Dropped afterwards."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {BACKENDS}")
    make = _sqlite_database if backend == "sqlite" else _postgres_database
    with make() as url:
        migrate(url)
        yield url


def backends(choice: str) -> tuple[str, ...]:
    """`--backend` values: one backend or `both`."""
    return BACKENDS if choice == "both" else (choice,)


# --- timing -------------------------------------------------------------------------------

def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(wall seconds, result) of one call."""
    began = time.perf_counter()
    result = fn()
    return time.perf_counter() - began, result


def repeat(fn: Callable[[], Any], runs: int, warmups: int = 1) -> list[float]:
    """Wall seconds of `runs` calls, after `warmups` untimed calls."""
    for _ in range(warmups):
        fn()
    return [timed(fn)[0] for _ in range(runs)]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def median_seconds(fn: Callable[[], Any], runs: int, warmups: int = 1) -> float:
    """The median wall time of `runs` calls after `warmups` warm-up calls."""
    return median(repeat(fn, runs, warmups))


# --- output -------------------------------------------------------------------------------

def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table: text left-aligned, numbers right-aligned (floats to 2 places)."""
    cells = [[_cell(v) for v in row] for row in rows]
    numeric = [all(isinstance(row[i], int | float) for row in rows) if rows else False
               for i in range(len(headers))]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(values, widths, numeric, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(list(headers)), rule, *(line(r) for r in cells)])


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]],
                title: str | None = None) -> None:
    if title:
        print(f"\n{title}")
    print(format_table(headers, rows))


# --- where the time goes ------------------------------------------------------------------

class StatementClock:
    """Counts and times the SQL statements an engine runs while active (a context manager).

    `per_shape` maps the statement's first words up to WHERE (its "shape") to
    [count, seconds]; BEGIN / COMMIT issued by the driver itself are not seen.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.per_shape: dict[str, list[float]] = {}
        self._began = 0.0

    def _before(self, *_args: Any) -> None:
        self._began = time.perf_counter()

    def _after(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        shape = " ".join(statement.split("WHERE")[0].split())[:72]
        entry = self.per_shape.setdefault(shape, [0, 0.0])
        entry[0] += 1
        entry[1] += time.perf_counter() - self._began

    def __enter__(self) -> StatementClock:
        sa.event.listen(self.engine, "before_cursor_execute", self._before)
        sa.event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *_exc: Any) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._before)
        sa.event.remove(self.engine, "after_cursor_execute", self._after)

    @property
    def statements(self) -> int:
        return int(sum(count for count, _ in self.per_shape.values()))


def _package(filename: str) -> str:
    """A coarse owner for a profiled function: a package, the project's module, or C."""
    if "site-packages/" in filename:
        parts = filename.split("site-packages/")[1].split("/")
        return "/".join(parts[:2]) if parts[0] == "sqlalchemy" and len(parts) > 2 else parts[0]
    if "/athlete_sched/" in filename:
        return "athlete_sched/" + filename.split("/athlete_sched/")[1]
    if filename.startswith("~"):
        return "C functions (driver calls, builtins)"
    return "stdlib and scripts"


def profile_by_package(fn: Callable[[], Any]) -> tuple[list[tuple[str, float]], str]:
    """Run `fn` under cProfile: (share of own time per package, descending; the top
    functions by own time as pstats text)."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(fn)
    stats = pstats.Stats(profiler)
    own: dict[str, float] = {}
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        own[_package(filename)] = own.get(_package(filename), 0.0) + tottime
    total = sum(own.values()) or 1.0
    shares = sorted(((k, v / total) for k, v in own.items()), key=lambda kv: -kv[1])
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
    return shares, out.getvalue()
