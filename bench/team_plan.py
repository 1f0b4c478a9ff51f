"""Benchmark: the team plan (core/team_plan.py) against scipy's linear_sum_assignment.

Run from the repository root::

    .venv/bin/python bench/team_plan.py            # full size, ~15 s
    .venv/bin/python bench/team_plan.py --quick    # smoke check: smaller cases, 5 runs

Instances are built as Slot lists directly (fixed seeds): each therapist has a run of
disjoint 45-minute slots an hour apart in each window, on one of four quarter-hour offsets;
pre slots are ranked by distance to a target time in the window (as rank_key does), post
slots earliest first; about 20 % of the athletes have one own commitment of 1-3 hours
somewhere in one window, which closes 1-3 slots of every therapist around it (case b:
see below).

Cases and targets (exit 1 if one is missed or a check fails):

- (a) **enough capacity**: 200 athletes, 40 therapists x 50 slots per window. Baseline,
  timed in the same run: `linear_sum_assignment` alone on each window's athlete x slot
  cost matrix (the rank; an infeasible pair costs 10^9), summed over the two windows (the
  uncoupled relaxation; matrices built before the clock starts): **lsa**. Every row of
  that matrix ranks the slots alike, which makes the assignment slow (~60 ms a window
  here), so the same matrices with random costs are timed too: **lsa-rnd** (~2 ms a
  window, the figure the issue quotes). Plan <= 5x lsa and <= 5x lsa-rnd.
- (b) **capacity short**: 200 athletes, 10 therapists x 15 slots, 70 % of the athletes
  away 10-14 hours of each window, so the coupling of the two windows decides how many are
  placed (first-come placing falls short; printed for the record): plan <= 0.5 s.
- (c) 1,000 athletes x 5,000 slots per window (100 therapists x 50): plan < 2 s.
- growth: 50 .. 1,000 athletes with 5 slots per athlete per window (information).

Every case is checked once, outside the timing: the number placed equals the maximum flow
of the plain graph (source -> pre slot -> athlete in -> athlete out -> post slot -> sink,
every feasible slot-athlete arc, nothing grouped or pruned) computed by
`scipy.sparse.csgraph.maximum_flow`; no slot is used twice; no athlete gets a slot that
overlaps their own commitment; every placed athlete has both sessions. Timings: one
warm-up, then `--runs` rounds alternating plan and baseline, medians (CPU time of this
process by default: the machine may be shared).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time as clock
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_flow

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from common import print_table  # noqa: E402

from athlete_sched.core.intervals import Interval  # noqa: E402
from athlete_sched.core.proposals import Slot  # noqa: E402
from athlete_sched.core.team_plan import PlanAthlete, TeamPlan, plan  # noqa: E402

PRE_START = datetime(2027, 5, 11, 22, tzinfo=UTC)
POST_START = datetime(2027, 5, 15, 12, tzinfo=UTC)
SESSION = timedelta(minutes=45)
STEP = timedelta(hours=1)
INFEASIBLE = 10**9
CLOCKS = {"cpu": clock.process_time, "wall": clock.perf_counter}


@dataclass(frozen=True)
class Instance:
    """A team and both windows' ranked candidates."""

    athletes: tuple[PlanAthlete, ...]
    pre: list[Slot]
    post: list[Slot]


def _window(kind: str, start: datetime, therapists: int, per_therapist: int,
            rng: random.Random) -> list[Slot]:
    """Disjoint slots per therapist, ranked like rank_key (pre: nearest the target)."""
    slots = []
    for tid in range(1, therapists + 1):
        offset = timedelta(minutes=rng.choice((0, 15, 30, 45)))
        slots += [Slot(tid, start + offset + j * STEP, start + offset + j * STEP + SESSION,
                       kind) for j in range(per_therapist)]
    if kind == "pre":
        target = start + per_therapist * STEP / 3
        return sorted(slots, key=lambda s: (abs(s.start - target), s.start, s.therapist_id))
    return sorted(slots, key=lambda s: (s.start, s.therapist_id))


@dataclass(frozen=True)
class Commitments:
    """Who has own commitments: each athlete with probability `share`, one commitment of
    one of `minutes` in one window picked at random, or (`each_window`) one in each window
    independently with that probability."""

    share: float = 0.2
    minutes: tuple[int, ...] = (60, 90, 120, 180)
    each_window: bool = False


# Capacity short: most athletes are away 10-14 hours of each window, so who goes where
# decides how many fit (first-come falls short here; the plan must not).
TIGHT = Commitments(0.7, (600, 720, 840), each_window=True)


def _busy(rng: random.Random, per_therapist: int, spec: Commitments) -> tuple[Interval, ...]:
    bases = (PRE_START, POST_START) if spec.each_window else (rng.choice((PRE_START,
                                                                          POST_START)),)
    found = []
    for base in bases:
        if rng.random() < spec.share:
            start = base + timedelta(minutes=15 * rng.randrange(4 * per_therapist))
            found.append(Interval(start, start + timedelta(minutes=rng.choice(spec.minutes))))
    return tuple(found)


def build(athletes: int, therapists: int, per_therapist: int, seed: int,
          spec: Commitments = Commitments()) -> Instance:
    """A reproducible instance."""
    rng = random.Random(seed)
    pre = _window("pre", PRE_START, therapists, per_therapist, rng)
    post = _window("post", POST_START, therapists, per_therapist, rng)
    team = tuple(PlanAthlete(athlete_id, _busy(rng, per_therapist, spec))
                 for athlete_id in range(1, athletes + 1))
    return Instance(team, pre, post)


# --- the baseline and the independent checks ---------------------------------------------

def _minutes(moments: Sequence[datetime]) -> np.ndarray:
    return np.array([int(m.timestamp()) // 60 for m in moments], dtype=np.int64)


def feasible(athletes: Sequence[PlanAthlete], slots: Sequence[Slot]) -> np.ndarray:
    """athlete x slot: True where the slot overlaps none of the athlete's commitments."""
    starts, ends = _minutes([s.start for s in slots]), _minutes([s.end for s in slots])
    ok = np.ones((len(athletes), len(slots)), dtype=bool)
    for row, athlete in enumerate(athletes):
        for busy in athlete.busy:
            b0, b1 = int(busy.start.timestamp()) // 60, int(busy.end.timestamp()) // 60
            ok[row] &= ~((starts < b1) & (ends > b0))
    return ok


def cost_matrices(inst: Instance, rng: np.random.Generator | None = None) -> list[np.ndarray]:
    """Each window's athlete x slot cost: the rank (or, given `rng`, a random cost in the
    same range), INFEASIBLE where the athlete is busy."""
    matrices = []
    for slots in (inst.pre, inst.post):
        shape = (len(inst.athletes), len(slots))
        costs = (np.broadcast_to(np.arange(len(slots), dtype=np.float64), shape) if rng is None
                 else rng.random(shape) * len(slots))
        matrices.append(np.where(feasible(inst.athletes, slots), costs, INFEASIBLE))
    return matrices


def baseline(matrices: Sequence[np.ndarray]) -> float:
    """linear_sum_assignment on each window, uncoupled; the total cost (for the record)."""
    total = 0.0
    for matrix in matrices:
        rows, cols = linear_sum_assignment(matrix)
        total += float(matrix[rows, cols].sum())
    return total


def max_placed(inst: Instance) -> int:
    """The maximum flow of the plain graph, by scipy (nothing grouped or pruned)."""
    n, p, q = len(inst.athletes), len(inst.pre), len(inst.post)
    pre_ok, post_ok = feasible(inst.athletes, inst.pre), feasible(inst.athletes, inst.post)
    pre_node, in_node, out_node, post_node = 2, 2 + p, 2 + p + n, 2 + p + 2 * n
    a_pre, s_pre = np.nonzero(pre_ok)
    a_post, s_post = np.nonzero(post_ok)
    tails = np.concatenate([np.zeros(p, np.int64), pre_node + s_pre, in_node + np.arange(n),
                            out_node + a_post, post_node + np.arange(q)])
    heads = np.concatenate([pre_node + np.arange(p), in_node + a_pre, out_node + np.arange(n),
                            post_node + s_post, np.ones(q, np.int64)])
    size = post_node + q
    graph = csr_matrix((np.ones(len(tails), np.int32), (tails, heads)), shape=(size, size))
    return int(maximum_flow(graph, 0, 1).flow_value)


def problems(inst: Instance, result: TeamPlan) -> list[str]:
    """What is wrong with a plan: not the maximum, a reused slot, a conflict, half placed."""
    found = []
    best = max_placed(inst)
    if result.placed != best:
        found.append(f"placed {result.placed} != max flow {best}")
    used = [a.pre for a in result.assignments if a.pre] + [
        a.post for a in result.assignments if a.post]
    if len(set(used)) != len(used):
        found.append("a slot is used twice")
    busy = {a.athlete_id: a.busy for a in inst.athletes}
    for a in result.assignments:
        if (a.pre is None) != (a.post is None):
            found.append(f"athlete {a.athlete_id} has one session only")
        for slot in (a.pre, a.post):
            if slot and any(b.start < slot.end and slot.start < b.end for b in busy[a.athlete_id]):
                found.append(f"athlete {a.athlete_id} busy during {slot.start}")
    return found


def first_come(inst: Instance) -> int:
    """How many athletes first-come placing gets both sessions: each athlete in turn takes
    the best free pre and post slot they can (for the record: what the plan improves on)."""
    taken: set[Slot] = set()
    placed = 0
    for athlete in inst.athletes:
        mine = [next((s for s in side if s not in taken and not any(
            b.start < s.end and s.start < b.end for b in athlete.busy)), None)
            for side in (inst.pre, inst.post)]
        if mine[0] is not None and mine[1] is not None:
            taken.update(mine)
            placed += 1
    return placed


# --- timing ------------------------------------------------------------------------------

def alternating(fns: Sequence[Callable[[], object]], runs: int,
                now: Callable[[], float]) -> list[float]:
    """One warm-up call of each, then `runs` rounds timing each in turn; medians."""
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for i, fn in enumerate(fns):
            began = now()
            fn()
            times[i].append(now() - began)
    return [statistics.median(t) for t in times]


@dataclass(frozen=True)
class Row:
    """One case's figures: medians in seconds (None: not timed) and what the checks found."""

    name: str
    inst: Instance
    placed: int
    issues: list[str]
    plan_s: float
    lsa_s: float | None
    random_s: float

    def cells(self) -> list[object]:
        lsa = [self.lsa_s * 1e3, self.plan_s / self.lsa_s] if self.lsa_s else ["-", "-"]
        return [self.name, len(self.inst.athletes), len(self.inst.pre), self.placed,
                self.plan_s * 1e3, lsa[0], self.random_s * 1e3, lsa[1],
                self.plan_s / self.random_s, "; ".join(self.issues) or "ok"]


# The rank-cost assignment is slow on these matrices (every row ranks the slots alike:
# ~60 ms a window at 200 x 2,000, ~4 s at 1,000 x 5,000), so it is timed up to this size.
LSA_UP_TO = 200


def measure(name: str, inst: Instance, args: argparse.Namespace) -> Row:
    """Check the plan once, then time the plan and the baselines in alternation."""
    result = plan(inst.athletes, inst.pre, inst.post)
    issues = problems(inst, result)
    fns: list[Callable[[], object]] = [lambda: plan(inst.athletes, inst.pre, inst.post)]
    random_costs = cost_matrices(inst, np.random.default_rng(args.seed))
    fns.append(lambda: baseline(random_costs))
    if len(inst.athletes) <= LSA_UP_TO:
        rank_costs = cost_matrices(inst)
        fns.append(lambda: baseline(rank_costs))
    times = alternating(fns, args.runs, CLOCKS[args.clock])
    return Row(name, inst, result.placed, issues, times[0], times[2] if len(times) > 2 else None,
               times[1])


HEADERS = ["case", "athletes", "slots/window", "placed", "plan ms", "lsa ms", "lsa-rnd ms",
           "plan/lsa", "plan/lsa-rnd", "checks"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller cases, growth to 200")
    parser.add_argument("--runs", type=int, default=7, help="timed rounds (median), >= 5")
    parser.add_argument("--seed", type=int, default=20270515)
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu")
    args = parser.parse_args(argv)
    if args.runs < 5:
        parser.error("--runs must be at least 5")
    big = 200 if args.quick else 1000
    cases = [("a enough", build(200, 40, 50, args.seed)),
             ("b short", build(200, 10, 15, args.seed + 1, TIGHT)),
             (f"c {big}", build(big, big // 10, 50, args.seed + 2))]
    rows = [measure(name, inst, args) for name, inst in cases]
    print_table(HEADERS, [r.cells() for r in rows],
                title=f"team plan; {args.clock} time, median of {args.runs} after a warm-up")
    sizes = (50, 100, 200) if args.quick else (50, 100, 200, 500, 1000)
    growth = [measure(f"growth {n}", build(n, n // 10, 50, args.seed + n), args) for n in sizes]
    print_table(HEADERS, [r.cells() for r in growth],
                title="growth: 5 slots per athlete per window (therapists = athletes / 10)")
    a, b, c = rows
    print(f"b: first-come places {first_come(b.inst)}, the plan {b.placed} (the maximum)")
    verdicts = [("a plan <= 5x lsa", a.lsa_s is not None and a.plan_s <= 5 * a.lsa_s),
                ("a plan <= 5x lsa-rnd", a.plan_s <= 5 * a.random_s),
                ("b plan <= 0.5 s", b.plan_s <= 0.5), (f"c {big} plan < 2 s", c.plan_s < 2),
                ("every plan optimal, no slot reused", not any(r.issues for r in rows + growth))]
    for label, ok in verdicts:
        print(f"{label}: {'ok' if ok else 'FAIL'}")
    passed = all(ok for _, ok in verdicts)
    print("OK" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
