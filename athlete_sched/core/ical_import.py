"""Calendar text -> the busy intervals it holds over a horizon (the import side of issue 3).

`busy_intervals(data, tz, horizon)` parses an iCalendar body, expands its recurrences with
recurring-ical-events (RRULE, RDATE, EXDATE, RECURRENCE-ID overrides, RANGE=THISANDFUTURE)
and returns the busy time that overlaps `horizon` as sorted, merged, aware-UTC intervals
clipped to the horizon (merged: overlapping or touching busy time becomes one interval;
only the blocked instants matter to scheduling).

What blocks (contract, "busy-calendar"): every VEVENT except those with TRANSP:TRANSPARENT,
STATUS:CANCELLED or Outlook's X-MICROSOFT-CDO-BUSYSTATUS:FREE (X-MICROSOFT-CDO-INTENDEDSTATUS
when BUSYSTATUS is absent); each override is judged on its own. Times:
- a DATE (all-day) blocks whole local days in the therapist's zone `tz` (23 or 25 hours
  across a daylight-saving change); no DTEND and no DURATION: one day (RFC 5545);
- a floating date-time is wall-clock in `tz`, or in X-WR-TIMEZONE when the calendar has one
  (Google's export: its UTC times are also moved into that zone before expansion, so a
  weekly 09:00 stays 09:00 across DST - the x_wr_timezone package does this);
- TZID: IANA names, Windows names ("W. Europe Standard Time") and vendor-prefixed ids
  ("/mozilla.org/.../Europe/Berlin") map to the tz database; any other TZID uses the file's
  own VTIMEZONE; an unknown TZID without one is read as floating;
- a date-time DTSTART with neither DTEND nor DURATION lasts zero time: it blocks nothing.

icalendar caches VTIMEZONE definitions process-wide by TZID, first come first served, so
two therapists' "Customized Time Zone" (Outlook) would share the first one's rules. Before
parsing, such custom TZIDs are renamed after a hash of their definition.

Memory (issue 14): a calendar is parsed and expanded in batches of whole series
(core/ical_split.py), so that only one batch's icalendar objects exist at a time; the
batches give exactly the intervals of the whole file, and text whose structure is not
plain, or a batch the parser reads otherwise than planned, is parsed whole.

Limits (a clear CalendarTooComplex, never a hang): VEVENT count, overrides per UID,
expanded busy occurrences in the horizon, and the steps the recurrence rules may take
(core/ical_bounds.py: a rule that never matches is not walked to the year 9999).
"""

from __future__ import annotations

import hashlib
import re
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from itertools import chain
from zoneinfo import ZoneInfo, available_timezones

import recurring_ical_events
from icalendar import Calendar
from icalendar.error import GloballyUniqueTZIDGuessed
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from . import ical_split
from .errors import CalendarTooComplex, CalendarUnparsable, DomainError
from .ical_bounds import Budget, busy_events
from .intervals import Interval, merge
from .windows import local_midnight


@dataclass(frozen=True)
class Limits:
    """What one import may cost. Steps: rule periods walked plus dates produced."""

    max_events: int = 25_000
    max_overrides_per_uid: int = 1_000
    max_occurrences: int = 25_000
    max_steps: int = 500_000


# --- parsing ------------------------------------------------------------------------------

_FOLD = re.compile(r"\r?\n[ \t]")
_TZID_LINE = re.compile(r"^TZID(?:;[^:\r\n]*)?:([^\r\n]*?)\r?$", re.M | re.I)
_TZID_PARAM = re.compile(r';TZID=("[^"\r\n]*"|[^;:\r\n]*)', re.I)
MAX_TZID = 128  # icalendar looks a TZID up by each of its "/" suffixes, on every use
MAX_CUSTOM_ZONES = 100


@cache
def _known() -> frozenset[str]:
    return frozenset(available_timezones())


def zone_name(tzid: str) -> str | None:
    """The tz database name icalendar reads `tzid` as without a VTIMEZONE, or None."""
    cleaned = tzid.strip().strip('"').strip("/")
    if len(cleaned) > MAX_TZID:
        return None
    name = WINDOWS_TO_OLSON.get(cleaned, cleaned)
    if name in _known():
        return name
    parts = cleaned.split("/")
    return next(("/".join(parts[i:]) for i in range(1, len(parts))
                 if "/".join(parts[i:]) in _known()), None)


_VTIMEZONE = re.compile(r"BEGIN:VTIMEZONE.*?END:VTIMEZONE", re.I | re.S)


def _vtimezones(text: str) -> Iterator[str]:
    """The VTIMEZONE blocks of unfolded `text` (one pass, no upper-case copy of it)."""
    return (found.group() for found in _VTIMEZONE.finditer(text))


def _prepared_text(text: str) -> str:
    """Unfold, refuse overlong TZIDs, and rename each VTIMEZONE whose TZID the tz database
    does not know after a hash of its definition (and every TZID= naming it), so that
    icalendar's process-wide cache never serves one calendar's custom zone to another."""
    text = _FOLD.sub("", text)
    for found in chain(_TZID_PARAM.finditer(text), _TZID_LINE.finditer(text)):
        if len(found.group(1).strip()) > MAX_TZID + 2:
            raise CalendarUnparsable(f"a TZID is longer than {MAX_TZID} characters")
    aliases: dict[str, str] = {}
    for block in _vtimezones(text):
        line = _TZID_LINE.search(block)
        name = line.group(1).strip().strip('"') if line else ""
        if name and zone_name(name) is None and name not in aliases:
            aliases[name] = "athlete-sched-" + hashlib.sha256(block.encode()).hexdigest()[:24]
    if len(aliases) > MAX_CUSTOM_ZONES:
        raise CalendarTooComplex(f"more than {MAX_CUSTOM_ZONES} custom time zones")
    if not aliases:
        return text

    def rename(found: re.Match[str]) -> str:
        alias = aliases.get(found.group(1).strip().strip('"'))
        if alias is None:
            return found.group(0)
        start, end = found.start(1) - found.start(), found.end(1) - found.start()
        return found.group(0)[:start] + alias + found.group(0)[end:]

    return _TZID_PARAM.sub(rename, _TZID_LINE.sub(rename, text))


def _from_ical(text: str) -> list[Calendar]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GloballyUniqueTZIDGuessed)
        return Calendar.from_ical(text, multiple=True)


def _whole(text: str) -> list[Calendar]:
    try:
        calendars = _from_ical(text)
    except Exception as exc:  # noqa: BLE001 - any parser failure on client bytes is a 422
        raise CalendarUnparsable(f"the calendar does not parse: {exc}") from None
    if not calendars or any(c.name != "VCALENDAR" for c in calendars):
        raise CalendarUnparsable("the body is not a VCALENDAR")
    return calendars


class _Disagrees(Exception):
    """The parser read a batch otherwise than core/ical_split.py planned it."""


def _batched(plan: ical_split.Plan) -> Iterator[Calendar]:
    """The planned batches, parsed and checked against the plan: one VCALENDAR holding
    the planned VEVENTs, none with a UID an earlier batch of its calendar had."""
    uids: dict[int, set[str]] = {}
    for number, batch in plan.batches():
        try:
            parsed = _from_ical(batch.text)
        except Exception:  # noqa: BLE001 - the whole text says what is wrong
            raise _Disagrees from None
        if len(parsed) != 1 or parsed[0].name != "VCALENDAR":
            raise _Disagrees
        calendar = parsed.pop()
        events = [str(c["UID"]) for c in calendar.subcomponents
                  if c.name == "VEVENT" and "UID" in c]
        if sum(c.name == "VEVENT" for c in calendar.subcomponents) != batch.events:
            raise _Disagrees
        seen = uids.setdefault(number, set())
        if not seen.isdisjoint(events):
            raise _Disagrees
        seen.update(events)
        yield calendar
        del calendar  # the next batch is parsed without this one


def parse_calendars(data: bytes) -> Iterator[Calendar | None]:
    """The VCALENDARs in `data` (UTF-8, a BOM allowed; bad octets become U+FFFD), to be
    expanded one after another. A big calendar comes as several, in batches of whole
    series (core/ical_split.py: one calendar's parsed objects at a time would be tens of
    MiB); None in the stream means the batches so far are to be forgotten, the calendars
    of the whole text follow (the parser read a batch otherwise than planned).
    Raises CalendarUnparsable when it is not iCalendar text."""
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    if "BEGIN:VCALENDAR" not in text[:4096].upper():
        raise CalendarUnparsable("the body is not an iCalendar file (no BEGIN:VCALENDAR)")
    text = _prepared_text(text)
    planned = ical_split.plan(text)
    if planned is not None:
        try:
            yield from _batched(planned)
            return
        except _Disagrees:
            yield None
    yield from _whole(text)


def _prepared(calendar: Calendar, limits: Limits, seen: Counter) -> Calendar:
    """Check the limits on events and overrides; drop VEVENTs without DTSTART (they have
    no time to block) and an X-WR-TIMEZONE that names no known zone."""
    events = [c for c in calendar.subcomponents if c.name == "VEVENT"]
    seen["events"] += len(events)
    if seen["events"] > limits.max_events:
        raise CalendarTooComplex(f"more than {limits.max_events} events")
    overrides = Counter(str(e.get("UID")) for e in events if "RECURRENCE-ID" in e)
    uid, most = overrides.most_common(1)[0] if overrides else ("", 0)
    if most > limits.max_overrides_per_uid:
        raise CalendarTooComplex(f"event {uid} has {most} changed occurrences (at most "
                                 f"{limits.max_overrides_per_uid})")
    calendar.subcomponents = [c for c in calendar.subcomponents
                              if c.name != "VEVENT" or "DTSTART" in c]
    if "X-WR-TIMEZONE" in calendar:
        name = zone_name(str(calendar["X-WR-TIMEZONE"]))
        del calendar["X-WR-TIMEZONE"]
        if name is not None:
            calendar["X-WR-TIMEZONE"] = name
    return calendar


# --- occurrences -> busy intervals ---------------------------------------------------------

def instant(value: date | datetime, tz: ZoneInfo) -> datetime:
    """An occurrence bound in UTC: a date is local midnight in `tz`, a floating date-time
    is wall-clock in `tz`, an aware one keeps its instant."""
    if not isinstance(value, datetime):
        return local_midnight(value, tz)
    if value.utcoffset() is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def _expand(calendar: Calendar, tz: ZoneInfo, horizon: Interval, limits: Limits,
            budget: Budget, found: list[Interval]) -> None:
    """Append the blocking occurrences of `calendar` that overlap `horizon` to `found`."""
    # Floating times compare as wall-clock here; a day of margin covers every zone.
    span = (horizon.start - timedelta(days=1), horizon.end + timedelta(days=1))
    try:
        query = recurring_ical_events.of(calendar, components=[busy_events(budget)])
    except DomainError:
        raise
    except Exception as exc:  # noqa: BLE001 - a broken rule or date in client data
        raise CalendarUnparsable(f"a recurrence does not parse: {exc}") from None
    for series in query.series:
        try:
            for occurrence in series.between(*span):
                if not occurrence.blocks:
                    continue
                start, end = instant(occurrence.start, tz), instant(occurrence.end, tz)
                if start < horizon.end and end > horizon.start and start < end:
                    found.append(Interval(max(start, horizon.start), min(end, horizon.end)))
                    if len(found) > limits.max_occurrences:
                        raise CalendarTooComplex(
                            f"more than {limits.max_occurrences} busy occurrences in the "
                            "next year: import a shorter export")
        except DomainError:
            raise
        except Exception as exc:  # noqa: BLE001 - a broken rule or date in client data
            raise CalendarUnparsable(f"event {series.uid} cannot be expanded: {exc}") from None


def busy_intervals(data: bytes, tz: ZoneInfo, horizon: Interval,
                   limits: Limits | None = None) -> list[Interval]:
    """The busy time of calendar `data` within `horizon`, sorted, merged and clipped (see
    the module docstring). Raises CalendarUnparsable or CalendarTooComplex."""
    limits = limits or Limits()
    budget, seen, found = Budget(limits.max_steps), Counter[str](), []
    for calendar in parse_calendars(data):
        if calendar is None:  # start again on the whole text
            budget, seen, found = Budget(limits.max_steps), Counter[str](), []
            continue
        _expand(_prepared(calendar, limits, seen), tz, horizon, limits, budget, found)
        del calendar  # not kept while the next batch is parsed
    return merge(found)
