"""Benchmark: from spawning gunicorn to the first successful proposals response.

Run from the repository root::

    .venv/bin/python bench/coldstart.py            # 5 cold starts after one warm-up
    .venv/bin/python bench/coldstart.py --quick    # 5 cold starts, no import profile

A small clinic (10 therapists, 10 upcoming events, a year of history; built as in
bench/propose.py) goes into a migrated SQLite file. Each cold start runs
`python -m gunicorn -w 2 wsgi:app` on it and polls GET /api/v1/events/{id}/proposals
(admin token) until it answers 200; the time from spawn to that answer counts. The server
is then stopped (SIGTERM) before the next start. For context, the same is measured for a
trivial WSGI app defined here (gunicorn's own start-up and Python's), in the same run.

Target: median < 1.5 s (exit 1 otherwise). Unless --quick, it also reports where an app
start spends its time: `python -X importtime -c "import wsgi"` grouped by top-level
package, and create_app and the first request in-process.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time as clock
from collections.abc import Sequence
from pathlib import Path

from common import fresh_database, print_table
from propose import (
    ROOT,
    Size,
    build_clinic,
    first_ok,
    free_port,
    load_history,
    make_app,
    proposals_url,
    server_env,
    spawn_gunicorn,
    stop,
)

TARGET_SECONDS = 1.5
SMALL = Size(therapists=10, events=10, bookings=3_000, busy=500, athletes=200)
TRIVIAL_APP = '''
def app(environ, start_response):
    body = b'{"ok": true}'
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
'''
IN_PROCESS = '''
import sys, time
began = time.perf_counter()
from athlete_sched import create_app
imported = time.perf_counter()
app = create_app()
created = time.perf_counter()
response = app.test_client().get(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
assert response.status_code == 200, response.status_code
answered = time.perf_counter()
print(imported - began, created - imported, answered - created)
'''


def small_clinic(url: str, seed: int) -> tuple[str, int]:
    """Build the clinic on `url`; (admin token, an event id)."""
    from athlete_sched.extensions import db

    app = make_app(url)
    rng = random.Random(seed)
    clinic = build_clinic(app, SMALL, rng)
    load_history(app, clinic, SMALL, rng)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return clinic.token, clinic.event_ids[0]


def cold_start(app_spec: str, cwd: Path, env: dict[str, str], path: str,
               headers: dict[str, str]) -> float:
    """Seconds from spawning gunicorn (2 workers) to the first 200 answer on `path`."""
    port = free_port()
    began = clock.perf_counter()
    server = spawn_gunicorn(port, env, app_spec, cwd)
    try:
        return first_ok(f"http://127.0.0.1:{port}{path}", headers, server) - began
    finally:
        stop(server)


def cold_starts(runs: int, *args) -> list[float]:
    """One warm-up start (it fills the OS file cache), then `runs` timed ones."""
    cold_start(*args)
    return [cold_start(*args) for _ in range(runs)]


def import_times(env: dict[str, str], top: int = 10) -> list[tuple[str, float]]:
    """Seconds spent importing `wsgi`, per top-level package: the sum of each module's own
    ("self") time from -X importtime, so nested imports are not counted twice."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", "import wsgi"],
                            cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    totals: dict[str, float] = {}
    for line in result.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if match:
            package = match.group(2).split(".")[0]
            totals[package] = totals.get(package, 0.0) + int(match.group(1)) / 1e6
    return sorted(totals.items(), key=lambda kv: -kv[1])[:top]


def in_process_phases(env: dict[str, str], path: str, token: str,
                      runs: int = 3) -> tuple[float, float, float]:
    """Median seconds of: importing athlete_sched, create_app(), the first request."""
    samples = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", IN_PROCESS, path, token], cwd=ROOT,
                             env=env, capture_output=True, text=True, check=True).stdout
        samples.append([float(x) for x in out.split()])
    return tuple(statistics.median(s[i] for s in samples) for i in range(3))  # type: ignore[return-value]


def report_where(env: dict[str, str], path: str, token: str, interpreter: float) -> None:
    print("\nwhere an app start goes (median of 3 processes):")
    imported, created, first = in_process_phases(env, path, token)
    print_table(["phase", "ms"], [
        ("python -c pass (interpreter start)", interpreter * 1000),
        ("import athlete_sched", imported * 1000),
        ("create_app()", created * 1000),
        ("first proposals request (in-process)", first * 1000)])
    print("\n`import wsgi` by top-level package (-X importtime, own time, one run):")
    print_table(["package", "ms"], [(name, s * 1000) for name, s in import_times(env)])


def interpreter_start() -> float:
    samples = []
    for _ in range(3):
        began = clock.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        samples.append(clock.perf_counter() - began)
    return statistics.median(samples)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed cold starts (median), >= 5")
    parser.add_argument("--quick", action="store_true", help="skip the import profile")
    parser.add_argument("--seed", type=int, default=20270104)
    args = parser.parse_args(argv)
    if args.runs < 5:
        parser.error("--runs must be at least 5")
    with fresh_database("sqlite") as url, tempfile.TemporaryDirectory() as tmp:
        token, event_id = small_clinic(url, args.seed)
        env, path = server_env(url), proposals_url(event_id)
        headers = {"Authorization": f"Bearer {token}"}
        (Path(tmp) / "trivial_wsgi.py").write_text(TRIVIAL_APP)
        app_runs = cold_starts(args.runs, "wsgi:app", ROOT, env, path, headers)
        trivial_runs = cold_starts(args.runs, "trivial_wsgi:app", Path(tmp), env, "/", {})
        app_median, trivial_median = statistics.median(app_runs), statistics.median(trivial_runs)
        ok = app_median < TARGET_SECONDS
        print_table(["gunicorn -w 2", "median s", "runs (s)", "target", "result"], [
            ("wsgi:app -> first proposals 200", app_median,
             " ".join(f"{x:.2f}" for x in app_runs), f"< {TARGET_SECONDS:g} s",
             "PASS" if ok else "FAIL"),
            ("trivial WSGI app -> first 200", trivial_median,
             " ".join(f"{x:.2f}" for x in trivial_runs), "(baseline)", "")],
            f"cold start, median of {args.runs} after one warm-up (SQLite, {SMALL.therapists} "
            f"therapists, {SMALL.bookings:,} bookings)")
        print(f"app start over the trivial app's: +{app_median - trivial_median:.2f} s")
        if not args.quick:
            report_where(env, path, token, interpreter_start())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
