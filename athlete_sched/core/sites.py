"""Where an athlete can be: the sites a session may be at, and when (domain notes, "Where the
athlete is: sites and travel"; contract, "Sites and travel").

`Places` maps each site a slot may be at to the spans of time the athlete is there (None:
any time). `None` instead of a mapping means no site rule at all: every site, every time
(a clinic without sites, or an athlete with neither a home site nor a venue site), so
that data from before sites existed keeps its answers.

`places(...)` is the rule:
- the sites: the athlete's home site and the event's venue site, where set, narrowed to
  those asked for (a query's `site_id`s) when given; with neither home nor venue, those
  asked for, else every site (None). Asking never widens: a slot at a site where the
  athlete is not could not be booked (bookings ask nothing);
- with travel [depart, return): the athlete is at home outside it and near the venue
  inside it, so the home site's span is everything outside [depart, return) and the venue
  site's span is [depart, return). A site that is both (a race at home) or neither (asked
  for by name, the athlete with no home or venue) keeps any time: nothing says the
  athlete is elsewhere then;
- the travel of the athlete's other events (`trips`) is cut from the home and venue
  sites' spans: they are away from both then.

A session [start, end) may be at site s when s is a key and, if s has spans, one span
holds it wholly (`allows`). A therapist's working period is at the period's own site or,
without one, the therapist's (core/availability.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from .intervals import Interval, contains, subtract

EVER_START = datetime.min.replace(tzinfo=UTC)
EVER_END = datetime.max.replace(tzinfo=UTC)

Spans = tuple[Interval, ...] | None  # None: any time
Places = Mapping[int | None, Spans] | None  # None: every site, any time


@dataclass(frozen=True)
class Travel:
    """The athlete is away from home from `depart` until `return_` (aware UTC)."""

    depart: datetime
    return_: datetime

    @property
    def away(self) -> Interval:
        return Interval(self.depart, self.return_)

    @property
    def home(self) -> tuple[Interval, ...]:
        return (Interval(EVER_START, self.depart), Interval(self.return_, EVER_END))


def _away(spans: Spans, trips: Sequence[Interval]) -> Spans:
    """`spans` (None: any time) without the athlete's other trips."""
    if not trips:
        return spans
    return tuple(subtract(list(spans or (Interval(EVER_START, EVER_END),)), trips))


def places(home: int | None, venue: int | None, travel: Travel | None,
           asked: Iterable[int] = (), trips: Sequence[Interval] = ()) -> Places:
    """The sites a session may be at and when (see the module docstring). `trips`: the
    athlete's other trips (the travel of their other events): away then, so no session at
    home or at this event's venue in them."""
    known = [s for s in dict.fromkeys((home, venue)) if s is not None]
    wanted = list(dict.fromkeys(asked))
    if not known and not wanted:
        return None
    sites = [s for s in wanted if s in known] if known and wanted else known or wanted
    found: dict[int | None, Spans] = {}
    for site in sites:
        if travel is None or (site == home) == (site == venue):
            spans: Spans = None
        elif site == home:
            spans = travel.home
        else:
            spans = (travel.away,)
        found[site] = _away(spans, trips) if site in known else spans
    return found


def allows(where: Places, site: int | None, session: Interval) -> bool:
    """Whether a session at `site` lies where and when the athlete can be."""
    if where is None:
        return True
    if site not in where:
        return False
    spans = where[site]
    return spans is None or any(contains(span, session) for span in spans)


def clip(segments: Sequence[tuple[datetime, datetime]], spans: Spans
         ) -> list[tuple[datetime, datetime]]:
    """The ascending, disjoint `segments` cut to the ascending, disjoint `spans` (None:
    unchanged): the time within them that also lies in a span."""
    if spans is None:
        return list(segments)
    found = []
    for lo, hi in segments:
        for start, end in spans:
            left, right = max(lo, start), min(hi, end)
            if left < right:
                found.append((left, right))
    found.sort()
    return found


def both(first: Places, second: Places) -> Places:
    """Where the athlete can be for a session that must obey both rules (a session that
    serves two events: the first's post, the second's pre): the sites of both, at the
    times both allow."""
    if first is None or second is None:
        return second if first is None else first
    found: dict[int | None, Spans] = {}
    for site, spans in first.items():
        if site in second:
            other = second[site]
            found[site] = (other if spans is None else spans if other is None
                           else tuple(Interval(lo, hi) for lo, hi in clip(spans, other)))
    return found


def restricts_time(where: Places) -> bool:
    """Whether some allowed site is open only at some times (travel applies)."""
    return where is not None and any(spans is not None for spans in where.values())


def without_travel(where: Places) -> Places:
    """The same sites at any time: what the answer would be without the travel rule (to
    tell `travel` from other reasons a window has no slot)."""
    return None if where is None else dict.fromkeys(where, None)
