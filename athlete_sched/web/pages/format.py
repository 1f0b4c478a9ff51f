"""How the pages show times, zones, slots and sessions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ...core.intervals import Interval
from ...core.kinds import TITLES
from ...core.proposals import Slot
from ...core.zones import load_zone
from ...services.common import EventView
from ...services.overview import Session, WindowItem

EMPTY: Mapping[int, object] = {}
KIND_TITLES = {kind: title.capitalize() for kind, title in TITLES.items()}


def day_name(day: date) -> str:
    """'Wed 12 May 2027'."""
    return f"{day:%a} {day.day} {day:%b %Y}"


def when(at: datetime, tz: ZoneInfo) -> str:
    """'Wed 12 May 2027 09:00' in `tz`."""
    local = at.astimezone(tz)
    return f"{day_name(local.date())} {local:%H:%M}"


def span(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """'Wed 12 May 2027 09:00–09:45', or 'Wed 12 May 2027 23:30 – Thu 13 May 2027 00:15'
    across days."""
    if start.astimezone(tz).date() == end.astimezone(tz).date():
        return f"{when(start, tz)}–{end.astimezone(tz):%H:%M}"
    return f"{when(start, tz)} – {when(end, tz)}"


def clock_span(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """A slot within its day: '09:00–09:45', or '23:30 – Thu 13 May 2027 00:15' when it
    ends on the next day."""
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    if local_start.date() == local_end.date():
        return f"{local_start:%H:%M}–{local_end:%H:%M}"
    return f"{local_start:%H:%M} – {when(end, tz)}"


def window_from(start: datetime, tz: ZoneInfo) -> str:
    """A window's first moment: its day ('Thu 11 Mar 2027') when it opens at midnight."""
    local = start.astimezone(tz)
    return day_name(local.date()) if local.time() == time(0) else when(start, tz)


def window_through(end: datetime, tz: ZoneInfo) -> str:
    """A window's end as people say it: 'through Fri 12 Mar 2027' (its last whole day)
    when it ends at midnight, else 'until Fri 12 Mar 2027 18:00'."""
    local = end.astimezone(tz)
    if local.time() == time(0):
        return f"through {day_name(local.date() - timedelta(days=1))}"
    return f"until {when(end, tz)}"


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


def period(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """A window or a suggestion's span: 'Thu 11 Mar 2027 through Fri 12 Mar 2027', or just
    'Thu 13 May 2027' for one whole day."""
    first, through = window_from(start, tz), window_through(end, tz)
    return first if through == f"through {first}" else f"{first} {through}"


@dataclass(frozen=True)
class SlotView:
    slot: Slot
    therapist: object  # a therapist row: id, name, timezone
    local: str
    therapist_local: str | None  # only when the therapist's zone differs from the event's
    clock: str = ""  # the time within its local day (day lists)
    best: bool = False  # the best of its window
    site: object | None = None  # the site row it is at (name, address), where known

    @property
    def start(self) -> str:
        return iso(self.slot.start)


def slot_view(slot: Slot, therapist: object, tz: ZoneInfo, best: bool = False,
              sites: Mapping[int, object] = EMPTY) -> SlotView:
    own = load_zone(therapist.timezone)  # type: ignore[attr-defined]
    other = None if own.key == tz.key else span(slot.start, slot.end, own)
    site = None if slot.site_id is None else sites.get(slot.site_id)
    return SlotView(slot, therapist, span(slot.start, slot.end, tz), other,
                    clock_span(slot.start, slot.end, tz), best, site)


@dataclass(frozen=True)
class DayOfSlots:
    day: str  # 'Thu 11 Mar 2027'
    slots: list[SlotView]


def by_day(ranked: list[tuple[Slot, object]], tz: ZoneInfo,
           sites: Mapping[int, object] = EMPTY) -> list[DayOfSlots]:
    """Ranked slots (best first) listed in time order, grouped by their local day; the
    best one marked; each with its site where `sites` names it."""
    views = sorted((slot_view(s, t, tz, i == 0, sites) for i, (s, t) in enumerate(ranked)),
                   key=lambda v: (v.slot.start, v.slot.therapist_id))
    days: list[DayOfSlots] = []
    for view in views:
        day = day_name(view.slot.start.astimezone(tz).date())
        if not days or days[-1].day != day:
            days.append(DayOfSlots(day, []))
        days[-1].slots.append(view)
    return days


@dataclass(frozen=True)
class BookingRow:
    """A booked session as the pages list it."""

    booking: object
    event: object | None  # None: a tune-up
    view: SlotView
    zone: str  # the event's, or the athlete's for a tune-up

    title = property(lambda self: KIND_TITLES[self.booking.kind])
    for_name = property(lambda self: self.event.name if self.event else "Periodic tune-up")


def booking_row(session: Session, sites: Mapping[int, object] = EMPTY) -> BookingRow:
    b = session.booking
    slot = Slot(b.therapist_id, b.start, b.end, b.kind, b.site_id)
    return BookingRow(b, session.event, slot_view(slot, session.therapist,
                                                  load_zone(session.zone), sites=sites),
                      session.zone)


@dataclass(frozen=True)
class WindowView:
    kind: str
    window: Interval
    zone: ZoneInfo
    days: list[DayOfSlots]
    booked: BookingRow | None
    reason: str | None = None  # why there is no slot, for a person
    waiting: object | None = None  # services.waitlist.EntryView: the athlete's place
    offer: SlotView | None = None  # the slot a live offer holds for the athlete
    offer_expires: str | None = None  # until when, in the event's zone

    start_text = property(lambda self: window_from(self.window.start, self.zone))
    end_text = property(lambda self: window_through(self.window.end, self.zone))
    start_iso = property(lambda self: iso(self.window.start))
    end_iso = property(lambda self: iso(self.window.end))


# Why a window has no slot, said to the athlete on their own race page (the API's message
# speaks of "the athlete"); a code not listed here shows the API's message.
REASONS_FOR_ATHLETE = {
    "past": "The {words} window is over, or closer than the clinic's booking notice.",
    "travel": "Your travel leaves no time in the {words} window at a site where you are: "
              "you have left home, and have not reached the venue yet (or have left it).",
    "site": "No therapist works at the sites where you are during the {words} window "
            "(your home site and the race's venue site).",
    "no-therapist": "No therapist can be proposed.",
    "full": "Every therapist is booked, away or off work in the {words} window.",
}
WINDOW_WORDS = {"pre": "pre-race", "post": "recovery"}


def window_view(item: WindowItem, tz: ZoneInfo) -> WindowView:
    reason = None
    if item.reason is not None:
        words = WINDOW_WORDS.get(item.kind, item.kind)
        said = REASONS_FOR_ATHLETE.get(item.reason.code)
        reason = (said.format(words=words) if said is not None else
                  item.reason.message[:1].upper() + item.reason.message[1:] + ".")
    offer = item.waiting.offer if item.waiting is not None else None
    return WindowView(item.kind, item.window, tz, by_day(item.slots, tz, item.sites),
                      item.booked and booking_row(item.booked, item.sites), reason,
                      item.waiting,
                      offer and slot_view(offer.slot, item.offer_therapist, tz,
                                          sites=item.sites),
                      offer and when(offer.expires, tz))
