"""Best-first proposals (core/proposals.py: `ranking`, `propose_best_first`) against the
exhaustive `propose` that reads every therapist: the same slots in the same order with the
same sites, for clinics of up to a dozen therapists at up to three sites (periods at sites
of their own, one-day changes), with and without a site rule and travel, any limit and
any batch size (a batch of one reads therapist after therapist and stops at every chance).

And the bound it stands on: `best_grid_start` is the best of the grid starts a schedule
has with nothing booked (FreeStarts with nothing unavailable), nearest to a target or
earliest.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from athlete_sched.core.availability import (
    FreeStarts,
    TherapistSchedule,
    WorkingPeriod,
    best_grid_start,
)
from athlete_sched.core.intervals import Interval
from athlete_sched.core.proposals import (
    PRE_TARGET,
    TherapistState,
    bounds,
    propose,
    propose_best_first,
    ranked,
    ranking,
    window_load,
)
from athlete_sched.core.sites import Places, Travel, places

from .test_properties import intervals_in, minutes, problems, schedules

SETTINGS = settings(max_examples=300, deadline=None)
SITES = (None, 1, 2, 3)


@st.composite
def at_sites(draw: st.DrawFn, therapist_id: int) -> TherapistSchedule:
    """A schedule at a site (or none), some periods at a site of their own; half the time
    a plan shared with others (ties on every bound)."""
    schedule = draw(schedules(therapist_id))
    if draw(st.booleans()):
        schedule = replace(schedule, tz=ZoneInfo("Europe/Berlin"), session_minutes=45,
                           slot_step_minutes=15, working_days=(),
                           working_hours=tuple(WorkingPeriod(d, time(8), time(12))
                                               for d in range(7)))
    hours = tuple(replace(p, site_id=draw(st.sampled_from(SITES))) if draw(st.booleans())
                  else p for p in schedule.working_hours)
    return replace(schedule, working_hours=hours, site_id=draw(st.sampled_from(SITES)))


@dataclass(frozen=True)
class Clinic:
    kind: str
    window: Interval
    event_start: datetime
    therapists: tuple[TherapistState, ...]
    athlete_busy: tuple[Interval, ...]
    now: datetime
    notice: timedelta
    where: Places


@st.composite
def clinics(draw: st.DrawFn) -> Clinic:
    problem = draw(problems())
    lo, hi = minutes(problem.window.start) - 240, minutes(problem.window.end)
    ids = draw(st.lists(st.integers(1, 60), min_size=0, max_size=12, unique=True))
    states = [TherapistState(draw(at_sites(tid)), tuple(draw(intervals_in(lo, hi, 6, 240))),
                             tuple(draw(intervals_in(lo, hi, 8, 120)))) for tid in ids]
    event_start = problem.window.end + timedelta(minutes=draw(st.integers(-2880, 2880)))
    where: Places = None
    if draw(st.booleans()):
        travel = None
        if draw(st.booleans()):
            depart = problem.window.start + timedelta(minutes=draw(st.integers(-600, 3000)))
            travel = Travel(depart, depart + timedelta(minutes=draw(st.integers(60, 3000))))
        asked = draw(st.lists(st.sampled_from(SITES[1:]), max_size=2, unique=True))
        where = places(draw(st.sampled_from(SITES)), draw(st.sampled_from(SITES)), travel,
                       asked)
    return Clinic(draw(st.sampled_from(("pre", "post"))), problem.window, event_start,
                  tuple(states), tuple(draw(intervals_in(lo, hi, 4, 240))),
                  problem.not_before, timedelta(minutes=draw(st.integers(0, 240))), where)


@SETTINGS
@given(clinics(), st.integers(1, 40), st.integers(1, 6),
       st.none() | st.lists(st.integers(0, 2), min_size=60, max_size=60))
def test_best_first_answers_as_the_exhaustive_computation(clinic: Clinic, limit: int,
                                                          batch: int,
                                                          short: list[int] | None) -> None:
    """With no loads known (all 0), exact loads, or loads short of the true ones by up to
    two (a bound may be low, never high)."""
    exhaustive = propose(clinic.kind, clinic.window, clinic.event_start, clinic.therapists,
                         clinic.athlete_busy, clinic.now, clinic.notice, limit, clinic.where)
    by_id = {state.schedule.therapist_id: state for state in clinic.therapists}
    read: list[int] = []

    def reader(wanted: list[TherapistSchedule]) -> list[TherapistState]:
        read.extend(s.therapist_id for s in wanted)
        return [by_id[s.therapist_id] for s in wanted]

    loads = None if short is None else {
        tid: max(0, window_load(state, clinic.window) - short[tid - 1])
        for tid, state in by_id.items()}
    ranked = ranking(clinic.kind, clinic.window, clinic.event_start,
                     [state.schedule for state in clinic.therapists], clinic.athlete_busy,
                     clinic.now, clinic.notice, clinic.where, loads)
    assert propose_best_first(ranked, reader, limit, batch) == exhaustive
    # Every therapist with a slot in the answer was read; no therapist is bounded twice.
    assert {slot.therapist_id for slot in exhaustive} <= set(read)
    assert len({s.therapist_id for _, s in ranked.order}) == len(ranked.order)


@SETTINGS
@given(clinics(), st.integers(1, 40), st.integers(1, 6), st.integers(0, 14))
def test_loads_of_the_leading_therapists_only(clinic: Clinic, limit: int, batch: int,
                                              wanted: int) -> None:
    """As services/proposals.py ranks: the bounds without loads, then the exact loads of
    the `leading` therapists only (the first `wanted` and everyone tied with the last of
    them), the rest at 0. The order stays sorted by bound, and the answer is the
    exhaustive one."""
    exhaustive = propose(clinic.kind, clinic.window, clinic.event_start, clinic.therapists,
                         clinic.athlete_busy, clinic.now, clinic.notice, limit, clinic.where)
    by_id = {state.schedule.therapist_id: state for state in clinic.therapists}
    found = bounds(clinic.kind, clinic.window, clinic.event_start,
                   [state.schedule for state in clinic.therapists], clinic.athlete_busy,
                   clinic.now, clinic.notice, clinic.where)
    n = found.leading(wanted)
    assert n >= min(wanted, len(found.order))
    assert n == 0 or all(best != found.order[n - 1][0]
                         for best, _ in found.order[n:])  # whole ties
    loads = {s.therapist_id: window_load(by_id[s.therapist_id], clinic.window)
             for _, s in found.order[:n]}
    ranking_ = ranked(found, loads, n)
    keys = [bound for bound, _ in ranking_.order]
    assert keys == sorted(keys) and len(ranking_.order) == len(found.order)
    assert propose_best_first(ranking_, lambda wanted_: [by_id[s.therapist_id]
                                                         for s in wanted_],
                              limit, batch) == exhaustive


@st.composite
def bounded(draw: st.DrawFn) -> tuple[TherapistSchedule, list[tuple[datetime, datetime]],
                                      datetime | None]:
    problem = draw(problems())
    lo, hi = minutes(problem.window.start), minutes(problem.window.end)
    holes = sorted(draw(intervals_in(lo, hi, 4, 600)))
    segments: list[tuple[datetime, datetime]] = []
    left = problem.window.start
    for hole in holes:
        if hole.start > left:
            segments.append((left, hole.start))
        left = max(left, hole.end)
    if left < problem.window.end:
        segments.append((left, problem.window.end))
    target = draw(st.none() | st.integers(lo - 1440, hi + 1440).map(
        lambda m: datetime.fromtimestamp(m * 60, problem.window.start.tzinfo)))
    return problem.schedule, segments, target


@SETTINGS
@given(bounded())
def test_the_bound_is_the_best_grid_start_with_nothing_booked(case) -> None:
    schedule, segments, target = case
    starts = list(FreeStarts(schedule, ([], []), segments).rising())
    found = best_grid_start(schedule, segments, target)
    if not starts:
        assert found is None
    elif target is None:
        assert found == (timedelta(0), starts[0])
    else:
        assert found == min((abs(start - target), start) for start in starts)


def test_a_clinic_of_many_reads_only_the_therapists_who_can_make_the_answer() -> None:
    """Two hundred therapists with the same hours, the lower ids booked solid: the answer
    (the earliest recovery slots) needs the free ones and those tied with them, not the
    therapists whose first hour starts later."""
    window = Interval(datetime.fromisoformat("2027-05-10T00:00+00:00"),
                      datetime.fromisoformat("2027-05-13T00:00+00:00"))
    early = tuple(WorkingPeriod(d, time(8), time(12)) for d in range(7))
    late = tuple(WorkingPeriod(d, time(14), time(18)) for d in range(7))
    states = [TherapistState(TherapistSchedule(tid, ZoneInfo("UTC"),
                                               early if tid <= 20 else late))
              for tid in range(1, 201)]
    read: list[int] = []

    def reader(wanted):  # type: ignore[no-untyped-def]
        read.extend(s.therapist_id for s in wanted)
        return [states[s.therapist_id - 1] for s in wanted]

    event_start = window.start - timedelta(hours=2)
    ranked = ranking("post", window, event_start, [s.schedule for s in states], [],
                     window.start, timedelta(0), loads={})
    found = propose_best_first(ranked, reader, limit=20, first=32)
    assert found == propose("post", window, event_start, states, [], window.start,
                            timedelta(0), 20)
    assert {slot.therapist_id for slot in found} == set(range(1, 21))
    assert len(read) == 32  # one batch: the 21st on start at 14:00, after all twenty
    pre = ranking("pre", window, window.end + PRE_TARGET, [s.schedule for s in states], [],
                  window.start, timedelta(0))
    read.clear()
    assert propose_best_first(pre, reader, limit=5, first=8) == propose(
        "pre", window, window.end + PRE_TARGET, states, [], window.start, timedelta(0), 5)
    assert len(read) == 8  # all tied: the lowest ids, none booked, win the tie
