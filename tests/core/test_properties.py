"""Property tests: free_starts and propose against an independent brute force.

The brute force works on integer minutes: it walks every grid point of every working
period of every local day near the window and tests each rule directly against every
interval, with no merging and no sweeping. Zones include DST changes (Berlin, New York),
a +05:45 zone and Lord Howe's 30-minute DST, on weeks that cross a change. Schedules may
carry one-day changes (a date with its own periods, or closed) on those weeks: the brute
force takes that date's periods instead of the weekday's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from athlete_sched.core.availability import TherapistSchedule, WorkingPeriod, free_starts
from athlete_sched.core.intervals import Interval
from athlete_sched.core.proposals import PRE_TARGET, TherapistState, propose
from athlete_sched.core.working_days import WorkingDay

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe")
# Thursdays/Fridays just before 2027 changes (US 03-14, EU 03-28, AU 04-04 and 10-03,
# EU 10-31, US 11-07), and a quiet week.
BASE_DAYS = (date(2027, 3, 11), date(2027, 3, 25), date(2027, 4, 1), date(2027, 9, 30),
             date(2027, 10, 28), date(2027, 11, 4), date(2027, 5, 13))
STEPS = (5, 7, 10, 15, 20, 30, 45, 60)
SETTINGS = settings(max_examples=200, deadline=None)


def minutes(moment: datetime) -> int:
    return int(moment.timestamp()) // 60


def instant(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)


@dataclass(frozen=True)
class Problem:
    schedule: TherapistSchedule
    window: Interval
    blocked: tuple[Interval, ...]
    bookings: tuple[Interval, ...]
    not_before: datetime
    duration: timedelta | None


# --- the brute force -----------------------------------------------------------------------


def period_minutes(schedule: TherapistSchedule, window: Interval) -> list[tuple[int, int]]:
    """Working periods in UTC minutes for a generous range of local days."""
    tz = schedule.tz
    day = window.start.astimezone(tz).date() - timedelta(days=2)
    last = window.end.astimezone(tz).date() + timedelta(days=2)
    changes = {d.day: d.periods for d in schedule.working_days}
    found = []
    while day <= last:
        periods = changes[day] if day in changes else [
            (p.start, p.end) for p in schedule.working_hours if p.day == day.weekday()]
        for start, stop in periods:
            begin = datetime(day.year, day.month, day.day, start.hour, start.minute, tzinfo=tz)
            end = datetime(day.year, day.month, day.day, stop.hour, stop.minute, tzinfo=tz)
            found.append((minutes(begin), minutes(end)))
        day += timedelta(days=1)
    return found


def rules_broken(problem: Problem, start: int) -> list[str]:
    """Every rule a session starting at `start` (UTC minutes) breaks, by name."""
    s = problem.schedule
    dur = s.session_minutes if problem.duration is None else problem.duration // timedelta(
        minutes=1)
    end = start + dur
    broken = []
    on_grid = [(a, b) for a, b in period_minutes(s, problem.window)
               if start >= a and (start - a) % s.slot_step_minutes == 0 and end <= b]
    if not on_grid:
        broken.append("grid/one period")
    if not (minutes(problem.window.start) <= start and end <= minutes(problem.window.end)):
        broken.append("window")
    if start < minutes(problem.not_before):
        broken.append("not_before")
    if any(start < minutes(e) and minutes(b) < end for b, e in problem.blocked):
        broken.append("blocked")
    pad = s.buffer_minutes
    if any(start < minutes(e) + pad and minutes(b) - pad < end for b, e in problem.bookings):
        broken.append("booking+buffer")
    return broken


def brute_force(problem: Problem) -> set[int]:
    s = problem.schedule
    dur = s.session_minutes if problem.duration is None else problem.duration // timedelta(
        minutes=1)
    candidates = set()
    for a, b in period_minutes(s, problem.window):
        candidates.update(range(a, b - dur + 1, s.slot_step_minutes))
    return {c for c in candidates if not rules_broken(problem, c)}


# --- strategies ------------------------------------------------------------------------------


@st.composite
def working_hours(draw: st.DrawFn) -> tuple[WorkingPeriod, ...]:
    periods = []
    for _ in range(draw(st.integers(2, 8))):
        begin = draw(st.integers(0, 23 * 60))
        end = draw(st.integers(begin + 1, min(begin + 600, 24 * 60 - 1)))
        periods.append(WorkingPeriod(draw(st.integers(0, 6)), time(begin // 60, begin % 60),
                                     time(end // 60, end % 60)))
    return tuple(periods)


@st.composite
def working_days(draw: st.DrawFn) -> tuple[WorkingDay, ...]:
    """Up to three one-day changes on the tested weeks: each closed (no period) or with up
    to three disjoint periods."""
    found = {}
    for _ in range(draw(st.integers(0, 3))):
        day = draw(st.sampled_from(BASE_DAYS)) + timedelta(days=draw(st.integers(-1, 7)))
        points = sorted(draw(st.lists(st.integers(0, 24 * 60 - 1), max_size=6, unique=True)))
        points = points[:len(points) // 2 * 2]
        found[day] = WorkingDay(day, tuple(
            (time(a // 60, a % 60), time(b // 60, b % 60))
            for a, b in zip(points[::2], points[1::2], strict=True)))
    return tuple(found.values())


def intervals_in(lo: int, hi: int, most: int, longest: int) -> st.SearchStrategy[list[Interval]]:
    """Up to `most` intervals starting within [lo, hi] minutes, unsorted, free to overlap."""
    one = st.tuples(st.integers(lo, hi), st.integers(1, longest))
    return st.lists(one, max_size=most).map(
        lambda pairs: [Interval(instant(a), instant(a + n)) for a, n in pairs])


@st.composite
def schedules(draw: st.DrawFn, therapist_id: int = 1) -> TherapistSchedule:
    return TherapistSchedule(
        therapist_id=therapist_id, tz=ZoneInfo(draw(st.sampled_from(ZONES))),
        working_hours=draw(working_hours()), session_minutes=draw(st.integers(5, 120)),
        buffer_minutes=draw(st.integers(0, 30)), slot_step_minutes=draw(st.sampled_from(STEPS)),
        working_days=draw(working_days()))


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    origin = minutes(datetime.combine(draw(st.sampled_from(BASE_DAYS)), time(), tzinfo=UTC))
    begin = origin + draw(st.integers(0, 3 * 1440))
    length = draw(st.integers(360, 4 * 1440))
    window = Interval(instant(begin), instant(begin + length))
    lo, hi = begin - 240, begin + length
    duration = draw(st.none() | st.integers(5, 180).map(lambda m: timedelta(minutes=m)))
    return Problem(draw(schedules()), window, tuple(draw(intervals_in(lo, hi, 12, 240))),
                   tuple(draw(intervals_in(lo, hi, 8, 120))),
                   instant(begin + draw(st.integers(-1440, length // 2))), duration)


def solve(problem: Problem) -> list[datetime]:
    return free_starts(problem.schedule, problem.window, problem.blocked, problem.bookings,
                       problem.not_before, problem.duration)


# --- free_starts -------------------------------------------------------------------------------


@SETTINGS
@given(problems())
def test_every_free_start_keeps_every_rule(problem: Problem) -> None:
    for start in solve(problem):
        assert start.utcoffset() == timedelta(0) and start.second == start.microsecond == 0
        assert rules_broken(problem, minutes(start)) == [], start


@SETTINGS
@given(problems())
def test_free_starts_are_complete_sorted_and_unique(problem: Problem) -> None:
    found = [minutes(start) for start in solve(problem)]
    assert found == sorted(set(found))
    assert set(found) == brute_force(problem)


# --- propose -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clinic:
    kind: str
    window: Interval
    event_start: datetime
    therapists: tuple[TherapistState, ...]
    athlete_busy: tuple[Interval, ...]
    now: datetime
    notice: timedelta


@st.composite
def clinics(draw: st.DrawFn) -> Clinic:
    problem = draw(problems())
    lo, hi = minutes(problem.window.start) - 240, minutes(problem.window.end)
    ids = draw(st.lists(st.integers(1, 50), min_size=1, max_size=3, unique=True))
    states = [TherapistState(draw(schedules(tid)), tuple(draw(intervals_in(lo, hi, 8, 240))),
                             tuple(draw(intervals_in(lo, hi, 6, 120)))) for tid in ids]
    event_start = problem.window.end + timedelta(minutes=draw(st.integers(-2880, 2880)))
    return Clinic(draw(st.sampled_from(("pre", "post"))), problem.window, event_start,
                  tuple(states), tuple(draw(intervals_in(lo, hi, 6, 240))),
                  problem.not_before, timedelta(minutes=draw(st.integers(0, 240))))


def expected_key(clinic: Clinic, state: TherapistState, start: datetime) -> tuple[object, ...]:
    load = sum(1 for b in state.bookings
               if b.start < clinic.window.end and clinic.window.start < b.end)
    tid = state.schedule.therapist_id
    if clinic.kind == "pre":
        return (abs(start - (clinic.event_start - PRE_TARGET)), start, load, tid)
    return (start, load, tid)


def run(clinic: Clinic, therapists: tuple[TherapistState, ...], limit: int) -> list:
    return propose(clinic.kind, clinic.window, clinic.event_start, therapists,
                   clinic.athlete_busy, clinic.now, clinic.notice, limit)


@SETTINGS
@given(clinics())
def test_propose_is_complete_and_ranked(clinic: Clinic) -> None:
    slots = run(clinic, clinic.therapists, limit=100_000)
    expected = set()
    for state in clinic.therapists:
        alone = Problem(state.schedule, clinic.window, state.blocked + clinic.athlete_busy,
                        state.bookings, clinic.now + clinic.notice, None)
        expected |= {(state.schedule.therapist_id, m) for m in brute_force(alone)}
    assert {(slot.therapist_id, minutes(slot.start)) for slot in slots} == expected
    assert len(slots) == len(expected)
    by_id = {state.schedule.therapist_id: state for state in clinic.therapists}
    keys = [expected_key(clinic, by_id[slot.therapist_id], slot.start) for slot in slots]
    assert keys == sorted(keys)
    for slot in slots:
        assert slot.kind == clinic.kind
        assert slot.end - slot.start == timedelta(
            minutes=by_id[slot.therapist_id].schedule.session_minutes)


@SETTINGS
@given(clinics(), st.integers(0, 40))
def test_propose_is_deterministic_and_a_limit_is_a_prefix(clinic: Clinic, limit: int) -> None:
    full = run(clinic, clinic.therapists, limit=100_000)
    assert run(clinic, clinic.therapists, limit) == full[:limit]
    assert run(clinic, clinic.therapists[::-1], limit) == full[:limit]
