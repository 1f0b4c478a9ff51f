"""The cancellation notice (contract: "Changes and cancellations"), through the API on both
backends: an athlete or coach cancels or moves a session up to CANCEL_NOTICE_HOURS before
its start (409 `too-late` after that); a therapist or an admin until the start; nobody once
it has started (409 `started`). A refusal changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from .helpers import assert_error, book, snapshot

PRE_START = "2027-05-12T06:00:00Z"  # the best pre slot of the default race (08:00 Berlin)
MOVE_TO = "2027-05-13T07:00:00Z"  # another pre slot, 09:00 Berlin the next day


def at(app, instant: str, shift: timedelta = timedelta(0)) -> None:
    """Pin the clock to `instant` + `shift`."""
    moment = datetime.fromisoformat(instant.replace("Z", "+00:00")) + shift
    app.config["FROZEN_NOW"] = moment.isoformat()


@pytest.fixture
def world(app, api, make_user, make_therapist, make_athlete, make_event):
    """A therapist, an athlete with a race and a booked pre session, and API clients for
    every role concerned (the coach coaches the athlete's team)."""
    therapist = make_therapist(email="ana@clinic.test")
    athlete = make_athlete(email="mara@athletes.test")
    event = make_event(athlete["id"])
    booking = book(api, event["id"], therapist["id"], "pre", PRE_START)
    team = api.post("/api/v1/teams", {"name": "Club", "coach_email": "coach@team.test"})
    assert team.status_code == 201, team.get_json()
    joined = api.post(f"/api/v1/teams/{team.get_json()['id']}/members",
                      {"athlete_id": athlete["id"]})
    assert joined.status_code in (200, 201), joined.get_json()
    clients = {"admin": api,
               "athlete": api.as_(make_user("athlete", "mara@athletes.test")),
               "coach": api.as_(make_user("coach", "coach@team.test")),
               "therapist": api.as_(make_user("therapist", "ana@clinic.test"))}
    return {"booking": booking, "clients": clients}


def cancel(client, booking: dict):
    return client.post(f"/api/v1/bookings/{booking['id']}/cancel")


def move(client, booking: dict):
    return client.patch(f"/api/v1/bookings/{booking['id']}", {"start": MOVE_TO})


CHANGES = {"cancel": cancel, "move": move}


@pytest.mark.parametrize("change", CHANGES)
@pytest.mark.parametrize("role", ["athlete", "coach"])
def test_athlete_and_coach_can_change_up_to_the_notice(app, world, role, change):
    at(app, PRE_START, -timedelta(hours=24))  # exactly the notice: still allowed
    answer = CHANGES[change](world["clients"][role], world["booking"])
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["sequence"] == 1


@pytest.mark.parametrize("change", CHANGES)
@pytest.mark.parametrize("role", ["athlete", "coach"])
def test_athlete_and_coach_are_too_late_inside_the_notice(app, world, role, change):
    at(app, PRE_START, -timedelta(hours=24) + timedelta(seconds=1))
    before = snapshot(app)
    error = assert_error(CHANGES[change](world["clients"][role], world["booking"]), 409,
                         "too-late")
    assert "2027-05-11T06:00:00Z" in error["message"], "says until when changes were possible"
    assert snapshot(app) == before


@pytest.mark.parametrize("change", CHANGES)
@pytest.mark.parametrize("role", ["therapist", "admin"])
def test_therapist_and_admin_still_can_inside_the_notice(app, world, role, change):
    at(app, PRE_START, -timedelta(hours=1))
    answer = CHANGES[change](world["clients"][role], world["booking"])
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["sequence"] == 1


@pytest.mark.parametrize("shift", [timedelta(0), timedelta(hours=2)], ids=["at-start", "after"])
@pytest.mark.parametrize("change", CHANGES)
@pytest.mark.parametrize("role", ["athlete", "coach", "therapist", "admin"])
def test_nobody_changes_a_session_that_has_started(app, world, role, change, shift):
    at(app, PRE_START, shift)
    before = snapshot(app)
    assert_error(CHANGES[change](world["clients"][role], world["booking"]), 409, "started")
    assert snapshot(app) == before


def test_the_notice_follows_the_config(app, world):
    app.config["CANCEL_NOTICE_HOURS"] = 48
    at(app, PRE_START, -timedelta(hours=30))
    assert_error(cancel(world["clients"]["athlete"], world["booking"]), 409, "too-late")
    app.config["CANCEL_NOTICE_HOURS"] = 12
    assert cancel(world["clients"]["athlete"], world["booking"]).status_code == 200


def test_cancelling_again_stays_idempotent_after_the_start(app, world):
    """A cancelled session answers a repeated cancel as before, even once its time has
    passed: nothing to refuse, nothing changes."""
    first = cancel(world["clients"]["athlete"], world["booking"])
    assert first.status_code == 200
    at(app, PRE_START, timedelta(hours=1))
    again = cancel(world["clients"]["athlete"], world["booking"])
    assert again.status_code == 200 and again.get_json()["sequence"] == 1
