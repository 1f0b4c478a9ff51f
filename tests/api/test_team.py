"""A coach plans and books a whole team (POST /events/{id}/plan, /book-team), on both
backends: exact capacity, the reasons for who is left out, greedy-hard teams, all or
nothing when a slot is gone (also racing a single booking through a real server)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from threading import Barrier
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from server import running_server

from .helpers import assert_error, book, created, snapshot

# The team race: Saturday 2027-05-15 08:00-12:30 Berlin. Pre window Wed 12 + Thu 13 May;
# post window Sat 13:30 to the end of Tue 18 May.
RACE = {"name": "Stage Race", "sport": "mtb", "start": "2027-05-15T08:00",
        "end": "2027-05-15T12:30"}


def hours(*periods: tuple[str, str, str]) -> list[dict[str, str]]:
    return [{"day": d, "start": s, "end": e} for d, s, e in periods]


@pytest.fixture
def coach(make_user, api):
    """A coach's API client and a team of theirs; add members with `coach.member()`."""
    class Coach:
        def __init__(self) -> None:
            self.email = "coach@team.test"
            self.api = api.as_(make_user("coach", self.email))
            self.team = created(api.post("/api/v1/teams", {"name": "Riders",
                                                           "coach_email": self.email}))

        def member(self, athlete: dict[str, Any]) -> int:
            created(api.post(f"/api/v1/teams/{self.team['id']}/members",
                             {"athlete_id": athlete["id"]}))
            return athlete["id"]

    return Coach()


def team_race(make_event, coach) -> dict[str, Any]:
    return make_event(team_id=coach.team["id"], **RACE)


def booked_rows(app, event_id: int) -> list[tuple[int, str, int, datetime]]:
    from athlete_sched.db.models import Booking
    from athlete_sched.extensions import db

    with app.app_context():
        rows = db.session.execute(sa.select(
            Booking.athlete_id, Booking.kind, Booking.therapist_id, Booking.start).where(
            Booking.event_id == event_id, Booking.status == "confirmed")).all()
        db.session.remove()
    return sorted(tuple(r) for r in rows)


def assert_sound(plan: dict[str, Any], members: list[int]) -> None:
    """Every member once; placed ones have both kinds; no slot shared; counts agree."""
    assert sorted(a["athlete_id"] for a in plan["assignments"]) == sorted(members)
    placed = [a for a in plan["assignments"] if a["pre"] and a["post"]]
    assert all(a["pre"] is None and a["post"] is None
               for a in plan["assignments"] if a not in placed)
    assert plan["placed"] == len(placed)
    assert sorted(plan["unplaced"]) == sorted(set(members) - {a["athlete_id"] for a in placed})
    taken = [(a[k]["therapist_id"], a[k]["start"]) for a in placed for k in ("pre", "post")]
    assert len(taken) == len(set(taken))


def test_the_plan_places_as_many_as_the_capacity_allows(
        api, coach, make_therapist, make_athlete, make_event):
    # Three 60-minute pre slots (Wed 09-12) but only two post slots (Mon 09-11).
    make_therapist(session_minutes=60, slot_step_minutes=60,
                   working_hours=hours(("wed", "09:00", "12:00"), ("mon", "09:00", "11:00")))
    members = [coach.member(make_athlete()) for _ in range(4)]
    event = team_race(make_event, coach)
    answer = coach.api.post(f"/api/v1/events/{event['id']}/plan")
    assert answer.status_code == 200, answer.get_json()
    plan = answer.get_json()
    assert_sound(plan, members)
    assert plan["placed"] == 2
    assert plan["unplaced_reasons"] == [{"athlete_id": a, "reason": "no-capacity"}
                                        for a in sorted(plan["unplaced"])]
    pre = sorted(a["pre"]["start"] for a in plan["assignments"] if a["pre"])
    post = sorted(a["post"]["start"] for a in plan["assignments"] if a["post"])
    # The best two pre slots (nearest 72 h before the start: Wed 08:00 Berlin = 06:00Z).
    assert pre == ["2027-05-12T07:00:00Z", "2027-05-12T08:00:00Z"]
    assert post == ["2027-05-17T07:00:00Z", "2027-05-17T08:00:00Z"]


def test_a_greedy_hard_team_is_placed_in_full(
        api, coach, make_therapist, make_athlete, make_event):
    """Two pre slots: Wed 09:00 (the better) and Thu 09:00. The second member rides on
    Friday evening, which closes Thursday to needling for them (the day before an event),
    so only Wednesday fits them. First come, first served gives Wednesday to the first
    member and leaves the second out; the plan gives each the one that fits."""
    therapist = make_therapist(session_minutes=60, slot_step_minutes=60, working_hours=hours(
        ("wed", "09:00", "10:00"), ("thu", "09:00", "10:00"),
        ("mon", "09:00", "11:00")))
    first, second = (coach.member(make_athlete()) for _ in range(2))
    make_event(second, name="Club ride", sport="cycling", start="2027-05-14T18:00",
               end="2027-05-14T19:00")
    event = team_race(make_event, coach)
    plan = coach.api.post(f"/api/v1/events/{event['id']}/plan").get_json()
    assert_sound(plan, [first, second])
    assert plan["placed"] == 2
    by_athlete = {a["athlete_id"]: a for a in plan["assignments"]}
    assert by_athlete[second]["pre"]["start"] == "2027-05-12T07:00:00Z"  # Wednesday
    assert by_athlete[first]["pre"]["start"] == "2027-05-13T07:00:00Z"
    assert {a["pre"]["therapist_id"] for a in plan["assignments"]} == {therapist["id"]}


def test_reasons_for_who_is_left_out(api, coach, make_therapist, make_athlete, make_event):
    therapist = make_therapist(session_minutes=60, slot_step_minutes=60, working_hours=hours(
        ("wed", "09:00", "10:00"), ("mon", "09:00", "10:00"), ("tue", "15:00", "16:00")))
    busy, booked, free = (coach.member(make_athlete()) for _ in range(3))
    # `busy` rides all Wednesday morning: the only pre slot is theirs to miss.
    make_event(busy, name="Long ride", sport="cycling", start="2027-05-12T07:00",
               end="2027-05-12T12:00")
    event = team_race(make_event, coach)
    book(api, event["id"], therapist["id"], "post", "2027-05-18T15:00", athlete_id=booked)
    plan = coach.api.post(f"/api/v1/events/{event['id']}/plan").get_json()
    assert plan["placed"] == 1
    assert {r["athlete_id"]: r["reason"] for r in plan["unplaced_reasons"]} == {
        busy: "own-conflict", booked: "already-booked"}
    assert [a["athlete_id"] for a in plan["assignments"] if a["pre"]] == [free]


def test_book_team_books_a_fresh_plan_and_every_session_is_real(
        app, api, coach, make_therapist, make_athlete, make_event):
    make_therapist(buffer_minutes=10)
    make_therapist()
    members = [coach.member(make_athlete()) for _ in range(5)]
    event = team_race(make_event, coach)
    plan = coach.api.post(f"/api/v1/events/{event['id']}/plan").get_json()
    assert plan["placed"] == 5
    answer = coach.api.post(f"/api/v1/events/{event['id']}/book-team")
    bookings = created(answer)["bookings"]
    assert sorted((b["athlete_id"], b["kind"]) for b in bookings) == sorted(
        (m, k) for m in members for k in ("pre", "post"))
    assert {b["status"] for b in bookings} == {"confirmed"}
    assert len({b["uid"] for b in bookings}) == 10
    assert len(booked_rows(app, event["id"])) == 10
    # Booked as planned: the fresh plan is the plan just shown.
    planned = sorted((a["athlete_id"], k, a[k]["therapist_id"], a[k]["start"])
                     for a in plan["assignments"] for k in ("pre", "post"))
    assert sorted((b["athlete_id"], b["kind"], b["therapist_id"], b["start"])
                  for b in bookings) == planned
    # Everyone is booked now: a new plan leaves them all out as already booked.
    again = coach.api.post(f"/api/v1/events/{event['id']}/plan").get_json()
    assert again["placed"] == 0
    assert {r["reason"] for r in again["unplaced_reasons"]} == {"already-booked"}


def test_book_team_is_all_or_nothing_when_a_slot_is_gone(
        app, api, coach, make_therapist, make_athlete, make_event):
    therapist = make_therapist()
    for _ in range(3):
        coach.member(make_athlete())
    event = team_race(make_event, coach)
    plan = coach.api.post(f"/api/v1/events/{event['id']}/plan").get_json()
    assert plan["placed"] == 3
    # Someone else takes the last post slot of the plan meanwhile.
    last = plan["assignments"][-1]["post"]
    outsider = make_event(make_athlete()["id"])
    book(api, outsider["id"], therapist["id"], "post", last["start"])
    before = snapshot(app)
    answer = coach.api.post(f"/api/v1/events/{event['id']}/book-team",
                            {"assignments": plan["assignments"]})
    assert_error(answer, 409, "slot-taken")
    assert booked_rows(app, event["id"]) == []
    assert snapshot(app) == before


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"assignments": [{"athlete_id": 999_999}]}, 422, None),  # not a member
    ({"assignments": "all"}, 422, None),
    ({"assignments": [{"athlete_id": "1"}]}, 422, None),
    ({"assignments": [{"athlete_id": 1, "pre": {"therapist_id": 1, "start": "soon"}}]},
     422, None),
    ({"assignments": [{"athlete_id": 1,
                       "pre": {"therapist_id": 999_999, "start": "2027-05-12T09:00"}}]},
     404, None),
])
def test_bad_book_team_bodies_change_nothing(
        app, api, coach, make_therapist, make_athlete, make_event, body, status, code):
    make_therapist()
    coach.member(make_athlete())
    event = team_race(make_event, coach)
    before = snapshot(app)
    assert_error(coach.api.post(f"/api/v1/events/{event['id']}/book-team", body), status, code)
    assert snapshot(app) == before


def test_an_athlete_twice_in_the_assignments_is_refused(
        app, api, coach, make_therapist, make_athlete, make_event):
    make_therapist()
    member = coach.member(make_athlete())
    event = team_race(make_event, coach)
    plan = coach.api.post(f"/api/v1/events/{event['id']}/plan").get_json()
    twice = plan["assignments"] * 2
    before = snapshot(app)
    answer = coach.api.post(f"/api/v1/events/{event['id']}/book-team", {"assignments": twice})
    error = assert_error(answer, 422, field="assignments")
    assert str(member) in error["message"] or "twice" in error["message"]
    assert snapshot(app) == before


def test_who_may_plan(api, coach, make_user, make_therapist, make_athlete, make_event):
    make_therapist()
    member = make_athlete(email="member@athletes.test")
    coach.member(member)
    event = team_race(make_event, coach)
    url = f"/api/v1/events/{event['id']}/plan"
    assert api.post(url).status_code == 200  # admin
    assert_error(api.as_(make_user("athlete", "member@athletes.test")).post(url), 403)
    assert_error(api.as_(make_user("coach", "other-coach@team.test")).post(url), 404)
    own = make_event(member["id"])
    assert_error(api.post(f"/api/v1/events/{own['id']}/plan"), 422, field="event_id")


# --- racing a single booking through a real server -----------------------------------------

@pytest.fixture(scope="module")
def server(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(database, Path(tmp_path_factory.mktemp("gunicorn-team"))) as url:
        yield url


def _post(url: str, token: str, body: Any, barrier: Barrier) -> int:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {token}"
        barrier.wait()
        return session.post(url, json=body, timeout=60).status_code


@pytest.mark.slow
@pytest.mark.parametrize("round_", range(3))
def test_book_team_racing_a_single_booking_for_one_of_its_slots(
        app, api, server, coach, make_therapist, make_athlete, make_event, round_):
    therapist = make_therapist()
    for _ in range(4):
        coach.member(make_athlete())
    event = team_race(make_event, coach)
    plan = coach.api.post(f"/api/v1/events/{event['id']}/plan").get_json()
    assert plan["placed"] == 4
    contested = plan["assignments"][round_]["pre"]
    outsider = make_event(make_athlete()["id"])
    single = {"event_id": outsider["id"], "therapist_id": therapist["id"], "kind": "pre",
              "start": contested["start"]}
    barrier = Barrier(2, timeout=30)
    with ThreadPoolExecutor(max_workers=2) as pool:
        team_status = pool.submit(_post, f"{server}/api/v1/events/{event['id']}/book-team",
                                  coach.api.token, {"assignments": plan["assignments"]}, barrier)
        single_status = pool.submit(_post, f"{server}/api/v1/bookings", api.token, single,
                                    barrier)
        statuses = (team_status.result(), single_status.result())
    assert statuses in ((201, 409), (409, 201))
    team_rows = booked_rows(app, event["id"])
    assert len(team_rows) == (8 if statuses[0] == 201 else 0)
    assert len(booked_rows(app, outsider["id"])) == (1 if statuses[1] == 201 else 0)


def test_book_team_that_places_nobody_is_a_409_with_the_reasons_and_books_nothing(
        app, api, coach, make_therapist, make_athlete, make_event):
    """Regression (issue 14): a fresh plan that placed nobody answered 201 with an empty
    list. Now 409 nobody-placed, each member's reason as the plan gives it, nothing booked;
    once everyone is booked, a second book-team says so the same way."""
    members = [coach.member(make_athlete()) for _ in range(2)]
    event = team_race(make_event, coach)
    before = snapshot(app)
    answer = coach.api.post(f"/api/v1/events/{event['id']}/book-team")
    assert_error(answer, 409, "nobody-placed")
    reasons = answer.get_json()["error"]["unplaced_reasons"]
    assert reasons == [{"athlete_id": m, "reason": "no-capacity"} for m in members]
    assert snapshot(app) == before
    make_therapist()
    created(coach.api.post(f"/api/v1/events/{event['id']}/book-team"))
    again = coach.api.post(f"/api/v1/events/{event['id']}/book-team")
    assert_error(again, 409, "nobody-placed")
    assert {r["reason"] for r in again.get_json()["error"]["unplaced_reasons"]} == {
        "already-booked"}


@pytest.mark.parametrize("assignments", [[], "members without sessions"])
def test_book_team_with_no_session_to_book_is_a_422(
        app, api, coach, make_therapist, make_athlete, make_event, assignments):
    make_therapist()
    member = coach.member(make_athlete())
    event = team_race(make_event, coach)
    if assignments:
        assignments = [{"athlete_id": member, "pre": None, "post": None}]
    before = snapshot(app)
    answer = coach.api.post(f"/api/v1/events/{event['id']}/book-team",
                            {"assignments": assignments})
    assert_error(answer, 422, None)
    assert snapshot(app) == before
