"""Seasons through the API, on both backends: an athlete's events shape each other's
proposals and bookings (closed days, the 48-hour gap, shared sessions, C races), and
GET /athletes/{id}/season lays it out. Berlin, May 2027 (UTC+2); therapists work Mon-Sat
08:00-12:00 and 13:00-18:00 (tests/conftest.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import pytest

from .helpers import assert_error, book


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def proposals(api, event_id: int, **query: Any) -> dict[str, Any]:
    answer = api.get(f"/api/v1/events/{event_id}/proposals",
                     query_string={"limit": 1000, **query})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def season(api, athlete_id: int, **query: Any) -> dict[str, Any]:
    answer = api.get(f"/api/v1/athletes/{athlete_id}/season",
                     query_string={"from": "2027-05-01", "to": "2027-06-01",
                                   "tune_up_weeks": 0, **query})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def needs(view: dict[str, Any]) -> list[tuple[str, tuple[int, ...]]]:
    """The distinct (kind, events) of the season's suggestions."""
    return sorted({(s["kind"], tuple(s["event_ids"])) for s in view["suggestions"]})


def test_back_to_back_weekends_keep_48_hours_between_sessions(
        api, make_therapist, make_athlete, make_event):
    therapist = make_therapist()
    athlete = make_athlete()["id"]
    first = make_event(athlete, name="Sunday 1", start="2027-05-16T09:00",
                       end="2027-05-16T12:00")
    second = make_event(athlete, name="Sunday 2", start="2027-05-23T09:00",
                        end="2027-05-23T12:00")
    # The first race's recovery session: Tue 18 May 09:00-09:45 Berlin (07:45Z end).
    book(api, first["id"], therapist["id"], "post", "2027-05-18T09:00")
    pre = proposals(api, second["id"], kind="pre")["pre"]
    assert pre, "the second race's pre window still has room on Friday"
    gap_ends = at("2027-05-18T07:45:00Z") + timedelta(hours=48)
    assert all(at(s["start"]) >= gap_ends for s in pre)
    assert all(at(s["end"]) <= at("2027-05-21T22:00:00Z") for s in pre)  # Thu + Fri
    # Booking inside the gap is refused, after it accepted.
    too_soon = {"event_id": second["id"], "therapist_id": therapist["id"], "kind": "pre",
                "start": "2027-05-20T09:00"}
    assert_error(api.post("/api/v1/bookings", too_soon), 409, "season-conflict", "start")
    book(api, second["id"], therapist["id"], "pre", "2027-05-20T10:00")
    view = season(api, athlete)
    assert needs(view) == sorted([("pre", (first["id"],)), ("post", (second["id"],))])
    assert [e["id"] for e in view["events"]] == [first["id"], second["id"]]
    assert len(view["bookings"]) == 2


def test_a_race_three_days_after_another_shares_one_session(
        api, make_therapist, make_athlete, make_event):
    """A on Sat 15 May (finish 12:30), B on Tue 18 May 09:00. A's recovery window and B's
    pre window (Sat 15 + Sun 16) meet on Saturday after A's finish and on Sunday; Monday
    is B's day before, closed. One session there serves both."""
    therapist = make_therapist()
    athlete = make_athlete()["id"]
    first = make_event(athlete, name="Saturday race")
    second = make_event(athlete, name="Tuesday race", start="2027-05-18T09:00",
                        end="2027-05-18T11:00")
    shared_end = at("2027-05-16T22:00:00Z")  # Mon 17 May 00:00 Berlin
    post = proposals(api, first["id"], kind="post")["post"]
    labelled = [s for s in post if s.get("shared_with_event_id") == second["id"]]
    assert labelled and all(at(s["end"]) <= shared_end for s in labelled)
    assert labelled[0]["start"] == "2027-05-15T11:30:00Z"  # Sat 13:30, finish + 60 min
    # Nothing on Monday (B's day before) nor before B's finish + gap on Tuesday.
    assert not [s for s in post
                if at("2027-05-16T22:00:00Z") <= at(s["start"]) < at("2027-05-18T10:00:00Z")]
    pre = proposals(api, second["id"], kind="pre")["pre"]
    assert pre and all(s.get("shared_with_event_id") == first["id"] for s in pre)
    view = season(api, athlete)
    assert needs(view) == sorted([("pre", (first["id"],)), ("shared", (first["id"], second["id"])),
                                  ("post", (second["id"],))])
    shared = [s for s in view["suggestions"] if s["kind"] == "shared"]
    assert all(at(s["window"]["end"]) <= shared_end for s in shared)
    assert shared[0]["slots"][0]["therapist_id"] == therapist["id"]


def test_no_session_during_a_stage_race_or_the_day_before(
        api, make_therapist, make_athlete, make_event):
    make_therapist()
    athlete = make_athlete(sport="mtb")["id"]
    make_event(athlete, name="Stage race", sport="mtb", start="2027-05-14", end="2027-05-16")
    # A ride on Wed 19 May: its pre window is Sun 16 (the stage race's last day) + Mon 17.
    ride = make_event(athlete, name="Wednesday ride", sport="mtb", start="2027-05-19T18:00",
                      end="2027-05-19T20:00")
    pre = proposals(api, ride["id"], kind="pre")["pre"]
    assert pre and all(at(s["start"]) >= at("2027-05-16T22:00:00Z") for s in pre)
    # And before it: the stage race closes Thu 13 (its day before) to Sun 16 inclusive.
    other = make_event(athlete, name="Monday race", start="2027-05-17T10:00",
                       end="2027-05-17T12:00")
    assert proposals(api, other["id"], kind="pre")["pre"] == []  # Fri 14 + Sat 15: closed


def test_a_c_race_gets_a_recovery_session_unless_a_pre_is_asked_for(
        api, make_therapist, make_athlete, make_event):
    make_therapist()
    athlete = make_athlete()["id"]
    c_race = make_event(athlete, name="Parkrun", priority="C")
    both = proposals(api, c_race["id"])
    assert both["pre"] == [] and both["post"]
    assert proposals(api, c_race["id"], kind="pre")["pre"]
    assert needs(season(api, athlete)) == [("post", (c_race["id"],))]


def test_moving_a_race_keeps_its_bookings_clear_of_the_season(
        api, make_therapist, make_athlete, make_event):
    therapist = make_therapist()
    athlete = make_athlete()["id"]
    first = make_event(athlete, name="Sunday 1", start="2027-05-16T09:00",
                       end="2027-05-16T12:00")
    second = make_event(athlete, name="Sunday 2", start="2027-05-30T09:00",
                        end="2027-05-30T12:00")
    recovery = book(api, first["id"], therapist["id"], "post", "2027-05-18T09:00")
    pre = book(api, second["id"], therapist["id"], "pre", "2027-05-27T09:00")
    # One week earlier: the pre (now Thu 20 + Fri 21) must keep 48 h from Tue 18 09:45.
    moved = api.patch(f"/api/v1/events/{second['id']}",
                      {"start": "2027-05-23T09:00", "end": "2027-05-23T12:00",
                       "move_bookings": True})
    assert moved.status_code == 200, moved.get_json()
    [booking] = moved.get_json()["moved_bookings"]
    assert booking["id"] == pre["id"] and booking["sequence"] == 1
    assert at(booking["start"]) >= at(recovery["end"]) + timedelta(hours=48)
    # Without move_bookings the booking stays and comes back flagged.
    flagged = api.patch(f"/api/v1/events/{second['id']}",
                        {"start": "2027-05-29T09:00", "end": "2027-05-29T12:00"})
    assert [b["id"] for b in flagged.get_json()["flagged_bookings"]] == [pre["id"]]


@pytest.mark.parametrize(("query", "field"), [
    ({"from": "2027-06-01", "to": "2027-05-01"}, "to"),
    ({"from": "2027-01-01", "to": "2029-01-01"}, "to"),
    ({"from": "next week"}, "from"),
    ({"course_sessions": "-1"}, "course_sessions"),
    ({"slots": "99"}, "slots"),
])
def test_bad_season_queries(api, make_athlete, query, field):
    athlete = make_athlete()["id"]
    assert_error(api.get(f"/api/v1/athletes/{athlete}/season", query_string=query), 422,
                 field=field)


def test_the_season_is_the_athletes_own(api, make_user, make_athlete):
    athlete = make_athlete(email="own@athletes.test")["id"]
    other = make_athlete()["id"]
    own = api.as_(make_user("athlete", "own@athletes.test"))
    assert own.get(f"/api/v1/athletes/{athlete}/season").status_code == 200
    assert_error(own.get(f"/api/v1/athletes/{other}/season"), 404)


def test_courses_and_tune_ups_come_with_slots(api, make_therapist, make_athlete, make_event):
    make_therapist()
    athlete = make_athlete()["id"]
    race = make_event(athlete, name="Marathon", start="2027-06-20T09:00",
                      end="2027-06-20T13:00")
    view = season(api, athlete, **{"from": "2027-04-01", "to": "2027-07-01",
                                    "course_sessions": 5, "tune_up_weeks": 3})
    courses = [s for s in view["suggestions"] if s["kind"] == "course"]
    assert len(courses) == 4 and all(s["event_ids"] == [race["id"]] for s in courses)
    pre_start = at(view["events"][0]["windows"]["pre"]["start"])
    assert all(at(s["window"]["end"]) <= pre_start for s in courses)
    assert all(s["slots"] for s in courses)
    for s in courses:
        assert all(at(s["window"]["start"]) <= at(x["start"]) < at(x["end"])
                   <= at(s["window"]["end"]) for x in s["slots"])
    tune_ups = [s for s in view["suggestions"] if s["kind"] == "tune-up"]
    assert tune_ups and all(s["event_ids"] == [] for s in tune_ups)


def test_a_shared_session_is_booked_once_and_covers_both_events(
        api, make_therapist, make_athlete, make_event):
    therapist = make_therapist()
    athlete = make_athlete()["id"]
    first = make_event(athlete, name="Saturday race")
    second = make_event(athlete, name="Tuesday race", start="2027-05-18T09:00",
                        end="2027-05-18T11:00")
    outside = {"event_id": first["id"], "therapist_id": therapist["id"], "kind": "post",
               "start": "2027-05-18T15:00", "shared_with_event_id": second["id"]}
    assert_error(api.post("/api/v1/bookings", outside), 422, field="shared_with_event_id")
    shared = book(api, first["id"], therapist["id"], "post", "2027-05-15T14:00",
                  shared_with_event_id=second["id"])
    assert shared["shared_with_event_id"] == second["id"]
    assert api.get(f"/api/v1/bookings/{shared['id']}").get_json()["shared_with_event_id"] \
        == second["id"]
    # The second race's pre is covered: booking another is refused, and the season says so.
    again = {"event_id": second["id"], "therapist_id": therapist["id"], "kind": "pre",
             "start": "2027-05-15T16:00"}
    assert_error(api.post("/api/v1/bookings", again), 409, "already-booked")
    assert needs(season(api, athlete)) == sorted([("pre", (first["id"],)),
                                                  ("post", (second["id"],))])
    # Its own post still fits after the race: the shared session belongs to it too.
    book(api, second["id"], therapist["id"], "post", "2027-05-18T15:00")


def test_a_course_is_booked_session_by_session_before_the_race(
        api, make_therapist, make_athlete, make_event):
    """Marathon on Sun 20 June 2027: pre window Thu 17 + Fri 18 June. Course sessions may
    go in the 12 weeks before it, each at least 48 h from the others."""
    therapist = make_therapist()
    athlete = make_athlete()["id"]
    race = make_event(athlete, name="Marathon", start="2027-06-20T09:00",
                      end="2027-06-20T13:00")
    view = season(api, athlete, **{"from": "2027-04-01", "to": "2027-07-01",
                                    "course_sessions": 4, "tune_up_weeks": 0})
    weeks = [s for s in view["suggestions"] if s["kind"] == "course"]
    assert len(weeks) == 3
    first = book(api, race["id"], therapist["id"], "course", weeks[0]["slots"][0]["start"])
    second = book(api, race["id"], therapist["id"], "course", weeks[1]["slots"][0]["start"])
    assert (first["kind"], second["kind"]) == ("course", "course")
    # Booked weeks are covered: the season suggests the one left.
    again = season(api, athlete, **{"from": "2027-04-01", "to": "2027-07-01",
                                     "course_sessions": 4, "tune_up_weeks": 0})
    assert [s["window"] for s in again["suggestions"] if s["kind"] == "course"] == [
        weeks[2]["window"]]
    # Within 48 hours of a course session: refused; in the pre window: not a course.
    near = {"event_id": race["id"], "therapist_id": therapist["id"], "kind": "course",
            "start": (at(first["end"]) + timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert_error(api.post("/api/v1/bookings", near), 409, "season-conflict")
    inside = {**near, "start": "2027-06-17T10:00"}
    assert_error(api.post("/api/v1/bookings", inside), 422, "outside-window")
    # The pre and post are still booked once each, next to the course.
    book(api, race["id"], therapist["id"], "pre", "2027-06-17T10:00")
    twice = {**inside, "kind": "pre", "start": "2027-06-18T10:00"}
    assert_error(api.post("/api/v1/bookings", twice), 409, "already-booked")
    invite = api.get(f"/api/v1/bookings/{first['id']}/invite.ics")
    assert invite.status_code == 200 and b"course session" in invite.data


def test_moving_a_race_flags_course_sessions_and_moves_the_rest(
        api, make_therapist, make_athlete, make_event):
    therapist = make_therapist()
    athlete = make_athlete()["id"]
    race = make_event(athlete, name="Marathon", start="2027-06-20T09:00",
                      end="2027-06-20T13:00")
    course = book(api, race["id"], therapist["id"], "course", "2027-06-10T10:00")
    pre = book(api, race["id"], therapist["id"], "pre", "2027-06-17T10:00")
    # Two weeks earlier: the course session (Thu 10 June) now lies in the new pre window.
    moved = api.patch(f"/api/v1/events/{race['id']}",
                      {"start": "2027-06-06T09:00", "end": "2027-06-06T13:00",
                       "move_bookings": True})
    assert moved.status_code == 200, moved.get_json()
    body = moved.get_json()
    assert [b["id"] for b in body["moved_bookings"]] == [pre["id"]]
    assert [b["id"] for b in body["flagged_bookings"]] == [course["id"]]


def test_a_tune_up_is_booked_without_an_event_and_keeps_the_season_apart(
        app, api, client, make_therapist, make_athlete, make_event):
    therapist = make_therapist()
    athlete = make_athlete()["id"]
    race = make_event(athlete, name="Marathon", start="2027-06-20T09:00",
                      end="2027-06-20T13:00")
    view = season(api, athlete, **{"from": "2027-04-01", "to": "2027-07-01",
                                    "tune_up_weeks": 3})
    [first, *_] = [s for s in view["suggestions"] if s["kind"] == "tune-up"]
    slot = first["slots"][0]
    tune_up = book(api, None, therapist["id"], "tune-up", slot["start"], athlete_id=athlete)
    assert (tune_up["event_id"], tune_up["kind"], tune_up["athlete_id"]) == (
        None, "tune-up", athlete)
    # The season counts it: the next suggestion starts three weeks on, not at once.
    again = season(api, athlete, **{"from": "2027-04-01", "to": "2027-07-01",
                                     "tune_up_weeks": 3})
    later = [s for s in again["suggestions"] if s["kind"] == "tune-up"]
    assert later and at(later[0]["window"]["start"]) >= at(slot["start"]) + timedelta(weeks=3)
    # Another session within 48 hours of it is refused (here a course session of the race).
    near = {"event_id": race["id"], "therapist_id": therapist["id"], "kind": "course",
            "start": (at(tune_up["end"]) + timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert_error(api.post("/api/v1/bookings", near), 409, "season-conflict")
    # Its invite and the athlete's feed carry it, with no event.
    invite = api.get(f"/api/v1/bookings/{tune_up['id']}/invite.ics")
    assert invite.status_code == 200 and b"tune-up session" in invite.data
    feed = api.get(f"/api/v1/athletes/{athlete}/feed").get_json()["url"]
    body = client.get(urlparse(feed).path).data
    assert tune_up["uid"].encode() in body


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "tune-up", "event_id": "EVENT", "athlete_id": "ATHLETE"}, "event_id"),
    ({"kind": "tune-up"}, "athlete_id"),
    ({"kind": "pre", "athlete_id": "ATHLETE"}, "event_id"),
])
def test_a_tune_up_has_an_athlete_and_no_event(app, api, make_therapist, make_athlete,
                                                make_event, body, field):
    therapist = make_therapist()["id"]
    athlete = make_athlete()["id"]
    event = make_event(athlete)["id"]
    ids = {"EVENT": event, "ATHLETE": athlete}
    sent = {"therapist_id": therapist, "start": "2027-04-14T10:00",
            **{k: ids.get(v, v) for k, v in body.items()}}
    assert_error(api.post("/api/v1/bookings", sent), 422, field=field)
