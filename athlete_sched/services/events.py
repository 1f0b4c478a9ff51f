"""Races and rides: create, change, and the windows the domain derives from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..core.errors import (
    Conflict,
    InvalidPeriod,
    InvalidValue,
    NotFound,
    ScreeningNotCleared,
)
from ..core.intervals import Interval, contains
from ..core.kinds import COURSE
from ..core.sites import allows
from ..core.windows import EventTiming, event_span
from ..core.zones import load_zone
from ..db.models import Athlete, Booking, Event, Team, Therapist
from ..db.queries import MAX_EVENT_DAYS, bookings, rows
from ..db.queries import race_calendars as race_calendars_q
from . import access, proposals, race_flags, sites
from .access import Caller
from .bookings import BookingView, reschedule, views_of
from .common import EventView, event_view, found, localize, stamp, timing_of, window_for


class BookingNotMovable(Conflict):
    code = "booking-not-movable"

    def __init__(self, booking_id: int, kind: str) -> None:
        super().__init__(f"booking {booking_id} has no free slot in the event's new {kind} "
                         "window, so nothing was changed", field="move_bookings",
                         booking_id=booking_id, kind=kind)


@dataclass
class EventChange:
    """What a PATCH did: the event, and its confirmed bookings moved into the new windows,
    or left where they are and flagged because the new windows no longer hold them."""

    view: EventView
    flagged: list[BookingView] = field(default_factory=list)
    moved: list[BookingView] = field(default_factory=list)


def _checked_timing(tz: ZoneInfo, start: date | datetime,
                    end: date | datetime | None) -> EventTiming:
    """Validate an event's dates (aware instants or local dates) and return its timing."""
    def as_value(value):
        return localize(value, tz) if isinstance(value, datetime) else value

    timing = EventTiming(tz=tz, start=as_value(start),
                         end=None if end is None else as_value(end))  # raises InvalidPeriod
    if (timing.last_day - timing.first_day).days > MAX_EVENT_DAYS:
        raise InvalidValue(f"an event lasts at most {MAX_EVENT_DAYS} days", field="end")
    return timing


def _apply_timing(event: Event, tz_name: str, start, end) -> None:
    """Store the dates as instants plus flags, and the end of the time the event occupies
    (kept in step here, the one place that sets an event's dates)."""
    tz = load_zone(tz_name)
    timing = _checked_timing(tz, start, end)
    event.timezone = tz_name
    event.start, event.start_is_date = localize(start, tz), not isinstance(start, datetime)
    event.end = None if end is None else localize(end, tz)
    event.end_is_date = end is not None and not isinstance(end, datetime)
    event.occupied_end = event_span(timing).end


def _apply_travel(event: Event, travel: Any) -> None:
    """The travel span (naive: the event's zone), or none; depart before return."""
    if travel is None:
        event.travel_depart = event.travel_return = None
        return
    tz = load_zone(event.timezone)
    depart, return_ = localize(travel.depart, tz), localize(travel.return_, tz)
    if not return_ > depart:
        raise InvalidPeriod(depart, return_, field="travel")
    event.travel_depart, event.travel_return = depart, return_


def create_event(data: Any, owner: Athlete | Team) -> Event:
    event = Event(name=data.name, sport=data.sport, priority=data.priority, created_at=stamp())
    if isinstance(owner, Athlete):
        event.athlete_id = owner.id
    else:
        event.team_id = owner.id
    _apply_timing(event, data.timezone, data.start, data.end)
    event.venue_site_id = sites.checked(getattr(data, "venue_site_id", None), "venue_site_id")
    _apply_travel(event, getattr(data, "travel", None))
    return rows.add(event)


def create_event_for(caller: Caller, data: Any) -> EventView:
    """POST /events: for an athlete the caller acts for, or a team they coach."""
    if data.athlete_id is not None:
        owner: Athlete | Team = found(Athlete, data.athlete_id, "athlete", "athlete_id")
        if not access.acts_for_athlete(caller, owner.id):
            raise NotFound("athlete", owner.id, field="athlete_id")
    else:
        owner = access.coached_team(caller, data.team_id, "team_id")
    return event_view(create_event(data, owner))


def get_for(caller: Caller, event_id: int) -> EventView:
    return event_view(access.event(caller, event_id))


def _local_values(event: Event) -> tuple[date | datetime, date | datetime | None]:
    """The event's dates as the client gave them: local dates, or naive local date-times."""
    timing = timing_of(event)

    def local(value):
        if isinstance(value, datetime):
            return value.astimezone(timing.tz).replace(tzinfo=None)
        return value

    return local(timing.start), None if timing.end is None else local(timing.end)


def update_event(event: Event, patch: Any) -> EventChange:
    """Apply a PATCH. Dates stay on the same local wall-clock when only the zone changes.

    The confirmed bookings the new windows no longer hold come back flagged; with
    `move_bookings` they are rescheduled instead (same uid, sequence + 1), all or nothing:
    if one has no free slot, BookingNotMovable and the unit of work rolls everything back.
    """
    given = patch.model_fields_set
    for name in ("name", "sport", "priority"):
        if name in given and getattr(patch, name) is not None:
            setattr(event, name, getattr(patch, name))
    if given & {"start", "end", "timezone"}:
        old_start, old_end = _local_values(event)
        start = patch.start if "start" in given and patch.start is not None else old_start
        end = patch.end if "end" in given else old_end
        _apply_timing(event, patch.timezone or event.timezone, start, end)
    if "venue_site_id" in given:
        event.venue_site_id = sites.checked(patch.venue_site_id, "venue_site_id")
    if "travel" in given:
        _apply_travel(event, patch.travel)
    rows.flush()
    flagged = flagged_bookings(event)
    race_flags.clear_fitting(event, flagged)  # the race moved back: those fit again
    if not patch.move_bookings:
        race_flags.mark(flagged)  # stored on each, the athlete told (services/race_flags.py)
        return EventChange(event_view(event), flagged=views_of(flagged))
    # Course sessions are not moved (each was placed by hand in its week): they stay and
    # come back flagged; pre and post sessions move, all or nothing.
    moved = [_move(event, b) for b in flagged if b.kind != COURSE]
    left = [b for b in flagged if b.kind == COURSE]
    race_flags.mark(left)
    return EventChange(event_view(event), views_of(left), views_of(moved))


def follow_calendar(event: Event, tz_name: str, start: date | datetime,
                    end: date | datetime | None) -> EventChange:
    """A race calendar moved the event (services/race_calendars.py): new dates, and each
    confirmed pre or post session its new windows no longer hold moves to the best free
    slot of its new window, as `move_bookings` does; one that cannot move (no free slot,
    the athlete's screening) and course sessions stay and are flagged, the athlete told.
    Each move is tried on its own (a savepoint), so one that fails leaves the others."""
    _apply_timing(event, tz_name, start, end)
    rows.flush()
    stranded = flagged_bookings(event)
    race_flags.clear_fitting(event, stranded)
    moved: list[Booking] = []
    left: list[Booking] = []
    for booking in stranded:
        try:
            if booking.kind == COURSE:
                raise BookingNotMovable(booking.id, booking.kind)
            with race_calendars_q.savepoint():
                moved.append(_move(event, booking))
        except (BookingNotMovable, ScreeningNotCleared):
            left.append(booking)
    race_flags.mark(left)
    return EventChange(event_view(event), views_of(left), views_of(moved))


def update_event_for(caller: Caller, event_id: int, patch: Any) -> EventChange:
    """PATCH /events/{id}: athletes change their own events, coaches their teams'."""
    return update_event(access.changeable_event(caller, event_id), patch)


def _move(event: Event, booking: Booking) -> Booking:
    """Reschedule a booking into the best free slot of its (new) window: with its own
    therapist if they have one, else with any therapist."""
    for therapist_id in (booking.therapist_id, None):
        found_ = proposals.propose(event, (booking.kind,), therapist_id, booking.athlete_id,
                                   limit=1).found
        if found_[booking.kind]:
            slot = found_[booking.kind][0]
            therapist = found(Therapist, slot.therapist_id, "therapist")
            try:
                return reschedule(booking, slot.start, therapist)
            except ScreeningNotCleared:  # the athlete's gate, not the slot: no other slot
                raise
            except (InvalidValue, Conflict):  # a custom-length session that does not fit
                continue
    raise BookingNotMovable(booking.id, booking.kind)


def flagged_bookings(event: Event) -> list[Booking]:
    """The event's confirmed bookings its windows no longer hold, or that lie at a site
    where the athlete no longer is then (a new venue or travel: core/sites.py), by id."""
    found_ = bookings.listed(bookings.Filter(event_id=event.id, status="confirmed"),
                             by_start=False)
    places = sites.where_of_members(event, sorted({b.athlete_id for b in found_}))
    return [b for b in found_
            if not contains(window_for(event, b.kind), Interval(b.start, b.end))
            or not allows(places[b.athlete_id], b.site_id, Interval(b.start, b.end))]
