"""The road of a request, measured: what the one-road issue (#11) asks the closing note for.

    .venv/bin/python bench/road.py                 # this checkout
    .venv/bin/python bench/road.py --source DIR    # another checkout (an older commit)

For the checkout's `athlete_sched` package it reports, on a fresh SQLite database with a
small clinic (the clock pinned, caches off):

- the files a proposals request runs code in (traced with sys.setprofile), by layer, and
  the calls from one layer into another (web -> services -> db -> core is the road; a
  call that skips a layer or goes back up is not);
- SQL statements per request for a few requests of the API and the pages;
- modules over 300 lines;
- import circles between modules (strongly connected components of grimp's import graph,
  function-level imports included; a package and its own submodules do not count).

Run it on two commits to compare (no target: it prints figures).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

LIMIT = 300


def _sql_counter(engine):
    from sqlalchemy import event

    counts = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args):  # type: ignore[no-untyped-def]
        counts[0] += 1

    return counts


def measure(source: Path) -> dict:
    sys.path.insert(0, str(source))
    os.environ["ATHLETE_SCHED_INSTANCE"] = tempfile.mkdtemp()
    from flask_migrate import upgrade

    from athlete_sched import create_app
    from athlete_sched.extensions import db, init_migrations

    url = f"sqlite:///{tempfile.mkdtemp()}/road.db"
    config = {"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "road",
              "FROZEN_NOW": "2027-01-04T00:00:00+00:00", "PROPOSALS_CACHE_SIZE": 0,
              "FEEDS_CACHE_SIZE": 0, "WTF_CSRF_ENABLED": False}
    app = create_app(config)
    init_migrations(app)
    with app.app_context():
        upgrade()
    cli = app.test_cli_runner()
    token = cli.invoke(args=["users", "create", "--email", "admin@road.example", "--role",
                             "admin"]).output.strip().splitlines()[-1]
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}

    def call(method: str, path: str, body=None):
        response = client.open(path, method=method, headers=auth, json=body)
        assert response.status_code < 400, (path, response.get_data(as_text=True)[:300])
        return response.get_json(silent=True)

    hours = [{"day": d, "start": "08:00", "end": "18:00"}
             for d in ("mon", "tue", "wed", "thu", "fri", "sat")]
    for i in range(5):
        call("POST", "/api/v1/therapists", {
            "name": f"T{i}", "email": f"t{i}@road.example", "timezone": "Europe/Berlin",
            "working_hours": hours})
    athlete = call("POST", "/api/v1/athletes", {"name": "Road Runner",
                                                "email": "road@athletes.example",
                                                "sport": "running",
                                                "timezone": "Europe/Berlin"})["id"]
    events = [call("POST", "/api/v1/events", {
        "athlete_id": athlete, "name": f"Race {i}", "sport": "running",
        "timezone": "Europe/Berlin", "start": f"2027-0{3 + i}-13T09:00",
        "end": f"2027-0{3 + i}-13T13:00"})["id"] for i in range(4)]
    for event_id in events[:3]:
        for kind in ("pre", "post"):
            slot = call("GET", f"/api/v1/events/{event_id}/proposals?kind={kind}&limit=1"
                        )[kind][0]
            call("POST", "/api/v1/bookings", {"event_id": event_id, "kind": kind,
                                              "therapist_id": slot["therapist_id"],
                                              "start": slot["start"]})
    proposals = f"/api/v1/events/{events[3]}/proposals"
    # The pages: signed in as the athlete (a user with the athlete's email and a password).
    cli.invoke(args=["users", "create", "--email", "road@athletes.example", "--role",
                     "athlete"])
    cli.invoke(args=["users", "set-password", "--email", "road@athletes.example",
                     "--password", "road runner password"])
    signed = client.post("/sign-in", data={"email": "road@athletes.example",
                                           "password": "road runner password"})
    assert signed.status_code == 303, signed.get_data(as_text=True)[:300]

    # Files a proposals request runs code in.
    root = str(source / "athlete_sched")
    seen: set[str] = set()
    crossings: Counter[str] = Counter()

    def layer(path: str) -> str | None:
        if not path.startswith(root):
            return None
        parts = os.path.relpath(path, root).split(os.sep)
        return parts[0] if len(parts) > 1 else "app"

    def tracer(frame, event, _arg):  # type: ignore[no-untyped-def]
        if event == "call" and frame.f_code.co_filename.startswith(root):
            seen.add(frame.f_code.co_filename)
            callee, caller = layer(frame.f_code.co_filename), frame.f_back and layer(
                frame.f_back.f_code.co_filename)
            if caller and caller != callee:
                crossings[f"{caller} -> {callee}"] += 1

    call("GET", proposals)  # warm: imports and caches of compiled statements
    sys.setprofile(tracer)
    try:
        call("GET", proposals)
    finally:
        sys.setprofile(None)
    files = sorted(os.path.relpath(f, source) for f in seen)

    with app.app_context():
        counts = _sql_counter(db.engine)

    def statements_of(method: str, path: str, body=None):
        counts[0] = 0
        response = client.open(path, method=method, headers=auth, json=body)
        assert response.status_code < 400, (path, response.status_code)
        return counts[0], response.get_json(silent=True)

    statements = {}
    for path in (proposals, "/api/v1/bookings?limit=100",
                 f"/api/v1/athletes/{athlete}/season?from=2027-02-01&to=2027-07-01",
                 "/season", f"/events/{events[0]}"):
        statements_of("GET", path)  # warm
        statements[f"GET {path.split('?')[0]}"] = statements_of("GET", path)[0]
    slot = call("GET", f"{proposals}?kind=pre&limit=1")["pre"][0]
    n, booking = statements_of("POST", "/api/v1/bookings", {
        "event_id": events[3], "kind": "pre", "therapist_id": slot["therapist_id"],
        "start": slot["start"]})
    statements["POST /api/v1/bookings"] = n
    statements["POST /api/v1/bookings/{id}/cancel"] = statements_of(
        "POST", f"/api/v1/bookings/{booking['id']}/cancel")[0]
    return {"files": files, "statements": statements, "crossings": dict(crossings)}


def static(source: Path) -> dict:
    import grimp

    package = source / "athlete_sched"
    long = sorted((len(p.read_text().splitlines()), str(p.relative_to(source)))
                  for p in package.rglob("*.py"))
    graph = grimp.build_graph("athlete_sched", include_external_packages=False)
    modules = sorted(graph.modules)
    edges = {m: {i for i in graph.find_modules_directly_imported_by(m)
                 if not (m.startswith(i + ".") or i.startswith(m + "."))} for m in modules}
    return {"long": [(n, p) for n, p in long if n > LIMIT], "circles": _cycles(edges)}


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in edges:
        if v not in index:
            visit(v)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    source = args.source.resolve()
    if not args.inner:  # a fresh interpreter, so that only `source` is importable
        env = {**os.environ, "PYTHONPATH": str(source)}
        result = subprocess.run([sys.executable, __file__, "--inner", "--source", str(source)],
                                env=env, cwd=source, capture_output=True, text=True, check=False)
        if result.returncode:
            sys.exit(result.stderr)
        found = json.loads(result.stdout)
    else:
        found = {**measure(source), **static(source)}
        print(json.dumps(found))
        return
    if args.json:
        print(json.dumps(found, indent=2))
        return
    layers = Counter(f.split("/")[1] if f.count("/") > 1 else f.split("/")[-1]
                     for f in found["files"])
    print(f"files a proposals request runs code in: {len(found['files'])} "
          f"({', '.join(f'{k} {v}' for k, v in sorted(layers.items()))})")
    for f in found["files"]:
        print(f"  {f}")
    print("calls from one layer into another in that request:")
    for pair, n in sorted(found["crossings"].items()):
        print(f"  {n:5d}  {pair}")
    print("SQL statements per request:")
    for name, n in found["statements"].items():
        print(f"  {n:3d}  {name}")
    print(f"modules over {LIMIT} lines: {len(found['long'])}")
    for n, p in found["long"]:
        print(f"  {n:4d}  {p}")
    print(f"import circles: {len(found['circles'])}")
    for circle in found["circles"]:
        print("  " + " <-> ".join(circle))


if __name__ == "__main__":
    main()
