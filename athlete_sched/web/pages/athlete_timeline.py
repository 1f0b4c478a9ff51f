"""The season's timeline as the season page draws it (an inline SVG, no script): one lane
per race with its pre and post windows shaded and its days marked, the sessions booked
for it, and a last lane for tune-ups and courses; suggested sessions drawn dashed. Every
shape carries a <title>; the page lists the same facts as text beside it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ...core.intervals import Interval
from ...core.kinds import COURSE, POST, PRE, TITLES, TUNE_UP
from ...core.windows import local_midnight
from ...core.zones import load_zone
from ...services.my_season import SeasonPage
from .format import day_name, period, span

WIDTH = 1000  # viewBox units; the SVG scales to its box
LANE = 50
AXIS = 28  # the month labels' band at the top
MIN_MARK = 4  # a session is drawn at least this wide


@dataclass(frozen=True)
class Shape:
    x: float
    width: float
    kind: str  # css modifier: pre, post, race, session, suggestion
    title: str


@dataclass
class Lane:
    y: int
    name: str
    shapes: list[Shape] = field(default_factory=list)


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Timeline:
    height: int
    ticks: list[Tick]
    lanes: list[Lane]
    summary: str
    width: int = WIDTH


class _Scale:
    """Instants to x over the span, clipped to the drawing."""

    def __init__(self, span_: Interval) -> None:
        self.span, self.total = span_, (span_.end - span_.start).total_seconds()

    def x(self, at: datetime) -> float:
        offset = (at - self.span.start).total_seconds() / self.total
        return round(min(max(offset, 0.0), 1.0) * WIDTH, 1)

    def shape(self, piece: Interval, kind: str, title: str) -> Shape | None:
        if piece.end <= self.span.start or piece.start >= self.span.end:
            return None
        x = self.x(piece.start)
        return Shape(x, max(self.x(piece.end) - x, MIN_MARK), kind, title)


def _months(span_: Interval, tz: ZoneInfo, scale: _Scale) -> list[Tick]:
    local = span_.start.astimezone(tz).date()
    month = date(local.year, local.month, 1)
    ticks = []
    while (at := local_midnight(month, tz)) < span_.end:
        if at >= span_.start:
            ticks.append(Tick(scale.x(at), f"{month:%b %Y}"))
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return ticks


def timeline(page: SeasonPage) -> Timeline:
    """The drawing of the season page's span."""
    scale, home = _Scale(page.span), load_zone(page.athlete.timezone)
    lanes: dict[int | None, Lane] = {}
    for v in page.timeline:
        tz = v.timing.tz
        lane = lanes[v.event.id] = Lane(AXIS + LANE * len(lanes), v.event.name)
        race = Interval(local_midnight(v.timing.first_day, tz),
                        local_midnight(v.timing.last_day + timedelta(days=1), tz))
        for kind, piece, title in (
                (PRE, v.windows.pre, _window_title(PRE, v.windows.pre, tz)),
                (POST, v.windows.post, _window_title(POST, v.windows.post, tz)),
                ("race", race, f"{v.event.name}: {_days(v.timing.first_day, v.timing.last_day)}")):
            _add(lane, scale.shape(piece, kind, title))
    extra = Lane(AXIS + LANE * len(lanes), "Tune-ups and courses")
    for s in page.sessions:
        b = s.booking
        if b.status != "confirmed":
            continue
        lane = lanes.get(b.event_id, extra) if b.kind not in (TUNE_UP, COURSE) else extra
        title = f"Booked: {TITLES[b.kind]}, {span(b.start, b.end, load_zone(s.zone))} ({s.zone})"
        _add(lane, scale.shape(Interval(b.start, b.end), "session", title))
    names = {v.event.id: v.event.name for v in page.timeline}
    for g in page.suggestions:
        lane = extra if g.kind in (TUNE_UP, COURSE) or not g.event_ids else lanes.get(
            g.event_ids[0], extra)
        title = (f"Suggested: {_suggestion(g.kind, [names.get(i, '') for i in g.event_ids])}"
                 f", {period(g.window.start, g.window.end, home)} ({home.key})")
        _add(lane, scale.shape(g.window, "suggestion", title))
    shown = [*lanes.values(), *([extra] if extra.shapes else [])]
    return Timeline(AXIS + LANE * max(len(shown), 1), _months(page.span, home, scale), shown,
                    _summary(page, len(lanes), home))


def _add(lane: Lane, shape: Shape | None) -> None:
    if shape is not None:
        lane.shapes.append(shape)


def _window_title(kind: str, piece: Interval, tz: ZoneInfo) -> str:
    return f"{TITLES[kind].capitalize()} window: {period(piece.start, piece.end, tz)} ({tz.key})"


def _suggestion(kind: str, events: list[str]) -> str:
    """What a suggested session is for, as people read it."""
    if kind == "shared" and len(events) == 2:
        return f"one session as recovery from {events[0]} and pre-race for {events[1]}"
    title = TITLES.get(kind, f"{kind} session")
    return f"{title} for {events[0]}" if events and events[0] else title


def _days(first: date, last: date) -> str:
    return day_name(first) if first == last else f"{day_name(first)} – {day_name(last)}"


def _summary(page: SeasonPage, races: int, tz: ZoneInfo) -> str:
    last = page.span.end - timedelta(seconds=1)
    return (f"Your season from {day_name(page.span.start.astimezone(tz).date())} to "
            f"{day_name(last.astimezone(tz).date())}: {races} race{'s' * (races != 1)} with "
            "their pre-race and recovery windows, your booked sessions and suggested ones. "
            "The same is listed as text below the drawing.")
