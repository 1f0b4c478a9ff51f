"""Queries the scheduling services need. Each is bounded by the span asked about, and the
indexes (therapist_id, end) / (athlete_id, end) keep them independent of past history."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from ..core.intervals import Interval
from ..extensions import db
from .models import Booking, BusyInterval, Event, TeamMember, TimeOff

# Events longer than this are refused at input, so a bounded look-back finds every event
# that can touch a span.
MAX_EVENT_DAYS = 60


def therapist_blocks(therapist_ids: Sequence[int], span: Interval) -> dict[int, list[Interval]]:
    """Time off and imported busy intervals of each therapist that overlap `span`."""
    blocks: dict[int, list[Interval]] = defaultdict(list)
    for model in (TimeOff, BusyInterval):
        rows = db.session.execute(
            select(model.therapist_id, model.start, model.end).where(
                model.therapist_id.in_(therapist_ids), model.end > span.start,
                model.start < span.end))
        for therapist_id, start, end in rows:
            blocks[therapist_id].append(Interval(start, end))
    return blocks


def therapist_bookings(therapist_ids: Sequence[int], span: Interval,
                       exclude_id: int | None = None) -> dict[int, list[Interval]]:
    """Confirmed bookings (unbuffered) of each therapist whose blocked range touches `span`."""
    query = select(Booking.therapist_id, Booking.start, Booking.end).where(
        Booking.therapist_id.in_(therapist_ids), Booking.status == "confirmed",
        Booking.block_end > span.start, Booking.start < span.end)
    if exclude_id is not None:
        query = query.where(Booking.id != exclude_id)
    found: dict[int, list[Interval]] = defaultdict(list)
    for therapist_id, start, end in db.session.execute(query):
        found[therapist_id].append(Interval(start, end))
    return found


def athlete_bookings(athlete_id: int, span: Interval,
                     exclude_id: int | None = None) -> list[Interval]:
    query = select(Booking.start, Booking.end).where(
        Booking.athlete_id == athlete_id, Booking.status == "confirmed",
        Booking.end > span.start, Booking.start < span.end)
    if exclude_id is not None:
        query = query.where(Booking.id != exclude_id)
    return [Interval(start, end) for start, end in db.session.execute(query)]


def athlete_events(athlete_id: int, span: Interval) -> list[Event]:
    """The athlete's own events and their teams' events that may touch `span`."""
    teams = select(TeamMember.team_id).where(TeamMember.athlete_id == athlete_id)
    query = select(Event).where(
        or_(Event.athlete_id == athlete_id, Event.team_id.in_(teams)),
        Event.start < span.end,
        Event.start > span.start - timedelta(days=MAX_EVENT_DAYS + 1))
    return list(db.session.scalars(query))


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


def overlapping(model: type, start_col: str, end_col: str, lo: datetime, hi: datetime):
    """Filter clauses for rows of `model` overlapping [lo, hi)."""
    return (getattr(model, end_col) > lo, getattr(model, start_col) < hi)
