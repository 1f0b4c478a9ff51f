"""An athlete's season on stored data: the rules between events (core/season.py) applied to
proposals, bookings and the season view.

- Closed days: no session from local 00:00 of day D-1 of any event of the athlete (their
  own and their teams') to its finish plus the recovery gap.
- A minimum gap (MIN_SESSION_GAP_HOURS, default 48) between sessions of different events.
- Shared sessions: where one event's post window meets the next one's pre window, a slot
  there serves both and is labelled so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from ..core import season as core_season
from ..core.errors import AlreadyBooked, Conflict, InvalidValue
from ..core.intervals import Interval, overlaps
from ..core.kinds import OTHER_WINDOW, WINDOW_KINDS
from ..core.proposals import Slot
from ..core.sites import Places, allows
from ..db.models import Event
from ..db.queries import bookings, events
from ..db.queries.events import EventTimingRow
from . import sites
from .common import found as found_row
from .common import min_gap, policy, timing_of

# How far after a span a later event can bear on it: its pre window (shared sessions)
# opens at local 00:00 of day D-3, so at most four days after (its closed days, from D-1,
# less).
LATER_REACH = timedelta(days=4)


class SeasonConflict(Conflict):
    code = "season-conflict"

    def __init__(self, athlete_id: int, start, reason: str) -> None:
        super().__init__(f"athlete {athlete_id} cannot have a session at {start:%Y-%m-%dT%H:%MZ}"
                         f": {reason}", field="start", athlete_id=athlete_id)


@dataclass
class Season:
    """The athlete's events and confirmed sessions near some spans."""

    events: list[core_season.SeasonEvent]
    sessions: list[core_season.Session]

    def with_event(self, event: Event) -> list[core_season.SeasonEvent]:
        """The events, the given one included (a team event the athlete just joined, say)."""
        if any(e.event_id == event.id for e in self.events):
            return self.events
        return [*self.events, season_event(event)]


def season_event(event: Event | EventTimingRow) -> core_season.SeasonEvent:
    return core_season.SeasonEvent(event.id, timing_of(event), event.priority)


def reach(spans: Sequence[Interval], before: timedelta) -> list[Interval]:
    """`spans` widened to what the season rules may bring to bear on them: `before` back,
    the minimum gap or a later event's reach ahead."""
    return [Interval(min(s.start for s in spans) - before,
                     max(s.end for s in spans) + max(min_gap(), LATER_REACH))]


def seasons_near(athlete_ids: Sequence[int], spans: Sequence[Interval]) -> dict[int, Season]:
    """Every event and session of each athlete that a rule could bring to bear on `spans`
    (two queries for all of them)."""
    wide = reach(spans, min_gap())
    found = events.athletes_event_timings_in(athlete_ids, wide)
    sessions = bookings.athletes_sessions_in(athlete_ids, wide)
    return {athlete_id: Season([season_event(e) for e in found.get(athlete_id, ())],
                               sessions.get(athlete_id, []))
            for athlete_id in athlete_ids}


def season_near(athlete_id: int, spans: Sequence[Interval], alone: Event | None = None,
                no_sessions: bool = False) -> Season:
    """seasons_near for one athlete. What the caller knows is not read again: `alone`, the
    athlete's only event (so their season's events are that one: the spans are its
    windows, which it always reaches), and `no_sessions`, no booking of theirs near the
    spans (db/queries/proposal_keys.Facts)."""
    if alone is None and not no_sessions:
        return seasons_near([athlete_id], spans)[athlete_id]
    wide = reach(spans, min_gap())
    found = ([season_event(alone)] if alone is not None else
             [season_event(e) for e in
              events.athletes_event_timings_in([athlete_id], wide).get(athlete_id, ())])
    sessions = ([] if no_sessions else
                bookings.athletes_sessions_in([athlete_id], wide).get(athlete_id, []))
    return Season(found, sessions)


def athlete_unavailable(event: Event, season: Season,
                        exclude: Interval | None = None) -> list[Interval]:
    """The athlete's time a session of `event` must stay clear of: closed days of every
    event, other events' sessions widened by the minimum gap, and this event's own
    sessions as they are (`exclude`: one of them, being moved)."""
    rules = policy()
    sessions = [s for s in season.sessions if s.interval != exclude]
    unavailable = core_season.athlete_unavailable(event.id, season.with_event(event), sessions,
                                                  rules.min_gap, rules.recovery_gap)
    return unavailable + [s.interval for s in sessions if s.event_id == event.id]


def check_season(event: Event | None, athlete_id: int, kind: str, session: Interval,
                 exclude: Interval | None = None, shared_with: int | None = None) -> None:
    """Raise if the athlete's season refuses this session: AlreadyBooked when a shared
    session covers the kind already; SeasonConflict on another event's closed days or
    within the minimum gap of another event's session; InvalidValue when `shared_with`
    names an event the session cannot also serve. `event` None: a tune-up, which belongs
    to no event (every other session keeps the minimum gap from it)."""
    rules = policy()
    season = season_near(athlete_id, [session])
    sessions = [s for s in season.sessions if s.interval != exclude]
    if (event is not None and kind in WINDOW_KINDS
            and (event.id, kind) in {(s.event_id, s.kind) for s in sessions}):
        raise AlreadyBooked(athlete_id, event.id, kind)
    found = season.with_event(event) if event is not None else season.events
    if shared_with is not None:
        _check_shared(event, athlete_id, kind, session, shared_with, found, sessions)
    for other in found:
        if overlaps(core_season.closed_span(other.timing, rules.recovery_gap), session):
            raise SeasonConflict(athlete_id, session.start,
                                 f"event {other.event_id} closes the day before it and its own "
                                 "day to needling")
    served = () if event is None else (event.id,) if shared_with is None else (
        event.id, shared_with)
    for block in core_season.unavailable_around_sessions(sessions, served, rules.min_gap):
        if overlaps(block, session):
            raise SeasonConflict(athlete_id, session.start,
                                 f"less than {rules.min_gap / timedelta(hours=1):g} hours from "
                                 "another session (of another event, a course or a tune-up)")


def _check_shared(event: Event, athlete_id: int, kind: str, session: Interval, other_id: int,
                  found: list[core_season.SeasonEvent],
                  sessions: list[core_season.Session]) -> None:
    shared = core_season.shared_windows(found, policy().recovery_gap)
    if core_season.shared_with(event.id, kind, session, shared) != other_id:
        raise InvalidValue(f"this {kind} session cannot also serve event {other_id}: it must "
                           "lie where this event's post window meets the next event's pre "
                           "window (see the proposals' shared_with_event_id)",
                           field="shared_with_event_id")
    other_kind = OTHER_WINDOW[kind]
    if (other_id, other_kind) in {(s.event_id, s.kind) for s in sessions}:
        raise AlreadyBooked(athlete_id, other_id, other_kind)


def shared_labels(event: Event, season: Season, found: dict[str, list[Slot]],
                  athlete_id: int | None = None) -> dict[Slot, int]:
    """The proposed slots that would also serve another event (a post that is the next
    event's pre, or a pre that is the last event's post): slot -> that event's id; only
    where the athlete is for that event too (services/sites.py: a shared session is
    booked under both events' site rules)."""
    shared = core_season.shared_windows(season.with_event(event), policy().recovery_gap)
    labels: dict[Slot, int] = {}
    if not shared:  # one event alone, or none near another: no slot serves two
        return labels
    wheres: dict[int, Places] = {}
    for kind, slots in found.items():
        for slot in slots:
            session = Interval(slot.start, slot.end)
            other = core_season.shared_with(event.id, kind, session, shared)
            if other is None:
                continue
            if other not in wheres:
                wheres[other] = sites.where(found_row(Event, other, "event"), athlete_id)
            if allows(wheres[other], slot.site_id, session):
                labels[slot] = other
    return labels
