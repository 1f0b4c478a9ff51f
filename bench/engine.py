"""Benchmark: the core's free_starts against a minimal reference sweep on integer minutes.

Run from the repository root::

    .venv/bin/python bench/engine.py            # 200 therapists x 6 days, 11k and 48k busy
    .venv/bin/python bench/engine.py --quick    # 40 therapists, same density

The core takes aware UTC datetimes (as the services hold them) and returns aware UTC
datetimes. The reference solves the same problem on integer epoch minutes: merge, sweep,
and walk the grid with `range`. Two comparisons are timed:

1. **core / ref** (the criterion): the reference is handed its inputs already in integer
   minutes, i.e. the blocked intervals, bookings, window, not-before and the UTC working
   periods of the days around the window are converted before the clock starts, so the
   timed reference does integer work only.
2. **core / ref+conv** (for information): the reference starts from the same datetime
   inputs as the core and its timing includes converting them to minutes.

The three outputs must be identical (the core's starts are converted to minutes outside
the timing). After one warm-up of each, the three are timed in turn, `--runs` times with
the order rotated, on CPU time of this process (`--clock cpu`; the machine may be shared
with other work, and time spent waiting for a core is not the code's) or wall time
(`--clock wall`). The table shows medians and, for core / ref, the range of the per-run
ratios. Exits 1 if the outputs differ or core / ref exceeds `--max-ratio`.
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


@dataclass(frozen=True)
class MinuteCase:
    """One therapist's inputs in epoch minutes: all the reference sweep needs."""

    periods: tuple[tuple[int, int], ...]
    blocked: tuple[tuple[int, int], ...]
    bookings: tuple[tuple[int, int], ...]
    lo: int
    hi: int
    step: int
    dur: int
    pad: int


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


def to_minutes(case: Case, window: Interval, not_before: datetime) -> MinuteCase:
    """The conversion: every datetime input (and the working periods) in epoch minutes."""
    s = case.schedule
    return MinuteCase(
        periods=tuple(_reference_periods(s)),
        blocked=tuple((_minutes(a), _minutes(b)) for a, b in case.blocked),
        bookings=tuple((_minutes(a), _minutes(b)) for a, b in case.bookings),
        lo=max(_minutes(window.start), _minutes(not_before)), hi=_minutes(window.end),
        step=s.slot_step_minutes, dur=s.session_minutes, pad=s.buffer_minutes)


def _reference_merge(m: MinuteCase) -> list[list[int]]:
    spans = list(m.blocked)
    spans += [(s - m.pad, e + m.pad) for s, e in m.bookings]
    spans.sort()
    merged: list[list[int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return merged


def reference_sweep(m: MinuteCase) -> list[int]:
    """Free starts in epoch minutes, written plainly for the comparison."""
    merged = _reference_merge(m)
    found: list[int] = []
    j = 0
    for ps, pe in m.periods:
        a, b = max(ps, m.lo), min(pe, m.hi)
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
            first = ps + -((ps - x) // m.step) * m.step
            found.extend(range(first, y - m.dur + 1, m.step))
    return found


# --- timing -----------------------------------------------------------------------------


def run_core(cases: Sequence[Case]) -> list[list[datetime]]:
    return [free_starts(c.schedule, WINDOW, c.blocked, c.bookings, NOT_BEFORE) for c in cases]


def run_reference(minute_cases: Sequence[MinuteCase]) -> list[list[int]]:
    return [reference_sweep(m) for m in minute_cases]


def run_reference_converting(cases: Sequence[Case]) -> list[list[int]]:
    return [reference_sweep(to_minutes(c, WINDOW, NOT_BEFORE)) for c in cases]


CLOCKS = {"cpu": clock.process_time, "wall": clock.perf_counter}


def interleaved_seconds(fns: Sequence[Callable[[], object]], runs: int,
                        now: Callable[[], float]) -> list[list[float]]:
    """One warm-up call of each, then `runs` rounds timing each once, the order rotated
    every round; the times per function, in round order."""
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for round_ in range(runs):
        for i in [(round_ + n) % len(fns) for n in range(len(fns))]:
            began = now()
            fns[i]()
            times[i].append(now() - began)
    return times


def as_minutes(starts: list[list[datetime]]) -> list[list[int]]:
    if any(s.second or s.microsecond or s.utcoffset() != timedelta(0) for ss in starts for s in ss):
        raise AssertionError("core returned a start that is not a whole UTC minute")
    return [[_minutes(s) for s in ss] for ss in starts]


def measure(name: str, busy: int, cases: Sequence[Case], args: argparse.Namespace) -> bool:
    """Check the outputs, time the three sides, print one row; True if the row passes."""
    minute_cases = [to_minutes(c, WINDOW, NOT_BEFORE) for c in cases]
    core_out = as_minutes(run_core(cases))
    same = core_out == run_reference(minute_cases) == run_reference_converting(cases)
    core, ref, ref_conv = interleaved_seconds(
        [lambda: run_core(cases), lambda: run_reference(minute_cases),
         lambda: run_reference_converting(cases)], args.runs, CLOCKS[args.clock])
    ratio = statistics.median(core) / statistics.median(ref)
    paired = [c / r for c, r in zip(core, ref, strict=True)]
    ratio_conv = statistics.median(core) / statistics.median(ref_conv)
    starts = sum(map(len, core_out))
    print(f"{name:<9} {busy:>6} {len(cases) * BOOKINGS_PER_THERAPIST:>8} {starts:>7} "
          f"{statistics.median(core) * 1e3:>8.1f} {statistics.median(ref) * 1e3:>7.1f} "
          f"{ratio:>8.2f} {min(paired):>6.2f}-{max(paired):<5.2f} "
          f"{statistics.median(ref_conv) * 1e3:>12.1f} {ratio_conv:>14.2f}"
          + ("" if same else "   OUTPUTS DIFFER"))
    return same and ratio <= args.max_ratio and starts > 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 therapists instead of 200")
    parser.add_argument("--runs", type=int, default=9, help="timed rounds (median), at least 5")
    parser.add_argument("--max-ratio", type=float, default=2.0, help="limit for core / ref")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu")
    args = parser.parse_args(argv)
    if args.runs < 5:
        parser.error("--runs must be at least 5")
    therapists = 40 if args.quick else 200
    scale = therapists / 200
    scenarios = [("11k busy", int(11_000 * scale), 11), ("48k busy", int(48_000 * scale), 48)]
    print(f"{therapists} therapists x 6 days; {args.clock} time, median of {args.runs} "
          "interleaved rounds after one warm-up")
    print(f"{'scenario':<9} {'busy':>6} {'bookings':>8} {'starts':>7} {'core ms':>8} "
          f"{'ref ms':>7} {'core/ref':>8} {'(range)':>11} {'ref+conv ms':>12} "
          f"{'core/ref+conv':>14}")
    passed = [measure(name, busy, build_cases(therapists, busy, seed), args)
              for name, busy, seed in scenarios]
    print(f"core/ref is the criterion (<= {args.max_ratio}): the reference gets integer "
          "minutes; ref+conv also converts the datetimes (information only)")
    print("OK" if all(passed) else "FAIL")
    return 0 if all(passed) else 1


if __name__ == "__main__":
    sys.exit(main())
