"""core/race_calendar.py: race calendars as races (no app, no database), read from our own
fixtures (tests/fixtures/race_calendars/) that look like a race series' and a training
platform's exports, and from small literal calendars."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from athlete_sched.core.errors import CalendarUnparsable
from athlete_sched.core.race_calendar import guess_sport, races

FIXTURES = Path(__file__).parent.parent / "fixtures" / "race_calendars"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def calendar(*events: str, head: str = "") -> bytes:
    body = "".join(f"BEGIN:VEVENT\r\n{e.strip()}\r\nEND:VEVENT\r\n" for e in events)
    return (f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{head}{body}"
            "END:VCALENDAR\r\n").encode()


def by_uid(data: bytes, zone: str = "Europe/Berlin") -> dict:
    return {r.uid.split("@")[0]: r for r in races(data, zone)}


@pytest.mark.parametrize(("summary", "categories", "sport"), [
    ("Alpine Bike Cup #1 - Lenzerheide XCO", ["MTB"], "mtb"),  # a category says it
    ("Leadville Silver Rush 50 MTB", ["Race"], "mtb"),  # the summary says it
    ("Mountain Bike Marathon Graubuenden", [], "mtb"),  # "marathon" of a bike race
    ("Gravel Classic Chur", [], "cycling"),
    ("Ironman 70.3 Lake Placid", [], "triathlon"),
    ("Triathlon Zug - 10K run leg", [], "triathlon"),  # a triathlon, not a 10K
    ("Zurich Marathon", [], "running"),
    ("Autumn 10K", [], "running"),
    ("Eiger Ultra Trail E101", [], "running"),
    ("Trailhead Criterium", [], "cycling"),  # "trail" only as a whole word
    ("Club championship", ["Race"], None),  # nothing tells: the athlete's sport
])
def test_the_sport_is_guessed_from_summary_and_categories(summary, categories, sport):
    assert guess_sport(summary, categories) == sport


def test_a_race_series_all_day_races_stage_race_and_cancelled_race():
    found = by_uid(fixture("alpine_bike_cup_2027.ics"))
    assert list(found) == ["abc-2027-01", "abc-2027-02", "abc-2027-03", "abc-2027-04",
                           "abc-2027-05", "abc-2026-09"]
    first = found["abc-2027-01"]
    # all-day: X-WR-TIMEZONE (Europe/Zurich) is the calendar's zone; DTEND the next day
    assert (first.start, first.end, first.timezone) == (date(2027, 4, 24), None,
                                                        "Europe/Zurich")
    assert (first.name, first.sport) == ("Alpine Bike Cup #1 - Lenzerheide XCO", "mtb")
    stage = found["abc-2027-03"]  # DTEND 20270615 is exclusive: the last day is 14 June
    assert (stage.start, stage.end) == (date(2027, 6, 12), date(2027, 6, 14))
    assert found["abc-2027-04"].cancelled and not first.cancelled
    assert found["abc-2026-09"].ends_before(datetime(2027, 1, 4, tzinfo=UTC))
    assert not first.ends_before(datetime(2027, 4, 24, 21, 59, tzinfo=UTC))  # 23:59 Zurich
    assert first.ends_before(datetime(2027, 4, 24, 22, 0, tzinfo=UTC))


def test_a_training_platform_timed_starts_keep_their_own_zones():
    found = by_uid(fixture("peakplan_races.ics"))
    leadville = found["peakplan-race-88213"]  # TZID America/Denver, with its VTIMEZONE
    assert leadville.timezone == "America/Denver"
    assert leadville.start.astimezone(UTC) == datetime(2027, 6, 5, 12, 30, tzinfo=UTC)
    assert leadville.end.astimezone(UTC) == datetime(2027, 6, 5, 17, 0, tzinfo=UTC)
    zurich = found["peakplan-race-88240"]  # DURATION: the finish 3 h 30 after the start
    assert zurich.timezone == "Europe/Zurich"
    assert zurich.end.astimezone(UTC) == datetime(2027, 8, 29, 9, 30, tzinfo=UTC)
    ironman = found["peakplan-race-88302"]  # UTC, no end: the athlete's zone, no finish
    assert (ironman.timezone, ironman.end) == ("Europe/Berlin", None)
    assert ironman.start == datetime(2027, 9, 18, 7, 0, tzinfo=UTC)
    floating = found["peakplan-race-88355"]  # floating: wall-clock in the athlete's zone
    assert floating.start == datetime(2027, 10, 9, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))


def test_the_second_version_moves_one_race_and_drops_another():
    first, second = (by_uid(fixture(f"alpine_bike_cup_2027{v}.ics")) for v in ("", "_v2"))
    assert set(first) - set(second) == {"abc-2027-05"}
    assert (first["abc-2027-02"].start, second["abc-2027-02"].start) == (
        date(2027, 5, 22), date(2027, 5, 29))
    assert first["abc-2027-03"] == second["abc-2027-03"]


def test_a_recurring_race_is_its_first_date_and_overrides_are_ignored():
    found = races(calendar(
        "UID:club-tt\r\nDTSTART;VALUE=DATE:20270407\r\nRRULE:FREQ=WEEKLY;COUNT=10\r\n"
        "SUMMARY:Club time trial",
        "UID:club-tt\r\nRECURRENCE-ID;VALUE=DATE:20270414\r\nDTSTART;VALUE=DATE:20270415\r\n"
        "SUMMARY:Club time trial (moved)"), "Europe/Berlin")
    assert [(r.uid, r.start, r.sport) for r in found] == [
        ("club-tt", date(2027, 4, 7), "cycling")]


@pytest.mark.parametrize(("event", "message"), [
    ("DTSTART;VALUE=DATE:20270501\r\nSUMMARY:No UID", "has no UID"),
    ("UID:a\r\nSUMMARY:No start", "has no DTSTART"),
    ("UID:a\r\nDTSTART;VALUE=DATE:20270501\r\nDTEND;VALUE=DATE:20270430", "ends before"),
    ("UID:a\r\nDTSTART:20270501T100000Z\r\nDTEND:20270501T090000Z", "ends before"),
    ("UID:a\r\nDTSTART;VALUE=DATE:20270501\r\nDTEND:20270502T090000Z", "mixes"),
    ("UID:a\r\nDTSTART:2027-05-01", "does not parse"),
])
def test_a_bad_race_refuses_the_whole_calendar_naming_it(event, message):
    with pytest.raises(CalendarUnparsable, match=message):
        races(calendar("UID:good\r\nDTSTART;VALUE=DATE:20270401\r\nSUMMARY:Fine", event),
              "Europe/Berlin")


def test_one_uid_twice_is_refused():
    one = "UID:twice\r\nDTSTART;VALUE=DATE:20270401\r\nSUMMARY:A"
    with pytest.raises(CalendarUnparsable, match="used by two events"):
        races(calendar(one, one), "Europe/Berlin")


def test_a_file_that_is_no_calendar_is_refused():
    with pytest.raises(CalendarUnparsable):
        races(b"Date,Race\n2027-05-01,Marathon\n", "Europe/Berlin")
