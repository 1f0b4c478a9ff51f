"""Benchmark: the core's free_starts against a minimal reference sweep on integer minutes.

Run from the repository root::

    .venv/bin/python bench/engine.py            # 200 therapists x 6 days, 11k and 48k busy
    .venv/bin/python bench/engine.py --quick    # 40 therapists, same density

Both sides get the same inputs (aware UTC datetimes, as the services hold them) and solve
the same problem; the reference converts them to integer minutes, merges, sweeps and
walks the grid with `range`. The outputs must be identical (the core's starts are
converted to minutes outside the timing). Each side gets one warm-up and the median of
`--runs` timed runs. Exits 1 if the outputs differ or the core is more than `--max-ratio`
times slower than the reference.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time as clock
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from athlete_sched.core.availability import (  # noqa: E402
    TherapistSchedule,
    WorkingPeriod,
    free_starts,
)
from athlete_sched.core.intervals import Interval  # noqa: E402

ZONES = ("Europe/Berlin", "America/New_York", "Asia/Kathmandu")
# The six days span the EU spring-forward change (2027-03-28) for the Berlin therapists.
WINDOW = Interval(datetime(2027, 3, 25, tzinfo=UTC), datetime(2027, 3, 31, tzinfo=UTC))
NOT_BEFORE = datetime(2027, 3, 25, 9, 7, tzinfo=UTC)
BOOKINGS_PER_THERAPIST = 12


@dataclass(frozen=True)
class Case:
    """One therapist's inputs."""

    schedule: TherapistSchedule
    blocked: tuple[Interval, ...]
    bookings: tuple[Interval, ...]


def _weekly_hours(rng: random.Random) -> tuple[WorkingPeriod, ...]:
    """Mon-Fri split days (some starting off the hour), sometimes a Saturday morning."""
    offset = rng.choice((0, 0, 10, 5))
    periods = []
    for day in range(5):
        periods.append(WorkingPeriod(day, time(8, offset), time(12)))
        periods.append(WorkingPeriod(day, time(13), time(rng.choice((17, 18, 19)))))
    if rng.random() < 0.5:
        periods.append(WorkingPeriod(5, time(9), time(13)))
    return tuple(periods)


def _random_intervals(rng: random.Random, count: int, lengths: Sequence[int]) -> list[Interval]:
    """`count` intervals on whole minutes, anywhere from a day before to a day after the
    window, unsorted and free to overlap."""
    base = WINDOW.start - timedelta(days=1)
    spread = int((WINDOW.end - WINDOW.start).total_seconds() // 60) + 2 * 24 * 60
    found = []
    for _ in range(count):
        start = base + timedelta(minutes=rng.randrange(spread))
        found.append(Interval(start, start + timedelta(minutes=rng.choice(lengths))))
    return found


def build_cases(therapists: int, busy: int, seed: int) -> list[Case]:
    """A reproducible clinic: `therapists` therapists sharing `busy` busy intervals."""
    rng = random.Random(seed)
    cases = []
    for tid in range(therapists):
        schedule = TherapistSchedule(
            therapist_id=tid, tz=ZoneInfo(ZONES[tid % len(ZONES)]),
            working_hours=_weekly_hours(rng), session_minutes=rng.choice((30, 45, 60)),
            buffer_minutes=rng.choice((0, 10, 15)), slot_step_minutes=rng.choice((10, 15, 20)))
        share = busy // therapists + (1 if tid < busy % therapists else 0)
        blocked = _random_intervals(rng, share, (10, 15, 20, 30, 45, 60, 90, 120))
        bookings = _random_intervals(rng, BOOKINGS_PER_THERAPIST, (45, 60))
        cases.append(Case(schedule, tuple(blocked), tuple(bookings)))
    return cases


# --- the reference: integer minutes, merge, sweep, grid ------------------------------------


def _minutes(moment: datetime) -> int:
    return int(moment.timestamp()) // 60


def _reference_periods(schedule: TherapistSchedule) -> list[tuple[int, int]]:
    """Working periods in minutes for every local day around the window."""
    tz = schedule.tz
    day = WINDOW.start.astimezone(tz).date() - timedelta(days=1)
    last = WINDOW.end.astimezone(tz).date() + timedelta(days=1)
    periods = []
    while day <= last:
        for p in schedule.working_hours:
            if p.day == day.weekday():
                start = datetime(day.year, day.month, day.day, p.start.hour, p.start.minute,
                                 tzinfo=tz)
                end = datetime(day.year, day.month, day.day, p.end.hour, p.end.minute, tzinfo=tz)
                periods.append((_minutes(start), _minutes(end)))
        day += timedelta(days=1)
    periods.sort()
    return periods


def _reference_merge(case: Case) -> list[list[int]]:
    pad = case.schedule.buffer_minutes
    spans = [(_minutes(s), _minutes(e)) for s, e in case.blocked]
    spans += [(_minutes(s) - pad, _minutes(e) + pad) for s, e in case.bookings]
    spans.sort()
    merged: list[list[int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return merged


def reference_free_starts(case: Case, window: Interval, not_before: datetime) -> list[int]:
    """Free starts in epoch minutes, written plainly for the comparison."""
    step, dur = case.schedule.slot_step_minutes, case.schedule.session_minutes
    lo, hi = max(_minutes(window.start), _minutes(not_before)), _minutes(window.end)
    merged = _reference_merge(case)
    found: list[int] = []
    j = 0
    for ps, pe in _reference_periods(case.schedule):
        a, b = max(ps, lo), min(pe, hi)
        while j < len(merged) and merged[j][1] <= a:
            j += 1
        cursor, k = a, j
        gaps = []
        while k < len(merged) and merged[k][0] < b:
            gaps.append((cursor, merged[k][0]))
            cursor = max(cursor, merged[k][1])
            k += 1
        gaps.append((cursor, b))
        for x, y in gaps:
            first = ps + -((ps - x) // step) * step
            found.extend(range(first, y - dur + 1, step))
    return found


# --- timing -----------------------------------------------------------------------------


def run_core(cases: Sequence[Case]) -> list[list[datetime]]:
    return [free_starts(c.schedule, WINDOW, c.blocked, c.bookings, NOT_BEFORE) for c in cases]


def run_reference(cases: Sequence[Case]) -> list[list[int]]:
    return [reference_free_starts(c, WINDOW, NOT_BEFORE) for c in cases]


def median_seconds(fn: Callable[[], object], runs: int) -> float:
    """One warm-up call, then the median wall time of `runs` calls."""
    fn()
    times = []
    for _ in range(runs):
        began = clock.perf_counter()
        fn()
        times.append(clock.perf_counter() - began)
    return statistics.median(times)


def as_minutes(starts: list[list[datetime]]) -> list[list[int]]:
    if any(s.second or s.microsecond or s.utcoffset() != timedelta(0) for ss in starts for s in ss):
        raise AssertionError("core returned a start that is not a whole UTC minute")
    return [[_minutes(s) for s in ss] for ss in starts]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 therapists instead of 200")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per side (median)")
    parser.add_argument("--max-ratio", type=float, default=2.0)
    args = parser.parse_args(argv)
    therapists = 40 if args.quick else 200
    scale = therapists / 200
    scenarios = [("11k busy", int(11_000 * scale), 11), ("48k busy", int(48_000 * scale), 48)]
    print(f"{therapists} therapists x 6 days, median of {args.runs} runs after one warm-up")
    print(f"{'scenario':<10} {'busy':>7} {'bookings':>8} {'starts':>8} "
          f"{'core ms':>9} {'ref ms':>9} {'core/ref':>9}")
    failed = False
    for name, busy, seed in scenarios:
        cases = build_cases(therapists, busy, seed)
        core_out, ref_out = as_minutes(run_core(cases)), run_reference(cases)
        same = core_out == ref_out
        core_s = median_seconds(lambda cases=cases: run_core(cases), args.runs)
        ref_s = median_seconds(lambda cases=cases: run_reference(cases), args.runs)
        ratio = core_s / ref_s
        starts = sum(map(len, core_out))
        print(f"{name:<10} {busy:>7} {therapists * BOOKINGS_PER_THERAPIST:>8} {starts:>8} "
              f"{core_s * 1e3:>9.1f} {ref_s * 1e3:>9.1f} {ratio:>9.2f}"
              + ("" if same else "   OUTPUTS DIFFER"))
        failed = failed or not same or ratio > args.max_ratio or starts == 0
    print("FAIL" if failed else "OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
