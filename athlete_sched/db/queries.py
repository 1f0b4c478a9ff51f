"""Queries the scheduling services need. Each reads only the rows near the span asked
about, so its cost follows the span, not the history (bench/propose.py checks this):

- bookings: the index (therapist_id, block_end) / (athlete_id, end) is read between
  `span.start` and `span.end + MAX_BOOKING_SPAN`. That upper bound is exact because no
  booking's blocked range is longer than MAX_BOOKING_SPAN (the database refuses longer
  ones, migration 0002); without it every future booking would be read.
- busy intervals: the index (therapist_id, end, start) is read between `span.start` and
  `span.end + MAX_BUSY_SPAN`, exact for the same reason (imports store a longer busy
  interval as pieces, and the database refuses longer rows, migration 0008).
- time off has no length limit (a therapist's holiday), so its index (therapist_id, end,
  start) is read from `span.start` on; there are few rows.
These indexes hold every column the queries need (migration 0008 for bookings), so the
rows come from the index alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import cache, lru_cache
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Integer,
    Select,
    String,
    and_,
    any_,
    bindparam,
    cast,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.types import ARRAY

from ..core.intervals import Interval
from ..extensions import db
from .models import Booking, BusyInterval, Event, TeamMember, Therapist, TimeOff, WorkingPeriod

# Events longer than this are refused at input, so a bounded look-back finds every event
# that can touch a span.
MAX_EVENT_DAYS = 60
# The longest blocked range [start, block_end) of a booking: a session of at most 480
# minutes (the API's limit) plus a buffer of at most 240 (CHECK on therapist). Migration
# 0002 makes the database refuse longer ones, so the bound below cannot miss a booking.
MAX_BOOKING_SPAN = timedelta(minutes=480 + 240)
# The longest busy interval row: imports store longer ones as pieces (services/busy.py),
# and migration 0008 makes the database refuse longer rows.
MAX_BUSY_SPAN = timedelta(days=7)


# Statements are built once per shape and reused with bound values: building a select
# and computing its cache key costs about as much as running it on a warm database.
# Results are fetched with .all() (one fetchall) rather than row by row.
#
# Several spans (a proposal's pre and post windows) share one statement: the index is read
# once, from the first span's start to the last one's reach, and a filter keeps the rows
# that touch a span. The spans of one event lie days apart, so the range is short, and
# each row comes once.


def _span_params(spans: Sequence[Interval], prefix: str = "") -> dict[str, datetime]:
    """Bound values per span (lo<i>, hi<i>) and for the range read: lo (the earliest start),
    hi (the latest end), reach (hi + MAX_BOOKING_SPAN); each name led by `prefix`."""
    params: dict[str, datetime] = {}
    for i, span in enumerate(spans):
        params.update({f"{prefix}lo{i}": span.start, f"{prefix}hi{i}": span.end})
    params[f"{prefix}lo"] = min(span.start for span in spans)
    params[f"{prefix}hi"] = max(span.end for span in spans)
    params[f"{prefix}reach"] = params[f"{prefix}hi"] + MAX_BOOKING_SPAN
    return params


def _touching(start: Any, end: Any, spans: int, prefix: str = "") -> list[ColumnElement[bool]]:
    """[start, end) overlaps the read range, and (for several spans) one of the spans."""
    def bound(name: str) -> Any:
        return bindparam(prefix + name)

    clauses = [end > bound("lo"), start < bound("hi")]
    if spans > 1:
        clauses.append(or_(*(and_(end > bound(f"lo{i}"), start < bound(f"hi{i}"))
                             for i in range(spans))))
    return clauses


def _one_of(column: Any, name: str, array: bool) -> ColumnElement[bool]:
    """`column` is one of the ids bound as `name`. PostgreSQL (`array`): `= ANY(array)`, one
    parameter however many ids; an IN list of 50 parameters made the server spend about
    2 ms more on a proposals query (planning it and probing the index per value). SQLite:
    an expanded IN list, which it reads as cheaply."""
    if array:
        return column == any_(bindparam(name, type_=ARRAY(Integer)))
    return column.in_(bindparam(name, expanding=True))


def _block_selects(spans: int, array: bool) -> list[Select]:
    """Time off and busy intervals (flag 0) of the therapists in `ids` touching the spans."""
    time_off, busy = (select(literal(0).label("booked"), model.therapist_id, model.start,
                             model.end).where(_one_of(model.therapist_id, "ids", array),
                                              *_touching(model.start, model.end, spans))
                      for model in (TimeOff, BusyInterval))
    return [time_off, busy.where(BusyInterval.end < bindparam("busy_reach"))]


def _booking_select(spans: int, array: bool) -> Select:
    """Confirmed bookings (flag 1, unbuffered) of the therapists in `ids` whose blocked range
    touches the spans bound with the prefix "b"."""
    return select(literal(1).label("booked"), Booking.therapist_id, Booking.start,
                  Booking.end).where(
        _one_of(Booking.therapist_id, "ids", array),
        Booking.status == "confirmed", Booking.block_end < bindparam("breach"),
        *_touching(Booking.start, Booking.block_end, spans, "b"))


@cache
def _occupancy_statement(spans: int, array: bool) -> CompoundSelect:
    """Blocks and bookings of the therapists in one round trip."""
    return union_all(*_block_selects(spans, array), _booking_select(spans, array))


# SQLite may otherwise read an athlete's bookings through the partial unique index (it
# holds status = 'confirmed'), every one of them, instead of the range on `end` (seen in
# bench/bookings.py: 0.77x instead of 0.89x).
ATHLETE_END_HINT = "INDEXED BY ix_booking_athlete_end"


@cache
def _athlete_events_statement() -> Select:
    near = (Event.start < bindparam("hi"), Event.start > bindparam("lo"))
    own = select(Event.id).where(Event.athlete_id == bindparam("athlete_id"), *near)
    via_team = select(Event.id).join(TeamMember, TeamMember.team_id == Event.team_id).where(
        TeamMember.athlete_id == bindparam("athlete_id"), *near)
    return select(Event).where(Event.id.in_(union_all(own, via_team))).order_by(Event.id)


class HoursRow(NamedTuple):
    """One weekly working period, as stored (minutes after local midnight)."""

    day: int
    start_minute: int
    end_minute: int


class TherapistRow(NamedTuple):
    """A therapist's scheduling settings as plain values, with the attribute names of the
    model, so services.common.schedule_of takes either."""

    id: int
    timezone: str
    session_minutes: int
    buffer_minutes: int
    slot_step_minutes: int
    working_hours: tuple[HoursRow, ...]


# A therapist's weekly hours travel as one text, "day:start:end" per period joined by ","
# (aggregated by the database: one row per therapist instead of one per period), and are
# parsed once per distinct text (_hours_of).
_HOURS_TEXT = func.aggregate_strings(
    cast(WorkingPeriod.day, String) + ":" + cast(WorkingPeriod.start_minute, String) + ":"
    + cast(WorkingPeriod.end_minute, String), ",")


@cache
def _therapist_rows_statement(one: bool) -> Select:
    """Each therapist's settings and weekly hours (NULL for none), one row per therapist,
    by id."""
    query = select(Therapist.id, Therapist.timezone, Therapist.session_minutes,
                   Therapist.buffer_minutes, Therapist.slot_step_minutes, _HOURS_TEXT
                   ).outerjoin(WorkingPeriod, WorkingPeriod.therapist_id == Therapist.id
                               ).group_by(Therapist.id).order_by(Therapist.id)
    return query.where(Therapist.id == bindparam("therapist_id")) if one else query


@lru_cache(maxsize=4096)
def _hours_of(text: str | None) -> tuple[HoursRow, ...]:
    """The periods of an aggregated hours text, by (day, start, end): the order the
    therapist model lists them in, whatever order the database joined them in. Memoized
    on the text (a clinic's therapists have a handful of distinct week plans)."""
    if not text:
        return ()
    return tuple(sorted(HoursRow(*map(int, period.split(":"))) for period in text.split(",")))


def therapist_rows(therapist_id: int | None = None) -> list[TherapistRow]:
    """Every therapist (or the one asked for) with the weekly hours, ordered by id, read as
    plain rows through the connection in one round trip (no ORM step): for 50 therapists
    50 short rows, where loading the ORM objects takes ~5 ms."""
    params = {"therapist_id": therapist_id}
    rows = db.session.connection().execute(
        _therapist_rows_statement(therapist_id is not None), params).all()
    return [TherapistRow(*row[:5], working_hours=_hours_of(row[5])) for row in rows]


def therapist_occupancy_in(therapist_ids: Sequence[int], spans: Sequence[Interval],
                           booking_spans: Sequence[Interval]
                           ) -> tuple[dict[int, list[Interval]], dict[int, list[Interval]]]:
    """Each therapist's time off and busy intervals touching any of `spans`, and confirmed
    bookings (unbuffered) whose blocked range touches any of `booking_spans` (as many as
    `spans`; each row once), in one round trip."""
    params = {"ids": list(therapist_ids), **_span_params(spans),
              **_span_params(booking_spans, "b")}
    params["busy_reach"] = params["hi"] + MAX_BUSY_SPAN
    connection = db.session.connection()
    statement = _occupancy_statement(len(spans), connection.dialect.name == "postgresql")
    rows = connection.execute(statement, params).all()
    blocks: dict[int, list[Interval]] = defaultdict(list)
    bookings: dict[int, list[Interval]] = defaultdict(list)
    for booked, therapist_id, start, end in rows:
        (bookings if booked else blocks)[therapist_id].append(Interval(start, end))
    return blocks, bookings


@cache
def _athlete_sessions_statement(spans: int) -> Select:
    return select(Booking.event_id, Booking.kind, Booking.start, Booking.end,
                  Booking.shared_event_id, Booking.athlete_id).where(
        Booking.athlete_id.in_(bindparam("athlete_ids", expanding=True)),
        Booking.status == "confirmed",
        Booking.end < bindparam("reach"), *_touching(Booking.start, Booking.end, spans)
    ).with_hint(Booking, ATHLETE_END_HINT, "sqlite")


class SessionRow(NamedTuple):
    """A confirmed session of an athlete: for which event, of which kind, when."""

    event_id: int
    kind: str
    interval: Interval


OTHER_KIND = {"pre": "post", "post": "pre"}


def athletes_sessions_in(athlete_ids: Sequence[int], spans: Sequence[Interval]
                         ) -> dict[int, list[SessionRow]]:
    """Each athlete's confirmed sessions that overlap any of `spans`, with event and kind, in
    one query; a session shared by two events comes twice, once for each (core/season.py
    reads entries with the same interval as one session)."""
    params = {"athlete_ids": list(athlete_ids), **_span_params(spans)}
    statement = _athlete_sessions_statement(len(spans))
    found: dict[int, list[SessionRow]] = defaultdict(list)
    for event_id, kind, start, end, shared_event_id, athlete_id in \
            db.session.connection().execute(statement, params).all():
        found[athlete_id].append(SessionRow(event_id, kind, Interval(start, end)))
        if shared_event_id is not None:
            found[athlete_id].append(
                SessionRow(shared_event_id, OTHER_KIND[kind], Interval(start, end)))
    return found


def athlete_sessions_in(athlete_id: int, spans: Sequence[Interval]) -> list[SessionRow]:
    """athletes_sessions_in for one athlete."""
    return athletes_sessions_in([athlete_id], spans).get(athlete_id, [])


def athlete_bookings_between(athlete_id: int, span: Interval) -> list[Booking]:
    """The athlete's confirmed bookings that overlap `span`, by start."""
    return list(db.session.scalars(select(Booking).where(
        Booking.athlete_id == athlete_id, Booking.status == "confirmed",
        Booking.end > span.start, Booking.start < span.end).order_by(Booking.start, Booking.id)))


class EventTimingRow(NamedTuple):
    """What an event's timing and priority are made of, as plain values (the attribute
    names of the model, so services.common.timing_of takes either)."""

    id: int
    timezone: str
    start: datetime
    start_is_date: bool
    end: datetime | None
    end_is_date: bool
    priority: str


@cache
def _athlete_event_rows_statement() -> CompoundSelect:
    """The events of the athletes in `athlete_ids` (their own, and their teams' through
    team_member) starting in (lo, hi), each with the athlete it is for."""
    columns = (Event.id, Event.timezone, Event.start, Event.start_is_date, Event.end,
               Event.end_is_date, Event.priority)
    ids, near = bindparam("athlete_ids", expanding=True), (Event.start < bindparam("hi"),
                                                           Event.start > bindparam("lo"))
    own = select(*columns, Event.athlete_id).where(Event.athlete_id.in_(ids), *near)
    via_team = select(*columns, TeamMember.athlete_id).join(
        TeamMember, TeamMember.team_id == Event.team_id).where(
        TeamMember.athlete_id.in_(ids), *near)
    return union_all(own, via_team)


def athletes_event_rows_in(athlete_ids: Sequence[int], spans: Sequence[Interval]
                           ) -> dict[int, list[EventTimingRow]]:
    """athlete_events_in as plain rows for several athletes in one query, through the
    connection (no ORM objects): for the season rules that every proposal, booking and team
    plan applies. Each athlete's events by id."""
    params = {"athlete_ids": list(athlete_ids), "hi": max(span.end for span in spans),
              "lo": min(span.start for span in spans) - timedelta(days=MAX_EVENT_DAYS + 1)}
    found: dict[int, list[EventTimingRow]] = defaultdict(list)
    for *row, athlete_id in db.session.connection().execute(
            _athlete_event_rows_statement(), params).all():
        found[athlete_id].append(EventTimingRow(*row))
    return {athlete_id: sorted(rows) for athlete_id, rows in found.items()}


def athlete_event_rows_in(athlete_id: int, spans: Sequence[Interval]) -> list[EventTimingRow]:
    """athletes_event_rows_in for one athlete."""
    return athletes_event_rows_in([athlete_id], spans).get(athlete_id, [])


def athlete_events(athlete_id: int, span: Interval) -> list[Event]:
    """The athlete's own events and their teams' events that may touch `span`.

    Two indexed branches in a UNION (own events by athlete_id; team events through
    team_member): PostgreSQL cannot use an index for `athlete_id = ? OR team_id IN (...)`
    and would scan every event instead.
    """
    return athlete_events_in(athlete_id, (span,))


def athlete_events_in(athlete_id: int, spans: Sequence[Interval]) -> list[Event]:
    """As athlete_events, for the stretch from the first span's start to the last one's
    end (events between the spans come too; the caller keeps what touches a span)."""
    params = {"athlete_id": athlete_id, "hi": max(span.end for span in spans),
              "lo": min(span.start for span in spans) - timedelta(days=MAX_EVENT_DAYS + 1)}
    return list(db.session.scalars(_athlete_events_statement(), params))


def confirmed_booking(athlete_id: int, event_id: int, kind: str,
                      exclude_id: int | None = None) -> Booking | None:
    query = select(Booking).where(
        Booking.athlete_id == athlete_id, Booking.event_id == event_id, Booking.kind == kind,
        Booking.status == "confirmed")
    if exclude_id is not None:
        query = query.where(Booking.id != exclude_id)
    return db.session.scalars(query.limit(1)).first()


def bookings_page(filters: Iterable, *, after_id: int, limit: int) -> list[Booking]:
    query = select(Booking).where(*filters, Booking.id > after_id).order_by(Booking.id)
    return list(db.session.scalars(query.limit(limit)))
