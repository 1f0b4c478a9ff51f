"""Calendar text -> the races it holds (issue 15, race calendars): one `Race` per VEVENT,
keyed by its UID, with the dates `POST /events` would take.

The rules (README, "Race calendars"):

- **Dates.** A DATE DTSTART is an all-day race; its DTEND is exclusive (RFC 5545), so a
  three-day stage race DTSTART 20270612 / DTEND 20270615 ends on 14 June; no DTEND, or
  DTEND the next day: one day. A date-time with a TZID (IANA, Windows or vendor-prefixed,
  or the file's own VTIMEZONE) or in UTC keeps its instant; a floating one is wall-clock in
  the calendar's zone: its X-WR-TIMEZONE when the tz database knows it, else the
  athlete's. The race's zone is its TZID's when the tz database knows it, else the
  calendar's zone. A timed DTEND (or DURATION) is the finish; without one the finish is
  not known.
- **Name** from SUMMARY (at most 200 characters; "Race" when there is none). **Sport**
  guessed from SUMMARY and CATEGORIES (`guess_sport`), else None (the caller's default).
- **Cancelled.** STATUS:CANCELLED: the race is in the file but called off (`cancelled`).
- **Recurrence.** Races rarely recur: a VEVENT is the race on its DTSTART; RRULE and RDATE
  are not expanded, and overrides (RECURRENCE-ID) are ignored.
- **Refused** (CalendarUnparsable, naming the event): a VEVENT without UID or DTSTART, one
  UID twice, an end before the start, more than MAX_RACES races.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from .errors import CalendarTooComplex, CalendarUnparsable
from .windows import EventTiming, event_span

MAX_RACES = 2_000
MAX_NAME = 200
MAX_UID = 255

# Words that tell the sport, checked in this order (the first that matches wins): an MTB
# marathon is a mountain-bike race, a triathlon's 10K run is a triathlon.
SPORT_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("mtb", ("mtb", "mountain bike", "mountainbike", "mountain-bike", "vtt", "enduro",
             "downhill", "xco", "xcm", "cross-country mtb", "bike marathon")),
    ("triathlon", ("triathlon", "ironman", "70.3", "duathlon", "aquathlon", "multisport")),
    ("cycling", ("gravel", "cyclocross", "cyclo-cross", "gran fondo", "granfondo",
                 "sportive", "criterium", "road race", "time trial", "cycling", "cyclo",
                 "velo", "bike", "ride", "tour de")),
    ("running", ("marathon", "half marathon", "trail", "ultra", "10k", "5k", "21k", "42k",
                 "parkrun", "run", "running", "fell", "skyrace", "cross country")),
)
_WORD_CACHE: dict[str, re.Pattern[str]] = {}


def _pattern(word: str) -> re.Pattern[str]:
    found = _WORD_CACHE.get(word)
    if found is None:
        found = _WORD_CACHE[word] = re.compile(
            r"(?<![a-z0-9])" + re.escape(word) + r"(?![a-z])", re.I)
    return found


def guess_sport(summary: str, categories: list[str]) -> str | None:
    """The sport ("mtb", "triathlon", "cycling", "running") the words of a race's SUMMARY
    and CATEGORIES name, categories first (a platform's own label); None if none does.
    Whole words only: "Trailhead Road Race" is not a trail run ("trail" then "head")."""
    for text in (" ".join(categories), summary):
        for sport, words in SPORT_WORDS:
            if any(_pattern(word).search(text) for word in words):
                return sport
    return None


@dataclass(frozen=True)
class Race:
    """One race of the calendar: `start`/`end` as POST /events takes them (dates, or
    aware date-times; `end` None: one day, or the finish not known), `timezone` an IANA
    name, `sport` None when no word told it."""

    uid: str
    name: str
    sport: str | None
    timezone: str
    start: date | datetime
    end: date | datetime | None
    cancelled: bool = False

    def ends_before(self, instant: datetime) -> bool:
        """Whether the race is over at `instant`: the end of the time it occupies
        (core/windows.py's event_span: the finish, else the end of its last local day)."""
        timing = EventTiming(tz=ZoneInfo(self.timezone), start=self.start, end=self.end)
        return event_span(timing).end <= instant


def _text(component, name: str) -> str:
    value = component.get(name)
    return " ".join(str(value).split()) if value is not None else ""


def _categories(component) -> list[str]:
    found = component.get("CATEGORIES")
    if found is None:
        return []
    items = found if isinstance(found, list) else [found]
    return [str(c) for item in items for c in getattr(item, "cats", [item])]


def _moment(value: date | datetime, tz: ZoneInfo) -> date | datetime:
    """A DTSTART/DTEND value: a date stays; a floating date-time is wall-clock in `tz`.
    Anything else (a broken value the parser kept as text) raises ValueError."""
    if not isinstance(value, date):
        raise ValueError(f"{value!r} is not a date or a date-time")
    if isinstance(value, datetime) and value.utcoffset() is None:
        return value.replace(tzinfo=tz)
    return value


def _zone_of(component, default: str) -> str:
    """The race's zone: its DTSTART's TZID when the tz database knows it, else `default`."""
    from .ical_import import zone_name

    prop = component.get("DTSTART")
    tzid = prop.params.get("TZID") if prop is not None else None
    return (zone_name(str(tzid)) if tzid else None) or default


def race_of(component, default_zone: str) -> Race:
    """One VEVENT as a Race (see the module docstring). Raises CalendarUnparsable."""
    uid = _text(component, "UID")
    if not uid:
        raise CalendarUnparsable(f"the event {_text(component, 'SUMMARY')!r} has no UID")
    if len(uid) > MAX_UID:
        raise CalendarUnparsable(f"a UID is longer than {MAX_UID} characters")
    if "DTSTART" not in component:
        raise CalendarUnparsable(f"the event {uid} has no DTSTART")
    zone = _zone_of(component, default_zone)
    tz = ZoneInfo(zone)
    try:
        start = _moment(component.decoded("DTSTART"), tz)
        end = _end_of(component, start, tz)
    except CalendarUnparsable:
        raise
    except Exception as exc:  # noqa: BLE001 - a broken date in client data
        raise CalendarUnparsable(f"the event {uid} has a date that does not parse: "
                                 f"{exc}") from None
    summary = _text(component, "SUMMARY")
    return Race(uid=uid, name=(summary or "Race")[:MAX_NAME],
                sport=guess_sport(summary, _categories(component)), timezone=zone,
                start=start, end=end,
                cancelled=_text(component, "STATUS").upper() == "CANCELLED")


def _end_of(component, start: date | datetime, tz: ZoneInfo) -> date | datetime | None:
    if "DTEND" in component:
        end = _moment(component.decoded("DTEND"), tz)
    elif "DURATION" in component:
        end = start + component.decoded("DURATION")
    else:
        return None
    uid = _text(component, "UID")
    if isinstance(start, datetime) != isinstance(end, datetime):
        raise CalendarUnparsable(f"the event {uid} mixes a date and a date-time")
    if isinstance(start, datetime):
        if end <= start:
            raise CalendarUnparsable(f"the event {uid} ends before it starts")
        return end
    if end <= start:
        raise CalendarUnparsable(f"the event {uid} ends before it starts")
    last = end - timedelta(days=1)  # DTEND of a date is exclusive
    return None if last == start else last


def races(data: bytes, default_zone: str) -> list[Race]:
    """Every race of calendar `data` (cancelled ones included, marked), in file order.
    `default_zone`: the athlete's, for floating times and dates. Raises
    CalendarUnparsable or CalendarTooComplex; nothing is returned for a bad file.
    The calendar libraries are imported here, on first use, as for busy calendars: a web
    worker that never reads a calendar never loads them (tests/test_cli_db.py)."""
    from .ical_import import parse_calendars, zone_name

    found: list[Race] = []
    for calendar in parse_calendars(data):
        if calendar is None:  # the batches were read otherwise than planned: start again
            found = []
            continue
        zone = default_zone
        if "X-WR-TIMEZONE" in calendar:
            zone = zone_name(str(calendar["X-WR-TIMEZONE"])) or default_zone
        for component in calendar.subcomponents:
            if component.name != "VEVENT" or "RECURRENCE-ID" in component:
                continue
            found.append(race_of(component, zone))
            if len(found) > MAX_RACES:
                raise CalendarTooComplex(f"more than {MAX_RACES} races")
    seen: set[str] = set()
    for race in found:
        if race.uid in seen:
            raise CalendarUnparsable(f"the UID {race.uid} is used by two events")
        seen.add(race.uid)
    return found
