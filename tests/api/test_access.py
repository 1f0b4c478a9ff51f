"""Who may see and change what, role by role, on both backends.

The contract: a known token whose role may not do an action gets 403; a resource the
caller may not see at all may answer 404 instead. So `hidden` accepts 403 or 404 (and
checks nothing leaked), `forbidden` demands 403 (the caller can see the resource).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from .helpers import assert_error, book, created, snapshot

T = "/api/v1/therapists"


def hidden(response) -> None:
    assert response.status_code in (403, 404), response.get_data(as_text=True)
    assert_error(response, response.status_code)


def forbidden(response) -> None:
    assert_error(response, 403, "forbidden")


def ok(response, status: int = 200) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


@dataclass
class Clinic:
    """Two therapists, two athletes, a coach of team X (athlete 1) and an uncoached team Y
    (athlete 2); each athlete has an event and a pre booking with "their" therapist;
    team X has a team event. `tokens` holds a user per role and person."""

    ids: dict[str, int]
    tokens: dict[str, str]


@pytest.fixture
def clinic(api, make_user, make_therapist, make_athlete, make_event) -> Clinic:
    t1 = make_therapist(email="t1@clinic.test")
    t2 = make_therapist(email="t2@clinic.test")
    a1 = make_athlete(email="a1@athletes.test")
    a2 = make_athlete(email="a2@athletes.test")
    team_x = created(api.post("/api/v1/teams", {"name": "X", "coach_email": "coach@test.example"}))
    team_y = created(api.post("/api/v1/teams", {"name": "Y"}))
    created(api.post(f"/api/v1/teams/{team_x['id']}/members", {"athlete_id": a1["id"]}))
    created(api.post(f"/api/v1/teams/{team_y['id']}/members", {"athlete_id": a2["id"]}))
    e1, e2 = make_event(a1["id"]), make_event(a2["id"])
    team_event = make_event(team_id=team_x["id"], start="2027-06-05", end="2027-06-05")
    b1 = book(api, e1["id"], t1["id"], "pre", "2027-05-12T09:00")
    b2 = book(api, e2["id"], t2["id"], "pre", "2027-05-12T09:00")
    off2 = created(api.post(f"{T}/{t2['id']}/time-off",
                            {"start": "2027-02-01", "end": "2027-02-02"}))
    tokens = {"t1": make_user("therapist", "t1@clinic.test"),
              "t2": make_user("therapist", "t2@clinic.test"),
              "a1": make_user("athlete", "a1@athletes.test"),
              "a2": make_user("athlete", "a2@athletes.test"),
              "coach": make_user("coach", "coach@test.example"),
              "other_coach": make_user("coach", "other-coach@test.example")}
    ids = {"t1": t1["id"], "t2": t2["id"], "a1": a1["id"], "a2": a2["id"],
           "x": team_x["id"], "y": team_y["id"], "e1": e1["id"], "e2": e2["id"],
           "team_event": team_event["id"], "b1": b1["id"], "b2": b2["id"],
           "off2": off2["id"]}
    return Clinic(ids, tokens)


def test_admin_sees_and_changes_everything(api, clinic):
    i = clinic.ids
    for url in (f"{T}/{i['t1']}", f"/api/v1/athletes/{i['a2']}", f"/api/v1/teams/{i['y']}",
                f"/api/v1/events/{i['e2']}", f"/api/v1/bookings/{i['b2']}",
                f"{T}/{i['t2']}/time-off", f"/api/v1/events/{i['team_event']}"):
        ok(api.get(url))
    assert {b["id"] for b in ok(api.get("/api/v1/bookings"))["items"]} == {i["b1"], i["b2"]}
    assert len(ok(api.get("/api/v1/athletes"))["items"]) == 2
    ok(api.put(f"{T}/{i['t2']}/working-hours?affected=keep", [{"day": "mon", "start": "09:00",
                                                 "end": "17:00"}]))
    ok(api.delete(f"{T}/{i['t2']}/time-off/{i['off2']}"), 204)


def test_athlete_sees_only_own_profile_events_and_bookings(api, clinic):
    i, me = clinic.ids, api.as_(clinic.tokens["a1"])
    assert ok(me.get("/api/v1/me"))["email"] == "a1@athletes.test"
    assert ok(me.get(f"/api/v1/athletes/{i['a1']}"))["id"] == i["a1"]
    assert ok(me.get(f"/api/v1/events/{i['e1']}"))["id"] == i["e1"]
    assert ok(me.get(f"/api/v1/bookings/{i['b1']}"))["id"] == i["b1"]
    assert ok(me.get(f"/api/v1/events/{i['team_event']}"))["team_id"] == i["x"]  # member
    assert ok(me.get(f"/api/v1/teams/{i['x']}"))["id"] == i["x"]
    for url in (f"/api/v1/athletes/{i['a2']}", f"/api/v1/events/{i['e2']}",
                f"/api/v1/bookings/{i['b2']}", f"/api/v1/teams/{i['y']}",
                f"/api/v1/events/{i['e2']}/proposals"):
        hidden(me.get(url))
    assert [b["id"] for b in ok(me.get("/api/v1/bookings"))["items"]] == [i["b1"]]
    assert [a["id"] for a in ok(me.get("/api/v1/athletes"))["items"]] == [i["a1"]]
    # filtering for someone else's bookings finds nothing rather than leaking them
    assert ok(me.get(f"/api/v1/bookings?athlete_id={i['a2']}"))["items"] == []


def test_athlete_changes_only_own_things(app, api, clinic):
    i, me = clinic.ids, api.as_(clinic.tokens["a1"])
    created(api.post(f"/api/v1/teams/{i['x']}/members", {"athlete_id": i["a2"]}))
    before = snapshot(app)
    hidden(me.patch(f"/api/v1/events/{i['e2']}", {"name": "mine now"}))
    hidden(me.patch(f"/api/v1/bookings/{i['b2']}", {"start": "2027-05-12T10:00"}))
    hidden(me.post(f"/api/v1/bookings/{i['b2']}/cancel"))
    hidden(me.post("/api/v1/events", {"athlete_id": i["a2"], "name": "x",
                                      "timezone": "Europe/Berlin", "start": "2027-07-01"}))
    hidden(me.post("/api/v1/bookings", {"event_id": i["e2"], "therapist_id": i["t1"],
                                        "kind": "post", "start": "2027-05-17T10:00"}))
    hidden(me.post("/api/v1/bookings", {  # a team-mate's session
        "event_id": i["team_event"], "therapist_id": i["t1"], "kind": "pre",
        "start": "2027-06-02T10:00", "athlete_id": i["a2"]}))
    forbidden(me.patch(f"/api/v1/events/{i['team_event']}", {"name": "renamed"}))
    forbidden(me.post("/api/v1/events", {"team_id": i["x"], "name": "x",
                                         "timezone": "Europe/Berlin", "start": "2027-07-01"}))
    hidden(me.get(f"/api/v1/events/{i['team_event']}/proposals?athlete_id={i['a2']}"))
    forbidden(me.post(f"/api/v1/teams/{i['x']}/members", {"athlete_id": i["a1"]}))
    forbidden(me.post(T, {"name": "n", "email": "n@c.test", "timezone": "UTC"}))
    forbidden(me.post("/api/v1/athletes", {"name": "n", "email": "n@a.test", "sport": "mtb",
                                           "timezone": "UTC"}))
    forbidden(me.post("/api/v1/teams", {"name": "mine"}))
    forbidden(me.post("/api/v1/users", {"email": "n@u.test", "role": "admin"}))
    forbidden(me.put(f"{T}/{i['t1']}/working-hours", []))
    forbidden(me.post(f"{T}/{i['t1']}/time-off", {"start": "2027-02-01", "end": "2027-02-02"}))
    assert snapshot(app) == before

    ok(me.patch(f"/api/v1/events/{i['e1']}", {"priority": "B"}))
    moved = ok(me.patch(f"/api/v1/bookings/{i['b1']}", {"start": "2027-05-12T10:00"}))
    assert moved["sequence"] == 1
    mine = created(me.post("/api/v1/bookings", {
        "event_id": i["team_event"], "therapist_id": i["t2"], "kind": "pre",
        "start": "2027-06-02T10:00", "athlete_id": i["a1"]}))
    assert mine["athlete_id"] == i["a1"]
    assert ok(me.post(f"/api/v1/bookings/{i['b1']}/cancel"))["status"] == "cancelled"


def test_therapist_keeps_only_own_schedule(app, api, clinic):
    i, me = clinic.ids, api.as_(clinic.tokens["t1"])
    hours = [{"day": "tue", "start": "07:00", "end": "15:00"}]
    assert ok(me.put(f"{T}/{i['t1']}/working-hours?affected=keep",
                     hours))["working_hours"] == hours
    off = created(me.post(f"{T}/{i['t1']}/time-off", {"start": "2027-03-01",
                                                      "end": "2027-03-02"}))
    assert [o["id"] for o in ok(me.get(f"{T}/{i['t1']}/time-off"))["items"]] == [off["id"]]
    ok(me.delete(f"{T}/{i['t1']}/time-off/{off['id']}"), 204)

    before = snapshot(app)
    forbidden(me.put(f"{T}/{i['t2']}/working-hours", hours))
    forbidden(me.post(f"{T}/{i['t2']}/time-off", {"start": "2027-03-01", "end": "2027-03-02"}))
    forbidden(me.delete(f"{T}/{i['t2']}/time-off/{i['off2']}"))
    forbidden(me.get(f"{T}/{i['t2']}/time-off"))
    forbidden(me.post("/api/v1/bookings", {"event_id": i["e1"], "therapist_id": i["t1"],
                                           "kind": "post", "start": "2027-05-17T10:00"}))
    hidden(me.post(f"/api/v1/bookings/{i['b2']}/cancel"))
    assert snapshot(app) == before


def test_therapist_sees_only_bookings_with_them(api, clinic):
    i, me = clinic.ids, api.as_(clinic.tokens["t1"])
    assert ok(me.get(f"/api/v1/bookings/{i['b1']}"))["therapist_id"] == i["t1"]
    hidden(me.get(f"/api/v1/bookings/{i['b2']}"))
    assert [b["id"] for b in ok(me.get("/api/v1/bookings"))["items"]] == [i["b1"]]
    assert ok(me.get(f"/api/v1/bookings?therapist_id={i['t2']}"))["items"] == []
    hidden(me.get(f"/api/v1/athletes/{i['a1']}"))
    hidden(me.get(f"/api/v1/events/{i['e1']}"))
    assert ok(me.get(T))["items"]  # the therapist list is open to every user


def test_coach_works_with_own_teams_athletes_and_events(api, clinic):
    i, me = clinic.ids, api.as_(clinic.tokens["coach"])
    assert ok(me.get(f"/api/v1/teams/{i['x']}"))["members"][0]["id"] == i["a1"]
    assert ok(me.get(f"/api/v1/athletes/{i['a1']}"))["id"] == i["a1"]
    assert ok(me.get(f"/api/v1/events/{i['e1']}"))["id"] == i["e1"]
    assert ok(me.get(f"/api/v1/events/{i['e1']}/proposals?limit=1"))["pre"]
    assert [a["id"] for a in ok(me.get("/api/v1/athletes"))["items"]] == [i["a1"]]
    assert [b["id"] for b in ok(me.get("/api/v1/bookings"))["items"]] == [i["b1"]]
    for url in (f"/api/v1/teams/{i['y']}", f"/api/v1/athletes/{i['a2']}",
                f"/api/v1/events/{i['e2']}", f"/api/v1/bookings/{i['b2']}"):
        hidden(me.get(url))

    post = created(me.post("/api/v1/bookings", {"event_id": i["e1"], "therapist_id": i["t2"],
                                                "kind": "post", "start": "2027-05-17T10:00"}))
    assert post["athlete_id"] == i["a1"]
    relay = created(me.post("/api/v1/events", {"team_id": i["x"], "name": "Relay",
                                               "timezone": "Europe/Berlin",
                                               "start": "2027-07-03"}))
    assert relay["team_id"] == i["x"]
    created(me.post("/api/v1/bookings", {"event_id": i["team_event"], "therapist_id": i["t1"],
                                         "kind": "pre", "start": "2027-06-02T10:00",
                                         "athlete_id": i["a1"]}))
    ok(me.patch(f"/api/v1/events/{i['team_event']}", {"priority": "C"}))


def test_coach_cannot_reach_other_athletes(app, api, clinic):
    i, me = clinic.ids, api.as_(clinic.tokens["coach"])
    before = snapshot(app)
    hidden(me.post("/api/v1/bookings", {"event_id": i["e2"], "therapist_id": i["t1"],
                                        "kind": "post", "start": "2027-05-17T10:00"}))
    hidden(me.post("/api/v1/events", {"team_id": i["y"], "name": "x",
                                      "timezone": "Europe/Berlin", "start": "2027-07-03"}))
    hidden(me.post("/api/v1/events", {"athlete_id": i["a2"], "name": "x",
                                      "timezone": "Europe/Berlin", "start": "2027-07-03"}))
    hidden(me.post(f"/api/v1/teams/{i['y']}/members", {"athlete_id": i["a1"]}))
    # adding someone else's athlete to one's own team would hand over their data
    hidden(me.post(f"/api/v1/teams/{i['x']}/members", {"athlete_id": i["a2"]}))
    hidden(me.post(f"/api/v1/bookings/{i['b2']}/cancel"))
    forbidden(me.post("/api/v1/teams", {"name": "Z", "coach_email": "other@test.example"}))
    forbidden(me.put(f"{T}/{i['t1']}/working-hours", []))
    assert_error(me.post("/api/v1/athletes", {"name": "N", "email": "n@a.test",
                                              "sport": "mtb", "timezone": "UTC"}),
                 422, "invalid", "team_id")
    hidden(me.post("/api/v1/athletes", {"name": "N", "email": "n@a.test", "sport": "mtb",
                                        "timezone": "UTC", "team_id": i["y"]}))
    assert snapshot(app) == before
    other = api.as_(clinic.tokens["other_coach"])
    hidden(other.get(f"/api/v1/teams/{i['x']}"))
    hidden(other.get(f"/api/v1/events/{i['team_event']}"))


def test_coach_creates_a_team_and_an_athlete_in_it(api, clinic):
    me = api.as_(clinic.tokens["coach"])
    team = created(me.post("/api/v1/teams", {"name": "Juniors"}))
    assert team["coach_email"] == "coach@test.example"
    athlete = created(me.post("/api/v1/athletes", {"name": "Juno", "email": "juno@a.test",
                                                   "sport": "mtb", "timezone": "UTC",
                                                   "team_id": team["id"]}))
    assert ok(me.get(f"/api/v1/athletes/{athlete['id']}"))["email"] == "juno@a.test"
    assert [m["id"] for m in ok(me.get(f"/api/v1/teams/{team['id']}"))["members"]] == [
        athlete["id"]]


# --- users and tokens ---------------------------------------------------------------------

@pytest.mark.parametrize("role", ["therapist", "coach", "athlete"])
def test_only_admins_create_users(app, api, make_user, role):
    caller = api.as_(make_user(role))
    before = snapshot(app)
    forbidden(caller.post("/api/v1/users", {"email": "x@u.test", "role": "admin"}))
    assert snapshot(app) == before


def test_created_user_gets_a_working_token_stored_only_as_a_hash(app, api, clinic):
    body = created(api.post("/api/v1/users", {"email": " New.Athlete@Athletes.TEST ",
                                              "role": "athlete", "name": "Nia"}))
    assert set(body) >= {"id", "email", "role", "token"}
    assert (body["email"], body["role"]) == ("new.athlete@athletes.test", "athlete")
    token = body["token"]
    assert len(token) >= 32
    me = ok(api.as_(token).get("/api/v1/me"))
    assert (me["id"], me["email"], me["role"]) == (body["id"], body["email"], "athlete")

    from athlete_sched.extensions import db

    with app.app_context():
        stored = db.session.execute(sa.text(
            "SELECT token_hash FROM api_token WHERE user_id = :id"), {"id": body["id"]}).scalar()
        assert stored == hashlib.sha256(token.encode()).hexdigest()
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(sa.select(table)):
                assert not any(isinstance(v, str) and token in v for v in row), table.name
        db.session.rollback()
    assert "token" not in ok(api.get("/api/v1/me"))


def test_a_user_acts_as_the_profile_with_its_email(api, clinic, make_athlete, make_event):
    """Users created over HTTP with a profile's email act as that athlete or therapist."""
    athlete = make_athlete(email="a3@athletes.test")
    event = make_event(athlete["id"])
    booking = book(api, event["id"], clinic.ids["t1"], "pre", "2027-05-13T11:00")
    token = created(api.post("/api/v1/users", {"email": "A3@athletes.test",
                                               "role": "athlete"}))["token"]
    me = api.as_(token)
    assert [b["id"] for b in ok(me.get("/api/v1/bookings"))["items"]] == [booking["id"]]
    hidden(me.get(f"/api/v1/bookings/{clinic.ids['b1']}"))
    t3 = api.post(T, {"name": "T3", "email": "t3@clinic.test", "timezone": "UTC"})
    token = created(api.post("/api/v1/users", {"email": "t3@clinic.test",
                                               "role": "therapist"}))["token"]
    ok(api.as_(token).put(f"{T}/{created(t3)['id']}/working-hours", []))


def test_duplicate_user_is_a_conflict(app, api):
    created(api.post("/api/v1/users", {"email": "dup@u.test", "role": "coach"}))
    before = snapshot(app)
    assert_error(api.post("/api/v1/users", {"email": "DUP@u.test", "role": "athlete"}),
                 409, "email-taken", "email")
    assert snapshot(app) == before
