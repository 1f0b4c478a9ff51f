"""Therapists: their rows, weekly working periods and time off; their schedules as the core
reads them (row -> core), and the blocked time and bookings near some windows: the tuned
reads every proposal makes (see the package docstring for their bounds)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from functools import cache, lru_cache
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import aliased, lazyload
from sqlalchemy.types import ARRAY

from ...core.availability import TherapistSchedule, WorkingPeriod
from ...core.intervals import Interval
from ...core.proposals import TherapistState
from ...core.working_days import WorkingDay
from ...core.zones import load_zone
from ...extensions import db
from ..models import (
    Athlete,
    Booking,
    BusyInterval,
    Event,
    ScheduleVersion,
    Therapist,
    TimeOff,
    WaitlistEntry,
    WorkingPeriodRow,
)
from ..models import WorkingDay as WorkingDayRow
from . import working_days
from .rows import MAX_ID
from .spans import MAX_BOOKING_SPAN, MAX_BUSY_SPAN, each, indexed, span_params, touching

# --- rows -----------------------------------------------------------------------------------


def by_email(email: str) -> Therapist | None:
    return db.session.scalar(select(Therapist).where(Therapist.email == email))


def email_taken(email: str) -> bool:
    return db.session.scalar(select(Therapist.id).where(Therapist.email == email)) is not None


def page(after_id: int, limit: int) -> list[Therapist]:
    """Up to `limit` therapists after `after_id`, by id."""
    return list(db.session.scalars(select(Therapist).where(Therapist.id > after_id)
                                   .order_by(Therapist.id).limit(limit)))


def settings(therapist_id: int) -> Therapist | None:
    """The therapist's row, or None, without loading its working periods (a booking reads
    its schedule as one row: `schedule_near`)."""
    if not 0 < therapist_id <= MAX_ID:
        return None
    return db.session.get(Therapist, therapist_id, options=[lazyload(Therapist.working_hours)])


def by_ids(ids: Iterable[int]) -> dict[int, Therapist]:
    """The therapists with these ids, in one query."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {t.id: t for t in db.session.scalars(select(Therapist).where(Therapist.id.in_(wanted)))}


def time_off_page(therapist_id: int, after_id: int, limit: int) -> list[TimeOff]:
    return list(db.session.scalars(
        select(TimeOff).where(TimeOff.therapist_id == therapist_id, TimeOff.id > after_id)
        .order_by(TimeOff.id).limit(limit)))


def time_off_with_reason(therapist_id: int, reason: str) -> TimeOff | None:
    return db.session.scalars(select(TimeOff).where(
        TimeOff.therapist_id == therapist_id, TimeOff.reason == reason).limit(1)).first()


# --- schedules (row -> core) ----------------------------------------------------------------

def _clock(minutes: int) -> time:
    return time.max if minutes >= 1440 else time(minutes // 60, minutes % 60)


@lru_cache(maxsize=4096)
def _period(day: int, start_minute: int, end_minute: int, site_id: int | None = None
            ) -> WorkingPeriod:
    return WorkingPeriod(day, _clock(start_minute), _clock(end_minute), site_id)


def _order(period: WorkingPeriod) -> tuple:
    return period.day, period.start, period.end


@lru_cache(maxsize=4096)
def _schedule(therapist_id: int, zone: str, session_minutes: int, buffer_minutes: int,
              slot_step_minutes: int, site_id: int | None, hours: tuple[WorkingPeriod, ...],
              days: tuple[WorkingDay, ...] = ()) -> TherapistSchedule:
    """Memoized on the values (a schedule is an immutable value): a proposals request needs
    every therapist's, and the schedule keeps its weekday table worked out."""
    return TherapistSchedule(therapist_id=therapist_id, tz=load_zone(zone),
                             working_hours=hours, session_minutes=session_minutes,
                             buffer_minutes=buffer_minutes, slot_step_minutes=slot_step_minutes,
                             working_days=days, site_id=site_id)


def schedule_of(therapist: Therapist) -> TherapistSchedule:
    """The core's schedule of a therapist row (its periods in the order `schedules` lists
    them: day, start, end)."""
    hours = tuple(sorted((_period(p.day, p.start_minute, p.end_minute, p.site_id)
                          for p in therapist.working_hours), key=_order))
    return _schedule(therapist.id, therapist.timezone, therapist.session_minutes,
                     therapist.buffer_minutes, therapist.slot_step_minutes, therapist.site_id,
                     hours)


def schedule_near(therapist: Therapist, spans: Sequence[Interval]) -> TherapistSchedule:
    """The therapist's schedule with its one-day changes of the dates the spans touch, as
    a booking's rules read it: one row (settings, weekly hours, one-day changes; pending
    changes flushed first), no ORM load of the working periods."""
    first, last = working_days.dates_near(spans)
    row = db.session.execute(_schedules_statement(True, True), {
        "therapist_id": therapist.id, "days_from": first, "days_to": last}).one_or_none()
    # None: the row was deleted since it was loaded (PostgreSQL, committed meanwhile).
    return _schedule_of_row(*row) if row is not None else schedule_of(therapist)


# A therapist's weekly hours travel as one text, "day:start:end" per period (with ":site"
# for a period at a site of its own) joined by "," (aggregated by the database: one row
# per therapist instead of one per period), and are parsed once per distinct text
# (_hours_of).
_HOURS_TEXT = func.aggregate_strings(
    cast(WorkingPeriodRow.day, String) + ":" + cast(WorkingPeriodRow.start_minute, String)
    + ":" + cast(WorkingPeriodRow.end_minute, String)
    + func.coalesce(":" + cast(WorkingPeriodRow.site_id, String), ""), ",")


def _load(i: int) -> Any:
    """How many confirmed bookings of the therapist overlap window i (:load_lo<i>,
    :load_hi<i>): core/proposals.window_load's count, read along the therapist's
    block_end index (a booking that overlaps the window has block_end >= end > lo, and
    block_end < hi + MAX_BOOKING_SPAN: :load_reach<i>)."""
    lo, hi = bindparam(f"load_lo{i}"), bindparam(f"load_hi{i}")
    query = select(func.count()).select_from(Booking).where(
        Booking.therapist_id == Therapist.id, Booking.status == "confirmed",
        Booking.block_end > lo, Booking.block_end < bindparam(f"load_reach{i}"),
        Booking.start < hi, Booking.end > lo, Booking.start < Booking.end)
    return indexed(query, Booking, "ix_booking_therapist_block_end").scalar_subquery()


@cache
def _schedules_statement(one: bool, days: bool, loads: int = 0, sited: bool = False
                         ) -> Select:
    """Each therapist's settings and weekly hours (NULL for none), and with `days` the text
    of their one-day changes between :days_from and :days_to (working_days.days_text), and
    with `loads` the count of their bookings in each of that many windows (`_load`), one
    row per therapist, by id; with `sited`, only the therapists who work at one of the
    sites :sites (their own site, a weekly period's, or a one-day change's near the
    windows: a race-weekend tent)."""
    columns = [Therapist.id, Therapist.timezone, Therapist.session_minutes,
               Therapist.buffer_minutes, Therapist.slot_step_minutes, Therapist.site_id,
               _HOURS_TEXT]
    if days:
        columns.append(working_days.days_text(Therapist.id))
    columns += [_load(i).label(f"load{i}") for i in range(loads)]
    query = select(*columns).outerjoin(
        WorkingPeriodRow, WorkingPeriodRow.therapist_id == Therapist.id
    ).group_by(Therapist.id).order_by(Therapist.id)
    if sited:
        sites, period = bindparam("sites", expanding=True), aliased(WorkingPeriodRow)
        day = aliased(WorkingDayRow)
        query = query.where(or_(
            Therapist.site_id.in_(sites),
            select(period.id).where(period.therapist_id == Therapist.id,
                                    period.site_id.in_(sites)).exists(),
            # A scalar subquery with LIMIT: read per therapist along uq_working_day_
            # therapist_id, as days_text reads it (an EXISTS became a whole-table join).
            select(day.id).where(day.therapist_id == Therapist.id, day.site_id.in_(sites),
                                 day.day.between(bindparam("days_from"),
                                                 bindparam("days_to")))
            .limit(1).scalar_subquery().is_not(None)))
    return query.where(Therapist.id == bindparam("therapist_id")) if one else query


@lru_cache(maxsize=4096)
def _hours_of(text: str | None) -> tuple[WorkingPeriod, ...]:
    """The periods of an aggregated hours text, by (day, start, end): the order
    `schedule_of` lists them in, whatever order the database joined them in. Memoized on
    the text (a clinic's therapists have a handful of distinct week plans)."""
    if not text:
        return ()
    return tuple(sorted((_period(*map(int, period.split(":"))) for period in text.split(",")),
                        key=_order))


def schedules(therapist_id: int | None = None,
              near: Sequence[Interval] = ()) -> list[TherapistSchedule]:
    """Every therapist's schedule (or the one asked for), ordered by id, with its one-day
    changes of the local dates the spans `near` touch (none without spans: pass the
    windows the schedules will be asked about), read as plain rows through the connection
    in one round trip (no ORM step): for 50 therapists 50 short rows, where loading the ORM
    objects takes ~5 ms."""
    params: dict[str, object] = {"therapist_id": therapist_id}
    if near:
        params["days_from"], params["days_to"] = working_days.dates_near(near)
    rows = db.session.connection().execute(
        _schedules_statement(therapist_id is not None, bool(near)), params).all()
    return [_schedule_of_row(*row) for row in rows]


def schedules_with_loads(therapist_id: int | None, windows: Sequence[Interval],
                         sites: Sequence[int] | None = None, loads: bool = True
                         ) -> tuple[list[TherapistSchedule], list[tuple[int, ...]]]:
    """`schedules(therapist_id, near=windows)`, and for each therapist how many of its
    confirmed bookings overlap each window (the load that breaks a tie of two slots at
    the same time, core/proposals.py; `loads=False`: none, empty tuples), in the same
    round trip. With `sites`, only the therapists who work at one of them (their own
    site, a weekly period's, or a one-day change's near the windows)."""
    params: dict[str, object] = {"therapist_id": therapist_id}
    if sites is not None:
        params["sites"] = list(sites)
    params["days_from"], params["days_to"] = working_days.dates_near(windows)
    counted = len(windows) if loads else 0
    for i, window in enumerate(windows[:counted]):
        params.update({f"load_lo{i}": window.start, f"load_hi{i}": window.end,
                       f"load_reach{i}": window.end + MAX_BOOKING_SPAN})
    rows = db.session.connection().execute(
        _schedules_statement(therapist_id is not None, True, counted, sites is not None),
        params).all()
    return ([_schedule_of_row(*row[:8]) for row in rows],
            [tuple(row[8:]) for row in rows])


def schedule_version() -> int:
    """The commit counter of the tables schedules are read from (migration 0015): equal
    values, the same schedules."""
    return db.session.connection().execute(
        select(ScheduleVersion.n).where(ScheduleVersion.id == 1)).scalar_one()


def weekly_schedules(days_from: date) -> tuple[list[TherapistSchedule],
                                                 dict[int, tuple[WorkingDay, ...]]]:
    """Every therapist's schedule without its one-day changes, by id, and each therapist's
    one-day changes from `days_from` on (those who have any), in one round trip: what the
    schedules cache keeps (services/schedules.py)."""
    rows = db.session.connection().execute(
        _schedules_statement(False, True),
        {"therapist_id": None, "days_from": days_from, "days_to": date.max}).all()
    return ([_schedule_of_row(*row[:7]) for row in rows],
            {row[0]: working_days.days_of(row[7]) for row in rows if row[7]})


@cache
def _loads_statement(windows: int, postgresql: bool) -> Select:
    """Each therapist of :ids with a confirmed booking near the windows, and how many of
    its bookings overlap each window (:load_lo<i>, :load_hi<i>), from one index range of
    ix_booking_therapist_block_end per therapist covering every window (a booking that
    overlaps one has block_end > :lo, the earliest start, and block_end < :reach, the
    latest end + MAX_BOOKING_SPAN); a therapist without one is left out (load 0)."""
    near = _of_therapists(
        Booking, "ix_booking_therapist_block_end",
        (Booking.therapist_id, Booking.start, Booking.end),
        (Booking.status == "confirmed", Booking.block_end > bindparam("lo"),
         Booking.block_end < bindparam("reach"), Booking.start < bindparam("hi"),
         Booking.start < Booking.end), postgresql).subquery("near")
    counts = [func.sum(case((and_(near.c.start < bindparam(f"load_hi{i}"),
                                  near.c.end > bindparam(f"load_lo{i}")), 1), else_=0))
              for i in range(windows)]
    return select(near.c.therapist_id, *counts).group_by(near.c.therapist_id)


def loads_in(therapist_ids: Sequence[int], windows: Sequence[Interval]
             ) -> dict[int, tuple[int, ...]]:
    """For each of the therapists with any, how many of its confirmed bookings overlap each
    window (core/proposals.window_load's count; missing: none), in one round trip: the
    tie-break a best-first ranking needs of the therapists near the top only
    (services/proposals.py)."""
    if not therapist_ids or not windows:
        return {}
    connection = db.session.connection()
    params: dict[str, object] = {
        "ids": _ids_param(therapist_ids, connection), "lo": min(w.start for w in windows),
        "hi": max(w.end for w in windows),
        "reach": max(w.end for w in windows) + MAX_BOOKING_SPAN}
    for i, window in enumerate(windows):
        params.update({f"load_lo{i}": window.start, f"load_hi{i}": window.end})
    statement = _loads_statement(len(windows), connection.dialect.name == "postgresql")
    return {row[0]: tuple(row[1:]) for row in connection.execute(statement, params).all()}


@lru_cache(maxsize=8192)
def _schedule_of_row(therapist_id: int, zone: str, session_minutes: int, buffer_minutes: int,
                     slot_step_minutes: int, site_id: int | None, hours: str | None,
                     days: str | None = None) -> TherapistSchedule:
    """A schedule row -> the schedule, memoized on the row's plain values (ints and texts
    hash at once; the schedule's own key, a tuple of periods, hashes field by field: at
    1,000 therapists that was 10 ms a request)."""
    return _schedule(therapist_id, zone, session_minutes, buffer_minutes, slot_step_minutes,
                     site_id, _hours_of(hours), working_days.days_of(days))


# --- blocked time and bookings near windows ---------------------------------------------------

def _ids_param(therapist_ids: Sequence[int], connection: Any) -> list[int] | str:
    """The value of :ids for `_of_therapists`: the distinct ids, as a list (PostgreSQL's
    array) or as the text of a JSON array (SQLite's json_each)."""
    ids = list(dict.fromkeys(therapist_ids))
    if connection.dialect.name == "postgresql":
        return ids
    return "[" + ",".join(str(int(i)) for i in ids) + "]"


def _of_therapists(model: Any, index: str, columns: Sequence[Any],
                   conditions: Sequence[ColumnElement[bool]], postgresql: bool,
                   owner: Any = None) -> Select:
    """`columns` of `model`'s rows of the therapists in `ids` (distinct) that meet
    `conditions`, read through `index` (therapist_id, ...; `owner`: the therapist column
    when it is not `therapist_id`).

    SQLite: `IN (SELECT value FROM json_each(:ids))`, the ids as one JSON array text
    (`_ids_param`), and INDEXED BY: the index is still read per therapist (therapist_id=?
    from the list), and the statement's text stays the same whatever the number of ids (an
    expanding IN list was rendered afresh at every execution, SQLAlchemy's postcompile
    step: ~0.3 ms of a proposals request's 2.9). PostgreSQL: a LATERAL join over
    unnest(ids), one parameter however many ids (an IN list of 50 parameters made the
    server spend about 2 ms more planning a proposals query), and the rows of each
    therapist read by their own index range. With `therapist_id = ANY(ids)` instead it
    could read the table once whole; for 50 therapists it did so, at any size, when the
    statistics called the table empty (a clinic that imported its busy calendars after the
    last ANALYZE), where per therapist a whole read costs 50 of them and the index wins."""
    owner = model.therapist_id if owner is None else owner
    if not postgresql:
        listed = func.json_each(bindparam("ids", type_=String)).table_valued("value")
        return indexed(select(*columns).where(
            owner.in_(select(listed.c.value).scalar_subquery()), *conditions), model, index)
    therapist = func.unnest(bindparam("ids", type_=ARRAY(Integer))).table_valued(
        "id").render_derived("therapist")
    rows = each(select(*columns).where(owner == therapist.c.id, *conditions))
    return select(*rows.c).select_from(therapist).join(rows, true())


def _blocked_selects(spans: int, postgresql: bool) -> list[Select]:
    """Time off and busy intervals (flag 0) of the therapists in `ids` touching the spans."""
    return [_of_therapists(model, f"ix_{model.__tablename__}_therapist_end",
                           (literal(0).label("booked"), model.therapist_id, model.start,
                            model.end),
                           (*touching(model.start, model.end, spans), *reach), postgresql)
            for model, reach in ((TimeOff, ()),
                                 (BusyInterval, (BusyInterval.end < bindparam("busy_reach"),)))]


def _booking_select(spans: int, postgresql: bool) -> Select:
    """Confirmed bookings (flag 1, unbuffered) of the therapists in `ids` whose blocked range
    touches the spans bound with the prefix "b"."""
    return _of_therapists(
        Booking, "ix_booking_therapist_block_end",
        (literal(1).label("booked"), Booking.therapist_id, Booking.start, Booking.end),
        (Booking.status == "confirmed", Booking.block_end < bindparam("breach"),
         *touching(Booking.start, Booking.block_end, spans, "b")), postgresql)


def _held_select(spans: int, postgresql: bool) -> Select:
    """The waiting list's live offers (flag 2; unbuffered, as bookings) of the therapists in
    `ids`, held at `now` for anyone but `holder`, whose blocked range touches the spans
    bound with the prefix "b": a held slot occupies the therapist for everyone else as a
    booking does (the booking guard's rule 'held', db/guard.py)."""
    w = WaitlistEntry
    return _of_therapists(
        w, "ix_waitlist_entry_offer",
        (literal(2).label("booked"), w.offer_therapist_id, w.offer_start, w.offer_end),
        (w.offer_expires > bindparam("now"), w.athlete_id.is_distinct_from(bindparam("holder")),
         *touching(w.offer_start, w.offer_block_end, spans, "b")), postgresql,
        owner=w.offer_therapist_id)


@cache
def _blocked_and_booked_statement(spans: int, postgresql: bool) -> CompoundSelect:
    """Blocked time, bookings and held offers of the therapists in one round trip."""
    return union_all(*_blocked_selects(spans, postgresql), _booking_select(spans, postgresql),
                     _held_select(spans, postgresql))


def blocked_and_booked_in(therapist_ids: Sequence[int], spans: Sequence[Interval],
                          booking_spans: Sequence[Interval], now: datetime | None = None,
                          holder: int | None = None
                          ) -> tuple[dict[int, list[Interval]], dict[int, list[Interval]]]:
    """Each therapist's blocked time (time off and busy intervals) touching any of `spans`,
    and confirmed bookings (unbuffered) whose blocked range touches any of `booking_spans`
    (as many as `spans`; each row once), with the waiting list's offers live at `now`
    held for anyone but `holder` among the bookings (none without `now`), in one round
    trip."""
    connection = db.session.connection()
    params = {"ids": _ids_param(therapist_ids, connection), **span_params(spans),
              **span_params(booking_spans, "b"), "now": now, "holder": holder}
    params["busy_reach"] = params["hi"] + MAX_BUSY_SPAN
    statement = _blocked_and_booked_statement(len(spans),
                                              connection.dialect.name == "postgresql")
    rows = connection.execute(statement, params).all()
    blocked: dict[int, list[Interval]] = defaultdict(list)
    bookings: dict[int, list[Interval]] = defaultdict(list)
    for booked, therapist_id, start, end in rows:
        (bookings if booked else blocked)[therapist_id].append(Interval(start, end))
    return blocked, bookings


def states_in(therapists: Sequence[TherapistSchedule], windows: Sequence[Interval],
              widest_buffer: int | None = None, now: datetime | None = None,
              holder: int | None = None) -> list[TherapistState]:
    """Each therapist's schedule with the blocked time and bookings touching any of the
    windows, the waiting list's offers live at `now` held for anyone but `holder` counted
    as bookings (one round trip; the core keeps what lies in the window it works on).
    Bookings are read as far out as `widest_buffer` minutes (default: the widest buffer of
    these therapists): a caller reading a clinic's therapists in batches passes the
    clinic's widest, so that every batch is the same statement with the same spans."""
    ids = [t.therapist_id for t in therapists]
    if widest_buffer is None:
        widest_buffer = max((t.buffer_minutes for t in therapists), default=0)
    widest = timedelta(minutes=widest_buffer)
    blocked, bookings = blocked_and_booked_in(
        ids, windows, [Interval(w.start - widest, w.end + widest) for w in windows], now,
        holder)
    return [TherapistState(t, tuple(blocked.get(t.therapist_id, ())),
                           tuple(bookings.get(t.therapist_id, ()))) for t in therapists]


# --- the therapist's week (pages) ---------------------------------------------------------------

class WeekRow(NamedTuple):
    """A booking as the therapist's week lists it, with the athlete's and event's names."""

    id: int
    athlete_id: int
    athlete: str
    event: str | None  # None: a tune-up
    kind: str
    status: str
    start: datetime
    end: datetime
    notes: str = ""  # what the booker wrote: for the therapist, in the app only
    flag: str | None = None  # 'outside-window': its race moved away (services/race_flags.py)
    site_id: int | None = None  # where it is


def _week_rows() -> Select:
    return (select(Booking.id, Booking.athlete_id, Athlete.name, Event.name, Booking.kind,
                   Booking.status, Booking.start, Booking.end, Booking.notes,
                   Booking.flag, Booking.site_id)
            .join(Athlete, Athlete.id == Booking.athlete_id)
            .outerjoin(Event, Event.id == Booking.event_id))


def upcoming_confirmed(therapist_id: int, since: datetime,
                       before: datetime | None = None) -> list[WeekRow]:
    """The therapist's confirmed bookings that end after `since` (and start before
    `before`), by start."""
    where = [Booking.therapist_id == therapist_id, Booking.status == "confirmed",
             Booking.block_end > since, Booking.end > since]
    if before is not None:
        where.append(Booking.start < before)
    return [WeekRow(*row) for row in db.session.execute(
        _week_rows().where(*where).order_by(Booking.start, Booking.id))]


def next_confirmed_start(therapist_id: int, after: datetime) -> datetime | None:
    """When the therapist's first confirmed booking starting at or after `after` starts
    (one row read along the block_end index), or None."""
    return db.session.execute(
        select(Booking.start).where(
            Booking.therapist_id == therapist_id, Booking.status == "confirmed",
            Booking.block_end > after, Booking.start >= after)
        .order_by(Booking.block_end, Booking.start).limit(1)).scalar_one_or_none()


def week_rows(therapist_id: int, span: Interval) -> list[WeekRow]:
    """The therapist's bookings (cancelled ones too) that start within `span`, by start, in
    one query whatever their number."""
    return [WeekRow(*row) for row in db.session.execute(
        _week_rows().where(
            Booking.therapist_id == therapist_id,  # read along its block_end index:
            Booking.block_end > span.start,  # a blocked range is never longer than
            Booking.block_end < span.end + MAX_BOOKING_SPAN,  # MAX_BOOKING_SPAN
            Booking.start >= span.start, Booking.start < span.end)
        .order_by(Booking.start, Booking.id))]
