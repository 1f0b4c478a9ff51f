"""Proposals: the ranked free slots of an event's windows (the ranking: core/proposals.py).

`propose_for` is the request's road: the event the caller may see, the kinds it needs
(core/season.py's rule for a C-priority event), the athlete whose season the slots keep
clear of, then the answer from the per-process cache (services/cache.py: never stale,
keyed by what the answer reads, db/queries/proposal_keys.py: the bookings near the
windows, the athlete's events, memberships and sessions, and counters of the rest; a
booking elsewhere leaves it) or worked out by `propose` (whose slots other events with the
same windows and the same question share: the cache "proposal_slots"): the therapists'
schedules with their loads in the windows (one tuned read, db/queries/therapists.py),
the athlete's season
(services/season.py: one read of events, one of sessions; on a miss of the cache, only
as far as the key leaves them unknown, proposal_keys.Facts: an athlete with the one
event and no booking near it needs neither, and the key's counter stands for the
schedules' own), then the core, best first:
the therapists ranked by the best slot their schedules allow (core/proposals.ranking),
and the blocked time and bookings near the windows read for the best of them only, a
batch at a time, until the answer is settled (core/proposals.propose_best_first; the
first batch, both kinds' best, is one read and usually the only one). The cost of a
request follows its answer, not the clinic's size: at 1,000 therapists it reads the
bookings of a few dozen.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from ..core import proposals as core_proposals
from ..core.availability import TherapistSchedule
from ..core.errors import NotFound
from ..core.intervals import Interval, subtract
from ..core.kinds import PRE, WINDOW_KINDS
from ..core.proposals import Slot, TherapistState
from ..core.season import needed_kinds
from ..core.sites import Places, restricts_time, without_travel
from ..core.windows import Windows, event_windows
from ..db.models import Event, Therapist
from ..db.queries import proposal_keys, rows, therapists
from . import access, schedules, season, sites
from .access import Caller
from .cache import ALWAYS, VersionedCache, cache_for
from .common import (
    booking_athlete,
    forget_settings,
    found,
    min_gap,
    now,
    policy,
    settings_as_of,
    timing_of,
    windows_of,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Reason:
    """Why a kind has no slot: `code` (past, travel, site, no-therapist, full) and a
    message for a person."""

    code: str
    message: str


# What `propose` works out (or keeps) for a question: the slots per kind, and why a kind
# has none.
Worked = tuple[dict[str, Sequence[Slot]], dict[str, Reason]]


@dataclass
class Proposals:
    """Ranked slots per kind for an event, those that would also serve another event
    of the athlete's season (slot -> that event's id), and why a kind has none."""

    event_id: int
    windows: Windows
    found: dict[str, Sequence[Slot]]  # a list, or the shared slots' tuple (propose_for)
    shared: dict[Slot, int] = field(default_factory=dict)
    reasons: dict[str, Reason] = field(default_factory=dict)


def propose(event: Event, kinds: tuple[str, ...], therapist_id: int | None,
            athlete_id: int | None, limit: int, site_ids: tuple[int, ...] = (),
            data: Hashable | None = None, facts: proposal_keys.Facts | None = None
            ) -> Proposals:
    """Ranked free slots per kind for the event (see core.proposals for the ranking),
    clear of the athlete's season (services/season.py) when the athlete is known: the
    event's own, or the team member named by `athlete_id`; at the sites where the athlete
    is at the time (services/sites.py; `site_ids`: only those). A kind without a slot
    comes with its reason.

    `data` (from propose_for: the proposals key's counters and the bookings near the
    windows, with the span they cover): the slots of the same question asked before for
    another event (the same windows and race start, the athlete's time taken by their
    season, the places, the therapist asked for and the limit), at the same `data`, are
    taken from the per-process cache "proposal_slots" instead of being worked out again:
    the races of one day share their windows, and most of their athletes their answer.
    `facts` (from propose_for: what the proposals key read already tells,
    db/queries/proposal_keys.Facts) spare reads: the schedules' counter, the athlete's
    season when they have no other event or no session near the windows; and when the
    key saw no waiting-list offer held for the athlete, the question does not name them
    (the offers of the waiting list block the slot for everyone but their holder, so an
    athlete who holds one asks a question of their own)."""
    windows, start, rules = windows_of(event), timing_of(event).start_instant, policy()
    athlete_id = event.athlete_id or athlete_id
    chosen = {kind: windows.pre if kind == PRE else windows.post for kind in kinds}
    where = sites.where(event, athlete_id, site_ids)
    athlete_season = (_season(event, athlete_id, list(chosen.values()), facts)
                      if athlete_id else None)
    unavailable = season.athlete_unavailable(event, athlete_season) if athlete_season else []
    at = now()
    question = (tuple(chosen.items()), start, therapist_id, limit, _frozen(where),
                tuple(unavailable), rules.notice,
                athlete_id if facts is None or facts.holds_offers else None)
    cache = cache_for("proposal_slots") if data is not None else None
    worked = cache.get(question, data, at) if cache is not None else None
    if worked is None and cache is not None:
        worked = _still_best(cache, question, data, chosen, at)
        if worked is None and athlete_season is not None and athlete_season.sessions:
            plain = season.athlete_unavailable(event, season.Season(athlete_season.events, []))
            worked = _clear_of(cache, (*question[:5], tuple(plain), *question[6:]), data,
                               chosen, at, unavailable, plain)
    if worked is None:
        worked = _work_out(chosen, start, therapist_id, limit, where, unavailable, at,
                           rules.notice, athlete_id,
                           facts.schedule_version if facts is not None else None)
        if cache is not None:
            # Kept as tuples: every event asking the question gets these same slots.
            worked = ({kind: tuple(found_) for kind, found_ in worked[0].items()}, worked[1])
            cache.put(question, data, worked, at, fresh_until(worked[0]))
    slots, reasons = worked
    shared = (season.shared_labels(event, athlete_season, slots, athlete_id)
              if athlete_season else {})
    return Proposals(event.id, windows, slots, shared, reasons)


def _still_best(cache: VersionedCache, question: Hashable, data: Hashable,
                chosen: dict[str, Interval], at: datetime
                ) -> Worked | None:
    """The slots kept for `question` at an earlier `data` (the proposals key's counters
    and bookings near the windows, and their highest row_version), if the writes since
    cannot have changed them; then kept at `data` too. Those writes are new bookings
    alone (the counters equal, and db/queries/proposal_keys.inserted_since finds that the
    bookings near the windows changed by inserts only), none of a therapist who has a slot
    in a kind whose window, widened by the widest buffer, the booking touches. A new
    booking only takes its therapist's time and adds to their load: their slots can only
    drop out or fall in the ranking, and no other slot's rank key moves
    (core/proposals.rank_key), so the best `limit` stay the best. A kind without a slot
    keeps its reason, which the travel question (bookings read) could change: worked out
    again. In the race for a popular slot the winner's booking is in one window, and its
    therapist is usually not among the few at the top: the slots of everyone else racing
    that day hold."""
    earlier = cache.earlier(question, at)
    if earlier is None:
        return None
    old, kept = earlier
    (span, near, _), (old_span, old_near, old_max) = data, old
    slots, reasons = kept
    if reasons or span != old_span or near[:2] != old_near[:2]:
        return None
    written = proposal_keys.inserted_since(span, old_near, old_max, near)
    if written is None:
        return None
    for kind, window in chosen.items():
        lo, hi = window.start - proposal_keys.MAX_BUFFER, window.end + proposal_keys.MAX_BUFFER
        placed = {slot.therapist_id for slot in slots[kind]}
        if any(w.therapist_id in placed and w.start < hi and lo < w.block_end
               for w in written):
            return None
    cache.restamp(question, old, data)
    return kept


def _clear_of(cache: VersionedCache, question: Hashable, data: Hashable,
              chosen: dict[str, Interval], at: datetime, unavailable: list[Interval],
              plain: list[Interval]) -> Worked | None:
    """The slots of `question`, the same question with the athlete's time as it would be
    without their sessions (`plain`: as the others racing that day, who hold none yet,
    ask it), kept at `data`, if none of them overlaps the athlete's time as it is
    (`unavailable`, which covers `plain`): then they are this answer too. More of the
    athlete's time only takes candidates away (core/proposals: a session lies in the
    window less that time), so the best `limit` that none of it touches stay the best. A
    kind without a slot: worked out."""
    if subtract(plain, unavailable):  # `unavailable` must cover `plain`
        return None
    found_ = cache.get(question, data, at) or _still_best(cache, question, data, chosen, at)
    if found_ is None or found_[1] or not all(found_[0][kind] for kind in chosen):
        return None
    if any(u.start < slot.end and slot.start < u.end
           for kind in chosen for slot in found_[0][kind] for u in unavailable):
        return None
    return found_


def _season(event: Event, athlete_id: int, spans: list[Interval],
            facts: proposal_keys.Facts | None) -> season.Season:
    """The athlete's season near the spans, read only as far as `facts` leave it unknown."""
    if facts is None:
        return season.season_near(athlete_id, spans)
    return season.season_near(athlete_id, spans, event if facts.lone_event else None,
                              facts.no_sessions)


def _frozen(where: Places) -> Hashable:
    """`where` as a key: its sites (None first) with their spans."""
    if where is None:
        return None
    return tuple(sorted(where.items(), key=lambda item: (item[0] is not None, item[0] or 0)))


def _work_out(chosen: dict[str, Interval], start: datetime, therapist_id: int | None,
              limit: int, where: Places, unavailable: list[Interval], at: datetime,
              notice: timedelta, holder: int | None, schedule_version: int | None = None
              ) -> tuple[dict[str, list[Slot]], dict[str, Reason]]:
    """The slots of each kind's window, best first, and why a kind has none (propose);
    the waiting list's offers held for `holder` are free for them. `schedule_version`: the
    schedules' counter as this request read it already (None: read it)."""
    spans = list(chosen.values())
    # Only the therapists who work where the athlete can be are taken (a therapist at no
    # such site has no slot, and _reason's questions are about those sites too).
    staff = schedules.near(therapist_id, spans,
                           None if where is None or None in where else list(where),
                           schedule_version)
    first = max(core_proposals.FIRST_READ, limit)
    rankings = _rankings(chosen, start, staff, unavailable, at, notice, where, first)
    states = _States(staff, spans, at, holder)
    states.read(list({s.therapist_id: s for ranked in rankings.values()
                      for s in ranked.first(first)}.values()))  # both kinds: one read
    slots: dict[str, list[Slot]] = {kind: [] for kind in WINDOW_KINDS}
    reasons: dict[str, Reason] = {}
    for kind, window in chosen.items():
        slots[kind] = core_proposals.propose_best_first(rankings[kind], states.read, limit,
                                                        first)
        if not slots[kind]:
            reasons[kind] = _reason(kind, window, start, staff, states.read, unavailable,
                                    at, notice, where)
    return slots, reasons


def _rankings(chosen: dict[str, Interval], start: datetime, staff: list[TherapistSchedule],
              unavailable: list[Interval], at: datetime, notice: timedelta, where: Places,
              first: int) -> dict[str, core_proposals.Ranking]:
    """Each kind's ranking: the therapists by their best start (core/proposals.bounds),
    then the loads, the tie-break, of those at the top of either kind (through whole ties,
    twice the first batch: db/queries/therapists.loads_in, one round trip), so that the
    first batch is the best there is and nearly always settles the answer. The rest keep
    load 0, a bound that stays true. A kind whose therapists all fit in the first batch
    needs no loads: that batch reads them all, whatever their order."""
    found = {kind: core_proposals.bounds(kind, window, start, staff, unavailable, at, notice,
                                         where) for kind, window in chosen.items()}
    leading = {kind: b.leading(2 * first) if len(b.order) > first else 0
               for kind, b in found.items()}
    wanted = list(dict.fromkeys(s.therapist_id for kind, b in found.items()
                                for _, s in b.order[:leading[kind]]))
    counts = therapists.loads_in(wanted, list(chosen.values()))
    return {kind: core_proposals.ranked(
        b, {tid: load[i] for tid, load in counts.items()}, leading[kind])
        for i, (kind, b) in enumerate(found.items())}


class _States:
    """The therapists' blocked time and bookings near the windows (and the waiting list's
    offers held then for anyone but the athlete, as bookings), read as the best-first
    ranking asks for them (core/proposals.py: only the therapists who can make the
    answer), each therapist once, a batch per read (db/queries/therapists.states_in, one
    round trip each; the first batch serves both kinds). Every batch reads bookings as
    far out as the widest buffer of the whole clinic: the same statement each time."""

    def __init__(self, staff: list[TherapistSchedule], windows: list[Interval],
                 at: datetime, holder: int | None) -> None:
        self._windows = windows
        self._widest = max((s.buffer_minutes for s in staff), default=0)
        self._known: dict[int, TherapistState] = {}
        self._at, self._holder = at, holder

    def read(self, schedules: Sequence[TherapistSchedule]) -> list[TherapistState]:
        missing = [s for s in schedules if s.therapist_id not in self._known]
        if missing:
            for state in therapists.states_in(missing, self._windows, self._widest,
                                              self._at, self._holder):
                self._known[state.schedule.therapist_id] = state
        return [self._known[s.therapist_id] for s in schedules]


KIND_WORDS = {PRE: "pre-race", "post": "recovery"}


def _reason(kind: str, window: Interval, start: datetime, staff: list[TherapistSchedule],
            read: core_proposals.Reader, unavailable: list, at: datetime, notice: timedelta,
            where: Places) -> Reason:
    """Why the kind's window has no slot, asked in order: it is over (or inside the
    notice); the travel span leaves no time at a site where the athlete is (there would be
    slots without it: one slot, found best first, reading the bookings of as few
    therapists as that takes); no therapist works at the sites; else every time is taken.
    Only the travel question reads bookings; the others are the schedules' answers."""
    words = KIND_WORDS.get(kind, kind)
    if window.end <= at + notice:
        return Reason("past", f"the {words} window is over (or closer than the clinic's "
                              f"booking notice)")
    if restricts_time(where) and core_proposals.propose_best_first(core_proposals.ranking(
            kind, window, start, staff, unavailable, at, notice, without_travel(where)),
            read, limit=1):
        return Reason("travel", f"travel leaves no time in the {words} window at a site "
                                f"where the athlete is: at home the athlete has left, and "
                                f"near the venue they have not arrived yet (or have gone)")
    if where is not None and not any(site in where for schedule in staff
                                     for site in schedule.by_site):
        return Reason("site", f"no therapist works at the sites where the athlete is "
                              f"during the {words} window (their home site and the race's "
                              f"venue site; a site asked for must be one of them)")
    if not staff:
        return Reason("no-therapist", "no therapist can be proposed")
    return Reason("full", f"every therapist is booked, away or off work in the {words} "
                          f"window")


def fresh_until(found_: dict[str, Sequence[Slot]]) -> datetime:
    """Until when proposals computed now stay right, the data unchanged. Time only removes
    candidates (a start must be >= now + notice) and the ranking does not depend on `now`,
    so the answer holds until the notice reaches its earliest slot. (An offer of the
    waiting list that expires leaves its slot out of a cached answer until the next round
    of the background work clears it, which changes the key: at most a round later.)"""
    starts = [slot.start for slots in found_.values() for slot in slots]
    return min(starts) - policy().notice if starts else ALWAYS


def kinds_for(event: Event, asked: str) -> tuple[str, ...]:
    """The kinds to propose: the one asked for by name, or for "both" the sessions the
    event needs (a C-priority event: the recovery session only)."""
    if asked != "both":
        return (asked,)
    return needed_kinds(season.season_event(event))


def propose_for(caller: Caller, event_id: int, query: Any,
                render: Callable[[Proposals], T]) -> T:
    """GET /events/{id}/proposals: `query` has kind, therapist_id, athlete_id, limit. The
    answer is `render(proposals)`, and the cache keeps it as rendered (the view's JSON
    bytes), so a request it answers costs no serializing either. Access is checked on
    every request, cached or not.

    The event itself is kept too, as it was last read (the cache "proposal_events": a row
    taken out of its session, db/queries/rows.detach): the proposals key reads the
    event's row_version and its athlete's home site anyway (proposal_keys.Read), so a kept
    event the key saw as it is needs no read of its own; one it did not see (written
    since, or gone) is dropped and the request starts again from a fresh read."""
    cache = cache_for("proposals")
    if cache.size <= 0:
        event = access.event(caller, event_id)
        athlete_id, kinds, site_ids = _asked(caller, event, query)
        return render(propose(event, kinds, query.therapist_id, athlete_id, query.limit,
                              site_ids))
    events = cache_for("proposal_events")
    kept = events.kept(event_id)
    if kept is not None and access.sees_event(caller, kept):
        # (An event's owner never changes; a kept event the caller may not see is read
        # afresh all the same, to answer from the row as it is.)
        answer, saw = _answer(caller, kept, query, render, cache, kept=True)
        if saw:
            return answer
        events.forget(event_id)  # written since, or gone
    event = access.event(caller, event_id)
    answer, saw = _answer(caller, event, query, render, cache, kept=False)
    if saw:
        # The row as the key saw it: committed, and read in full. Kept for the next
        # request, out of this session (nothing after the answer reads it through it).
        rows.detach(event)
        events.keep(event.id, event)
    return answer


def _asked(caller: Caller, event: Event, query: Any
           ) -> tuple[int | None, tuple[str, ...], tuple[int, ...]]:
    """The query checked against the event, in this order: the therapist asked for, whose
    season (a team event's member), the kinds, the sites asked for."""
    if query.therapist_id is not None:
        found(Therapist, query.therapist_id, "therapist", "therapist_id")
    athlete_id = _season_athlete(caller, event, query.athlete_id)
    return athlete_id, kinds_for(event, query.kind), sites.checked_all(query.site_id)


def _answer(caller: Caller, event: Event, query: Any, render: Callable[[Proposals], T],
            cache: VersionedCache, kept: bool) -> tuple[T | None, bool]:
    """propose_for's answer for `event`, from the cache or worked out, and whether the key
    saw `event` as it is; no answer if `kept` (a kept event, not read by this request) is
    not that row."""
    athlete_id, kinds, site_ids = _asked(caller, event, query)
    key, at = (event.id, kinds, query.therapist_id, athlete_id, query.limit, site_ids), now()
    reach = _reach(event, athlete_id)
    read = proposal_keys.key(event.id, *reach)
    saw = read.saw(event)
    if kept and not saw:
        return None, False
    version = (reach, read.key)
    settings_now = settings_as_of(proposal_keys.settings_version(read.key))
    answer = cache.get(key, version, at)
    if answer is None:
        # The key was read after the event (and maybe the settings): where a statement may
        # see later commits than the one before, read again what the key did not see as
        # it is, so that the answer is built from data at least as new as its key
        # (db/version.py's rule).
        later = rows.statements_see_new_commits()
        reread = later and not saw
        if reread and not rows.reread(event):
            raise NotFound("event", event.id)
        if later and not settings_now:
            forget_settings()
        # An event read again may have moved: then the key read the wrong rows.
        same = not reread or _reach(event, athlete_id) == reach
        data = ((reach[1], proposal_keys.near_windows(read.key), read.near_max) if same
                else None)
        found_ = propose(event, kinds, query.therapist_id, athlete_id, query.limit, site_ids,
                         data, proposal_keys.facts(read.key) if same else None)
        answer = render(found_)
        if same:
            cache.put(key, version, answer, at, fresh_until(found_.found))
    return answer, saw


def _reach(event: Event, athlete_id: int | None
           ) -> tuple[int | None, Interval, Interval | None]:
    """What the key of the event's proposals covers (db/queries/proposal_keys.py): whose
    season (the event's athlete, or the member asked for), the span of both windows
    (whatever the recovery gap: it moves only the post window's start, and to no earlier
    than the finish), and where that athlete's sessions are read (services/season.reach)."""
    windows = event_windows(timing_of(event), timedelta(0))
    span = Interval(windows.pre.start, windows.post.end)
    whose = event.athlete_id or athlete_id
    return whose, span, (season.reach([span], min_gap())[0] if whose else None)


def _season_athlete(caller: Caller, event: Event, athlete_id: int | None) -> int | None:
    """Whose season a team event's proposals keep clear of: the member named (one the
    caller acts for), else an athlete caller's own; for a personal event, None (the
    event's athlete is known)."""
    if event.team_id is None:
        return None
    if athlete_id is None and caller.role == "athlete":
        athlete_id = caller.athlete_id
    if athlete_id is None:
        return None
    athlete_id = booking_athlete(event, athlete_id)
    if not access.acts_for_athlete(caller, athlete_id):
        raise NotFound("athlete", athlete_id, field="athlete_id")
    return athlete_id
