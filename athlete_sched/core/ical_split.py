"""Calendar text -> batches of whole series, so that an import never holds the parsed tree
of a whole big calendar at once (issue 14: a 5 MB export took ~70 MiB as icalendar
objects, and as much again while it was expanded).

`plan(text)` reads the structure of unfolded calendar text without parsing it: where each
VCALENDAR and each of its components begins and ends, and the UID of each VEVENT. Only the
BEGIN, END and UID lines are looked at, each through icalendar's own content-line parser,
so they are read exactly as `Calendar.from_ical` reads them. `Plan.batches()` then yields,
per VCALENDAR, texts of about BATCH_CHARS characters that are each a complete calendar:
the VCALENDAR's own properties, every VTIMEZONE, and whole groups of VEVENTs with the same
UID (a series and its overrides stay together); the other components (VTODO, VJOURNAL,
...) go into the calendar's first batch, so that they are parsed once, as before.

Only plain structure is planned: every BEGIN with its END, nothing but VCALENDARs at the
top level, nothing between them but line breaks, at most one UID line per VEVENT. For
anything else `plan` returns None and the caller parses the text whole. The caller checks
what the parser made of each batch against the plan (`Batch.events`, one VCALENDAR) and
that no UID spans two batches, and parses whole when they disagree.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from icalendar.parser.content_line import UFOLD, Contentline

BATCH_CHARS = 100_000

# Every line icalendar could read as BEGIN, END or UID (it strips the name and drops
# spaces and tabs inside it; its case does not matter), and a few more: each is checked
# with icalendar's own parser.
_SPACED = "[ \t]*".join
_CANDIDATE = re.compile(
    r"^[^\S\n]*(?:" + "|".join(_SPACED(word) for word in ("BEGIN", "END", "UID"))
    + r")[^\S\n]*[;:][^\n]*", re.M | re.I)
# Most of them are plain: no parameters, no escapes, upper case, nothing around the name.
_PLAIN = re.compile(r"(BEGIN|END|UID):([^\\]*)")


@dataclass
class _Block:
    """One component inside a VCALENDAR: text[start:end] (whole lines, line break
    included)."""

    name: str
    start: int
    end: int = 0
    uid: str | None = None
    uids: int = 0


@dataclass
class _Calendar:
    start: int
    end: int = 0
    blocks: list[_Block] = field(default_factory=list)


@dataclass(frozen=True)
class Batch:
    """A complete calendar's text holding `events` VEVENTs."""

    text: str
    events: int


class _Irregular(Exception):
    """The structure is not plain: the text is to be parsed whole."""


@dataclass(frozen=True)
class Plan:
    text: str
    calendars: tuple[_Calendar, ...]

    @property
    def events(self) -> int:
        """The VEVENTs of all the calendars."""
        return sum(b.name == "VEVENT" for c in self.calendars for b in c.blocks)

    def batches(self, size: int = BATCH_CHARS) -> Iterator[tuple[int, Batch]]:
        """(calendar number, batch) in order: each calendar's batches one after another."""
        for number, calendar in enumerate(self.calendars):
            for batch in _batches(self.text, calendar, size):
                yield number, batch


def _line_end(text: str, end: int) -> int:
    """The index after the line break that ends the line ending at `end`."""
    return end + 1 if end < len(text) else end


def _parts(text: str, found: re.Match[str]) -> tuple[str, str]:
    """(NAME, value) of a candidate line, read by icalendar's content-line parser."""
    line = found.group()
    if line.endswith("\r") and found.end() < len(text):
        line = line[:-1]  # icalendar splits lines at \r?\n
    if plain := _PLAIN.fullmatch(line):
        return plain.group(1), plain.group(2)
    try:
        name, _params, value = Contentline(line).parts()
    except ValueError:
        raise _Irregular from None
    return name.upper(), value


def _scan(text: str) -> list[_Calendar]:
    calendars: list[_Calendar] = []
    stack: list[str] = []
    at = 0  # where the text outside every calendar continues
    for found in _CANDIDATE.finditer(text):
        name, value = _parts(text, found)
        if name == "BEGIN":
            stack.append(value.upper())
            if len(stack) == 1:
                if stack[0] != "VCALENDAR" or text[at:found.start()].strip("\r\n"):
                    raise _Irregular
                calendars.append(_Calendar(found.start()))
            elif len(stack) == 2:
                calendars[-1].blocks.append(_Block(stack[1], found.start()))
        elif name == "END":
            if not stack or stack.pop() != value.upper():
                raise _Irregular
            if len(stack) == 1:
                calendars[-1].blocks[-1].end = _line_end(text, found.end())
            elif not stack:
                at = calendars[-1].end = _line_end(text, found.end())
        elif len(stack) == 2 and stack[1] == "VEVENT":  # a VEVENT's own UID
            block = calendars[-1].blocks[-1]
            block.uid, block.uids = value, block.uids + 1
    if stack or text[at:].strip("\r\n") or not calendars:
        raise _Irregular
    if any(b.uids > 1 for c in calendars for b in c.blocks):
        raise _Irregular
    return calendars


def plan(text: str) -> Plan | None:
    """The batches of unfolded calendar `text`, or None when its structure is not plain
    (see the module docstring) or the text is not unfolded the way icalendar unfolds."""
    if text[:1] in (" ", "\t") or UFOLD.search(text):
        return None
    try:
        return Plan(text, tuple(_scan(text)))
    except _Irregular:
        return None


def _batches(text: str, calendar: _Calendar, size: int) -> Iterator[Batch]:
    """The batches of one calendar: its own lines, its VTIMEZONEs, and whole UID groups
    of VEVENTs up to `size` characters; the other components in the first batch."""
    own, at = [], calendar.start
    for block in calendar.blocks:
        own.append(text[at:block.start])
        at = block.end
    own.append(text[at:calendar.end])
    head, tail = "".join(own[:-1]), own[-1]  # ... END:VCALENDAR is the last line
    zones = [b for b in calendar.blocks if b.name == "VTIMEZONE"]
    others = [b for b in calendar.blocks if b.name not in ("VEVENT", "VTIMEZONE")]
    groups: dict[object, list[_Block]] = {}
    for block in calendar.blocks:
        if block.name == "VEVENT":  # no UID: a series of its own (recurring-ical-events)
            groups.setdefault(block.uid if block.uid is not None else id(block),
                              []).append(block)
    chosen, chars, events, first = zones + others, 0, 0, True
    for group in groups.values():
        chosen += group
        events += len(group)
        chars += sum(b.end - b.start for b in group)
        if chars >= size:
            yield _batch(text, head, chosen, tail, events)
            chosen, chars, events, first = list(zones), 0, 0, False
    if events or first:
        yield _batch(text, head, chosen, tail, events)


def _batch(text: str, head: str, blocks: list[_Block], tail: str, events: int) -> Batch:
    """The calendar's own lines, then `blocks` in the file's order (a VTIMEZONE is read
    where it stands, as in the whole file), then END:VCALENDAR."""
    blocks.sort(key=lambda b: b.start)
    return Batch(head + "".join(text[b.start:b.end] for b in blocks) + tail, events)
