"""A race moved without move_bookings, on SQLite and PostgreSQL: each session the new
windows no longer hold is flagged in the database (the booking's "flag"), its athlete told
once by email (plain, nothing the athlete wrote), and the pages show it (the athlete's
season and session pages, the therapist's week) until it is resolved: the session moved
into the new window, cancelled, or the race moved back."""

from __future__ import annotations

from typing import Any

import pytest
from pageutil import text
from test_mail import CLINIC, serve

OUTSIDE = "outside-window"
SUBJECT = "A session no longer fits your race's new dates"
LATER = {"start": "2027-05-22T08:00", "end": "2027-05-22T12:30"}
BACK = {"start": "2027-05-15T08:00", "end": "2027-05-15T12:30"}


@pytest.fixture
def smtp():
    with serve() as server:
        yield server


@pytest.fixture
def app_config(app_config: dict[str, Any], smtp) -> dict[str, Any]:
    return {**app_config, **CLINIC, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port,
            "MAIL_TIMEOUT": 5}


@pytest.fixture
def race(api, make_therapist, make_athlete, make_event, smtp) -> dict[str, Any]:
    """Mara's Secret Trail on Sat 15 May 2027 with her pre session Wed 12 May 09:00 (Ana)."""
    ana = make_therapist(name="Ana Ruiz")
    mara = make_athlete(name="Mara Runner")
    event = make_event(mara["id"], name="Secret Trail")
    made = api.post("/api/v1/bookings", {"event_id": event["id"], "athlete_id": mara["id"],
                                         "therapist_id": ana["id"], "kind": "pre",
                                         "start": "2027-05-12T09:00"})
    assert made.status_code == 201, made.get_json()
    smtp.take()
    return {"ana": ana, "mara": mara, "event": event, "pre": made.get_json(),
            "url": f"/api/v1/events/{event['id']}"}


def booking(api, booking_id: int) -> dict[str, Any]:
    return api.get(f"/api/v1/bookings/{booking_id}").get_json()


def move_race(api, race, dates: dict[str, str]) -> dict[str, Any]:
    answer = api.patch(race["url"], dates)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_the_flag_is_stored_and_the_athlete_told_once(api, race, smtp):
    moved = move_race(api, race, LATER)
    [flagged] = moved["flagged_bookings"]
    assert (flagged["id"], flagged["flag"]) == (race["pre"]["id"], OUTSIDE)
    stored = booking(api, race["pre"]["id"])
    assert stored["flag"] == OUTSIDE and stored["status"] == "confirmed"
    assert stored["start"] == race["pre"]["start"]  # left in place
    [told] = smtp.take()
    assert told.rcpt == [race["mara"]["email"]] and told.message["Subject"] == SUBJECT
    body = told.message.get_content()
    assert "pre-race session on Wed 12 May 2027 09:00 Europe/Berlin" in body
    assert "Secret Trail" not in body  # nothing the athlete wrote
    move_race(api, race, {"name": "Secret Trail 2"})  # still outside: not told again
    move_race(api, race, {"start": "2027-05-23T08:00", "end": "2027-05-23T12:30"})
    assert smtp.take() == []


def test_moving_the_race_back_clears_the_flag(api, race):
    move_race(api, race, LATER)
    back = move_race(api, race, BACK)
    assert back["flagged_bookings"] == []
    assert "flag" not in booking(api, race["pre"]["id"])


def test_cancelling_clears_the_flag(api, race):
    move_race(api, race, LATER)
    cancelled = api.post(f"/api/v1/bookings/{race['pre']['id']}/cancel")
    assert cancelled.status_code == 200
    assert "flag" not in cancelled.get_json() and "flag" not in booking(api, race["pre"]["id"])


def test_moving_the_session_into_the_new_window_clears_the_flag(api, race):
    move_race(api, race, LATER)
    slots = api.get(f"{race['url']}/proposals?kind=pre&limit=1").get_json()["pre"]
    moved = api.patch(f"/api/v1/bookings/{race['pre']['id']}", {"start": slots[0]["start"]})
    assert moved.status_code == 200, moved.get_json()
    assert "flag" not in moved.get_json() and "flag" not in booking(api, race["pre"]["id"])


def test_move_bookings_flags_nothing_it_moved(api, race, smtp):
    moved = api.patch(race["url"], {**LATER, "move_bookings": True}).get_json()
    assert moved["flagged_bookings"] == [] and "flag" not in moved["moved_bookings"][0]
    assert [m for m in smtp.take() if m.message["Subject"] == SUBJECT] == []


WARNING = "This session no longer fits Secret Trail's new dates: move it or cancel it"


def test_the_pages_show_the_flag_until_it_is_resolved(api, race, page_as):
    athlete = page_as("athlete", race["mara"]["email"])
    therapist = page_as("therapist", race["ana"]["email"])
    session_url = f"/bookings/{race['pre']['id']}"
    assert WARNING not in text(athlete.get("/season"))
    move_race(api, race, LATER)
    assert WARNING in text(athlete.get("/season"))
    assert WARNING in text(athlete.get(session_url))
    assert "Outside the race's new dates" in text(therapist.get("/week?start=2027-05-10"))
    move_race(api, race, BACK)
    assert WARNING not in text(athlete.get("/season"))
    assert WARNING not in text(athlete.get(session_url))
    assert "Outside the race's new dates" not in text(therapist.get("/week?start=2027-05-10"))


def test_a_course_session_left_by_move_bookings_is_flagged_too(api, race, smtp):
    """Course sessions never move (each was placed by hand): the flag is stored on them
    as on any session left outside, the athlete told once."""
    course = api.post("/api/v1/bookings", {
        "event_id": race["event"]["id"], "athlete_id": race["mara"]["id"],
        "therapist_id": race["ana"]["id"], "kind": "course", "start": "2027-04-21T09:00"})
    assert course.status_code == 201, course.get_json()
    smtp.take()
    moved = api.patch(race["url"], {"start": "2027-09-18T08:00", "end": "2027-09-18T12:30",
                                    "move_bookings": True}).get_json()
    [left] = moved["flagged_bookings"]
    assert (left["id"], left["flag"]) == (course.get_json()["id"], OUTSIDE)
    assert [m.rcpt for m in smtp.take() if m.message["Subject"] == SUBJECT] == [
        [race["mara"]["email"]]]
    move_race(api, race, BACK)
    assert "flag" not in booking(api, left["id"])
