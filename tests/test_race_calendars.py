"""Race calendars through the API, on SQLite and PostgreSQL (clock pinned to conftest's NOW,
Mon 4 Jan 2027): PUT .../race-calendar with our fixtures (a race series' all-day races,
a stage race, a cancelled race, a platform's timed starts in their own zones), imported
again and in a second version where a race moved and one disappeared; sessions follow a
moved race; a removed race is deleted or kept marked; a bad calendar changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from api.helpers import assert_error, book, ok, snapshot

FIXTURES = Path(__file__).parent / "fixtures" / "race_calendars"
SERIES, SERIES_V2, PLATFORM = ("alpine_bike_cup_2027.ics", "alpine_bike_cup_2027_v2.ics",
                               "peakplan_races.ics")
GRAVEL = "abc-2027-02@alpinebikecup.example"  # Sat 22 May 2027, moved to 29 May in v2
TRAIL = "abc-2027-05@alpinebikecup.example"  # Sat 14 Aug 2027, gone in v2


def ics(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def url(athlete_id: int) -> str:
    return f"/api/v1/athletes/{athlete_id}/race-calendar"


def upload(api, athlete_id: int, data: bytes, content_type: str = "text/calendar"):
    return api.put(url(athlete_id), data=data, headers={"Content-Type": content_type})


def races_of(app, api, athlete_id: int) -> dict[str, dict[str, Any]]:
    """The athlete's events that came from a race calendar, by UID, as GET /events/{id}."""
    from athlete_sched.db.models import Event
    from athlete_sched.extensions import db

    with app.app_context():
        ids = db.session.scalars(db.select(Event.id).where(
            Event.athlete_id == athlete_id, Event.calendar_uid.is_not(None))).all()
        db.session.rollback()
    found = [ok(api.get(f"/api/v1/events/{i}")) for i in ids]
    return {e["calendar_uid"]: e for e in found}


@pytest.fixture
def mara(make_athlete) -> dict[str, Any]:
    return make_athlete(name="Mara Rider", sport="running", timezone="Europe/Berlin")


def counts(created=0, updated=0, removed=0, unchanged=0) -> dict[str, int]:
    return {"created": created, "updated": updated, "removed": removed,
            "unchanged": unchanged}


def test_first_import_creates_each_race_once_and_again_changes_nothing(app, api, mara):
    # 6 VEVENTs: #4 is cancelled, the 2026 final is over: 4 races
    assert ok(upload(api, mara["id"], ics(SERIES))) == counts(created=4)
    found = races_of(app, api, mara["id"])
    assert {uid.split("@")[0]: (e["name"].split(" - ")[1], e["sport"], e["start"], e["end"],
                                e["all_day"], e["timezone"], e["removed_from_calendar"])
            for uid, e in found.items()} == {
        "abc-2027-01": ("Lenzerheide XCO", "mtb", "2027-04-24", None, True, "Europe/Zurich",
                        False),
        "abc-2027-02": ("Gravel Classic Chur", "cycling", "2027-05-22", None, True,
                        "Europe/Zurich", False),
        "abc-2027-03": ("Engadin Stage Race", "mtb", "2027-06-12", "2027-06-14", True,
                        "Europe/Zurich", False),
        "abc-2027-05": ("Trail Run Arosa", "running", "2027-08-14", None, True,
                        "Europe/Zurich", False)}
    stage = found["abc-2027-03@alpinebikecup.example"]  # windows around 12-14 June
    assert stage["windows"]["pre"] == {"start": "2027-06-08T22:00:00Z",
                                       "end": "2027-06-10T22:00:00Z"}
    assert stage["windows"]["post"]["start"] == "2027-06-14T22:00:00Z"
    assert ok(upload(api, mara["id"], ics(SERIES))) == counts(unchanged=4)
    assert races_of(app, api, mara["id"]) == found  # keyed by UID: nothing twice


def test_the_second_version_moves_one_race_and_removes_the_one_gone(app, api, mara):
    ok(upload(api, mara["id"], ics(SERIES)))
    before = races_of(app, api, mara["id"])
    assert ok(upload(api, mara["id"], ics(SERIES_V2))) == counts(updated=1, removed=1,
                                                                 unchanged=2)
    after = races_of(app, api, mara["id"])
    assert TRAIL not in after  # no sessions: deleted
    assert after[GRAVEL]["id"] == before[GRAVEL]["id"]  # the same event, moved
    assert (after[GRAVEL]["start"], after[GRAVEL]["name"]) == (
        "2027-05-29", "Alpine Bike Cup #2 - Gravel Classic Chur (new date)")
    assert api.get(f"/api/v1/events/{before[TRAIL]['id']}").status_code == 404


def test_a_moved_race_moves_its_sessions(app, api, mara, make_therapist):
    ana = make_therapist(name="Ana Ruiz", timezone="Europe/Zurich")
    ok(upload(api, mara["id"], ics(SERIES)))
    gravel = races_of(app, api, mara["id"])[GRAVEL]
    pre = book(api, gravel["id"], ana["id"], "pre", "2027-05-19T09:00")  # Wed, pre window
    ok(upload(api, mara["id"], ics(SERIES_V2)))
    moved = ok(api.get(f"/api/v1/bookings/{pre['id']}"))
    assert moved["status"] == "confirmed" and moved.get("flag") is None
    assert moved["sequence"] == pre["sequence"] + 1  # the same session, rescheduled
    assert "2027-05-25T22:00:00Z" <= moved["start"] < "2027-05-27T22:00:00Z"
    assert races_of(app, api, mara["id"])[GRAVEL]["windows"]["pre"] == {
        "start": "2027-05-25T22:00:00Z", "end": "2027-05-27T22:00:00Z"}


def test_a_session_that_cannot_follow_is_flagged(app, api, mara, make_therapist):
    # Ana works on Wednesdays only: the race moved a week on, the session follows to the
    # next Wednesday; moved to a Monday (pre window Fri and Sat) it cannot, and is flagged.
    ana = make_therapist(name="Ana Ruiz", timezone="Europe/Zurich", working_hours=[
        {"day": "wed", "start": "08:00", "end": "18:00"}])
    ok(upload(api, mara["id"], ics(SERIES)))
    gravel = races_of(app, api, mara["id"])[GRAVEL]
    pre = book(api, gravel["id"], ana["id"], "pre", "2027-05-19T09:00")
    ok(upload(api, mara["id"], ics(SERIES_V2)))  # new pre window Wed 26 + Thu 27 May
    moved = ok(api.get(f"/api/v1/bookings/{pre['id']}"))
    assert moved["start"].startswith("2027-05-26")  # Wednesday: she works then
    ok(upload(api, mara["id"], ics(SERIES_V2).replace(b"20270529", b"20270531")
              .replace(b"20270530", b"20270601")))  # Mon 31 May: pre Fri 28 + Sat 29
    stranded = ok(api.get(f"/api/v1/bookings/{pre['id']}"))
    assert (stranded["start"], stranded["flag"]) == (moved["start"], "outside-window")


def test_a_race_gone_with_sessions_is_kept_and_marked(app, api, mara, make_therapist):
    ana = make_therapist(name="Ana Ruiz")
    ok(upload(api, mara["id"], ics(SERIES)))
    trail = races_of(app, api, mara["id"])[TRAIL]
    post = book(api, trail["id"], ana["id"], "post", "2027-08-16T09:00")
    assert ok(upload(api, mara["id"], ics(SERIES_V2)))["removed"] == 1
    kept = ok(api.get(f"/api/v1/events/{trail['id']}"))
    assert (kept["removed_from_calendar"], kept["calendar_uid"]) == (True, TRAIL)
    assert ok(api.get(f"/api/v1/bookings/{post['id']}"))["status"] == "confirmed"
    assert ok(upload(api, mara["id"], ics(SERIES_V2)))["removed"] == 0  # marked once
    ok(upload(api, mara["id"], ics(SERIES)))  # back in the calendar: the mark goes
    assert ok(api.get(f"/api/v1/events/{trail['id']}"))["removed_from_calendar"] is False


def test_a_cancelled_race_is_removed(app, api, mara):
    ok(upload(api, mara["id"], ics(SERIES)))
    cancelled = ics(SERIES).replace(
        b"SUMMARY:Alpine Bike Cup #1", b"STATUS:CANCELLED\r\nSUMMARY:Alpine Bike Cup #1")
    assert ok(upload(api, mara["id"], cancelled)) == counts(removed=1, unchanged=3)
    assert "abc-2027-01@alpinebikecup.example" not in races_of(app, api, mara["id"])


def test_a_platform_timed_starts_keep_their_zones(app, api, mara):
    assert ok(upload(api, mara["id"], ics(PLATFORM))) == counts(created=4)
    found = {uid.split("@")[0]: e for uid, e in races_of(app, api, mara["id"]).items()}
    assert {uid: (e["timezone"], e["start"], e["end"], e["all_day"], e["finish_known"],
                  e["sport"]) for uid, e in found.items()} == {
        "peakplan-race-88213": ("America/Denver", "2027-06-05T12:30:00Z",
                                "2027-06-05T17:00:00Z", False, True, "mtb"),
        "peakplan-race-88240": ("Europe/Zurich", "2027-08-29T06:00:00Z",
                                "2027-08-29T09:30:00Z", False, True, "running"),
        "peakplan-race-88302": ("Europe/Berlin", "2027-09-18T07:00:00Z", None, False, False,
                                "triathlon"),
        "peakplan-race-88355": ("Europe/Berlin", "2027-10-09T07:00:00Z",
                                "2027-10-09T08:15:00Z", False, True, "running")}
    # Denver's pre window: local days D-3 and D-2 in Denver (MDT, UTC-6)
    assert found["peakplan-race-88213"]["windows"]["pre"] == {
        "start": "2027-06-02T06:00:00Z", "end": "2027-06-04T06:00:00Z"}


def test_no_word_for_the_sport_takes_the_athletes(app, api, make_athlete):
    jo = make_athlete(sport="triathlon")
    body = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
            b"UID:club-champs\r\nDTSTART;VALUE=DATE:20270703\r\nSUMMARY:Club championship\r\n"
            b"END:VEVENT\r\nEND:VCALENDAR\r\n")
    ok(upload(api, jo["id"], body))
    assert races_of(app, api, jo["id"])["club-champs"]["sport"] == "triathlon"


BROKEN_RACE = (b"BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20270904\r\nSUMMARY:No UID\r\n"
               b"END:VEVENT\r\nEND:VCALENDAR")
LONG_RACE = (b"BEGIN:VEVENT\r\nUID:too-long\r\nDTSTART;VALUE=DATE:20270901\r\n"
             b"DTEND;VALUE=DATE:20280101\r\nSUMMARY:A season\r\nEND:VEVENT\r\nEND:VCALENDAR")


@pytest.mark.parametrize(("tail", "code", "says"), [
    (BROKEN_RACE, "calendar-unparsable", "has no UID"),
    (LONG_RACE, "calendar-unparsable", "too-long cannot be a race"),
])
def test_a_bad_calendar_changes_nothing(app, api, mara, make_therapist, tail, code, says):
    ana = make_therapist()
    ok(upload(api, mara["id"], ics(SERIES)))
    gravel = races_of(app, api, mara["id"])[GRAVEL]
    book(api, gravel["id"], ana["id"], "pre", "2027-05-19T09:00")
    before = snapshot(app)
    bad = ics(SERIES_V2).replace(b"END:VCALENDAR", tail)  # a moved race, and a bad one
    error = assert_error(upload(api, mara["id"], bad), 422, code, "body")
    assert says in error["message"]
    assert snapshot(app) == before


def test_not_a_calendar_is_415_and_too_big_is_413(app, api, mara):
    assert_error(upload(api, mara["id"], ics(SERIES), "application/json"), 415,
                 "unsupported-media-type")
    app.config["CALENDAR_MAX_BYTES"] = 1000
    assert upload(api, mara["id"], ics(SERIES)).status_code == 413


def test_who_may_import(api, mara, make_athlete, make_user):
    other = make_athlete()
    mara_token = make_user("athlete", mara["email"])
    assert ok(upload(api.as_(mara_token), mara["id"], ics(SERIES)))["created"] == 4
    assert_error(upload(api.as_(mara_token), other["id"], ics(SERIES)), 404)
    therapist = make_user("therapist")
    assert_error(upload(api.as_(therapist), mara["id"], ics(SERIES)), 404)
