"""A coach's team around one event -> a pre and a post session for as many athletes as possible.

Two steps, both pure:

1. `candidates`: each therapist's free starts in one window, *packed* so that no two
   candidates of one therapist overlap (buffer included), ranked best first by
   `proposals.rank_key`. Packing walks the ascending starts and takes a start only when it
   is at least session + buffer after the last one taken: for sessions of equal length,
   earliest-first keeps the most sessions (the interval-scheduling exchange argument). Any
   subset of the candidates can therefore be booked together.
2. `plan`: which athlete gets which candidates. An athlete counts only with both sessions,
   so the windows are coupled: the plan is a maximum flow of minimum cost in
   ``source -> pre slot -> athlete (capacity 1) -> post slot -> sink``, with an arc from a
   slot to an athlete only where the athlete's own commitments leave it free. The objective
   is lexicographic:

   1. the most athletes placed with both sessions (the maximum flow: exact);
   2. then the least total rank of the slots used (the minimum cost: exact);
   3. then continuity: the same therapist for an athlete's pre and post;
   4. then load spread: slots of therapists with a lower `loads[therapist_id]`.

   Rule 4 rides in the cost: a slot costs ``rank * K + t`` where t is the dense rank of its
   therapist's load and K exceeds the largest possible sum of t, so load only ever breaks
   ties of rule 2. (Ranks are distinct, and in thousands of random instances the slots of
   an optimal plan never tied on rank total, so in practice load acts through `rank_key`,
   which puts the less-loaded therapist first at equal starts.)

   Rule 3 couples an athlete's two slots, which a flow cannot express; it is applied
   afterwards without touching rules 1 and 2: within each group of interchangeable
   athletes (those who may take exactly the same slots), the group's pre and post slots
   are re-paired so that each therapist pairs min(#pre, #post) of its own slots, which is
   the most possible. Continuity is thus maximised among interchangeable athletes for the
   slots the flow chose, not across groups (that would be a three-way matching).

Athletes with the same feasible slots are one node of capacity = the group's size (exact:
the flow through it is how many of them are placed), which makes the usual team (most
athletes free all week) a handful of nodes; see team_flow.py for the exact pruning. One
group alone needs no flow: it takes its best takeable slots. Everything is deterministic:
groups are ordered by their smallest athlete id, a group's placed members are its lowest
ids, and they get its pairs best (lowest rank total) first.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from operator import itemgetter

from .availability import free_starts
from .intervals import Interval
from .kinds import WINDOW_KINDS
from .proposals import Slot, TherapistState, rank_key, window_load
from .sites import Places, allows, restricts_time, without_travel

OWN_CONFLICT = "own-conflict"
NO_CAPACITY = "no-capacity"
SITE = "site"  # no slot at a site where the athlete is (core/sites.py)
TRAVEL = "travel"  # ... at the time they are there: travel leaves none


@dataclass(frozen=True)
class PlanAthlete:
    """A team member: `unavailable` holds their own events and sessions (no slot may
    overlap one); `where` the sites they can be at and when (core/sites.py; None: any);
    `excluded` is a reason to leave them out without trying ("screening")."""

    athlete_id: int
    unavailable: tuple[Interval, ...] = ()
    excluded: str | None = None
    where: Places = None


@dataclass(frozen=True)
class Assignment:
    """An athlete's two sessions: both set when placed, both None otherwise."""

    athlete_id: int
    pre: Slot | None
    post: Slot | None


@dataclass(frozen=True)
class TeamPlan:
    """One assignment per athlete in input order, and why each unplaced one is."""

    assignments: tuple[Assignment, ...]
    unplaced: dict[int, str]

    @property
    def placed(self) -> int:
        """How many athletes got both sessions."""
        return sum(1 for a in self.assignments if a.pre is not None and a.post is not None)


@dataclass(frozen=True)
class _Group:
    """Athletes (ascending ids) who may take exactly the same slots: all but the ranks in
    `pre_blocked` and `post_blocked`."""

    members: tuple[int, ...]
    pre_blocked: frozenset[int]
    post_blocked: frozenset[int]
    closed_by_site: str | None = None  # SITE or TRAVEL: the site rule closes a window


# --- candidates ---------------------------------------------------------------------------

def pack(starts: Sequence[datetime], spacing: timedelta) -> list[datetime]:
    """The ascending `starts` thinned so that each kept start is at least `spacing`
    (session + buffer) after the previous kept one, earliest first: the most that fit."""
    kept: list[datetime] = []
    for start in starts:
        if not kept or start >= kept[-1] + spacing:
            kept.append(start)
    return kept


def candidates(kind: str, window: Interval, event_start: datetime,
               therapists: Sequence[TherapistState], not_before: datetime) -> list[Slot]:
    """Every therapist's packed free slots in `window` (not before `not_before`), best
    first by `rank_key`; a slot's rank is its index. One therapist's candidates never
    overlap, buffer included. Athletes' commitments are not applied here (they differ)."""
    if kind not in WINDOW_KINDS:
        raise ValueError(f"kind must be one of {WINDOW_KINDS}, not {kind!r}")
    keyed = []
    for state in therapists:
        schedule = state.schedule
        tid, length = schedule.therapist_id, timedelta(minutes=schedule.session_minutes)
        load = window_load(state, window)
        sites = {start: site for site, at_site in schedule.by_site.items()
                 for start in free_starts(at_site, window, state.blocked, state.bookings,
                                          not_before)}
        for start in pack(sorted(sites), length + timedelta(minutes=schedule.buffer_minutes)):
            keyed.append((rank_key(kind, start, load, tid, event_start),
                          Slot(tid, start, start + length, kind, sites[start])))
    keyed.sort(key=itemgetter(0))
    return [slot for _, slot in keyed]


# --- which slots each athlete may take ----------------------------------------------------

@dataclass(frozen=True)
class _Timeline:
    """A window's slots ordered by start, for finding those an unavailable interval
    overlaps."""

    starts: list[datetime]
    ends: list[datetime]
    ranks: list[int]
    longest: timedelta


def _timeline(slots: Sequence[Slot]) -> _Timeline:
    order = sorted(range(len(slots)), key=lambda rank: slots[rank].start)
    longest = max((slot.end - slot.start for slot in slots), default=timedelta(0))
    return _Timeline([slots[r].start for r in order], [slots[r].end for r in order], order,
                     longest)


def _overlapped(line: _Timeline, unavailable: Sequence[Interval]) -> frozenset[int]:
    """The ranks of the slots that overlap any unavailable interval (half-open; empty ones
    make nothing unavailable)."""
    found: set[int] = set()
    for start, end in unavailable:
        if start < end:
            low = bisect_right(line.starts, start - line.longest)
            high = bisect_left(line.starts, end)
            found.update(line.ranks[i] for i in range(low, high) if line.ends[i] > start)
    return frozenset(found)


def _elsewhere(slots: Sequence[Slot], where: Places) -> frozenset[int]:
    """The ranks of the slots at a site or time where the athlete is not."""
    return frozenset(rank for rank, slot in enumerate(slots)
                     if not allows(where, slot.site_id, Interval(slot.start, slot.end)))


def _why_closed(athlete: PlanAthlete, pre: Sequence[Slot], post: Sequence[Slot],
                away: tuple[frozenset[int], frozenset[int]]) -> str | None:
    """`travel` or `site` when the site rule alone leaves a window with slots none the
    athlete can take (see _reason), else None."""
    if athlete.where is None:
        return None
    for slots, blocked in zip((pre, post), away, strict=True):
        if slots and len(blocked) == len(slots):
            if restricts_time(athlete.where) and len(
                    _elsewhere(slots, without_travel(athlete.where))) < len(slots):
                return TRAVEL
            return SITE
    return None


_GroupKey = tuple[frozenset[int], frozenset[int], str | None]


def _groups(active: Sequence[PlanAthlete], pre: Sequence[Slot],
            post: Sequence[Slot]) -> list[_Group]:
    """The active athletes grouped by the slots they may not take (their own commitments,
    and sites or times where they are not), by smallest id."""
    lines = (_timeline(pre), _timeline(post)) if any(a.unavailable for a in active) else None
    members: dict[_GroupKey, list[int]] = {}
    for athlete in active:
        blocked = (frozenset(), frozenset())
        if lines and athlete.unavailable:
            blocked = (_overlapped(lines[0], athlete.unavailable),
                       _overlapped(lines[1], athlete.unavailable))
        why = None
        if athlete.where is not None:
            away = (_elsewhere(pre, athlete.where), _elsewhere(post, athlete.where))
            why = _why_closed(athlete, pre, post, away)
            blocked = (blocked[0] | away[0], blocked[1] | away[1])
        members.setdefault((*blocked, why), []).append(athlete.athlete_id)
    groups = [_Group(tuple(sorted(ids)), pre_blocked, post_blocked, why)
              for (pre_blocked, post_blocked, why), ids in members.items()]
    return sorted(groups, key=lambda group: group.members[0])


# --- solving ------------------------------------------------------------------------------

def _best(count: int, blocked: frozenset[int]) -> Iterator[int]:
    return (rank for rank in range(count) if rank not in blocked)


def _single(group: _Group, pre_count: int, post_count: int) -> tuple[list[int], list[int]]:
    """One group competes with nobody: its best takeable slots, as many as can pair."""
    placed = min(len(group.members), pre_count - len(group.pre_blocked),
                 post_count - len(group.post_blocked))
    return (list(islice(_best(pre_count, group.pre_blocked), placed)),
            list(islice(_best(post_count, group.post_blocked), placed)))


def _load_terms(slots: Sequence[Slot], levels: Mapping[int, int]) -> list[int]:
    return [levels[slot.therapist_id] for slot in slots]


def _flow(groups: Sequence[_Group], pre: Sequence[Slot], post: Sequence[Slot],
          loads: Mapping[int, int] | None) -> list[tuple[list[int], list[int]]]:
    """Per group, the chosen pre and post ranks from the min-cost maximum flow."""
    from . import team_flow  # numpy and OR-Tools: kept off the app's import path

    sizes = [len(group.members) for group in groups]
    tids = {slot.therapist_id for slot in (*pre, *post)} if loads else set()
    distinct = sorted({loads.get(tid, 0) for tid in tids}) if loads else []
    levels = {tid: distinct.index(loads.get(tid, 0)) for tid in tids} if loads else {}
    bound = min(sum(sizes), len(pre), len(post))
    scale = 2 * bound * (len(distinct) - 1) + 1 if len(distinct) > 1 else 1
    terms = (_load_terms(pre, levels), _load_terms(post, levels)) if scale > 1 else (None, None)
    sides = [team_flow.Side(team_flow.slot_costs(len(slots), scale, t), blocked)
             for slots, t, blocked in ((pre, terms[0], [g.pre_blocked for g in groups]),
                                       (post, terms[1], [g.post_blocked for g in groups]))]
    return team_flow.solve(sizes, *sides)


def continuity_pairs(pre_ranks: Sequence[int], post_ranks: Sequence[int],
                     pre: Sequence[Slot], post: Sequence[Slot]) -> list[tuple[int, int]]:
    """Pair equally many pre and post ranks with the most same-therapist pairs: each
    therapist pairs min(#pre, #post) of its own (best with best); the rest pair by rank.
    Returned best first (lowest rank total, then lowest pre rank)."""
    by_pre: dict[int, list[int]] = {}
    by_post: dict[int, list[int]] = {}
    for rank in sorted(pre_ranks):
        by_pre.setdefault(pre[rank].therapist_id, []).append(rank)
    for rank in sorted(post_ranks):
        by_post.setdefault(post[rank].therapist_id, []).append(rank)
    pairs: list[tuple[int, int]] = []
    rest_pre: list[int] = []
    rest_post: list[int] = []
    for tid in sorted(by_pre.keys() | by_post.keys()):
        mine, theirs = by_pre.get(tid, []), by_post.get(tid, [])
        same = min(len(mine), len(theirs))
        pairs += zip(mine[:same], theirs[:same], strict=True)
        rest_pre += mine[same:]
        rest_post += theirs[same:]
    pairs += zip(sorted(rest_pre), sorted(rest_post), strict=True)
    return sorted(pairs, key=lambda pair: (pair[0] + pair[1], pair[0]))


# --- the plan -----------------------------------------------------------------------------

def _reason(group: _Group, pre_count: int, post_count: int) -> str:
    """own-conflict when the athlete's commitments close a window that has slots (site or
    travel when the site rule alone closes one)."""
    if group.closed_by_site is not None:
        return group.closed_by_site
    closed = (pre_count and len(group.pre_blocked) == pre_count) or (
        post_count and len(group.post_blocked) == post_count)
    return OWN_CONFLICT if closed else NO_CAPACITY


def plan(athletes: Sequence[PlanAthlete], pre: Sequence[Slot], post: Sequence[Slot],
         loads: Mapping[int, int] | None = None) -> TeamPlan:
    """The team plan for `athletes` over the ranked candidates `pre` and `post` (index =
    rank; as `candidates` returns them: one therapist's slots in a window never overlap).

    See the module docstring for the objective and why it is exact. Raises ValueError when
    an athlete id repeats.
    """
    ids = [athlete.athlete_id for athlete in athletes]
    if len(set(ids)) != len(ids):
        raise ValueError("each athlete may appear only once in a team plan")
    groups = _groups([a for a in athletes if a.excluded is None], pre, post)
    if len(groups) == 1:
        chosen = [_single(groups[0], len(pre), len(post))]
    else:
        chosen = _flow(groups, pre, post, loads) if groups else []
    sessions: dict[int, tuple[Slot, Slot]] = {}
    unplaced: dict[int, str] = {}
    for group, (pre_ranks, post_ranks) in zip(groups, chosen, strict=True):
        pairs = continuity_pairs(pre_ranks, post_ranks, pre, post)
        for member, (p, q) in zip(group.members, pairs, strict=False):
            sessions[member] = (pre[p], post[q])
        unplaced |= dict.fromkeys(group.members[len(pairs):],
                                  _reason(group, len(pre), len(post)))
    unplaced |= {a.athlete_id: a.excluded for a in athletes if a.excluded is not None}
    assignments = tuple(Assignment(i, *sessions.get(i, (None, None))) for i in ids)
    return TeamPlan(assignments, {i: unplaced[i] for i in ids if i in unplaced})
