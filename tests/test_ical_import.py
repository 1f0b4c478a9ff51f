"""core/ical_import.py and core/ical_bounds.py: calendar text -> busy intervals, no app.

The fixtures in tests/fixtures/ics were written for these tests: each reproduces the
documented quirks of one producer's export (Google Calendar, Outlook / Exchange, Apple
Calendar, Evolution / Thunderbird's libical), and its events say in their DESCRIPTION which
quirk they carry. Each file has a test of its exact busy intervals, and each quirk a row
in QUIRKS. The therapist is in Europe/Berlin and the clock at 2027-01-04 unless a test
says otherwise; the weeks are those of the 2027 daylight-saving changes (US 14 Mar and
7 Nov, EU 28 Mar and 31 Oct).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import calendar_parses as ical_import
import pytest
from dateutil.rrule import DAILY, MONTHLY, WEEKLY, rrule
from hypothesis import given, settings
from hypothesis import strategies as st

from athlete_sched.core import ical_bounds
from athlete_sched.core.errors import CalendarTooComplex, CalendarUnparsable
from athlete_sched.core.ical_import import Limits, busy_intervals
from athlete_sched.core.intervals import Interval

FIXTURES = Path(__file__).parent / "fixtures" / "ics"
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2027, 1, 4, tzinfo=UTC)
HORIZON = Interval(NOW - timedelta(days=1), NOW + timedelta(days=400))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def spans(*pairs: tuple[str, str]) -> list[Interval]:
    return [Interval(utc(a), utc(b)) for a, b in pairs]


def ics(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def calendar(*events: str, head: str = "") -> bytes:
    """A VCALENDAR around VEVENT bodies (lines joined with CRLF)."""
    body = "".join(f"BEGIN:VEVENT\r\nUID:e{n}@test\r\nDTSTAMP:20261201T000000Z\r\n"
                   f"{event.strip().replace(chr(10), chr(13) + chr(10))}\r\nEND:VEVENT\r\n"
                   for n, event in enumerate(events))
    return (f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{head}{body}"
            "END:VCALENDAR\r\n").encode()


def busy(data: bytes, tz: ZoneInfo = BERLIN, limits: Limits | None = None) -> list[Interval]:
    return busy_intervals(data, tz, HORIZON, limits)


# --- every fixture, exactly ---------------------------------------------------------------

EXPECTED = {
    "google.ics": spans(
        ("2027-03-22T08:00Z", "2027-03-22T09:00Z"), ("2027-03-24T13:00Z", "2027-03-24T14:00Z"),
        ("2027-03-27T23:00Z", "2027-03-28T22:00Z"), ("2027-03-29T07:00Z", "2027-03-29T08:00Z"),
        ("2027-04-05T07:00Z", "2027-04-05T08:00Z"), ("2027-10-27T08:00Z", "2027-10-27T09:30Z"),
        ("2027-10-29T13:00Z", "2027-10-29T14:00Z"), ("2027-10-31T09:00Z", "2027-10-31T10:30Z"),
        ("2027-11-05T23:00Z", "2027-11-07T23:00Z")),
    "outlook.ics": spans(
        ("2027-10-26T07:00Z", "2027-10-26T08:00Z"), ("2027-10-31T23:00Z", "2027-11-01T23:00Z"),
        ("2027-11-02T08:00Z", "2027-11-02T09:00Z"), ("2027-11-03T09:00Z", "2027-11-03T10:00Z"),
        ("2027-11-04T07:00Z", "2027-11-04T07:30Z"), ("2027-11-05T14:00Z", "2027-11-05T15:00Z"),
        ("2027-11-12T15:00Z", "2027-11-12T16:00Z")),
    "apple.ics": spans(
        ("2027-03-10T14:00Z", "2027-03-10T15:00Z"), ("2027-03-13T23:00Z", "2027-03-14T23:00Z"),
        ("2027-03-15T07:00Z", "2027-03-15T09:00Z"), ("2027-03-17T13:00Z", "2027-03-17T14:00Z"),
        ("2027-10-30T22:00Z", "2027-10-31T23:00Z"), ("2027-11-01T11:00Z", "2027-11-01T12:00Z"),
        ("2027-11-08T11:00Z", "2027-11-08T12:00Z"), ("2027-11-15T11:00Z", "2027-11-15T12:00Z")),
    "libical.ics": spans(
        ("2027-03-26T16:00Z", "2027-03-26T17:00Z"), ("2027-03-27T16:00Z", "2027-03-27T17:00Z"),
        ("2027-03-28T15:00Z", "2027-03-28T16:00Z"), ("2027-10-29T06:00Z", "2027-10-29T07:00Z"),
        ("2027-10-30T06:00Z", "2027-10-30T07:00Z"), ("2027-10-31T07:00Z", "2027-10-31T08:00Z"),
        ("2027-11-01T07:00Z", "2027-11-01T08:00Z")),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_gives_exactly_its_busy_intervals(name):
    assert busy(ics(name)) == EXPECTED[name]


# --- one row per quirk: "busy" = exactly this interval is busy; "free" = nothing of it is --

QUIRKS = [
    ("google.ics", "x-wr-timezone: a UTC weekly event keeps 09:00 Berlin after DST starts",
     "2027-03-29T07:00Z", "2027-03-29T08:00Z", "busy"),
    ("google.ics", "x-wr-timezone: ...and is not left at 08:00Z (10:00 Berlin)",
     "2027-03-29T08:00Z", "2027-03-29T09:00Z", "free"),
    ("google.ics", "floating time read in the X-WR-TIMEZONE", "2027-03-24T13:00Z",
     "2027-03-24T14:00Z", "busy"),
    ("google.ics", "all-day on the day DST starts: 23 hours", "2027-03-27T23:00Z",
     "2027-03-28T22:00Z", "busy"),
    ("google.ics", "TRANSP:TRANSPARENT blocks nothing", "2027-03-23T11:00Z",
     "2027-03-23T12:00Z", "free"),
    ("google.ics", "EXDATE removes an occurrence", "2027-10-28T00:00Z", "2027-10-29T00:00Z",
     "free"),
    ("google.ics", "RECURRENCE-ID override moves an occurrence", "2027-10-29T13:00Z",
     "2027-10-29T14:00Z", "busy"),
    ("google.ics", "...and its original time is free", "2027-10-29T08:00Z",
     "2027-10-29T09:30Z", "free"),
    ("google.ics", "a cancelled override blocks nothing", "2027-10-30T00:00Z",
     "2027-10-31T00:00Z", "free"),
    ("google.ics", "a series across DST end keeps 10:00 local", "2027-10-31T09:00Z",
     "2027-10-31T10:30Z", "busy"),
    ("google.ics", "a two-day all-day event", "2027-11-05T23:00Z", "2027-11-07T23:00Z", "busy"),
    ("outlook.ics", "Windows zone name as TZID, before DST ends", "2027-10-26T07:00Z",
     "2027-10-26T08:00Z", "busy"),
    ("outlook.ics", "Windows zone name as TZID, after DST ends", "2027-11-02T08:00Z",
     "2027-11-02T09:00Z", "busy"),
    ("outlook.ics", "X-MICROSOFT-CDO-BUSYSTATUS:FREE blocks nothing", "2027-10-26T09:00Z",
     "2027-10-26T11:00Z", "free"),
    ("outlook.ics", "X-MICROSOFT-CDO-INTENDEDSTATUS:FREE without BUSYSTATUS",
     "2027-10-27T00:00Z", "2027-10-28T00:00Z", "free"),
    ("outlook.ics", "all-day out of office (OOF) blocks the local day", "2027-10-31T23:00Z",
     "2027-11-01T23:00Z", "busy"),
    ("outlook.ics", "all-day shown as free blocks nothing", "2027-11-05T00:00Z",
     "2027-11-05T14:00Z", "free"),
    ("outlook.ics", "Customized Time Zone from the file's own VTIMEZONE", "2027-11-03T09:00Z",
     "2027-11-03T10:00Z", "busy"),
    ("outlook.ics", "tentative blocks", "2027-11-04T07:00Z", "2027-11-04T07:30Z", "busy"),
    ("outlook.ics", "STATUS:CANCELLED blocks nothing", "2027-11-04T08:00Z",
     "2027-11-04T12:00Z", "free"),
    ("outlook.ics", "Eastern Standard Time before the US DST end", "2027-11-05T14:00Z",
     "2027-11-05T15:00Z", "busy"),
    ("outlook.ics", "Eastern Standard Time after the US DST end", "2027-11-12T15:00Z",
     "2027-11-12T16:00Z", "busy"),
    ("apple.ics", "IANA-named VTIMEZONE, before the US DST start", "2027-03-10T14:00Z",
     "2027-03-10T15:00Z", "busy"),
    ("apple.ics", "...after it, the UTC UNTIL is inclusive", "2027-03-17T13:00Z",
     "2027-03-17T14:00Z", "busy"),
    ("apple.ics", "floating all-day: the therapist's local day", "2027-03-13T23:00Z",
     "2027-03-14T23:00Z", "busy"),
    ("apple.ics", "DURATION instead of DTEND (and VALARMs ignored)", "2027-03-15T07:00Z",
     "2027-03-15T09:00Z", "busy"),
    ("apple.ics", "RDATE adds occurrences", "2027-11-15T11:00Z", "2027-11-15T12:00Z", "busy"),
    ("apple.ics", "date-time DTSTART alone lasts no time", "2027-11-02T00:00Z",
     "2027-11-02T23:00Z", "free"),
    ("apple.ics", "all-day DTSTART alone is one day: 25 hours as DST ends", "2027-10-30T22:00Z",
     "2027-10-31T23:00Z", "busy"),
    ("libical.ics", "Evolution's /freeassociation.sourceforge.net/ TZID, folded",
     "2027-03-28T15:00Z", "2027-03-28T16:00Z", "busy"),
    ("libical.ics", "Lightning's /mozilla.org/ TZID across DST end", "2027-10-31T07:00Z",
     "2027-10-31T08:00Z", "busy"),
]


@pytest.mark.parametrize(("name", "quirk", "start", "end", "expected"), QUIRKS,
                         ids=[f"{row[0]}: {row[1]}" for row in QUIRKS])
def test_quirk(name, quirk, start, end, expected):
    found = busy(ics(name))
    span = Interval(utc(start), utc(end))
    if expected == "busy":
        assert span in found, quirk
    else:
        assert not [i for i in found if i.start < span.end and span.start < i.end], quirk


# --- zones ---------------------------------------------------------------------------------

CUSTOM = """BEGIN:VTIMEZONE\r\nTZID:Customized Time Zone\r\nBEGIN:STANDARD\r
DTSTART:16010101T000000\r\nTZOFFSETFROM:{0}\r\nTZOFFSETTO:{0}\r\nEND:STANDARD\r
END:VTIMEZONE\r\n"""
AT_NOON = 'DTSTART;TZID="Customized Time Zone":20270601T120000\nDURATION:PT1H'


def test_two_files_with_the_same_custom_tzid_keep_their_own_rules():
    """icalendar caches VTIMEZONEs process-wide by TZID; each import must still use its
    own file's definition (Outlook names every custom zone "Customized Time Zone")."""
    plus3 = calendar(AT_NOON, head=CUSTOM.format("+0300"))
    minus5 = calendar(AT_NOON, head=CUSTOM.format("-0500"))
    for _ in range(2):
        assert busy(plus3) == spans(("2027-06-01T09:00Z", "2027-06-01T10:00Z"))
        assert busy(minus5) == spans(("2027-06-01T17:00Z", "2027-06-01T18:00Z"))


@pytest.mark.parametrize(("zone", "expected"), [
    ("Europe/Berlin", [("2027-06-01T07:00Z", "2027-06-01T08:00Z"),
                       ("2027-06-02T22:00Z", "2027-06-03T22:00Z")]),
    ("America/New_York", [("2027-06-01T13:00Z", "2027-06-01T14:00Z"),
                          ("2027-06-03T04:00Z", "2027-06-04T04:00Z")]),
])
def test_floating_times_and_all_day_events_follow_the_therapists_zone(zone, expected):
    data = calendar("DTSTART:20270601T090000\nDTEND:20270601T100000",
                    "DTSTART;VALUE=DATE:20270603")
    assert busy(data, ZoneInfo(zone)) == spans(*expected)


@pytest.mark.parametrize(("header", "expected"), [
    ("X-WR-TIMEZONE:Mars/Olympus_Mons\r\n", ("2027-06-01T07:00Z", "2027-06-01T08:00Z")),
    ("X-WR-TIMEZONE:W. Europe Standard Time\r\n", ("2027-06-01T07:00Z", "2027-06-01T08:00Z")),
    ("X-WR-TIMEZONE:America/New_York\r\n", ("2027-06-01T13:00Z", "2027-06-01T14:00Z")),
], ids=["unknown-zone-ignored", "windows-name-mapped", "iana-name"])
def test_x_wr_timezone_values(header, expected):
    data = calendar("DTSTART:20270601T090000\nDTEND:20270601T100000", head=header)
    assert busy(data) == spans(expected)


def test_an_unknown_tzid_without_vtimezone_reads_as_floating():
    data = calendar("DTSTART;TZID=Nowhere/Atlantis:20270601T090000\nDURATION:PT30M")
    assert busy(data) == spans(("2027-06-01T07:00Z", "2027-06-01T07:30Z"))


# --- ends, merging, horizon ---------------------------------------------------------------

def test_touching_and_overlapping_events_merge_and_the_horizon_clips():
    data = calendar("DTSTART:20270601T080000Z\nDTEND:20270601T090000Z",
                    "DTSTART:20270601T090000Z\nDTEND:20270601T093000Z",
                    "DTSTART:20270601T091500Z\nDTEND:20270601T100000Z",
                    "DTSTART:20261201T000000Z\nDTEND:20270105T000000Z",
                    "DTSTART:20290101T000000Z\nDTEND:20290102T000000Z",
                    "DTSTART:20250101T000000Z\nDTEND:20250102T000000Z")
    assert busy(data) == [Interval(HORIZON.start, utc("2027-01-05T00:00Z")),
                          *spans(("2027-06-01T08:00Z", "2027-06-01T10:00Z"))]


def test_count_of_a_billion_stops_at_the_horizon():
    data = calendar("DTSTART:20270101T090000Z\nDTEND:20270101T091500Z\n"
                    "RRULE:FREQ=DAILY;COUNT=1000000000")
    found = busy(data)
    assert len(found) == 401
    assert (found[0].start, found[-1].start) == (utc("2027-01-03T09:00Z"),
                                                 utc("2028-02-07T09:00Z"))


def test_an_old_series_is_expanded_from_a_nearer_start_with_the_same_dates():
    """A fortnightly series from 1995 costs a few hundred steps, not 30 years of them,
    and gives the dates dateutil gives walking from 1995."""
    data = calendar("DTSTART;TZID=Europe/Berlin:19950102T083000\nDURATION:PT1H\n"
                    "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH")
    starts = rrule(WEEKLY, interval=2, byweekday=(0, 3),
                   dtstart=datetime(1995, 1, 2, 8, 30, tzinfo=BERLIN)).between(
        HORIZON.start, HORIZON.end)
    assert len(starts) == 58
    assert busy(data, limits=Limits(max_steps=500)) == [
        Interval(s.astimezone(UTC), (s + timedelta(hours=1)).astimezone(UTC)) for s in starts]


# --- refusals ------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    b"", b"hello", bytes(range(256)) * 4, b"BEGIN:VEVENT\r\nEND:VEVENT\r\n",
    b"BEGIN:VCALENDAR\r\nnot a content line\r\nEND:VCALENDAR\r\n",
    b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\n",
    calendar("DTSTART:20270601T090000Z\nRRULE:FREQ=SOMETIMES"),
    calendar("DTSTART:yesterday at noon\nDURATION:PT1H"),
], ids=["empty", "text", "binary", "no-vcalendar", "bad-line", "unterminated", "bad-rrule",
        "bad-dtstart"])
def test_what_does_not_parse_is_refused(data):
    with pytest.raises(CalendarUnparsable) as caught:
        busy(data)
    assert caught.value.code == "calendar-unparsable"


def test_an_overlong_tzid_is_refused_before_icalendar_looks_it_up():
    """icalendar tries every "/" suffix of a TZID on each use: /a/a/.../x would cost
    quadratic time (folded lines are joined first, so folding does not hide it)."""
    tzid = "/" + "a/" * 300 + "Europe/Berlin"
    data = calendar(f"DTSTART;TZID={tzid}:20270601T090000\nDURATION:PT1H")
    folded = data.replace(b"a/a/", b"a/\r\n a/")
    for body in (data, folded):
        with pytest.raises(CalendarUnparsable, match="TZID"):
            busy(body)


def test_many_custom_zones_are_too_complex_and_unclosed_blocks_are_cheap():
    zones = "".join(CUSTOM.replace("Customized Time Zone", f"Zone {n}").format("+0100")
                    for n in range(101))
    with pytest.raises(CalendarTooComplex, match="time zones"):
        busy(calendar(AT_NOON, head=zones))
    with pytest.raises(CalendarUnparsable):
        busy(calendar(AT_NOON, head="BEGIN:VTIMEZONE\r\n" * 20_000))


def test_bad_octets_in_a_text_property_are_tolerated():
    data = calendar("SUMMARY:Caf\xe9\nDTSTART:20270601T090000Z\nDURATION:PT1H")
    data = data.replace("Caf\xe9".encode(), b"Caf\xe9")  # Latin-1, not UTF-8
    assert busy(data) == spans(("2027-06-01T09:00Z", "2027-06-01T10:00Z"))


@pytest.mark.parametrize("rule", [
    "FREQ=SECONDLY", "FREQ=SECONDLY;COUNT=1000000000", "FREQ=MINUTELY;COUNT=1000000000",
    "FREQ=MINUTELY;INTERVAL=1;BYHOUR=9,10,11",
])
def test_rules_of_seconds_and_minutes_are_too_complex_before_any_expansion(rule):
    data = calendar(f"DTSTART:20270110T090000Z\nDURATION:PT1M\nRRULE:{rule}")
    with pytest.raises(CalendarTooComplex, match="steps"):
        busy(data)


NEVER = ["FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "FREQ=WEEKLY;BYMONTH=4;BYMONTHDAY=31",
         "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=31", "FREQ=MONTHLY;BYMONTH=6;BYMONTHDAY=31",
         "FREQ=DAILY;BYSETPOS=2", "FREQ=YEARLY;BYYEARDAY=367"]


@pytest.mark.parametrize("rule", NEVER)
def test_a_rule_that_never_matches_ends_within_a_small_budget(rule):
    """dateutil alone walks such a rule to the year 9999 (tens of seconds); here the walk
    ends a month after the span: 20,000 steps are plenty (an hourly rule takes ~9,600 to
    cross the horizon). DTSTART itself is an occurrence."""
    data = calendar(f"DTSTART:20270110T090000Z\nDURATION:PT1H\nRRULE:{rule}")
    assert busy(data, limits=Limits(max_steps=20_000)) == spans(
        ("2027-01-10T09:00Z", "2027-01-10T10:00Z"))


def test_a_rule_from_centuries_ago_is_too_complex():
    data = calendar("DTSTART:16000101T090000Z\nDURATION:PT1H\nRRULE:FREQ=DAILY;COUNT=10000000")
    with pytest.raises(CalendarTooComplex):
        busy(data, limits=Limits(max_steps=20_000))


def overrides(count: int) -> bytes:
    master = "UID:series@test\nDTSTART:20270104T090000Z\nDURATION:PT1H\nRRULE:FREQ=DAILY"
    moved = [f"UID:series@test\nRECURRENCE-ID:{day:%Y%m%d}T090000Z\n"
             f"DTSTART:{day:%Y%m%d}T100000Z\nDURATION:PT1H"
             for day in (date(2027, 1, 5) + timedelta(days=n) for n in range(count))]
    return calendar(master, *moved).replace(b"UID:e", b"X-N:e")


def test_thousands_of_overrides_are_too_complex():
    assert len(busy(overrides(3))) == 400
    with pytest.raises(CalendarTooComplex, match="changed occurrences"):
        busy(overrides(1_001))


@pytest.mark.parametrize(("limits", "data", "match"), [
    (Limits(max_events=3), calendar(*["DTSTART:20270601T090000Z"] * 4), "events"),
    (Limits(max_occurrences=10),
     calendar("DTSTART:20270601T090000Z\nDURATION:PT1H\nRRULE:FREQ=DAILY;COUNT=11"),
     "occurrences"),
], ids=["events", "occurrences"])
def test_limits(limits, data, match):
    with pytest.raises(CalendarTooComplex, match=match):
        busy(data, limits=limits)


def test_every_parse_is_counted():
    before = ical_import.parse_count()
    busy(ics("google.ics"))
    with pytest.raises(CalendarUnparsable):
        busy(b"nope")
    assert ical_import.parse_count() == before + 2


# --- the bounded rule gives dateutil's dates ------------------------------------------------

def wall(*fields: int) -> datetime:
    """A naive wall-clock datetime, as dateutil's rules take them."""
    return datetime(*fields)  # noqa: DTZ001


rules = st.builds(
    lambda freq, interval, start, by, until: rrule(
        freq, interval=interval, dtstart=start, until=until, **by),
    st.sampled_from([DAILY, WEEKLY, MONTHLY]), st.integers(1, 4),
    st.datetimes(wall(1990, 1, 1), wall(2027, 6, 1)),
    st.fixed_dictionaries({}, optional={"byweekday": st.lists(st.integers(0, 6), min_size=1,
                                                               max_size=3, unique=True),
                                        "bymonth": st.lists(st.integers(1, 12), min_size=1,
                                                            max_size=4, unique=True),
                                        "bymonthday": st.lists(st.integers(1, 28),
                                                               min_size=1, max_size=3,
                                                               unique=True)}),
    st.one_of(st.none(), st.datetimes(wall(2026, 1, 1), wall(2029, 1, 1))))


@settings(max_examples=150, deadline=None, derandomize=True)
@given(rule=rules, after=st.datetimes(wall(2026, 6, 1), wall(2028, 1, 1)),
       days=st.integers(0, 120))
def test_the_bounded_rule_yields_exactly_what_dateutil_does(rule, after, days):
    before = after + timedelta(days=days)
    bounded = ical_bounds.BoundedRule.of(rule, ical_bounds.Budget(10**7))
    assert list(bounded.between(after, before, inc=True)) == rule.between(after, before,
                                                                          inc=True)
