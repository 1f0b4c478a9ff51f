"""The team plan: packed candidates, and an exact plan checked against networkx.

The random instances are checked against an independent solver: networkx's maximum flow
and min-cost maximum flow on the plain graph (one node pair per athlete, one node per
slot, every feasible arc; nothing grouped or pruned), with feasibility tested directly by
`intervals.overlaps`.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from itertools import combinations
from zoneinfo import ZoneInfo

import networkx as nx
import pytest

from athlete_sched.core.availability import TherapistSchedule, WorkingPeriod, free_starts
from athlete_sched.core.intervals import Interval, overlaps
from athlete_sched.core.proposals import Slot, TherapistState, rank_key, window_load
from athlete_sched.core.team_plan import (
    NO_CAPACITY,
    OWN_CONFLICT,
    Assignment,
    PlanAthlete,
    TeamPlan,
    candidates,
    plan,
)

UTC_ZONE = ZoneInfo("UTC")
MONDAY = datetime.fromisoformat("2027-05-10T00:00Z")
DAY = Interval(MONDAY, MONDAY + timedelta(days=1))
EVENT_START = datetime.fromisoformat("2027-05-15T06:00Z")


def z(text: str) -> datetime:
    return datetime.fromisoformat(text)


def at(hhmm: str) -> datetime:
    return z(f"2027-05-10T{hhmm}Z")


def therapist(tid: int, *hours: tuple[str, str], session: int = 60, buffer: int = 0,
              step: int = 15, blocked: tuple[Interval, ...] = (),
              bookings: tuple[Interval, ...] = ()) -> TherapistState:
    """A therapist working Mondays (UTC) in the given hours."""
    periods = tuple(WorkingPeriod(0, time.fromisoformat(s), time.fromisoformat(e))
                    for s, e in hours)
    return TherapistState(TherapistSchedule(tid, UTC_ZONE, periods, session, buffer, step),
                          blocked, bookings)


def slot(tid: int, hhmm: str, kind: str, minutes: int = 60) -> Slot:
    return Slot(tid, at(hhmm), at(hhmm) + timedelta(minutes=minutes), kind)


def busy(start: str, end: str) -> Interval:
    return Interval(at(start), at(end))


# --- packing ------------------------------------------------------------------------------

def most_that_fit(starts: Sequence[datetime], spacing: timedelta) -> int:
    """Brute force: the largest subset of starts pairwise at least `spacing` apart."""
    for size in range(len(starts), 0, -1):
        for subset in combinations(starts, size):
            if all(b - a >= spacing for a, b in zip(subset, subset[1:], strict=False)):
                return size
    return 0


PACKING = [
    ("step = session, buffer 0", therapist(1, ("09:00", "12:00"), step=60),
     ["09:00", "10:00", "11:00"]),
    ("step 15 < session, buffer 0", therapist(1, ("09:00", "12:00")),
     ["09:00", "10:00", "11:00"]),
    ("buffer 15 spaces the sessions", therapist(1, ("09:00", "12:00"), buffer=15),
     ["09:00", "10:15"]),
    ("two working periods", therapist(1, ("08:00", "10:00"), ("13:00", "15:00"), session=45,
                                      buffer=10), ["08:00", "09:00", "13:00", "14:00"]),
    ("a busy block in between", therapist(1, ("09:00", "13:00"),
                                          blocked=(busy("10:30", "11:00"),)),
     ["09:00", "11:00", "12:00"]),
    ("a booking widened by its buffer", therapist(1, ("09:00", "12:00"), session=30, buffer=15,
                                                  step=10, bookings=(busy("10:00", "10:30"),)),
     ["09:00", "10:50"]),
    ("session longer than a free piece", therapist(1, ("09:00", "12:30"), session=90, step=20,
                                                   blocked=(busy("10:00", "10:40"),)),
     ["10:40"]),
]


@pytest.mark.parametrize(("state", "expected"), [row[1:] for row in PACKING],
                         ids=[row[0] for row in PACKING])
def test_packed_candidates_never_overlap_and_are_the_most_that_fit(
        state: TherapistState, expected: list[str]) -> None:
    found = candidates("post", DAY, EVENT_START, [state], MONDAY)
    assert [f"{s.start:%H:%M}" for s in found] == expected
    pad = timedelta(minutes=state.schedule.buffer_minutes)
    assert all(b.start >= a.end + pad for a, b in zip(found, found[1:], strict=False))
    free = free_starts(state.schedule, DAY, state.blocked, state.bookings, MONDAY)
    spacing = timedelta(minutes=state.schedule.session_minutes) + pad
    assert len(found) == most_that_fit(free, spacing)


def test_candidates_are_ranked_by_rank_key_whatever_the_therapist_order() -> None:
    states = [therapist(3, ("09:00", "11:00"), bookings=(busy("06:00", "07:00"),)),
              therapist(1, ("09:30", "12:00"), session=45), therapist(2, ("09:00", "10:00"))]
    found = candidates("pre", DAY, EVENT_START, states, MONDAY)
    loads = {s.schedule.therapist_id: window_load(s, DAY) for s in states}
    keys = [rank_key("pre", s.start, loads[s.therapist_id], s.therapist_id, EVENT_START)
            for s in found]
    assert keys == sorted(keys) and len(found) == 2 + 3 + 1
    assert candidates("pre", DAY, EVENT_START, states[::-1], MONDAY) == found


def test_candidates_reject_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="kind"):
        candidates("during", DAY, EVENT_START, [therapist(1, ("09:00", "10:00"))], MONDAY)


# --- the independent check ----------------------------------------------------------------

def free_for(athlete: PlanAthlete, s: Slot) -> bool:
    return not any(overlaps(Interval(s.start, s.end), b) for b in athlete.unavailable)


def plain_graph(athletes: Sequence[PlanAthlete], pre: Sequence[Slot],
                post: Sequence[Slot]) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(["source", "sink"])
    for rank in range(len(pre)):
        graph.add_edge("source", ("pre", rank), capacity=1, weight=rank)
    for rank in range(len(post)):
        graph.add_edge(("post", rank), "sink", capacity=1, weight=rank)
    for a in athletes:
        if a.excluded is None:
            graph.add_edge(("in", a.athlete_id), ("out", a.athlete_id), capacity=1, weight=0)
            for rank in (r for r, s in enumerate(pre) if free_for(a, s)):
                graph.add_edge(("pre", rank), ("in", a.athlete_id), capacity=1, weight=0)
            for rank in (r for r, s in enumerate(post) if free_for(a, s)):
                graph.add_edge(("out", a.athlete_id), ("post", rank), capacity=1, weight=0)
    return graph


def rank_sum(result: TeamPlan, pre: Sequence[Slot], post: Sequence[Slot]) -> int:
    return sum(pre.index(a.pre) + post.index(a.post) for a in result.assignments if a.pre)


def assert_sound(result: TeamPlan, athletes: Sequence[PlanAthlete]) -> None:
    """No slot used twice, no athlete busy during their slot, both sessions or neither,
    and every athlete without sessions has a reason."""
    used = [s for a in result.assignments for s in (a.pre, a.post) if s is not None]
    assert len(used) == len(set(used))
    by_id = {a.athlete_id: a for a in athletes}
    assert [a.athlete_id for a in result.assignments] == list(by_id)
    for a in result.assignments:
        assert (a.pre is None) == (a.post is None)
        assert all(free_for(by_id[a.athlete_id], s) for s in (a.pre, a.post) if s)
        assert (a.pre is None) == (a.athlete_id in result.unplaced)


def random_instance(rng: random.Random
                    ) -> tuple[list[PlanAthlete], list[Slot], list[Slot], dict[int, int]]:
    """A few therapists with disjoint hour slots in each window, ranked at random; athletes
    whose commitments come from a short list (so that several share them)."""
    def window(kind: str, first: datetime) -> list[Slot]:
        slots = []
        for tid in range(1, rng.randint(1, 3) + 1):
            for hour in sorted(rng.sample(range(12), rng.randint(0, 5))):
                start = first + timedelta(hours=hour, minutes=15 * (tid % 2))
                slots.append(Slot(tid, start, start + timedelta(minutes=45), kind))
        rng.shuffle(slots)
        return slots

    pre, post = window("pre", at("08:00")), window("post", at("08:00") + timedelta(days=3))
    choices = [(), (), (busy("09:00", "11:00"),), (busy("12:30", "15:00"),),
               (Interval(post[0].start, post[0].end),) if post else (),
               (busy("00:00", "23:00"),)]
    athletes = [PlanAthlete(i, rng.choice(choices) + rng.choice(choices),
                            "screening" if rng.random() < 0.1 else None)
                for i in rng.sample(range(1, 50), rng.randint(1, 9))]
    return athletes, pre, post, {tid: rng.randrange(4) for tid in (1, 2, 3)}


@pytest.mark.parametrize("seed", range(4))
def test_random_plans_place_the_maximum_at_the_least_rank_total(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(100):
        athletes, pre, post, loads = random_instance(rng)
        result = plan(athletes, pre, post, loads if rng.random() < 0.5 else None)
        graph = plain_graph(athletes, pre, post)
        assert result.placed == nx.maximum_flow_value(graph, "source", "sink")
        best = nx.max_flow_min_cost(graph, "source", "sink")
        assert rank_sum(result, pre, post) == nx.cost_of_flow(graph, best)
        assert_sound(result, athletes)


# --- greedy-hard instances ----------------------------------------------------------------

def first_come(athletes: Sequence[PlanAthlete], pre: Sequence[Slot],
               post: Sequence[Slot]) -> int:
    """Each athlete in turn takes the best free pre and post slot they can: how many get
    both."""
    taken: set[Slot] = set()
    placed = 0
    for a in athletes:
        mine = [next((s for s in side if s not in taken and free_for(a, s)), None)
                for side in (pre, post)]
        if None not in mine:
            taken.update(mine)
            placed += 1
    return placed


def test_an_athlete_who_can_only_take_one_pre_slot_is_still_placed() -> None:
    pre = [slot(1, "09:00", "pre"), slot(2, "11:00", "pre")]
    post = [slot(1, "14:00", "post"), slot(2, "16:00", "post")]
    team = [PlanAthlete(2), PlanAthlete(1, (busy("10:30", "12:00"),))]  # 1: not at 11:00
    assert first_come(team, pre, post) == 1
    result = plan(team, pre, post)
    assert result.placed == 2 and result.unplaced == {}
    assert result.assignments[1].pre == pre[0]


def test_the_windows_are_coupled_a_free_athlete_yields_both_best_slots() -> None:
    pre = [slot(1, "08:00", "pre"), slot(2, "09:00", "pre"), slot(3, "10:00", "pre")]
    post = [slot(1, "14:00", "post"), slot(2, "15:00", "post"), slot(3, "16:00", "post")]
    team = [PlanAthlete(1),
            PlanAthlete(2, (busy("09:00", "11:00"),)),  # pre 08:00 only
            PlanAthlete(3, (busy("15:00", "17:00"),))]  # post 14:00 only
    assert first_come(team, pre, post) == 1
    result = plan(team, pre, post)
    assert result.placed == 3 and rank_sum(result, pre, post) == 6
    assert result.assignments[1].pre == pre[0]
    assert result.assignments[2].post == post[0]


def test_greedy_hard_with_capacity_short_two_of_three_are_placed() -> None:
    # Two slots per window: first-come gives the free athlete 1 the best pair, which is the
    # only pre slot athlete 2 can take and the only post slot athlete 3 can take.
    pre = [slot(1, "09:00", "pre"), slot(1, "11:00", "pre")]
    post = [slot(1, "14:00", "post"), slot(1, "16:00", "post")]
    team = [PlanAthlete(1),
            PlanAthlete(2, (busy("10:30", "12:00"),)),  # not the 11:00 pre
            PlanAthlete(3, (busy("16:00", "17:00"),))]  # not the 16:00 post
    assert first_come(team, pre, post) == 1
    result = plan(team, pre, post)
    assert result.placed == 2 and rank_sum(result, pre, post) == 2
    assert list(result.unplaced.values()) == [NO_CAPACITY]
    assert_sound(result, team)


# --- continuity ---------------------------------------------------------------------------

def same_therapist(result: TeamPlan) -> int:
    return sum(1 for a in result.assignments if a.pre and a.pre.therapist_id ==
               a.post.therapist_id)


def test_interchangeable_athletes_keep_their_therapist_across_the_windows() -> None:
    pre = [slot(1, "09:00", "pre"), slot(2, "09:00", "pre")]
    post = [slot(2, "14:00", "post"), slot(1, "14:00", "post")]
    result = plan([PlanAthlete(7), PlanAthlete(8)], pre, post)
    assert same_therapist(result) == 2 and rank_sum(result, pre, post) == 2


def test_continuity_pairs_as_many_as_the_counts_allow() -> None:
    pre = [slot(1, "09:00", "pre"), slot(1, "10:00", "pre"), slot(2, "09:00", "pre")]
    post = [slot(2, "14:00", "post"), slot(1, "14:00", "post"), slot(2, "15:00", "post")]
    result = plan([PlanAthlete(1), PlanAthlete(2), PlanAthlete(3)], pre, post)
    # therapist 1: 2 pre, 1 post; therapist 2: 1 pre, 2 post -> at most 1 + 1 pairs.
    assert result.placed == 3 and same_therapist(result) == 2
    assert rank_sum(result, pre, post) == 6


def test_continuity_is_maximal_within_each_group_of_interchangeable_athletes() -> None:
    rng = random.Random(11)
    for _ in range(150):
        athletes, pre, post, _loads = random_instance(rng)
        result = plan(athletes, pre, post)
        groups: dict[tuple[tuple[bool, ...], ...], list[Assignment]] = {}
        by_id = {a.athlete_id: a for a in athletes}
        for a in result.assignments:
            if a.pre:
                who = by_id[a.athlete_id]
                key = tuple(tuple(free_for(who, s) for s in side) for side in (pre, post))
                groups.setdefault(key, []).append(a)
        for members in groups.values():
            pres = Counter(a.pre.therapist_id for a in members if a.pre)
            posts = Counter(a.post.therapist_id for a in members if a.post)
            most = sum(min(pres[t], posts[t]) for t in pres)
            assert sum(1 for a in members if a.pre and a.post and
                       a.pre.therapist_id == a.post.therapist_id) == most


# --- load spread --------------------------------------------------------------------------

def test_load_never_outweighs_a_better_rank() -> None:
    # Therapist 1 is by far the busiest, yet its slots rank best: they are taken.
    pre = [slot(1, "09:00", "pre"), *(slot(t, h, "pre") for t, h in
                                      ((2, "10:00"), (2, "11:00"), (3, "12:00"), (4, "13:00")))]
    post = [slot(1, "14:00", "post"), *(slot(t, h, "post") for t, h in
                                        ((2, "15:00"), (2, "16:00"), (3, "17:00"), (4, "18:00")))]
    team = [PlanAthlete(1), PlanAthlete(2, (busy("16:00", "17:00"),))]
    result = plan(team, pre, post, loads={1: 1_000, 2: 0, 3: 5, 4: 7})
    assert rank_sum(result, pre, post) == 2
    assert {a.pre.therapist_id for a in result.assignments if a.pre} == {1, 2}


# --- reasons ------------------------------------------------------------------------------

def test_unplaced_athletes_come_with_their_reason() -> None:
    pre = [slot(1, "09:00", "pre"), slot(1, "10:00", "pre")]
    post = [slot(1, "14:00", "post"), slot(1, "15:00", "post")]
    team = [PlanAthlete(5, excluded="screening"),
            PlanAthlete(4, (busy("08:00", "11:00"),)),  # every pre slot: own conflict
            PlanAthlete(3), PlanAthlete(2), PlanAthlete(1)]
    result = plan(team, pre, post)
    assert result.placed == 2
    assert result.unplaced == {5: "screening", 4: OWN_CONFLICT, 3: NO_CAPACITY}
    assert [a.athlete_id for a in result.assignments] == [5, 4, 3, 2, 1]


def test_a_partly_busy_athlete_left_out_lacks_capacity_not_time() -> None:
    pre = [slot(1, "09:00", "pre"), slot(1, "10:00", "pre")]
    team = [PlanAthlete(1, (busy("09:00", "10:00"),)), PlanAthlete(2)]  # 1: 10:00 still free
    result = plan(team, pre, [slot(1, "14:00", "post")])
    assert result.unplaced == {1: NO_CAPACITY}
    assert result.assignments[1].pre == pre[0]


def test_without_slots_in_a_window_everyone_lacks_capacity() -> None:
    result = plan([PlanAthlete(1), PlanAthlete(2, (busy("00:00", "23:00"),))],
                  [slot(1, "09:00", "pre")], [])
    assert result.placed == 0
    assert result.unplaced == {1: NO_CAPACITY, 2: OWN_CONFLICT}
    assert plan([], [slot(1, "09:00", "pre")], []).assignments == ()


def test_an_athlete_id_may_appear_only_once() -> None:
    with pytest.raises(ValueError, match="once"):
        plan([PlanAthlete(1), PlanAthlete(1)], [], [])


# --- determinism --------------------------------------------------------------------------

def test_the_same_input_gives_the_same_plan_whatever_the_order() -> None:
    rng = random.Random(5)
    for _ in range(50):
        athletes, pre, post, loads = random_instance(rng)
        result = plan(athletes, pre, post, loads)
        assert plan(athletes, pre, post, loads) == result
        shuffled = rng.sample(athletes, len(athletes))
        again = plan(shuffled, pre, post, loads)
        assert sorted(again.assignments, key=lambda a: a.athlete_id) == sorted(
            result.assignments, key=lambda a: a.athlete_id)
        assert again.unplaced.items() == result.unplaced.items()


def test_shuffled_therapists_give_the_same_plan() -> None:
    states = [therapist(tid, ("08:00", "12:00"), session=45, buffer=15 * (tid % 2))
              for tid in range(1, 5)]
    team = [PlanAthlete(i, (busy("09:00", "10:00"),) if i % 3 == 0 else ()) for i in range(9)]
    results = []
    for order in (states, states[::-1], states[1:] + states[:1]):
        pre = candidates("pre", DAY, EVENT_START, order, MONDAY)
        post = candidates("post", DAY, EVENT_START, order, MONDAY)
        results.append(plan(team, pre, post))
    assert results[0] == results[1] == results[2]
    assert results[0].placed == 9
