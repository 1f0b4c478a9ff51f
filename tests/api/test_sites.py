"""Sites and travel through the API (contract, "Sites and travel"), on both backends.

The clock is pinned to Mon 2027-01-04. The Rennsteig Marathon (Sat 15 May 2027, 08:00-12:30
Berlin, UTC+2) has its pre window on Wed 12 + Thu 13 May and its post window from 13:30 on
the 15th to the end of Tue 18 May. Therapists work Mon-Sat 08:00-12:00 and 13:00-18:00
local unless a test says so. The travel of the tests: the athlete leaves home on Thu 13
May at 12:00 Berlin and is back on Mon 17 May at 12:00, so a pre session can be at home
on Wed and Thu morning, near the venue on Thu afternoon; a post session near the venue
until Monday noon, at home after it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from .helpers import assert_error, at, book, created, ok, snapshot

BERLIN = ZoneInfo("Europe/Berlin")
DENVER = ZoneInfo("America/Denver")
S, T, E = "/api/v1/sites", "/api/v1/therapists", "/api/v1/events"
TRAVEL = {"depart": "2027-05-13T12:00", "return": "2027-05-17T12:00"}
DEPART = datetime(2027, 5, 13, 12, 0, tzinfo=BERLIN)
RETURN = datetime(2027, 5, 17, 12, 0, tzinfo=BERLIN)


def site(api, name: str, timezone: str = "Europe/Berlin", **extra: Any) -> int:
    return created(api.post(S, {"name": name, "timezone": timezone, **extra}))["id"]


def proposals(api, event_id: int, **query: Any) -> dict[str, Any]:
    return ok(api.get(f"{E}/{event_id}/proposals", query_string={"limit": 1000, **query}))


def slots_of(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return answer["pre"] + answer["post"]


def assert_where(slot: dict[str, Any], home: int | None, venue: int | None,
                 depart: datetime = DEPART, return_: datetime = RETURN) -> None:
    """A slot at home lies wholly outside [depart, return), one near the venue wholly
    inside it; no other site."""
    start, end = at(slot["start"]), at(slot["end"])
    assert slot["site_id"] in {home, venue} - {None}, slot
    if slot["site_id"] == home:
        assert end <= depart or start >= return_, slot
    else:
        assert depart <= start and end <= return_, slot


@pytest.fixture
def travelling(api, make_therapist, make_athlete, make_event) -> dict[str, int]:
    """A home site (Berlin, a therapist), a race-tent site near the venue (a therapist),
    and an athlete at home in Berlin with the Rennsteig Marathon, its venue the tent,
    travelling as TRAVEL says."""
    home, tent = site(api, "Berlin"), site(api, "Rennsteig tent")
    berlin = make_therapist(name="Berlin PT", site_id=home)["id"]
    tented = make_therapist(name="Tent PT", site_id=tent)["id"]
    athlete = make_athlete(home_site_id=home)["id"]
    event = make_event(athlete, venue_site_id=tent, travel=TRAVEL)["id"]
    return {"home": home, "tent": tent, "berlin": berlin, "tent_pt": tented,
            "athlete": athlete, "event": event}


# --- sites ----------------------------------------------------------------------------------

def test_sites_are_created_listed_read_and_changed(api):
    body = created(api.post(S, {"name": "Berlin", "timezone": "Europe/Berlin",
                                "address": "Seestr. 1, 13353 Berlin"}))
    assert body == {"id": body["id"], "name": "Berlin", "timezone": "Europe/Berlin",
                    "address": "Seestr. 1, 13353 Berlin"}
    denver = created(api.post(S, {"name": "Denver", "timezone": "America/Denver"}))
    assert denver["address"] == ""
    assert ok(api.get(f"{S}/{body['id']}")) == body
    assert ok(api.get(S)) == {"items": [body, denver], "next": None}  # by name
    changed = ok(api.patch(f"{S}/{denver['id']}", {"name": "Boulder",
                                                   "address": "Pearl St 1"}))
    assert changed == {**denver, "name": "Boulder", "address": "Pearl St 1"}
    assert ok(api.get(f"{S}/{denver['id']}")) == changed


def test_site_validation(api, make_user):
    berlin = site(api, "Berlin")
    before = ok(api.get(S))
    assert_error(api.post(S, {"name": "Mars", "timezone": "Mars/Olympus"}), 422, None,
                 "timezone")
    assert_error(api.post(S, {"name": "Berlin", "timezone": "Europe/Berlin"}), 422,
                 "site-name-taken", "name")
    assert_error(api.post(S, {"timezone": "Europe/Berlin"}), 422, None, "name")
    other = site(api, "Munich")
    assert_error(api.patch(f"{S}/{other}", {"name": "Berlin"}), 422, "site-name-taken",
                 "name")
    assert_error(api.patch(f"{S}/{other}", {"timezone": "Nowhere/Else"}), 422, None,
                 "timezone")
    for role in ("athlete", "coach", "therapist"):
        assert_error(api.as_(make_user(role)).post(S, {"name": "Tent",
                                                       "timezone": "Europe/Berlin"}), 403)
    assert_error(api.get(f"{S}/{berlin + 999}"), 404)
    assert_error(api.patch(f"{S}/{berlin + 999}", {"name": "X"}), 404)
    assert [s["name"] for s in ok(api.get(S))["items"]] == [
        s["name"] for s in before["items"]] + ["Munich"]


def test_the_first_site_takes_in_therapists_without_one(api, make_therapist):
    first, second = make_therapist(), make_therapist()
    assert first["site_id"] is None and second["site_id"] is None
    home = site(api, "Berlin")
    for therapist in (first, second):
        assert ok(api.get(f"{T}/{therapist['id']}"))["site_id"] == home
    # one site: a new therapist without site_id is put there
    assert make_therapist()["site_id"] == home


def test_with_two_sites_a_therapist_needs_a_site(api, make_therapist):
    home, tent = site(api, "Berlin"), site(api, "Tent")
    before = ok(api.get(f"{T}?limit=100"))
    body = {"name": "Ana", "email": "ana@clinic.test", "timezone": "Europe/Berlin"}
    assert_error(api.post(T, body), 422, "site-required", "site_id")
    assert_error(api.post(T, {**body, "site_id": tent + 999}), 404, None, "site_id")
    assert ok(api.get(f"{T}?limit=100")) == before
    placed = make_therapist(site_id=tent)
    assert placed["site_id"] == tent
    moved = ok(api.patch(f"{T}/{placed['id']}", {"site_id": home}))
    assert moved["site_id"] == home
    assert_error(api.patch(f"{T}/{placed['id']}", {"site_id": home + 999}), 404)


def test_a_working_period_at_another_site(api, make_therapist, make_athlete, make_event):
    home, tent = site(api, "Berlin"), site(api, "Tent")
    hours = [{"day": "wed", "start": "08:00", "end": "12:00"},
             {"day": "thu", "start": "08:00", "end": "12:00", "site_id": tent}]
    therapist = make_therapist(site_id=home, working_hours=hours)
    assert therapist["working_hours"] == hours  # site_id only where the period has one
    event = make_event(make_athlete()["id"])["id"]  # no home, no venue: every site
    pre = proposals(api, event, kind="pre")["pre"]
    assert pre and all(set(s) >= {"site_id"} for s in pre)
    for slot in pre:
        local = at(slot["start"]).astimezone(BERLIN)
        assert slot["site_id"] == (tent if local.weekday() == 3 else home), slot
    assert {s["site_id"] for s in pre} == {home, tent}
    bad = [{"day": "wed", "start": "08:00", "end": "12:00", "site_id": tent + 999}]
    assert_error(api.put(f"{T}/{therapist['id']}/working-hours", bad), 404)


def test_every_slot_has_a_site_and_the_site_filter(api, make_therapist, make_athlete,
                                                    make_event):
    home, tent = site(api, "Berlin"), site(api, "Tent")
    make_therapist(site_id=home)
    make_therapist(site_id=tent)
    event = make_event(make_athlete()["id"])["id"]
    everything = slots_of(proposals(api, event))
    assert {s["site_id"] for s in everything} == {home, tent}
    only_tent = slots_of(proposals(api, event, site_id=tent))
    assert only_tent and {s["site_id"] for s in only_tent} == {tent}
    assert only_tent == [s for s in everything if s["site_id"] == tent]
    both = proposals(api, event, site_id=[home, tent])
    assert slots_of(both) == everything
    assert_error(api.get(f"{E}/{event}/proposals", query_string={"site_id": tent + 999}),
                 404, None, "site_id")
    assert_error(api.get(f"{E}/{event}/proposals",
                         query_string={"site_id": [home, tent + 999]}), 404, None, "site_id")


def test_home_slots_lie_outside_the_travel_and_venue_slots_inside(api, travelling):
    answer = proposals(api, travelling["event"])
    assert "reasons" not in answer  # only when a kind has no slot
    for kind in ("pre", "post"):
        assert {s["site_id"] for s in answer[kind]} == {travelling["home"], travelling["tent"]}
    for slot in slots_of(answer):
        assert_where(slot, travelling["home"], travelling["tent"])
        assert slot["therapist_id"] == (travelling["berlin"] if slot["site_id"]
                                        == travelling["home"] else travelling["tent_pt"])
    event = ok(api.get(f"{E}/{travelling['event']}"))
    assert event["venue_site_id"] == travelling["tent"]
    assert event["travel"] == {"depart": "2027-05-13T10:00:00Z",
                               "return": "2027-05-17T10:00:00Z"}


def test_the_athletes_home_alone_keeps_slots_at_home(api, make_therapist, make_athlete,
                                                      make_event):
    home, other = site(api, "Berlin"), site(api, "Munich")
    make_therapist(site_id=home)
    make_therapist(site_id=other)
    athlete = make_athlete(home_site_id=home)["id"]
    assert ok(api.get(f"/api/v1/athletes/{athlete}"))["home_site_id"] == home
    event = make_event(athlete)["id"]
    found = slots_of(proposals(api, event))
    assert found and {s["site_id"] for s in found} == {home}
    # moving home moves the slots; clearing it brings every site back
    ok(api.patch(f"/api/v1/athletes/{athlete}", {"home_site_id": other}))
    assert {s["site_id"] for s in slots_of(proposals(api, event))} == {other}
    ok(api.patch(f"/api/v1/athletes/{athlete}", {"home_site_id": None}))
    assert {s["site_id"] for s in slots_of(proposals(api, event))} == {home, other}
    assert_error(api.patch(f"/api/v1/athletes/{athlete}", {"home_site_id": other + 999}), 404)


def test_travel_without_a_venue_site_says_travel(api, make_therapist, make_athlete,
                                                  make_event):
    home = site(api, "Berlin")
    make_therapist(site_id=home)
    athlete = make_athlete(home_site_id=home)["id"]
    # away from Tuesday to Wednesday after the race: no time at home in either window
    event = make_event(athlete, travel={"depart": "2027-05-11T12:00",
                                        "return": "2027-05-19T12:00"})["id"]
    answer = proposals(api, event)
    assert answer["pre"] == [] and answer["post"] == []
    assert {kind: r["code"] for kind, r in answer["reasons"].items()} == {
        "pre": "travel", "post": "travel"}
    assert all(r["message"] for r in answer["reasons"].values())
    # a shorter trip leaves the pre window's Wednesday and the post window's Tuesday
    ok(api.patch(f"{E}/{event}", {"travel": TRAVEL}))
    answer = proposals(api, event)
    assert "reasons" not in answer  # only when a kind has no slot
    for slot in slots_of(answer):
        assert_where(slot, home, None)


def test_no_therapist_at_the_athletes_sites_says_site(api, make_therapist, make_athlete,
                                                       make_event):
    home, empty = site(api, "Berlin"), site(api, "Munich")
    make_therapist(site_id=home)
    event = make_event(make_athlete(home_site_id=empty)["id"])["id"]
    answer = proposals(api, event)
    assert answer["pre"] == [] and answer["post"] == []
    assert {k: r["code"] for k, r in answer["reasons"].items()} == {"pre": "site",
                                                                      "post": "site"}
    # past windows say past (an event already over)
    past = make_event(make_athlete()["id"], start="2026-12-01T08:00",
                      end="2026-12-01T10:00")["id"]
    assert {k: r["code"] for k, r in proposals(api, past)["reasons"].items()} == {
        "pre": "past", "post": "past"}


def test_booking_at_a_wrong_site_is_refused_and_changes_nothing(api, app, travelling):
    event, home, tent = travelling["event"], travelling["home"], travelling["tent"]
    before = snapshot(app)
    # Thursday afternoon the athlete is near the venue: not with the Berlin therapist
    error = assert_error(api.post("/api/v1/bookings", {
        "event_id": event, "therapist_id": travelling["berlin"], "kind": "pre",
        "start": "2027-05-13T14:00"}), 422, "wrong-site")
    assert error["message"]
    # Wednesday the athlete is at home: not at the tent
    assert_error(api.post("/api/v1/bookings", {
        "event_id": event, "therapist_id": travelling["tent_pt"], "kind": "pre",
        "start": "2027-05-12T09:00"}), 422, "wrong-site")
    # a session across the departure (11:30-12:15 at home) is not wholly outside
    assert_error(api.post("/api/v1/bookings", {
        "event_id": event, "therapist_id": travelling["berlin"], "kind": "pre",
        "start": "2027-05-13T11:30"}), 422)
    assert snapshot(app) == before
    at_home = book(api, event, travelling["berlin"], "pre", "2027-05-12T09:00")
    assert at_home["site_id"] == home
    at_tent = book(api, event, travelling["tent_pt"], "post", "2027-05-15T14:00")
    assert at_tent["site_id"] == tent
    # reschedule obeys the same rule
    before = snapshot(app)
    url = f"/api/v1/bookings/{at_home['id']}"
    assert_error(api.patch(url, {"start": "2027-05-13T14:00"}), 422, "wrong-site")
    assert_error(api.patch(f"/api/v1/bookings/{at_tent['id']}",
                           {"start": "2027-05-17T14:00"}), 422, "wrong-site")
    assert snapshot(app) == before
    moved = ok(api.patch(url, {"start": "2027-05-13T14:00",
                               "therapist_id": travelling["tent_pt"]}))
    assert (moved["site_id"], moved["therapist_id"], moved["sequence"]) == (
        tent, travelling["tent_pt"], 1)


def test_a_tune_up_is_at_home(api, make_therapist, make_athlete):
    home, other = site(api, "Berlin"), site(api, "Munich")
    berlin, munich = make_therapist(site_id=home)["id"], make_therapist(site_id=other)["id"]
    athlete = make_athlete(home_site_id=home)["id"]
    tune_up = {"kind": "tune-up", "athlete_id": athlete, "start": "2027-03-03T09:00"}
    assert_error(api.post("/api/v1/bookings", {**tune_up, "therapist_id": munich}), 422,
                 "wrong-site")
    assert created(api.post("/api/v1/bookings", {**tune_up, "therapist_id": berlin})
                   )["site_id"] == home


# --- team plans -----------------------------------------------------------------------------

@pytest.fixture
def coach(make_user, api):
    email = "coach@team.test"
    token = make_user("coach", email)
    team = created(api.post("/api/v1/teams", {"name": "Riders", "coach_email": email}))
    return {"api": api.as_(token), "team": team["id"]}


def member(api, coach, athlete: dict[str, Any]) -> int:
    created(api.post(f"/api/v1/teams/{coach['team']}/members", {"athlete_id": athlete["id"]}))
    return athlete["id"]


def test_the_team_plan_gives_each_member_their_own_home(api, coach, make_therapist,
                                                         make_athlete, make_event):
    berlin_site, denver_site = site(api, "Berlin"), site(api, "Denver", "America/Denver")
    berlin = make_therapist(site_id=berlin_site)["id"]
    denver = make_therapist(site_id=denver_site, timezone="America/Denver")["id"]
    in_berlin = member(api, coach, make_athlete(home_site_id=berlin_site))
    in_denver = member(api, coach, make_athlete(home_site_id=denver_site,
                                                timezone="America/Denver"))
    anywhere = member(api, coach, make_athlete())
    event = make_event(team_id=coach["team"], name="Club Relay")["id"]
    plan = ok(coach["api"].post(f"{E}/{event}/plan"))
    assert plan["placed"] == 3 and plan["unplaced_reasons"] == []
    by_athlete = {a["athlete_id"]: a for a in plan["assignments"]}
    for athlete, therapist, at_site in ((in_berlin, berlin, berlin_site),
                                        (in_denver, denver, denver_site)):
        for kind in ("pre", "post"):
            slot = by_athlete[athlete][kind]
            assert (slot["therapist_id"], slot["site_id"]) == (therapist, at_site), slot
    for kind in ("pre", "post"):
        assert by_athlete[anywhere][kind]["site_id"] in {berlin_site, denver_site}
    booked = ok(coach["api"].post(f"{E}/{event}/book-team"), 201)
    homes = {in_berlin: berlin_site, in_denver: denver_site}
    assert len(booked["bookings"]) == 6
    for booking in booked["bookings"]:
        if booking["athlete_id"] in homes:
            assert booking["site_id"] == homes[booking["athlete_id"]], booking


def test_the_team_plan_says_site_or_travel(api, coach, make_therapist, make_athlete,
                                           make_event):
    berlin_site, empty, tent = site(api, "Berlin"), site(api, "Munich"), site(api, "Tent")
    make_therapist(site_id=berlin_site)
    at_home = member(api, coach, make_athlete(home_site_id=berlin_site))
    nowhere = member(api, coach, make_athlete(home_site_id=empty))
    # the team is away over both windows and nobody works at the tent
    event = make_event(team_id=coach["team"], name="Club Relay", venue_site_id=tent,
                       travel={"depart": "2027-05-11T12:00", "return": "2027-05-19T12:00"}
                       )["id"]
    plan = ok(coach["api"].post(f"{E}/{event}/plan"))
    assert plan["placed"] == 0
    assert sorted((r["athlete_id"], r["reason"]) for r in plan["unplaced_reasons"]) == sorted(
        [(at_home, "travel"), (nowhere, "site")])
    # without the travel the member at home is placed at home; the other still not
    ok(api.patch(f"{E}/{event}", {"travel": None}))
    plan = ok(coach["api"].post(f"{E}/{event}/plan"))
    assert plan["placed"] == 1
    assert [(r["athlete_id"], r["reason"]) for r in plan["unplaced_reasons"]] == [
        (nowhere, "site")]
    [placed] = [a for a in plan["assignments"] if a["pre"]]
    assert placed["athlete_id"] == at_home
    assert {placed["pre"]["site_id"], placed["post"]["site_id"]} == {berlin_site}


# --- race moves and flags -------------------------------------------------------------------

def test_a_race_move_keeps_sessions_where_the_athlete_is(api, travelling):
    event, home, tent = travelling["event"], travelling["home"], travelling["tent"]
    pre = book(api, event, travelling["berlin"], "pre", "2027-05-12T09:00")
    post = book(api, event, travelling["berlin"], "post", "2027-05-17T13:00")
    # one week later, leaving at 06:00 on the Wednesday of the new pre window
    moved = ok(api.patch(f"{E}/{event}", {
        "start": "2027-05-22T08:00", "end": "2027-05-22T12:30",
        "travel": {"depart": "2027-05-19T06:00", "return": "2027-05-24T12:00"},
        "move_bookings": True}))
    assert moved["flagged_bookings"] == []
    by_id = {b["id"]: b for b in moved["moved_bookings"]}
    assert set(by_id) == {pre["id"], post["id"]}
    depart = datetime(2027, 5, 19, 6, 0, tzinfo=BERLIN)
    return_ = datetime(2027, 5, 24, 12, 0, tzinfo=BERLIN)
    for booking in by_id.values():
        assert_where(booking, home, tent, depart, return_)
    # the Berlin therapist has no time at home in the new pre window: the tent's has
    assert (by_id[pre["id"]]["therapist_id"], by_id[pre["id"]]["site_id"]) == (
        travelling["tent_pt"], tent)


def test_changing_travel_or_venue_flags_sessions_where_the_athlete_no_longer_is(
        api, travelling):
    event, home, tent = travelling["event"], travelling["home"], travelling["tent"]
    pre = book(api, event, travelling["berlin"], "pre", "2027-05-12T09:00")
    post = book(api, event, travelling["tent_pt"], "post", "2027-05-15T14:00")
    # leaving a day earlier: Wednesday's session at home now lies in the travel
    changed = ok(api.patch(f"{E}/{event}", {"travel": {"depart": "2027-05-12T06:00",
                                                        "return": "2027-05-17T12:00"}}))
    assert [b["id"] for b in changed["flagged_bookings"]] == [pre["id"]]
    # no venue site any more: the tent's session is flagged too (the pre still is)
    changed = ok(api.patch(f"{E}/{event}", {"venue_site_id": None}))
    assert changed["venue_site_id"] is None
    assert sorted(b["id"] for b in changed["flagged_bookings"]) == sorted([pre["id"],
                                                                           post["id"]])
    # back as it was: nothing flagged
    changed = ok(api.patch(f"{E}/{event}", {"venue_site_id": tent, "travel": TRAVEL}))
    assert changed["flagged_bookings"] == []
    assert (changed["venue_site_id"], changed["travel"]["depart"]) == (
        tent, "2027-05-13T10:00:00Z") and home != tent


# --- the season view ------------------------------------------------------------------------

def test_the_season_view_proposes_where_the_athlete_is(api, travelling, make_therapist):
    answer = ok(api.get(f"/api/v1/athletes/{travelling['athlete']}/season",
                        query_string={"from": "2027-05-01", "to": "2027-06-01",
                                      "tune_up_weeks": 0}))
    slots = [(s, x) for s in answer["suggestions"] for x in s["slots"]]
    assert {s["kind"] for s, _ in slots} >= {"pre", "post"}
    for _, slot in slots:
        assert_where(slot, travelling["home"], travelling["tent"])


def test_the_site_filter_narrows_and_never_offers_a_slot_that_cannot_be_booked(
        api, travelling, make_therapist):
    """Regression: ?site_id= replaced the athlete's sites, so a Berlin athlete asking for
    another site got its slots, and booking one was 422 wrong-site."""
    event, home, tent = travelling["event"], travelling["home"], travelling["tent"]
    munich = site(api, "Munich")
    make_therapist(name="Munich PT", site_id=munich)
    answer = proposals(api, event, site_id=munich)
    assert answer["pre"] == [] and answer["post"] == []
    assert {k: r["code"] for k, r in answer["reasons"].items()} == {"pre": "site",
                                                                      "post": "site"}
    only_home = proposals(api, event, site_id=home)
    assert only_home["pre"] and {s["site_id"] for s in slots_of(only_home)} == {home}
    assert only_home["pre"] == [s for s in proposals(api, event)["pre"]
                                if s["site_id"] == home]
    for slot in slots_of(only_home):
        assert_where(slot, home, tent)
    # every slot of a filtered answer can be booked
    both = proposals(api, event, site_id=[munich, tent])
    assert {s["site_id"] for s in slots_of(both)} == {tent}
    first = both["post"][0]
    booked = book(api, event, first["therapist_id"], "post",
                  first["start"].replace("Z", "+00:00"))
    assert booked["site_id"] == tent


def test_event_site_and_travel_validation(api, make_athlete, make_event):
    home = site(api, "Berlin")
    athlete = make_athlete(home_site_id=home)["id"]
    race = {"athlete_id": athlete, "name": "Race", "sport": "running",
            "timezone": "Europe/Berlin", "start": "2027-05-15T08:00"}
    assert_error(api.post(E, {**race, "venue_site_id": home + 999}), 404, None,
                 "venue_site_id")
    assert_error(api.post(E, {**race, "travel": {"depart": "2027-05-17T12:00",
                                                 "return": "2027-05-13T12:00"}}), 422,
                 None, "travel")
    assert_error(api.post(E, {**race, "travel": {"depart": "2027-05-13T12:00"}}), 422)
    assert_error(api.post("/api/v1/athletes", {"name": "X", "email": "x@a.test",
                                               "sport": "running",
                                               "timezone": "Europe/Berlin",
                                               "home_site_id": home + 999}), 404, None,
                 "home_site_id")
    event = make_event(athlete, venue_site_id=home, travel=TRAVEL)["id"]
    before = ok(api.get(f"{E}/{event}"))
    assert_error(api.patch(f"{E}/{event}", {"venue_site_id": home + 999}), 404)
    assert_error(api.patch(f"{E}/{event}", {"travel": {"depart": "2027-05-13T12:00",
                                                       "return": "2027-05-13T12:00"}}), 422)
    assert ok(api.get(f"{E}/{event}")) == before
    cleared = ok(api.patch(f"{E}/{event}", {"travel": None, "venue_site_id": None}))
    assert (cleared["travel"], cleared["venue_site_id"]) == (None, None)


def test_a_shared_session_is_where_the_athlete_is_for_both_events(
        api, travelling, make_event):
    """Regression: a session booked for one event's post that also serves the next
    event's pre (shared_with_event_id) was checked against the first event's sites only."""
    home, tent, athlete = travelling["home"], travelling["tent"], travelling["athlete"]
    first = make_event(athlete, name="Home 10k", start="2027-05-29T08:00",
                       end="2027-05-29T10:00")["id"]  # post window to the end of Tue 1 June
    # the next race: pre window Tue 1 + Wed 2 June, the athlete away from Tue 06:00
    second = make_event(athlete, name="Tent race", start="2027-06-04T08:00",
                        end="2027-06-04T12:00", venue_site_id=tent,
                        travel={"depart": "2027-06-01T06:00", "return": "2027-06-06T12:00"}
                        )["id"]
    shared = {"event_id": first, "kind": "post", "start": "2027-06-01T09:00",
              "shared_with_event_id": second}
    assert_error(api.post("/api/v1/bookings", {**shared, "therapist_id": travelling["berlin"]}),
                 422, "wrong-site")
    # at the tent it is not where the athlete is for the first event (no travel: home only)
    assert_error(api.post("/api/v1/bookings", {**shared,
                                               "therapist_id": travelling["tent_pt"]}),
                 422, "wrong-site")
    # the proposals label no slot as also serving the second race where the athlete is not
    post = proposals(api, first, kind="post")["post"]
    assert post, "Saturday to Monday at home are in the first race's post window"
    # from Tue 06:00 the athlete is away for the second race: no session at home then
    assert all(s["end"] <= "2027-06-01T04:00:00Z" for s in post), post[-2:]
    assert all("shared_with_event_id" not in s for s in post), post[:2]
    # the season view proposes no shared slot it would refuse
    view = ok(api.get(f"/api/v1/athletes/{athlete}/season",
                      query_string={"from": "2027-05-25", "to": "2027-06-10",
                                    "tune_up_weeks": 0}))
    shared_suggestions = [s for s in view["suggestions"] if s["kind"] == "shared"]
    assert [s["event_ids"] for s in shared_suggestions] == [[first, second]]
    assert shared_suggestions[0]["slots"] == []
    assert home != tent


def test_a_travel_change_with_move_bookings_moves_sessions_to_where_the_athlete_is(
        api, travelling):
    event, tent = travelling["event"], travelling["tent"]
    pre = book(api, event, travelling["berlin"], "pre", "2027-05-12T09:00")
    trip = {"depart": "2027-05-12T06:00", "return": "2027-05-17T12:00"}
    moved = ok(api.patch(f"{E}/{event}", {"travel": trip, "move_bookings": True}))
    assert moved["flagged_bookings"] == []
    [booking] = moved["moved_bookings"]
    assert (booking["id"], booking["site_id"], booking["therapist_id"]) == (
        pre["id"], tent, travelling["tent_pt"])
    assert_where(booking, travelling["home"], tent,
                 datetime(2027, 5, 12, 6, 0, tzinfo=BERLIN), RETURN)


def test_another_races_trip_keeps_the_athlete_away_from_home(api, make_therapist,
                                                             make_athlete, make_event):
    """The athlete is away during the travel of any of their races, not only the one a
    session is for: a Berlin race's recovery is not put at home while the athlete is
    already away for the next race (a trip from Tue 18 May, 08:00 to Sun 23 May)."""
    home = site(api, "Berlin")
    make_therapist(site_id=home)
    athlete = make_athlete(home_site_id=home)
    race = make_event(athlete["id"])
    make_event(athlete["id"], name="Alpine stage race", timezone="Europe/Zurich",
               start="2027-05-20", end="2027-05-22",
               travel={"depart": "2027-05-18T08:00", "return": "2027-05-23T18:00"})
    trip = (datetime(2027, 5, 18, 8, 0, tzinfo=ZoneInfo("Europe/Zurich")),
            datetime(2027, 5, 23, 18, 0, tzinfo=ZoneInfo("Europe/Zurich")))
    post = proposals(api, race["id"], kind="post")["post"]
    assert post and all(at(s["end"]) <= trip[0] or at(s["start"]) >= trip[1] for s in post)
    assert any(at(s["start"]).astimezone(BERLIN).date().isoformat() == "2027-05-17"
               for s in post)  # Monday still at home
    therapist = post[0]["therapist_id"]
    refused = api.post("/api/v1/bookings", {"event_id": race["id"], "therapist_id": therapist,
                                            "kind": "post", "start": "2027-05-18T09:00"})
    assert_error(refused, 422, "wrong-site")
