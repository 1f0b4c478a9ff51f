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

from flask import current_app

from ..core import proposals as core_proposals
from ..core import season as core_season
from ..core.errors import AlreadyBooked, Conflict, InvalidValue
from ..core.intervals import Interval, overlaps
from ..core.proposals import Slot, TherapistState
from ..core.windows import Windows
from ..db import queries
from ..db.models import Booking, Event
from .common import now, policy, timing_of, windows_of

# How far after a span a later event can bear on it: its pre window (shared sessions)
# opens at local 00:00 of day D-3, so at most four days after (its closed days, from D-1,
# less).
LATER_REACH = timedelta(days=4)


class SeasonConflict(Conflict):
    code = "season-conflict"

    def __init__(self, athlete_id: int, start, reason: str) -> None:
        super().__init__(f"athlete {athlete_id} cannot have a session at {start:%Y-%m-%dT%H:%MZ}"
                         f": {reason}", field="start", athlete_id=athlete_id)


def min_gap() -> timedelta:
    return timedelta(hours=current_app.config["MIN_SESSION_GAP_HOURS"])


@dataclass
class Season:
    """The athlete's events and confirmed sessions near some spans."""

    events: list[core_season.SeasonEvent]
    sessions: list[queries.SessionRow]

    def with_event(self, event: Event) -> list[core_season.SeasonEvent]:
        """The events, the given one included (a team event the athlete just joined, say)."""
        if any(e.event_id == event.id for e in self.events):
            return self.events
        return [*self.events, season_event(event)]


def season_event(event: Event | queries.EventTimingRow) -> core_season.SeasonEvent:
    return core_season.SeasonEvent(event.id, timing_of(event), event.priority)


def _reach(spans: Sequence[Interval], before: timedelta) -> list[Interval]:
    """`spans` widened to what the season rules may bring to bear on them: `before` back,
    the minimum gap or a later event's reach ahead."""
    return [Interval(min(s.start for s in spans) - before,
                     max(s.end for s in spans) + max(min_gap(), LATER_REACH))]


def seasons_near(athlete_ids: Sequence[int], spans: Sequence[Interval]) -> dict[int, Season]:
    """Every event and session of each athlete that a rule could bring to bear on `spans`
    (two queries for all of them)."""
    wide = _reach(spans, min_gap())
    events = queries.athletes_event_rows_in(athlete_ids, wide)
    sessions = queries.athletes_sessions_in(athlete_ids, wide)
    return {athlete_id: Season([season_event(e) for e in events.get(athlete_id, ())],
                               sessions.get(athlete_id, []))
            for athlete_id in athlete_ids}


def season_near(athlete_id: int, spans: Sequence[Interval]) -> Season:
    """seasons_near for one athlete."""
    return seasons_near([athlete_id], spans)[athlete_id]


def athlete_blocks(event: Event, season: Season,
                   exclude: Interval | None = None) -> list[Interval]:
    """The athlete's time closed to a session of `event`: closed days of every event, other
    events' sessions widened by the minimum gap, and this event's own sessions as they are
    (`exclude`: one of them, being moved)."""
    sessions = [s for s in season.sessions if s.interval != exclude]
    blocks = core_season.athlete_blocks(event.id, season.with_event(event), sessions,
                                        min_gap(), policy().recovery_gap)
    return blocks + [s.interval for s in sessions if s.event_id == event.id]


def check_season(event: Event | None, athlete_id: int, kind: str, session: Interval,
                 exclude: Interval | None = None, shared_with: int | None = None) -> None:
    """Raise if the athlete's season refuses this session: AlreadyBooked when a shared
    session covers the kind already; SeasonConflict on another event's closed days or
    within the minimum gap of another event's session; InvalidValue when `shared_with`
    names an event the session cannot also serve."""
    _check(event, athlete_id, kind, session, exclude, shared_with, covered=True)


def check_season_rules(event: Event | None, athlete_id: int, kind: str,
                       session: Interval) -> None:
    """check_season's rules of time alone (closed days, the gap), without the check that
    no shared session covers the kind already, which is a conflict check like the guard's
    (bench/bookings.py runs this in its unguarded baseline)."""
    _check(event, athlete_id, kind, session, None, None, covered=False)


def _check(event: Event | None, athlete_id: int, kind: str, session: Interval,
           exclude: Interval | None, shared_with: int | None, covered: bool) -> None:
    """`event` None: a tune-up, which belongs to no event (every other session keeps the
    minimum gap from it)."""
    season = season_near(athlete_id, [session])
    sessions = [s for s in season.sessions if s.interval != exclude]
    once = kind in core_season.EVENT_KINDS  # a course or tune-up comes several times
    if covered and once and (event.id, kind) in {(s.event_id, s.kind) for s in sessions}:
        raise AlreadyBooked(athlete_id, event.id, kind)
    events = season.with_event(event) if event is not None else season.events
    recovery_gap = policy().recovery_gap
    if shared_with is not None:
        _check_shared(event, athlete_id, kind, session, shared_with, events, sessions)
    for other in events:
        if overlaps(core_season.closed_span(other.timing, recovery_gap), session):
            raise SeasonConflict(athlete_id, session.start,
                                 f"event {other.event_id} closes the day before it and its own "
                                 "day to needling")
    served = () if event is None else (event.id,) if shared_with is None else (
        event.id, shared_with)
    for block in core_season.session_blocks(sessions, served, min_gap()):
        if overlaps(block, session):
            raise SeasonConflict(athlete_id, session.start,
                                 f"less than {min_gap() / timedelta(hours=1):g} hours from "
                                 "another session (of another event, a course or a tune-up)")


def _check_shared(event: Event, athlete_id: int, kind: str, session: Interval, other_id: int,
                  events: list[core_season.SeasonEvent],
                  sessions: list[queries.SessionRow]) -> None:
    shared = core_season.shared_windows(events, policy().recovery_gap)
    if core_season.shared_with(event.id, kind, session, shared) != other_id:
        raise InvalidValue(f"this {kind} session cannot also serve event {other_id}: it must "
                           "lie where this event's post window meets the next event's pre "
                           "window (see the proposals' shared_with_event_id)",
                           field="shared_with_event_id")
    other_kind = queries.OTHER_KIND[kind]
    if (other_id, other_kind) in {(s.event_id, s.kind) for s in sessions}:
        raise AlreadyBooked(athlete_id, other_id, other_kind)


def shared_labels(event: Event, season: Season,
                  found: dict[str, list[Slot]]) -> dict[Slot, int]:
    """The proposed slots that would also serve another event (a post that is the next
    event's pre, or a pre that is the last event's post): slot -> that event's id."""
    shared = core_season.shared_windows(season.with_event(event), policy().recovery_gap)
    labels: dict[Slot, int] = {}
    for kind, slots in found.items():
        for slot in slots:
            other = core_season.shared_with(event.id, kind, Interval(slot.start, slot.end),
                                             shared)
            if other is not None:
                labels[slot] = other
    return labels


# --- the season view ------------------------------------------------------------------------

MAX_SEASON_DAYS = 400


@dataclass
class SeasonView:
    """An athlete's season within a span: events, confirmed sessions, and suggestions each
    with the best free slots inside its window."""

    events: list[Event]
    bookings: list[Booking]
    suggestions: list[tuple[core_season.Suggestion, list[Slot]]]


def _hull(windows: Windows) -> Interval:
    return Interval(windows.pre.start, windows.post.end)


def _slots(suggestion: core_season.Suggestion, models: dict[int, Event],
           states: Sequence[TherapistState], limit: int) -> list[Slot]:
    """The best free slots inside a suggestion's window: a pre ranked as the pre of its
    event (nearest 72 h before it), anything else earliest first."""
    if suggestion.kind == "pre":
        start = timing_of(models[suggestion.event_ids[0]]).start_instant  # events in span
        kind = "pre"
    else:
        start, kind = suggestion.window.start, "post"
    rules = policy()
    return core_proposals.propose(kind, suggestion.window, start, states, [], now(),
                                  notice=rules.notice, limit=limit)


def season_view(athlete_id: int, span: Interval, *, course_sessions: int, tune_up_weeks: int,
                slots: int) -> SeasonView:
    """The season between span.start and span.end (see core.season.season_plan)."""
    from .scheduling import therapist_states

    # Every event whose windows (D-3 to E+4) may touch the span, or whose rules reach it.
    wide = _reach([span], max(min_gap(), LATER_REACH))
    near = queries.athlete_events_in(athlete_id, wide)
    sessions = queries.athlete_sessions_in(athlete_id, wide)
    events = [e for e in near if overlaps(_hull(windows_of(e)), span)]
    models = {e.id: e for e in events}
    plan = core_season.season_plan(
        [season_event(e) for e in near], sessions, span, now=now(),
        min_gap=min_gap(), recovery_gap=policy().recovery_gap,
        course_sessions=course_sessions, tune_up_weeks=tune_up_weeks)
    states = therapist_states(queries.therapist_rows(), [s.window for s in plan]) if plan else []
    bookings = queries.athlete_bookings_between(athlete_id, span)
    return SeasonView(sorted(events, key=lambda e: (e.start, e.id)), bookings,
                      [(s, _slots(s, models, states, slots) if slots else []) for s in plan])
