"""Benchmark: guarded booking writes against the same writes without the guard.

Run from the repository root::

    .venv/bin/python bench/bookings.py                      # 5,000 transactions, both backends
    .venv/bin/python bench/bookings.py --quick              # 1,000 transactions
    .venv/bin/python bench/bookings.py --backend sqlite     # or postgresql
    .venv/bin/python bench/bookings.py --profile            # and where the guarded time goes

The target (the issue): booking transactions with a few percent conflicts run at >= 0.8x
the throughput of "plain inserts without the guard", and afterwards a self-join finds no
overlap. What the two sides are, each on its own fresh database, with the same requests in
the same order:

- guarded: the app's booking transaction, through the public service functions: load the
  event and therapist, then `services.bookings.book` (the rules of time in the
  pure core; the guard of db/guard.py, one statement that checks every conflict rule, on
  PostgreSQL after taking the therapist's and athlete's advisory locks; the athlete's
  season; the ORM INSERT, the database's overlap constraints in force), as one unit of
  work (`services.unit_of_work.run`: COMMIT; a conflict rolls back). Real schema.
- baseline ("plain inserts without the guard"): the very same calls with the guard's
  check taken out by this script (`guard_off` replaces `db.guard.check` with a function
  that finds nothing, while the baseline's batches run): the same loads, the same rule
  checks of notice, window, working hours and the athlete's season, the same ORM INSERT
  of the same row, COMMIT; but no conflict check, no advisory locks, and a booking table
  without the exclusion constraints (PostgreSQL), overlap triggers (SQLite) and partial
  unique index (dropped from that database after migrating; CHECKs stay). So the
  baseline books the conflicting requests that only the guard would refuse, and its
  self-join finds their overlaps; a request the athlete's season refuses (a racer asking
  again for a session of a kind they have) it refuses like the guarded side (rollback).
- bare insert (information only, not judged): one Core INSERT of the row and a COMMIT, no
  loads, no checks, real schema (a conflict is refused by the constraints). It shows what
  the loads and the ORM cost on both sides.

The clinic (fixed seed): 10 therapists in Europe/Berlin (Mon-Sat 08-12 and 13-18, 45-min
sessions, 15-min buffer), a race every Sunday of 2027 with 50 athletes, each athlete racing
every 10th week. Every racer asks for a pre session (Thu or Fri) and a post session (Mon to
Wed) on the hour, with a therapist drawn at random among those still free. 3 % of the
requests are conflicts: another racer asks for a slot that is already taken.

Timing: one warm-up of 90 requests (a separate race week) per side, then the run split
into 10 equal batches; the sides take turns batch by batch (and take turns going first)
so that machine noise hits all alike. The judged figure is the median of the 10 paired
ratios (guarded / baseline throughput of the same batch, both run in the same round): a
burst of noise skews the pairs it hits, which the median sets aside, instead of one
side's median. The ratio of the two sides' median batch throughputs is printed beside it.
On PostgreSQL every database is ANALYZEd (untimed) before each round of batches, as
autovacuum keeps the statistics of a table that grows (this run grows it from empty
within seconds). Afterwards a self-join counts overlapping confirmed bookings on every
database. Exits 1 if the guarded database has an overlap, if the guarded or bare side's
outcomes are not exactly the planned ones, or if the judged figure is below --target.
`--profile` then books the first two batches again on a fresh database and shows the
phases of a guarded request, its SQL round trips and a cProfile.
"""

from __future__ import annotations

import argparse
import random
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from common import (
    StatementClock,
    backends,
    fresh_database,
    median,
    print_table,
    profile_by_package,
    timed,
)

from athlete_sched import create_app
from athlete_sched.core.errors import Conflict
from athlete_sched.db import guard
from athlete_sched.db.models import Athlete, Booking, Event, Therapist, WorkingPeriodRow
from athlete_sched.db.queries import therapists
from athlete_sched.extensions import db
from athlete_sched.services import bookings, unit_of_work

SEED = 20270117
NOW = datetime(2027, 1, 4, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
THERAPISTS, SESSION_MIN, BUFFER_MIN = 10, 45, 15
RACERS_PER_WEEK, GROUPS = 50, 10  # athlete group g races in the weeks w with w % 10 == g
FIRST_RACE, WARMUP_RACE = date(2027, 1, 17), date(2027, 1, 10)  # Sundays
HOURS = (8, 9, 10, 11, 13, 14, 15, 16, 17)  # one session + buffer per hour
DAYS = {"pre": (-3, -2), "post": (1, 2, 3)}
CONFLICT_SHARE, BATCHES, WARMUP = 0.03, 10, 90

LEGEND = """\
sides (each on its own fresh database, the same requests in the same order):
  guarded      load event, therapist; services.bookings.book (core checks,
               the guard: one conflict statement, PostgreSQL: advisory locks first; the
               INSERT with the overlap constraints in force); COMMIT (unit_of_work.run)
  baseline     the same calls without the guard's check (guard_off): same loads, same rule
               checks (notice, window, working hours, the athlete's season), same ORM
               INSERT, COMMIT; no conflict
               check, no advisory locks, no exclusion constraints / overlap triggers /
               partial unique index
  bare insert  information only: one Core INSERT + COMMIT, real schema
target: guarded >= --target x baseline (median of the paired batch ratios), and no
overlap on the guarded database (self-join below)"""

OVERLAPS_SQL = """
SELECT 'therapist' AS kind, COUNT(*) FROM booking a JOIN booking b
  ON a.therapist_id = b.therapist_id AND a.id < b.id
 AND a.status = 'confirmed' AND b.status = 'confirmed'
 AND a.start < b.block_end AND b.start < a.block_end
UNION ALL
SELECT 'athlete', COUNT(*) FROM booking a JOIN booking b
  ON a.athlete_id = b.athlete_id AND a.id < b.id
 AND a.status = 'confirmed' AND b.status = 'confirmed'
 AND a.start < b."end" AND b.start < a."end"
"""


# --- the clinic and the requests -----------------------------------------------------------

@dataclass(frozen=True)
class Request:
    """One booking request, by row number in the seeded tables (ids are 1-based)."""

    event: int
    athlete: int
    therapist: int
    kind: str
    start: datetime  # aware UTC
    conflict: bool = False


@dataclass(frozen=True)
class Race:
    day: date
    racers: tuple[int, ...]  # athlete numbers
    first_event: int  # event number of racers[0]; the others follow in order


@dataclass
class Clinic:
    athletes: int
    races: list[Race]
    warmup: list[Request]
    probe: Request  # a free slot of the warm-up race, to count one request's statements
    requests: list[Request]


def _race_requests(race: Race, rng: random.Random) -> list[Request]:
    """A pre and a post for every racer, each in a slot nobody else in this race takes."""
    found = []
    for kind, offsets in DAYS.items():
        slots = [(t, race.day + timedelta(days=d), h)
                 for d in offsets for t in range(1, THERAPISTS + 1) for h in HOURS]
        rng.shuffle(slots)
        for i, (athlete, (therapist, day, hour)) in enumerate(
                zip(race.racers, slots, strict=False)):
            start = datetime(day.year, day.month, day.day, hour, tzinfo=BERLIN).astimezone(UTC)
            found.append(Request(race.first_event + i, athlete, therapist, kind, start))
    rng.shuffle(found)
    return found


def _conflicts(valid: list[Request], races: dict[int, Race], count: int,
               rng: random.Random) -> list[tuple[float, Request]]:
    """`count` requests by another racer of the same race for a slot taken earlier."""
    found = []
    for _ in range(count):
        at = rng.randrange(len(valid))
        victim = valid[at]
        race = races[victim.event]
        other = rng.choice([a for a in race.racers if a != victim.athlete])
        event = race.first_event + race.racers.index(other)
        found.append((at + rng.uniform(0.5, 60), Request(
            event, other, victim.therapist, victim.kind, victim.start, conflict=True)))
    return found


def build_clinic(total: int, seed: int = SEED) -> Clinic:
    """Races, racers and `total` requests (CONFLICT_SHARE of them conflicts), reproducibly."""
    rng = random.Random(seed)
    weeks = -(-total // (2 * RACERS_PER_WEEK))
    groups = min(weeks, GROUPS)
    races, event = [Race(WARMUP_RACE, tuple(range(1, RACERS_PER_WEEK + 1)), 1)], 1
    for week in range(weeks):
        event += RACERS_PER_WEEK
        group = week % groups + 1  # group 0 is the warm-up race's racers
        racers = tuple(range(group * RACERS_PER_WEEK + 1, (group + 1) * RACERS_PER_WEEK + 1))
        races.append(Race(FIRST_RACE + timedelta(weeks=week), racers, event))
    warmup = _race_requests(races[0], rng)
    planned = [r for race in races[1:] for r in _race_requests(race, rng)]
    conflicts = round(total * CONFLICT_SHARE)
    valid = planned[:total - conflicts]
    by_event = {race.first_event + i: race for race in races for i in range(len(race.racers))}
    ordered = [(float(i), r) for i, r in enumerate(valid)]
    ordered += _conflicts(valid, by_event, conflicts, rng)
    ordered.sort(key=lambda pair: pair[0])
    return Clinic((groups + 1) * RACERS_PER_WEEK, races, warmup[:WARMUP], warmup[WARMUP],
                  [r for _, r in ordered])


def seed(clinic: Clinic) -> None:
    """Therapists, athletes and events, inserted in number order (so ids = numbers)."""
    periods = [(d, s, e) for d in range(6) for s, e in ((8 * 60, 12 * 60), (13 * 60, 18 * 60))]
    for t in range(1, THERAPISTS + 1):
        db.session.add(Therapist(
            id=t, name=f"Therapist {t}", email=f"t{t}@clinic.test", timezone="Europe/Berlin",
            session_minutes=SESSION_MIN, buffer_minutes=BUFFER_MIN, slot_step_minutes=15,
            working_hours=[WorkingPeriodRow(day=d, start_minute=s, end_minute=e)
                           for d, s, e in periods]))
    for a in range(1, clinic.athletes + 1):
        db.session.add(Athlete(id=a, name=f"Athlete {a}", email=f"a{a}@athletes.test",
                               sport="running", timezone="Europe/Berlin"))
    db.session.flush()
    for race in clinic.races:
        start = datetime(race.day.year, race.day.month, race.day.day, 9, tzinfo=BERLIN)
        for i, athlete in enumerate(race.racers):
            db.session.add(Event(
                id=race.first_event + i, athlete_id=athlete, name=f"Race {race.day}",
                sport="running", timezone="Europe/Berlin", start=start, start_is_date=False,
                end=start + timedelta(hours=4), end_is_date=False, priority="A",
                created_at=NOW, occupied_end=start + timedelta(hours=4)))
    db.session.commit()
    if db.engine.dialect.name == "postgresql":  # explicit ids: move the sequences on
        with db.engine.begin() as conn:
            for table in ("therapist", "athlete", "event", "working_period"):
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT MAX(id) FROM {table}))"))


# --- the sides ----------------------------------------------------------------------------

def _load(r: Request) -> tuple[Event, Therapist, int]:
    """What the API loads for a booking request: the event and the therapist's settings
    (its schedule is read by the booking itself; an event's athlete is not loaded)."""
    return db.session.get(Event, r.event), therapists.settings(r.therapist), r.athlete


def guarded(r: Request) -> bool:
    """One request as the API serves it: load, book (core checks, guard, season, insert),
    one unit of work (commit; a conflict rolls back)."""
    try:
        unit_of_work.run(lambda: bookings.book(*_load(r), r.kind, r.start))
        return True
    except Conflict:
        return False


def bare(r: Request) -> bool:
    """Information only: the same row as one Core INSERT and a COMMIT, nothing else."""
    end = r.start + timedelta(minutes=SESSION_MIN)
    row = {"event_id": r.event, "athlete_id": r.athlete, "therapist_id": r.therapist,
           "kind": r.kind, "start": r.start, "end": end,
           "block_end": end + timedelta(minutes=BUFFER_MIN), "status": "confirmed",
           "uid": f"{uuid.uuid4()}@athlete-sched", "sequence": 0, "notes": "",
           "created_at": NOW, "updated_at": NOW}
    try:
        db.session.execute(sa.insert(Booking.__table__), row)
        db.session.commit()
        return True
    except sa.exc.IntegrityError:
        db.session.rollback()
        return False


@contextmanager
def guard_off() -> Iterator[None]:
    """The baseline's booking without the guard: `db.guard.check` (the one conflict
    statement, with PostgreSQL's advisory locks) finds nothing while the block runs."""
    check = guard.check
    guard.check = lambda _claim: None
    try:
        yield
    finally:
        guard.check = check


@dataclass(frozen=True)
class Side:
    run: Callable[[Request], bool]
    guards: bool  # the database keeps its overlap constraints / triggers / unique index
    checks: bool = True  # the service's guard statement runs


SIDES: dict[str, Side] = {
    "guarded": Side(guarded, guards=True),
    "baseline": Side(guarded, guards=False, checks=False),
    "bare insert": Side(bare, guards=True),  # information only
}


def run_batch(app, side: Side, batch: Sequence[Request]) -> list[bool]:
    """Each request in its own app context: a fresh session per unit of work."""
    outcomes = []
    with ExitStack() as stack:
        if not side.checks:
            stack.enter_context(guard_off())
        for r in batch:
            with app.app_context():
                outcomes.append(side.run(r))
    return outcomes


@dataclass
class Result:
    seconds: list[float]
    outcomes: list[bool]
    batch: int

    @property
    def tx_per_s(self) -> list[float]:
        return [self.batch / s for s in self.seconds]


def analyze(apps: dict[str, Any]) -> None:
    """PostgreSQL: ANALYZE every database (untimed), as autovacuum does once a table grew
    by 10 %. The run grows the booking table from empty within seconds, faster than
    autovacuum's one-minute nap; plans made for an empty table read it whole. (SQLite
    keeps no statistics unless asked to, and plans these queries by their indexes.)"""
    for app in apps.values():
        with app.app_context(), db.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                    sa.text("ANALYZE"))


def measure(apps: dict[str, Any], clinic: Clinic) -> dict[str, Result]:
    """Warm-up, then BATCHES batches per side, the sides taking turns to go first."""
    size = len(clinic.requests) // BATCHES
    results = {name: Result([], [], size) for name in apps}
    for name, app in apps.items():
        run_batch(app, SIDES[name], clinic.warmup)
    names = list(apps)
    for b in range(BATCHES):
        analyze(apps)
        batch = clinic.requests[b * size:(b + 1) * size]
        for name in names[b % len(names):] + names[:b % len(names)]:
            seconds, outcomes = timed(lambda n=name, b=batch: run_batch(apps[n], SIDES[n], b))
            results[name].seconds.append(seconds)
            results[name].outcomes += outcomes
    return results


# --- the databases ------------------------------------------------------------------------

# What makes the booking table guard itself (migration 0001), dropped for the baseline.
UNGUARD_SQL = {
    "postgresql": ("ALTER TABLE booking DROP CONSTRAINT ex_booking_therapist_overlap",
                   "ALTER TABLE booking DROP CONSTRAINT ex_booking_athlete_overlap",
                   "DROP INDEX uq_booking_one_confirmed_per_kind"),
    "sqlite": tuple(f"DROP TRIGGER booking_{who}_overlap_{when}"
                    for who in ("therapist", "athlete") for when in ("insert", "update"))
    + ("DROP INDEX uq_booking_one_confirmed_per_kind",),
}


def unguard(app) -> None:
    """Drop the booking table's overlap constraints / triggers and its unique index."""
    with app.app_context(), db.engine.begin() as conn:
        for statement in UNGUARD_SQL[conn.dialect.name]:
            conn.execute(sa.text(statement))


def make_app(url: str):
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "FROZEN_NOW": NOW.isoformat()})


def prepared_apps(urls: dict[str, str], clinic: Clinic) -> dict[str, Any]:
    """An app per side on its own database: seeded, and unguarded where the side says."""
    apps = {name: make_app(url) for name, url in urls.items()}
    for name, app in apps.items():
        with app.app_context():
            seed(clinic)
        if not SIDES[name].guards:
            unguard(app)
    return apps


# --- checks and reports -------------------------------------------------------------------

def overlaps(app) -> dict[str, int]:
    with app.app_context(), db.engine.connect() as conn:
        return {kind: count for kind, count in conn.execute(sa.text(OVERLAPS_SQL))}


def booked_rows(app) -> set[tuple]:
    """(athlete, therapist, kind, start as aware UTC) of every confirmed booking."""
    query = sa.select(Booking.athlete_id, Booking.therapist_id, Booking.kind,
                      Booking.start).where(Booking.status == "confirmed")
    with app.app_context(), db.engine.connect() as conn:
        return {tuple(row) for row in conn.execute(query)}


def statements_per_request(app, side: Side, r: Request) -> int:
    """How many SQL statements one request sends (BEGIN / COMMIT not counted)."""
    with app.app_context():
        engine = db.engine
    with StatementClock(engine) as clock:
        run_batch(app, side, [r])
    return int(sum(count for shape, (count, _) in clock.per_shape.items()
                   if not shape.startswith("BEGIN")))


@dataclass
class Checks:
    """What the run must show, per side: overlaps (self-join) and booked rows."""

    overlaps: dict[str, dict[str, int]]
    rows: dict[str, set[tuple]]
    statements: dict[str, int]


def collect(apps: dict[str, Any], clinic: Clinic) -> Checks:
    return Checks({name: overlaps(app) for name, app in apps.items()},
                  {name: booked_rows(app) for name, app in apps.items()},
                  {name: statements_per_request(app, SIDES[name], clinic.probe)
                   for name, app in apps.items()})


def paired_ratios(results: dict[str, Result]) -> list[float]:
    """Guarded / baseline throughput of each batch (both sides ran it in the same round)."""
    return [g / b for g, b in zip(results["guarded"].tx_per_s, results["baseline"].tx_per_s,
                                  strict=True)]


def report(backend: str, results: dict[str, Result], clinic: Clinic, checks: Checks) -> float:
    """Print the table; return the median of the paired batch ratios guarded / baseline."""
    base = median(results["baseline"].tx_per_s)
    rows = []
    for name, result in results.items():
        rates, booked = result.tx_per_s, sum(result.outcomes)
        rows.append([name, len(result.outcomes), booked, len(result.outcomes) - booked,
                     checks.statements[name], median(rates), min(rates), max(rates),
                     median(rates) / base, sum(checks.overlaps[name].values())])
    print_table(["side", "tx", "booked", "refused", "stmts/tx", "median tx/s", "min tx/s",
                 "max tx/s", "x baseline", "overlaps"], rows,
                title=f"{backend}: {len(clinic.requests):,} transactions per side, median of "
                      f"{BATCHES} batches of {results['guarded'].batch:,} after a "
                      f"{WARMUP}-request warm-up (bare insert: information, not judged)")
    pairs = paired_ratios(results)
    print(f"guarded / baseline per batch pair: median {median(pairs):.2f}, range "
          f"{min(pairs):.2f}-{max(pairs):.2f}; ratio of the side medians "
          f"{median(results['guarded'].tx_per_s) / base:.2f}")
    return median(pairs)


def verdict(ratio: float, target: float, clinic: Clinic, results: dict[str, Result],
            checks: Checks) -> bool:
    """Print what was checked; True if all holds."""
    planned = [(r.athlete, r.therapist, r.kind, r.start)
               for r in clinic.requests if not r.conflict]
    warmup = [(r.athlete, r.therapist, r.kind, r.start) for r in clinic.warmup]
    kept = [name for name in results if SIDES[name].guards]  # guarded and bare insert
    right = all(sum(results[n].outcomes) == len(planned) for n in kept)
    same = all(checks.rows[n] == {*planned, *warmup} for n in kept)
    clean = not any(sum(checks.overlaps[n].values()) for n in kept)
    print(f"guarded / baseline = {ratio:.2f}: {'meets' if ratio >= target else 'MISSES'} the "
          f"target {target:.2f}")
    print("overlapping confirmed pairs (self-join above; the baseline has no guard, so its "
          "conflicts overlap): " + "; ".join(f"{n} {c}" for n, c in checks.overlaps.items()))
    print(f"guarded and bare insert booked exactly the planned {len(planned):,} sessions and "
          f"refused the {len(clinic.requests) - len(planned):,} conflicts: {right and same}")
    return ratio >= target and right and same and clean


def _phases(r: Request) -> dict[str, float]:
    """The guarded unit of work, timed phase by phase."""
    spent: dict[str, float] = {"load (2 gets)": 0.0, "book (core checks, guard, insert)": 0.0}

    def work() -> None:
        spent["load (2 gets)"], objects = timed(lambda: _load(r))
        spent["book (core checks, guard, insert)"], _ = timed(
            lambda: bookings.book(*objects, r.kind, r.start))

    with suppress(Conflict):
        spent["unit of work (all, commit included)"], _ = timed(lambda: unit_of_work.run(work))
    return spent


def profile(url: str, clinic: Clinic) -> None:
    """Where a guarded request spends its time: phases, SQL statements, packages."""
    app = make_app(url)
    with app.app_context():
        seed(clinic)
        engine = db.engine
    run_batch(app, SIDES["guarded"], clinic.warmup)
    analyze({"guarded": app})
    size = len(clinic.requests) // BATCHES
    batch = clinic.requests[:size]
    phases: dict[str, float] = {}
    with StatementClock(engine) as clock:
        for r in batch:
            with app.app_context():
                for phase, seconds in _phases(r).items():
                    phases[phase] = phases.get(phase, 0.0) + seconds
    print_table(["phase", "ms per request"], [[k, v / size * 1e3] for k, v in phases.items()],
                title=f"guarded, first {size} requests on a fresh database: phases")
    print_table(["statement (up to WHERE)", "count/tx", "ms/tx"],
                [[shape, count / size, seconds / size * 1e3] for shape, (count, seconds) in
                 sorted(clock.per_shape.items(), key=lambda kv: -kv[1][1])],
                title="SQL round trips (time inside the driver's execute)")
    shares, top = profile_by_package(lambda: run_batch(app, SIDES["guarded"], clinic.requests[
        size:2 * size]))
    print_table(["owner", "% own time"], [[k, v * 100] for k, v in shares[:12]],
                title=f"cProfile of the next {size} requests, own time by package")
    print("\n".join(line for line in top.splitlines()[6:] if line.strip()))
    with app.app_context():
        db.engine.dispose()


def bench_backend(backend: str, clinic: Clinic, target: float, want_profile: bool) -> bool:
    with ExitStack() as stack:
        urls = {name: stack.enter_context(fresh_database(backend)) for name in SIDES}
        apps = prepared_apps(urls, clinic)
        results = measure(apps, clinic)
        checks = collect(apps, clinic)
        for app in apps.values():
            with app.app_context():
                db.engine.dispose()
    ratio = report(backend, results, clinic, checks)
    ok = verdict(ratio, target, clinic, results, checks)
    if want_profile:
        with fresh_database(backend) as url:
            profile(url, clinic)
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 transactions, not 5,000")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--target", type=float, default=0.8,
                        help="lowest acceptable guarded / baseline throughput")
    parser.add_argument("--profile", action="store_true",
                        help="also show where a guarded request spends its time")
    args = parser.parse_args(argv)
    clinic = build_clinic(1_000 if args.quick else 5_000)
    print(LEGEND)
    print("\noverlap check, on every database afterwards (both counts must be 0 on the guarded "
          "one):" + OVERLAPS_SQL)
    ok = True
    for backend in backends(args.backend):
        ok = bench_backend(backend, clinic, args.target, args.profile) and ok
    print("\nOK" if ok else "\nFAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
