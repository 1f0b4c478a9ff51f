"""An athlete's season as the season view shows it: events with their windows, confirmed
sessions, and suggestions (pre, post, shared, courses, tune-ups: core/season.py's
season_plan) each with the best free slots inside its window."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..core import proposals as core_proposals
from ..core import season as core_season
from ..core.errors import InvalidValue
from ..core.intervals import Interval, overlaps
from ..core.kinds import POST, PRE
from ..core.proposals import Slot, TherapistState
from ..core.sites import Places
from ..core.zones import load_zone
from ..db.queries import bookings, events, therapists
from . import access, sites
from .access import Caller
from .bookings import BookingView, views_of
from .common import EventView, event_view, localize, now, policy
from .season import LATER_REACH, reach, season_event

MAX_SEASON_DAYS = 400
DEFAULT_SEASON = timedelta(weeks=26)


@dataclass
class SeasonView:
    """An athlete's season within a span: events, confirmed sessions, and suggestions each
    with the best free slots inside its window."""

    athlete_id: int
    span: Interval
    events: list[EventView]
    bookings: list[BookingView]
    suggestions: list[tuple[core_season.Suggestion, list[Slot]]]


def _slots(suggestion: core_season.Suggestion, starts: dict[int, datetime],
           states: Sequence[TherapistState], limit: int, where: Places) -> list[Slot]:
    """The best free slots inside a suggestion's window, at the sites where the athlete is
    then (`where`): a pre ranked as the pre of its event (nearest 72 h before it),
    anything else earliest first."""
    if suggestion.kind == PRE:
        start, kind = starts[suggestion.event_ids[0]], PRE  # events in span
    else:
        start, kind = suggestion.window.start, POST
    return core_proposals.propose(kind, suggestion.window, start, states, [], now(),
                                  notice=policy().notice, limit=limit, where=where)


def season_view(athlete_id: int, span: Interval, *, course_sessions: int, tune_up_weeks: int,
                slots: int) -> SeasonView:
    """The season between span.start and span.end (see core.season.season_plan)."""
    rules = policy()
    # Every event whose windows (D-3 to E+4) may touch the span, or whose rules reach it.
    wide = reach([span], max(rules.min_gap, LATER_REACH))
    near = [event_view(e) for e in events.athlete_events_in(athlete_id, wide)]
    sessions = bookings.athlete_sessions_in(athlete_id, wide)
    shown = [v for v in near
             if overlaps(Interval(v.windows.pre.start, v.windows.post.end), span)]
    plan = core_season.season_plan(
        [season_event(v.event) for v in near], sessions, span, now=now(),
        min_gap=rules.min_gap, recovery_gap=rules.recovery_gap,
        course_sessions=course_sessions, tune_up_weeks=tune_up_weeks)
    spans = [s.window for s in plan]
    states = (therapists.states_in(therapists.schedules(near=spans), spans, now=now(),
                                   holder=athlete_id)  # others' held offers: taken
              if plan and slots else [])
    starts = {v.event.id: v.timing.start_instant for v in shown}
    by_id, home = {v.event.id: v.event for v in near}, sites.home_of(athlete_id)
    trips = sites.trips_of([athlete_id]).get(athlete_id, []) if home is not None else []

    def found(s: core_season.Suggestion) -> list[Slot]:
        where = sites.where_serving([by_id[e] for e in s.event_ids], home, trips)
        return _slots(s, starts, states, slots, where) if slots else []

    return SeasonView(athlete_id, span,
                      sorted(shown, key=lambda v: (v.event.start, v.event.id)),
                      views_of(bookings.athlete_bookings_between(athlete_id, span)),
                      [(s, found(s)) for s in plan])


def season_for(caller: Caller, athlete_id: int, query: Any) -> SeasonView:
    """GET /athletes/{id}/season: `query` has from_, to (dates or date-times, naive ones in
    the athlete's zone; default from now for 26 weeks), course_sessions, tune_up_weeks,
    slots."""
    athlete = access.athlete(caller, athlete_id)
    tz = load_zone(athlete.timezone)
    start = localize(query.from_, tz) if query.from_ is not None else now()
    end = localize(query.to, tz) if query.to is not None else start + DEFAULT_SEASON
    if not start < end:
        raise InvalidValue("`to` must come after `from`", field="to")
    if end - start > timedelta(days=MAX_SEASON_DAYS):
        raise InvalidValue(f"a season view spans at most {MAX_SEASON_DAYS} days", field="to")
    return season_view(athlete.id, Interval(start, end), course_sessions=query.course_sessions,
                       tune_up_weeks=query.tune_up_weeks, slots=query.slots)
