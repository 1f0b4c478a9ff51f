"""How the pages show times, zones, slots and sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from ...core.intervals import Interval
from ...core.kinds import TITLES
from ...core.proposals import Slot
from ...core.zones import load_zone
from ...services.common import EventView
from ...services.overview import Session, WindowItem

KIND_TITLES = {kind: title.capitalize() for kind, title in TITLES.items()}


def when(at: datetime, tz: ZoneInfo) -> str:
    """'Wed 12 May 09:00' in `tz`."""
    local = at.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def span(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """'Wed 12 May 09:00–09:45', or 'Wed 12 May 00:00 – Fri 14 May 00:00' across days."""
    if start.astimezone(tz).date() == end.astimezone(tz).date():
        return f"{when(start, tz)}–{end.astimezone(tz):%H:%M}"
    return f"{when(start, tz)} – {when(end, tz)}"


def day_name(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def iso(at: datetime) -> str:
    """The API's UTC form: 2027-05-12T07:00:00Z."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_when(view: EventView) -> str:
    """The event's days and times in its own zone."""
    timing = view.timing
    first, last = timing.first_day, timing.last_day
    days = day_name(first) if first == last else f"{day_name(first)} – {day_name(last)}"
    if isinstance(timing.start, datetime):
        days += f", start {timing.start.astimezone(timing.tz):%H:%M}"
    if timing.finish is not None:
        days += f", finish {timing.finish.astimezone(timing.tz):%H:%M}"
    return days


@dataclass(frozen=True)
class SlotView:
    slot: Slot
    therapist: object  # a therapist row: id, name, timezone
    local: str
    therapist_local: str | None  # only when the therapist's zone differs from the event's

    @property
    def start(self) -> str:
        return iso(self.slot.start)


def slot_view(slot: Slot, therapist: object, tz: ZoneInfo) -> SlotView:
    own = load_zone(therapist.timezone)  # type: ignore[attr-defined]
    other = None if own.key == tz.key else span(slot.start, slot.end, own)
    return SlotView(slot, therapist, span(slot.start, slot.end, tz), other)


@dataclass(frozen=True)
class BookingRow:
    """A booked session as the pages list it."""

    booking: object
    event: object | None  # None: a tune-up
    view: SlotView
    zone: str  # the event's, or the athlete's for a tune-up

    title = property(lambda self: KIND_TITLES[self.booking.kind])
    for_name = property(lambda self: self.event.name if self.event else "Periodic tune-up")


def booking_row(session: Session) -> BookingRow:
    b = session.booking
    slot = Slot(b.therapist_id, b.start, b.end, b.kind)
    return BookingRow(b, session.event, slot_view(slot, session.therapist,
                                                  load_zone(session.zone)), session.zone)


@dataclass(frozen=True)
class WindowView:
    kind: str
    window: Interval
    zone: ZoneInfo
    slots: list[SlotView]
    booked: BookingRow | None

    start_text = property(lambda self: when(self.window.start, self.zone))
    end_text = property(lambda self: when(self.window.end, self.zone))
    start_iso = property(lambda self: iso(self.window.start))
    end_iso = property(lambda self: iso(self.window.end))


def window_view(item: WindowItem, tz: ZoneInfo) -> WindowView:
    return WindowView(item.kind, item.window, tz,
                      [slot_view(slot, therapist, tz) for slot, therapist in item.slots],
                      item.booked and booking_row(item.booked))
