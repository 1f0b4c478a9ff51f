"""Bookings and events -> iCalendar bytes (RFC 5545, iTIP RFC 5546, RFC 7986), with the
icalendar library doing the format: escaping, CRLF line ends and folding at 75 octets
without splitting a UTF-8 character. Pure: values in, bytes out.

Three kinds of file:
- `invite`: one session as an iTIP message, METHOD:REQUEST (METHOD:CANCEL and
  STATUS:CANCELLED once cancelled), ORGANIZER the clinic, the athlete and the therapist
  each an ATTENDEE, the after-care notes (domain.md) in DESCRIPTION (never the booking's
  notes: no free text an athlete wrote leaves the app) and a VALARM reminder
  (none in a CANCEL). Each change raises SEQUENCE and gives a fresh DTSTAMP, so clients
  replace the earlier copy of the same UID.
- `invites`: several confirmed sessions (an event's pre and post) in one REQUEST file.
- `feed`: METHOD:PUBLISH for a subscription: sessions with the same UIDs as their invites
  and races, but no ORGANIZER/ATTENDEE and nothing medical (no notes, no after-care): a
  feed VEVENT is built from the summary, times and location alone.

Text from users passes `clean` first: every kind of line break becomes LF (which
icalendar writes as the two characters `\\n`), other control characters are dropped, so
no user value can start a new content line. Instants are written in UTC (`...Z`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from icalendar import Calendar, Event, vCalAddress

PRODID = "-//athlete_sched//Sessions and races 1.0//EN"
REQUEST, CANCEL, PUBLISH = "REQUEST", "CANCEL", "PUBLISH"
# domain.md, "After-care (goes into every invite's description)": the three points.
AFTER_CARE = (
    "After-care:\n"
    "- Drink water; gentle stretching; ice on sore spots.\n"
    "- No strenuous activity for 24–48 hours after the session.\n"
    "- Soreness or a temporary increase in symptoms for 1–2 days is common; mild bruising "
    "may occur. If symptoms last beyond 2 days, tell the therapist."
)
CANCELLED_NOTE = "This session has been cancelled."
# How often subscribers should fetch a feed again (REFRESH-INTERVAL, X-PUBLISHED-TTL).
FEED_REFRESH = timedelta(hours=1)
ATTENDEE_PARAMS = {"CUTYPE": "INDIVIDUAL", "ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION",
                   "RSVP": "TRUE"}

_LINE_BREAKS = re.compile(r"\r\n|[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_PARAM_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\\]")
_PARAM_BREAKS = re.compile(r"[\t\n]")
_BACKSLASH = re.compile(r"\\+")


@dataclass(frozen=True, slots=True)
class Person:
    """Someone named in an invite: an email address and the name to show (CN)."""

    email: str
    name: str


@dataclass(frozen=True, slots=True)
class Clinic:
    """Who sends invites (ORGANIZER), where sessions happen, when to remind."""

    name: str
    email: str
    location: str
    reminder: timedelta  # the VALARM fires this long before the start


@dataclass(frozen=True, slots=True)
class Session:
    """One booking as a calendar entry. `start`/`end` aware (written in UTC); `stamp` is the
    booking's last change (DTSTAMP). `attendees` appear in invites only. No free text an
    athlete wrote (a booking's notes, the screening note) is ever part of a Session: it
    stays in the app, for the therapist."""

    uid: str
    sequence: int
    stamp: datetime
    start: datetime
    end: datetime
    cancelled: bool
    summary: str
    location: str = ""
    attendees: tuple[Person, ...] = ()


@dataclass(frozen=True, slots=True)
class Race:
    """An event (race or ride) in a feed. All-day: `start` and `end` are dates, `end`
    exclusive (the day after the last day). Timed: aware datetimes, written in UTC."""

    uid: str
    stamp: datetime
    summary: str
    start: date | datetime
    end: date | datetime


def clean(text: str) -> str:
    """`text` safe for any TEXT value: line breaks of every kind become LF, other control
    characters (NUL, ESC, DEL, C1 ...) are dropped; tabs stay."""
    if _UNSAFE.search(text) is None:
        return text
    return _CONTROLS.sub("", _LINE_BREAKS.sub("\n", text))


def clean_param(text: str) -> str:
    """`text` for a parameter value (CN): as `clean`, on one line, and without backslashes
    (RFC 5545 parameter values have no escapes, but ical.js reads `\\n` in one as a line
    break: a name is shown the same everywhere only without them)."""
    if _PARAM_UNSAFE.search(text) is None:
        return text.strip()
    return _BACKSLASH.sub("", _one_line(text)).strip()


def _one_line(text: str) -> str:
    return _PARAM_BREAKS.sub(" ", clean(text)).strip()


def method_of(session: Session) -> str:
    """The iTIP method of a session's invite: CANCEL once cancelled, else REQUEST."""
    return CANCEL if session.cancelled else REQUEST


def _utc(value: datetime) -> datetime:
    if value.tzinfo is UTC:
        return value
    if value.utcoffset() is None:
        raise ValueError("calendar instants must be aware datetimes")
    return value.astimezone(UTC)


@cache
def _lib() -> ModuleType:
    """icalendar, imported when the first calendar is written rather than with the app:
    about 25 ms of every web worker's start (bench/coldstart.py), which a worker answering
    proposals never needs."""
    import icalendar

    return icalendar


# Components are filled with icalendar's typed values directly (what `Component.add`
# would store for these names, without its per-call type lookup): the same bytes, less
# work per event (bench/ical.py checks both).

def _calendar(method: str) -> Calendar:
    ic = _lib()
    calendar = ic.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    return calendar


def _vevent(session: Session) -> Event:
    """What every copy of a session holds, in an invite or a feed."""
    ic = _lib()
    event = ic.Event()
    event["UID"] = ic.vText(session.uid)
    event["SEQUENCE"] = ic.vInt(session.sequence)
    event["DTSTAMP"] = ic.vDDDTypes(_utc(session.stamp))
    event["DTSTART"] = ic.vDDDTypes(_utc(session.start))
    event["DTEND"] = ic.vDDDTypes(_utc(session.end))
    event["SUMMARY"] = ic.vText(clean(session.summary))
    if session.location:
        event["LOCATION"] = ic.vText(clean(session.location))
    event["STATUS"] = ic.vText("CANCELLED" if session.cancelled else "CONFIRMED")
    return event


def _address(email: str, name: str, **params: str) -> vCalAddress:
    ic = _lib()
    address = ic.vCalAddress(f"mailto:{_one_line(email)}")
    address.params["CN"] = clean_param(name) or _one_line(email)
    address.params.update(params)
    return address


def description(session: Session) -> str:
    """An invite's DESCRIPTION: (cancelled,) the after-care notes. Never the booking's
    notes: free text an athlete wrote stays in the app (contract, "Screening")."""
    return f"{CANCELLED_NOTE}\n\n{AFTER_CARE}" if session.cancelled else AFTER_CARE


def _invite_vevent(session: Session, organizer: vCalAddress, reminder: timedelta) -> Event:
    ic = _lib()
    event = _vevent(session)
    event["DESCRIPTION"] = ic.vText(description(session))
    event["ORGANIZER"] = organizer
    if session.attendees:
        event["ATTENDEE"] = [_address(p.email, p.name, **ATTENDEE_PARAMS)
                             for p in session.attendees]
    if not session.cancelled:
        alarm = ic.Alarm()
        alarm["ACTION"] = ic.vText("DISPLAY")
        alarm["DESCRIPTION"] = ic.vText(clean(session.summary))
        alarm["TRIGGER"] = ic.vDDDTypes(-reminder)
        event.add_component(alarm)
    return event


def invite(session: Session, clinic: Clinic) -> bytes:
    """One session's iTIP message: METHOD:REQUEST, or METHOD:CANCEL once cancelled."""
    calendar = _calendar(method_of(session))
    organizer = _address(clinic.email, clinic.name)
    calendar.add_component(_invite_vevent(session, organizer, clinic.reminder))
    return calendar.to_ical()


def invites(sessions: Iterable[Session], clinic: Clinic) -> bytes:
    """Several confirmed sessions (an athlete's pre and post of one event) as one
    METHOD:REQUEST file, each VEVENT as in its own invite."""
    calendar = _calendar(REQUEST)
    organizer = _address(clinic.email, clinic.name)  # one value, shared by every VEVENT
    for session in sessions:
        if session.cancelled:
            raise ValueError(f"session {session.uid} is cancelled: send its CANCEL instead")
        calendar.add_component(_invite_vevent(session, organizer, clinic.reminder))
    return calendar.to_ical()


def _race_vevent(race: Race) -> Event:
    ic = _lib()
    timed = isinstance(race.start, datetime)
    if timed != isinstance(race.end, datetime):
        raise ValueError("a race's start and end are both dates or both datetimes")
    event = ic.Event()
    event["UID"] = ic.vText(race.uid)
    event["SEQUENCE"] = ic.vInt(0)  # a feed is replaced whole: no iTIP ordering to keep
    event["DTSTAMP"] = ic.vDDDTypes(_utc(race.stamp))
    event["DTSTART"] = ic.vDDDTypes(_utc(race.start) if timed else race.start)
    event["DTEND"] = ic.vDDDTypes(_utc(race.end) if timed else race.end)
    event["SUMMARY"] = ic.vText(clean(race.summary))
    event["STATUS"] = ic.vText("CONFIRMED")
    event["TRANSP"] = ic.vText("OPAQUE" if timed else "TRANSPARENT")
    return event


def feed(name: str, sessions: Iterable[Session], races: Iterable[Race] = ()) -> bytes:
    """A subscription feed: METHOD:PUBLISH, the calendar's name, the refresh interval, the
    confirmed sessions (no attendees, no notes, no after-care) and the races.

    The bytes are icalendar's for the whole calendar (a component is written as its own
    lines, one after another: tests/core/test_ical_feed_bytes.py compares), put together
    from each entry's bytes, memoized on the entry's value: a feed rebuilt after one of
    its bookings changed writes that one entry again, not the owner's whole history."""
    return feed_of_entries(feed_frame(name), [*(session_entry(s) for s in sessions),
                                              *(race_entry(r) for r in races)])


def feed_frame(name: str) -> bytes:
    """A feed's lines before its entries: VCALENDAR's properties (METHOD:PUBLISH, the name,
    the refresh interval), without the closing END:VCALENDAR."""
    ic = _lib()
    calendar = _calendar(PUBLISH)
    # NAME and X-WR-CALNAME are written as they are (icalendar has no TEXT type for
    # them): on one line, or a name with a line break would break the feed.
    calendar.add("name", _one_line(name))
    calendar.add("x-wr-calname", _one_line(name))
    calendar.add("refresh-interval", FEED_REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", ic.vDuration(FEED_REFRESH))
    frame = calendar.to_ical()
    if not frame.endswith(_END):  # icalendar writes the frame as it always has
        raise RuntimeError("icalendar wrote a calendar that does not end in END:VCALENDAR")
    return frame[:-len(_END)]


def feed_of_entries(frame: bytes, entries: Iterable[bytes]) -> bytes:
    """The feed: its frame (`feed_frame`), the entries' bytes in order, END:VCALENDAR."""
    return b"".join([frame, *entries, _END])


def session_entry(session: Session) -> bytes:
    """A session's lines in a feed: its VEVENT, or nothing once cancelled."""
    return b"" if session.cancelled else _session_bytes(session)


def race_entry(race: Race) -> bytes:
    """A race's lines in a feed: its VEVENT."""
    return _race_bytes(race)


_END = b"END:VCALENDAR\r\n"


# A few MB per worker: 16,384 sessions of ~350 bytes, and their keys. Entries are values
# (frozen dataclasses), so an entry can never be stale: a changed booking is a new key.
@lru_cache(maxsize=16_384)
def _session_bytes(session: Session) -> bytes:
    return _vevent(session).to_ical()


@lru_cache(maxsize=4_096)
def _race_bytes(race: Race) -> bytes:
    return _race_vevent(race).to_ical()
