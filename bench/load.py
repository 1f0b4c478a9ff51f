"""Benchmark: 50 clients against the deployment (issue 14): proposals, bookings racing for
popular slots and calendar-feed polls through nginx in front of gunicorn's threaded
workers (`deploy/run`), then `GET /api/v1/me` alone under the same load.

Run from the repository root::

    .venv/bin/python bench/load.py                          # SQLite (WAL), 50 clients, 60 s
    .venv/bin/python bench/load.py --backend postgresql     # fresh database on :5432
    .venv/bin/python bench/load.py --quick                  # 10 s a phase, smaller clinic

The clinic (fixed seed) is propose.py's: 50 therapists in four zones, 4,000 athletes,
200 upcoming events through the API, the clock pinned with FROZEN_NOW. On top of it,
1,500 athletes get a race on one of three race days (09:00 Berlin), so their pre windows
(days D-3 and D-2) are the same: these are the athletes who race for the popular slots.
`--quick`: propose.py's quick clinic (10 therapists, 400 athletes, 40 events) and 300
racing athletes.

The server is `deploy/run` as deployed (nginx, gunicorn gthread: GUNICORN_WORKERS /
GUNICORN_THREADS as deploy/gunicorn.conf.py sizes them, 2 x 8 on two cores), with
`FLASK_RATELIMIT_ENABLED=false`: the abuse limits (web/limits.py) would rightly refuse
one client polling one feed 60 times a minute or booking all day; the load is
legitimate traffic, so they are off (every other setting is the default).

The load: `--clients` threads in this process, each with its own keep-alive connection
(http.client), one request after another, no think time. Each request is drawn:

- 10 % feed polls: `GET /feeds/<token>.ics` of a therapist's or an athlete's feed with
  the ETag it last got in If-None-Match, as calendar apps poll (200 or 304 expected);
- of the other 90 %, 60 % proposals (`GET /api/v1/events/{id}/proposals`, any of the
  clinic's events, 200 expected) and 40 % booking attempts (`POST /api/v1/bookings`) of
  the current popular slot (one therapist and start in the race days' pre window) by a
  racing athlete who has no pre booking yet. Exactly one attempt per slot can win (201);
  the others lose the race (409: an expected answer). The client that wins moves every
  client on to the next popular slot (the slots are proposals of a racing event, taken
  non-overlapping per therapist), so the bookings contend all along; a slot nobody won
  after 4 x clients attempts is passed over (counted).

Every request carries the admin's bearer token (bookings for any athlete). An ERROR is a
5xx, a connection error or timeout (30 s), or any status not expected for its kind.

The other phase: the same clients, for as long, ask only `GET /api/v1/me` (200
expected). The two phases alternate in `--turns` turns each (default 2: mix, me, mix, me;
each turn half of `--seconds`), so that the other load of a shared machine moves both
alike. The generator is the same for both phases (its own CPU per request is printed), so
the ratio mix requests/s / me requests/s compares the server's work, not the generator's.
After the turns, one client alone sends a booking attempt (it wins: a write, the caches
are emptied), a proposals request, a feed poll and /me in turn, 100 times: each kind's
median against /me, and the ratio those costs predict for the mix's shares.

Afterwards, with plain SQL on the database: confirmed bookings overlapping another
confirmed booking of the same therapist (buffer included: start < other's block_end)
or of the same athlete; and the confirmed bookings against the 201s counted.

Targets (exit 1 if one is missed, 2 if not measurable, e.g. nginx missing): 0 errors,
0 overlaps, bookings in the database = 201s seen, mix requests/s >= 0.5 x me requests/s.
p50 / p95 / p99 per request kind are printed (README, "Performance").
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from common import fresh_database, print_table  # noqa: E402
from propose import (  # noqa: E402
    FULL,
    NOW,
    QUICK,
    Clinic,
    build_clinic,
    free_port,
    make_app,
    percentile,
)

RATIO_TARGET = 0.5
RACE_ZONE = "Europe/Berlin"
RACE_DAYS = 3
FEED_SHARE = 0.10
PROPOSAL_SHARE = 0.60  # of the requests that are not feed polls; the rest book
TIMEOUT_S = 30.0
START_TIMEOUT_S = 90.0
READY = re.compile(r"athlete_sched: serving on (http://\S+?)/? ")
EXPECTED = {"proposals": {200}, "booking": {201, 409}, "feed": {200, 304}, "me": {200}}


# --- the clinic ---------------------------------------------------------------------------

@dataclass
class Race:
    """Racing athletes' events on one race day and the popular slots of their pre window."""

    day: date
    event_ids: list[int]
    slots: list[dict[str, Any]] = field(default_factory=list)


def racing_events(app, clinic: Clinic, count: int, rng: random.Random) -> list[Race]:
    """`count` athletes after the clinic's own event holders get a race on one of
    RACE_DAYS days (timed, 09:00-13:00 Berlin): their pre windows are the same two days."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {clinic.token}"}
    first = NOW.date() + timedelta(days=30)
    races = [Race(first + timedelta(days=7 * i), []) for i in range(RACE_DAYS)]
    holders = len(clinic.event_ids)
    for i, (athlete_id, sport, _zone) in enumerate(clinic.athletes[holders:holders + count]):
        race = races[i % RACE_DAYS]
        start = datetime.combine(race.day, datetime.min.time()) + timedelta(hours=9)
        response = client.post("/api/v1/events", headers=headers, json={
            "athlete_id": athlete_id, "name": f"City race {race.day}", "sport": sport,
            "timezone": RACE_ZONE, "start": start.isoformat(timespec="minutes"),
            "end": (start + timedelta(hours=4)).isoformat(timespec="minutes")})
        assert response.status_code == 201, response.get_json()
        race.event_ids.append(response.get_json()["id"])
    buffers = {t["id"]: t["buffer_minutes"] for t in clinic.therapists}
    for race in races:
        response = client.get(f"/api/v1/events/{race.event_ids[0]}/proposals?kind=pre"
                              "&limit=1000", headers=headers)
        assert response.status_code == 200, response.get_json()
        race.slots = disjoint(response.get_json()["pre"], buffers)
        rng.shuffle(race.slots)
    return races


def disjoint(slots: Sequence[dict[str, Any]], buffers: dict[int, int]) -> list[dict[str, Any]]:
    """The proposed slots of each therapist that can all be booked together: in time
    order, each starting after the last one kept ended, buffer included."""
    kept: list[dict[str, Any]] = []
    free_from: dict[int, datetime] = {}
    for slot in sorted(slots, key=lambda s: (s["therapist_id"], s["start"])):
        start = datetime.fromisoformat(slot["start"])
        therapist = slot["therapist_id"]
        if therapist in free_from and start < free_from[therapist]:
            continue
        kept.append(slot)
        free_from[therapist] = (datetime.fromisoformat(slot["end"])
                                + timedelta(minutes=buffers[therapist]))
    return kept


def feed_paths(app, clinic: Clinic) -> list[str]:
    """The feed paths of every therapist and of 50 racing athletes."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {clinic.token}"}
    urls = [f"/api/v1/therapists/{t['id']}/feed" for t in clinic.therapists]
    holders = len(clinic.event_ids)
    urls += [f"/api/v1/athletes/{a[0]}/feed"
             for a in clinic.athletes[holders:holders + 50]]
    paths = []
    for url in urls:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.get_json()
        paths.append(urlsplit(response.get_json()["url"]).path)
    return paths


# --- the server ---------------------------------------------------------------------------

@contextlib.contextmanager
def deployed(database: str, run_dir: Path) -> Iterator[str]:
    """deploy/run on a free port with the abuse limits off; its base URL."""
    env = {**os.environ, "DATABASE_URL": database, "FLASK_FROZEN_NOW": NOW.isoformat(),
           "FLASK_RATELIMIT_ENABLED": "false", "PYTHONPATH": str(ROOT)}
    log_file = run_dir / "deploy-run.log"
    with log_file.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "deploy" / "run"), "--port", str(free_port()),
             "--run-dir", str(run_dir / "nginx")], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        url = ""
        while not url:
            found = READY.search(log_file.read_text(errors="replace"))
            if found:
                url = found.group(1)
            elif proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("deploy/run did not start:\n"
                                   + log_file.read_text(errors="replace")[-3000:])
            else:
                time.sleep(0.1)  # polling a child's start-up
        yield url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=40)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # anything left of nginx or gunicorn
        proc.wait(timeout=10)


# --- the load -----------------------------------------------------------------------------

class Contest:
    """The popular slots in turn, and the racing events that still have no pre booking."""

    def __init__(self, races: Sequence[Race], clients: int, rng: random.Random) -> None:
        self.lock = threading.Lock()
        self.queue = [(race, slot) for slots in zip(*(r.slots for r in races), strict=False)
                      for race, slot in zip(races, slots, strict=True)]
        self.open = {id(race): list(race.event_ids) for race in races}
        self.rng = rng
        self.index = 0
        self.tries = 0
        self.max_tries = 4 * clients
        self.won = 0
        self.passed = 0

    def attempt(self) -> tuple[int, dict[str, Any]] | None:
        """(slot number, request body) of the next attempt; None when slots ran out."""
        with self.lock:
            if self.tries >= self.max_tries:
                self.index, self.tries, self.passed = self.index + 1, 0, self.passed + 1
            while self.index < len(self.queue) and not self.open[id(self.queue[self.index][0])]:
                self.index, self.tries = self.index + 1, 0  # every racer of that day booked
            if self.index >= len(self.queue):
                return None
            race, slot = self.queue[self.index]
            events = self.open[id(race)]
            self.tries += 1
            event_id = self.rng.choice(events)
            return self.index, {"event_id": event_id, "therapist_id": slot["therapist_id"],
                                "kind": "pre", "start": slot["start"]}

    def won_by(self, number: int, event_id: int) -> None:
        with self.lock:
            self.won += 1
            race, _ = self.queue[number]
            with contextlib.suppress(ValueError):
                self.open[id(race)].remove(event_id)
            if number == self.index:
                self.index, self.tries = self.index + 1, 0


@dataclass
class Tally:
    """What one client saw: latencies (s) and statuses per kind, failures."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[str, Counter] = field(default_factory=dict)
    errors: Counter = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)

    def add(self, kind: str, seconds: float, status: int, failure: str = "") -> None:
        """One answer (status 0 and the exception's name: no answer)."""
        self.latencies.setdefault(kind, []).append(seconds)
        self.statuses.setdefault(kind, Counter())[status] += 1
        if status not in EXPECTED[kind]:
            self.errors[f"{kind} {failure or status}"] += 1

    def merge(self, other: Tally, samples: bool = False) -> None:
        """Add another client's (or turn's) tally; its first failures too (all with
        `samples`)."""
        for kind, values in other.latencies.items():
            self.latencies.setdefault(kind, []).extend(values)
        for kind, counts in other.statuses.items():
            self.statuses.setdefault(kind, Counter()).update(counts)
        self.errors.update(other.errors)
        self.samples.extend(other.samples if samples else other.samples[:3])


@dataclass
class Plan:
    host: str
    port: int
    token: str
    event_ids: list[int]
    feeds: list[str]
    contest: Contest | None  # None: only GET /api/v1/me


class Client(threading.Thread):
    def __init__(self, plan: Plan, seed: int, start: threading.Event, stop_at: list[float]
                 ) -> None:
        super().__init__(daemon=True)
        self.plan, self.rng, self.start_gate, self.stop_at = plan, random.Random(seed), start, \
            stop_at
        self.tally = Tally()
        self.etags: dict[str, str] = {}
        self.headers = {"Authorization": f"Bearer {plan.token}"}
        self.conn = http.client.HTTPConnection(plan.host, plan.port, timeout=TIMEOUT_S)

    def request(self, kind: str, method: str, path: str, body: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes, Any]:
        """One request on the kept-alive connection; (status, body, response); status 0
        for a connection failure (the connection is opened again for the next)."""
        began = time.perf_counter()
        try:
            data = json.dumps(body).encode() if body is not None else None
            all_headers = {**self.headers, **(headers or {})}
            if data is not None:
                all_headers["Content-Type"] = "application/json"
            self.conn.request(method, path, body=data, headers=all_headers)
            response = self.conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            self.tally.add(kind, time.perf_counter() - began, 0, type(exc).__name__)
            if len(self.tally.samples) < 3:
                self.tally.samples.append(f"{method} {path}: {exc!r}")
            return 0, b"", None
        self.tally.add(kind, time.perf_counter() - began, response.status)
        if response.status not in EXPECTED[kind] and len(self.tally.samples) < 3:
            self.tally.samples.append(f"{method} {path}: {response.status} {payload[:300]!r}")
        return response.status, payload, response

    def one(self) -> None:
        roll = self.rng.random()
        if self.plan.contest is None:
            self.do("me")
        elif roll < FEED_SHARE:
            self.do("feed")
        elif roll < FEED_SHARE + (1 - FEED_SHARE) * PROPOSAL_SHARE:
            self.do("proposals")
        else:
            self.do("booking")

    def do(self, kind: str) -> None:
        plan = self.plan
        if kind == "me":
            self.request("me", "GET", "/api/v1/me")
        elif kind == "feed":
            path = self.rng.choice(plan.feeds)
            etag = self.etags.get(path)
            status, _, response = self.request(
                "feed", "GET", path, headers={"If-None-Match": etag} if etag else None)
            if status == 200 and response.getheader("ETag"):
                self.etags[path] = response.getheader("ETag")
        else:
            attempt = plan.contest.attempt() if kind == "booking" and plan.contest else None
            if attempt is None:  # proposals, or every popular slot is taken
                self.request("proposals", "GET",
                             f"/api/v1/events/{self.rng.choice(plan.event_ids)}/proposals")
                return
            number, body = attempt
            status, _, _ = self.request("booking", "POST", "/api/v1/bookings", body)
            if status == 201:
                plan.contest.won_by(number, body["event_id"])

    def run(self) -> None:
        self.start_gate.wait()
        while time.perf_counter() < self.stop_at[0]:
            self.one()
        self.conn.close()


@dataclass
class Phase:
    tally: Tally
    seconds: float
    cpu_seconds: float

    def add(self, other: Phase | None) -> Phase:
        """This turn and the turns before it of the same phase."""
        if other is not None:
            self.tally.merge(other.tally, samples=True)
            self.seconds += other.seconds
            self.cpu_seconds += other.cpu_seconds
        return self

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.tally.latencies.values())

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def run_phase(plan: Plan, clients: int, seconds: float, seed: int) -> Phase:
    """`clients` threads for `seconds`: the merged tally, the wall time and this process's
    CPU time over the phase (the generator's own cost)."""
    gate, stop_at = threading.Event(), [0.0]
    threads = [Client(plan, seed * 1000 + i, gate, stop_at) for i in range(clients)]
    for thread in threads:
        thread.start()
    cpu = time.process_time()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    gate.set()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    cpu = time.process_time() - cpu
    tally = Tally()
    for thread in threads:
        tally.merge(thread.tally)
    return Phase(tally, wall, cpu)


def calibrate(plan: Plan, rounds: int, seed: int) -> Tally:
    """One client, `rounds` times in turn: a booking attempt of the next popular slot
    (alone, it wins: 201, a write that empties the per-worker caches), a proposals
    request, a feed poll and GET /api/v1/me. Each request's latency without contention is
    about the server's own work for it: the cost of each kind against /me."""
    client = Client(plan, seed, threading.Event(), [0.0])
    for _ in range(rounds):
        for kind in ("booking", "proposals", "feed", "me"):
            client.do(kind)
    client.conn.close()
    return client.tally


# --- afterwards ---------------------------------------------------------------------------

OVERLAPS = {
    "therapist": """
        SELECT count(*) FROM booking a JOIN booking b
          ON a.therapist_id = b.therapist_id AND a.id < b.id
         WHERE a.status = 'confirmed' AND b.status = 'confirmed'
           AND a.start < b.block_end AND b.start < a.block_end""",
    "athlete": """
        SELECT count(*) FROM booking a JOIN booking b
          ON a.athlete_id = b.athlete_id AND a.id < b.id
         WHERE a.status = 'confirmed' AND b.status = 'confirmed'
           AND a.start < b."end" AND b.start < a."end\"""",
}


def database_counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            counts = {name: conn.execute(sa.text(sql)).scalar_one()
                      for name, sql in OVERLAPS.items()}
            counts["confirmed"] = conn.execute(sa.text(
                "SELECT count(*) FROM booking WHERE status = 'confirmed'")).scalar_one()
    finally:
        engine.dispose()
    return counts


# --- the run ------------------------------------------------------------------------------

def ms(values: Sequence[float], q: float) -> float:
    return percentile(values, q) * 1000 if values else float("nan")


def run(args) -> int:
    size = QUICK if args.quick else FULL
    racers = 300 if args.quick else 1_500
    seconds = args.seconds if args.seconds is not None else (10 if args.quick else 60)
    if shutil.which("nginx") is None and not os.access("/usr/sbin/nginx", os.X_OK):
        print("NOT MEASURED: nginx is not installed (apt-get install nginx-light)")
        return 2
    rng = random.Random(args.seed)
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-load-")))
        url = stack.enter_context(fresh_database(args.backend))
        began = time.perf_counter()
        app = make_app(url)
        clinic = build_clinic(app, size, rng)
        races = racing_events(app, clinic, racers, rng)
        feeds = feed_paths(app, clinic)
        from athlete_sched.extensions import db

        with app.app_context():
            if args.backend == "sqlite":
                journal = db.session.execute(sa.text("PRAGMA journal_mode")).scalar_one()
            else:
                journal = "-"
            db.session.remove()
            db.engine.dispose()
        print(f"clinic built in {time.perf_counter() - began:.1f} s: "
              f"{len(clinic.therapists)} therapists, {len(clinic.athletes)} athletes, "
              f"{len(clinic.event_ids)} events + {racers} racing, "
              f"{sum(len(r.slots) for r in races)} popular slots, {len(feeds)} feeds; "
              f"SQLite journal: {journal}", flush=True)
        with deployed(url, tmp) as base:
            parts = urlsplit(base)
            host, port = parts.hostname or "127.0.0.1", parts.port or 80
            events = [*clinic.event_ids, *(e for r in races for e in r.event_ids)]
            contest = Contest(races, args.clients, random.Random(args.seed + 1))
            mix_plan = Plan(host, port, clinic.token, events, feeds, contest)
            me_plan = Plan(host, port, clinic.token, events, feeds, None)
            # Warm-up: proposals, feeds and /me, no bookings (no popular slots given).
            warm = Plan(host, port, clinic.token, events, feeds, Contest([], 1, rng))
            run_phase(warm, args.clients, 3.0, args.seed)
            run_phase(me_plan, args.clients, 2.0, args.seed)
            # The two phases in alternating turns, so that a machine whose other load
            # changes meanwhile moves both alike; each phase's turns are summed.
            mix = me = None
            turn = seconds / args.turns
            for i in range(args.turns):
                print(f"turn {i + 1} of {args.turns}: mix, then me, {args.clients} clients "
                      f"for {turn:g} s each ...", flush=True)
                mix = run_phase(mix_plan, args.clients, turn, args.seed + 10 + i).add(mix)
                me = run_phase(me_plan, args.clients, turn, args.seed + 20 + i).add(me)
            alone = calibrate(mix_plan, 50 if args.quick else 100, args.seed + 4)
        counts = database_counts(url)
    return report(args, seconds, mix, me, alone, contest, counts)


def report(args, seconds: float, mix: Phase, me: Phase, alone: Tally, contest: Contest,
           counts: dict[str, int]) -> int:
    rows = []
    for name, phase in (("mix", mix), ("me", me)):
        for kind, values in sorted(phase.tally.latencies.items()):
            statuses = ", ".join(f"{s}: {n:,}" for s, n in sorted(phase.tally.statuses[kind]
                                                                    .items()))
            rows.append((name, kind, len(values), statuses, ms(values, 50), ms(values, 95),
                         ms(values, 99)))
        every = [v for values in phase.tally.latencies.values() for v in values]
        rows.append((name, "all", len(every), f"{phase.rps:,.1f} requests/s", ms(every, 50),
                     ms(every, 95), ms(every, 99)))
    print_table(["phase", "kind", "requests", "answers", "p50 ms", "p95 ms", "p99 ms"], rows,
                f"load ({args.backend}, {args.clients} clients, {seconds:g} s a phase in "
                f"{args.turns} turns, "
                f"seed {args.seed}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")
    # The cost of each kind alone (median latency, one client) against /me, and the ratio
    # those costs predict for the mix's shares: where the mix's requests/s go.
    cost = {kind: ms(values, 50) for kind, values in alone.latencies.items()}
    shares = {"feed": FEED_SHARE, "proposals": (1 - FEED_SHARE) * PROPOSAL_SHARE,
              "booking": (1 - FEED_SHARE) * (1 - PROPOSAL_SHARE)}
    predicted = cost.get("me", 0) / sum(share * cost.get(kind, 0)
                                        for kind, share in shares.items()) if cost else 0.0
    print_table(["kind", "requests", "p50 ms alone", "x me"],
                [(kind, len(alone.latencies[kind]), cost[kind], cost[kind] / cost["me"])
                 for kind in ("booking", "proposals", "feed", "me") if kind in cost],
                "one client alone, in turns after a booking (a write: caches emptied); "
                f"the mix's shares at these costs predict mix / me = {predicted:.2f}")
    errors = mix.tally.errors + me.tally.errors + alone.errors
    errors = Counter({k: v for k, v in errors.items() if v > 0})
    ratio = mix.rps / me.rps if me.rps else 0.0
    won = sum(t.statuses.get("booking", Counter()).get(201, 0) for t in (mix.tally, alone))
    checks = [
        ("errors", f"{sum(errors.values()):,}"
         + (f" ({', '.join(f'{k}: {v}' for k, v in errors.items())})" if errors else ""),
         "0", not errors),
        ("overlapping confirmed bookings, per therapist (buffer included)",
         f"{counts['therapist']:,}", "0", counts["therapist"] == 0),
        ("overlapping confirmed bookings, per athlete", f"{counts['athlete']:,}", "0",
         counts["athlete"] == 0),
        ("confirmed bookings in the database / 201s seen",
         f"{counts['confirmed']:,} / {won:,}", "equal", counts["confirmed"] == won),
        ("popular slots won (mix and alone) / passed over unwon",
         f"{contest.won:,} / {contest.passed:,}", "", None),
        ("mix requests/s", f"{mix.rps:,.1f}", "", None),
        ("me requests/s", f"{me.rps:,.1f}", "", None),
        ("mix / me requests/s", f"{ratio:.2f}", f">= {RATIO_TARGET:g}",
         ratio >= RATIO_TARGET),
        ("generator CPU per request, mix / me",
         f"{mix.cpu_seconds / max(1, mix.requests) * 1e3:.2f} / "
         f"{me.cpu_seconds / max(1, me.requests) * 1e3:.2f} ms", "", None),
    ]
    print_table(["check", "value", "target", "result"],
                [(n, v, t, "" if ok is None else ("PASS" if ok else "FAIL"))
                 for n, v, t, ok in checks])
    for sample in (mix.tally.samples + me.tally.samples)[:5]:
        print(f"  failed: {sample}")
    if not mix.requests or not me.requests:
        print("NOT MEASURED: a phase made no request")
        return 2
    return 1 if any(ok is False for *_, ok in checks) else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=None,
                        help="length of each phase (default 60, 10 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="10 s a phase, propose.py's quick clinic")
    parser.add_argument("--turns", type=int, default=2,
                        help="the mix and the /me phase alternate in this many turns each "
                             "(each phase still lasts --seconds in all)")
    parser.add_argument("--seed", type=int, default=20270104)
    args = parser.parse_args(argv)
    if args.turns < 1 or args.clients < 1:
        parser.error("--turns and --clients must be at least 1")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
