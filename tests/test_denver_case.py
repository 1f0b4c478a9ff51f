"""The Denver case of issue 13, through the API on both backends.

A Berlin athlete (home site Berlin, a Berlin therapist there) races the Colorado Trail
Stage Race in Denver (America/Denver, UTC-6 in June): Thu 10 June 2027 09:00 to Sun 13
June 14:00, Denver time. Its pre window is Mon 7 + Tue 8 June and its post window runs
from the finish plus the recovery gap to the end of Wed 16 June, all Denver days. The
athlete flies out on Mon 7 June at 12:00 Denver time (20:00 Berlin) and is back home on
Tue 15 June at 08:00 Denver time (16:00 Berlin).

Before sites, the clinic's "best" recovery slot for this race was a Berlin therapist at
23:30 Denver time. Now:
(a) with a Denver site (a therapist there, the race's venue site), every slot is at the site
    where the athlete is at the time, at a local hour inside that site's therapist's hours;
    never the Berlin therapist while the athlete is away;
(b) without one, the pre and post slots are at home outside the travel span, or the window
    says `travel`.

And as a team event with the same travel, the trip is every member's: their own races'
sessions are not put at home while the team is away (proposals, bookings, season view).
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from api.helpers import assert_error, at, created, ok

BERLIN, DENVER = ZoneInfo("Europe/Berlin"), ZoneInfo("America/Denver")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BERLIN_HOURS = [{"day": d, "start": s, "end": e} for d in DAYS[:6]
                for s, e in (("08:00", "12:00"), ("13:00", "18:00"))]
DENVER_HOURS = [{"day": d, "start": "07:00", "end": "19:00"} for d in DAYS]
RACE = {"name": "Colorado Trail Stage Race", "sport": "mtb", "timezone": "America/Denver",
        "start": "2027-06-10T09:00", "end": "2027-06-13T14:00"}
TRIP = {"depart": "2027-06-07T12:00", "return": "2027-06-15T08:00"}  # Denver time
DEPART = datetime(2027, 6, 7, 12, 0, tzinfo=DENVER)
RETURN = datetime(2027, 6, 15, 8, 0, tzinfo=DENVER)


def within_hours(start: datetime, end: datetime, hours: list[dict[str, str]],
                 zone: ZoneInfo) -> bool:
    """Whether [start, end) lies inside one weekly period, on the local wall-clock."""
    lo, hi = start.astimezone(zone), end.astimezone(zone)
    return lo.date() == hi.date() and any(
        p["day"] == DAYS[lo.weekday()] and time.fromisoformat(p["start"]) <= lo.time()
        and hi.time() <= time.fromisoformat(p["end"]) for p in hours)


def away(start: datetime, end: datetime, depart: datetime, return_: datetime) -> bool:
    return start < return_ and depart < end  # the session touches the travel span


@pytest.fixture
def clinic(api, make_therapist, make_athlete) -> dict[str, Any]:
    berlin_site = created(api.post("/api/v1/sites", {"name": "Berlin",
                                                     "timezone": "Europe/Berlin"}))["id"]
    berlin = make_therapist(name="Berlin PT", working_hours=BERLIN_HOURS)["id"]
    athlete = make_athlete(home_site_id=berlin_site)["id"]
    return {"berlin_site": berlin_site, "berlin": berlin, "athlete": athlete,
            "hours": {berlin: (BERLIN_HOURS, BERLIN)}}


def proposals(api, event_id: int, **query: Any) -> dict[str, Any]:
    return ok(api.get(f"/api/v1/events/{event_id}/proposals",
                      query_string={"limit": 1000, **query}))


def test_with_a_denver_site_every_slot_is_where_the_athlete_is(api, make_therapist,
                                                                make_event, clinic):
    denver_site = created(api.post("/api/v1/sites", {
        "name": "Denver race tent", "timezone": "America/Denver",
        "address": "Civic Center Park, Denver"}))["id"]
    denver = make_therapist(name="Denver PT", timezone="America/Denver",
                            working_hours=DENVER_HOURS, site_id=denver_site)["id"]
    hours = {**clinic["hours"], denver: (DENVER_HOURS, DENVER)}
    site_of = {clinic["berlin"]: clinic["berlin_site"], denver: denver_site}
    event = make_event(clinic["athlete"], **RACE, venue_site_id=denver_site, travel=TRIP)
    answer = proposals(api, event["id"])
    assert "reasons" not in answer
    for kind in ("pre", "post"):
        assert answer[kind], kind
    slots = answer["pre"] + answer["post"]
    for slot in slots:
        start, end = at(slot["start"]), at(slot["end"])
        therapist = slot["therapist_id"]
        assert slot["site_id"] == site_of[therapist], slot
        assert within_hours(start, end, *hours[therapist]), slot
        if away(start, end, DEPART, RETURN):  # away: only near the venue, wholly inside
            assert therapist == denver and start >= DEPART and end <= RETURN, slot
        else:  # at home: only Berlin
            assert therapist == clinic["berlin"], slot
    # the pre window has Monday morning at home (Berlin afternoon) and the rest in Denver
    assert {s["therapist_id"] for s in answer["pre"]} == {clinic["berlin"], denver}
    # the best recovery slot: the Denver tent the evening after the finish, not a Berlin
    # therapist at 23:30 Denver time
    best = answer["post"][0]
    assert best["therapist_id"] == denver
    assert 7 <= at(best["start"]).astimezone(DENVER).hour < 19
    # Booking: one slot at the tent is taken; the Berlin therapist during the trip is not
    tent_slot = next(s for s in answer["pre"] if s["therapist_id"] == denver)
    booked = created(api.post("/api/v1/bookings", {
        "event_id": event["id"], "kind": "pre", "therapist_id": denver,
        "start": tent_slot["start"].replace("Z", "+00:00")}))
    assert (booked["site_id"], booked["start"]) == (denver_site, tent_slot["start"])
    # Mon 14 June 10:00 Berlin (02:00 Denver): a Berlin working hour, the athlete in Denver
    assert_error(api.post("/api/v1/bookings", {
        "event_id": event["id"], "kind": "post", "therapist_id": clinic["berlin"],
        "start": "2027-06-14T10:00"}), 422, "wrong-site")
    # ... but after the return (Tue 15 June 17:00 Berlin) the Berlin therapist is right
    home_post = created(api.post("/api/v1/bookings", {
        "event_id": event["id"], "kind": "post", "therapist_id": clinic["berlin"],
        "start": "2027-06-15T16:00"}))
    assert home_post["site_id"] == clinic["berlin_site"]


@pytest.mark.parametrize(("trip", "post_reason"), [
    (TRIP, None),
    # back only on Thu 17 June: no time at home in the post window
    ({"depart": TRIP["depart"], "return": "2027-06-17T12:00"}, "travel"),
])
def test_without_a_denver_site_slots_are_at_home_outside_the_trip_or_say_travel(
        api, make_event, clinic, trip, post_reason):
    event = make_event(clinic["athlete"], **RACE, travel=trip)
    depart = datetime.fromisoformat(trip["depart"]).replace(tzinfo=DENVER)
    return_ = datetime.fromisoformat(trip["return"]).replace(tzinfo=DENVER)
    answer = proposals(api, event["id"])
    reasons = {kind: r["code"] for kind, r in answer.get("reasons", {}).items()}
    for kind in ("pre", "post"):
        if not answer[kind]:
            assert reasons[kind] == "travel", answer
        for slot in answer[kind]:
            start, end = at(slot["start"]), at(slot["end"])
            assert (slot["therapist_id"], slot["site_id"]) == (clinic["berlin"],
                                                               clinic["berlin_site"])
            assert end <= depart or start >= return_, slot
            assert within_hours(start, end, *clinic["hours"][clinic["berlin"]]), slot
    assert answer["pre"], "Monday morning Denver time is Monday afternoon at home"
    assert reasons.get("post") == post_reason
    assert bool(answer["post"]) == (post_reason is None)
    # the Berlin therapist during the trip is refused, whatever the clinic offers
    assert_error(api.post("/api/v1/bookings", {
        "event_id": event["id"], "kind": "post", "therapist_id": clinic["berlin"],
        "start": "2027-06-14T10:00"}), 422, "wrong-site")


# --- the team's trip is every member's ------------------------------------------------------

# A member's own race at home: Sat 5 June 2027 in Berlin. Its post window runs to the end of
# Tue 8 June, Berlin time; the team leaves for Denver on Mon 7 June at 20:00 Berlin time
# (TRIP), so the member is at home on Monday and away from Tuesday on.
BERLIN_10K = {"name": "Berlin 10k", "start": "2027-06-05T08:00", "end": "2027-06-05T10:00"}
TUESDAY_0900 = datetime(2027, 6, 8, 9, 0, tzinfo=BERLIN)


@pytest.fixture
def team_trip(api, make_therapist, make_event, clinic) -> dict[str, Any]:
    """The clinic with a Denver site (a therapist there), a team whose Colorado race has the
    Denver site as its venue and TRIP as its travel, and the athlete's Berlin 10k."""
    denver_site = created(api.post("/api/v1/sites", {"name": "Denver",
                                                     "timezone": "America/Denver"}))["id"]
    denver = make_therapist(name="Denver PT", timezone="America/Denver",
                            working_hours=DENVER_HOURS, site_id=denver_site)["id"]
    team = created(api.post("/api/v1/teams", {"name": "Colorado Riders"}))["id"]
    team_race = make_event(team_id=team, **RACE, venue_site_id=denver_site, travel=TRIP)["id"]
    race = make_event(clinic["athlete"], **BERLIN_10K)["id"]
    return {**clinic, "denver_site": denver_site, "denver": denver, "team": team,
            "team_race": team_race, "race": race}


def join(api, team_trip: dict[str, Any]) -> None:
    created(api.post(f"/api/v1/teams/{team_trip['team']}/members",
                     {"athlete_id": team_trip["athlete"]}))


@pytest.mark.parametrize("on_the_team", [True, False], ids=["member", "not-a-member"])
def test_a_team_races_trip_keeps_its_members_away_from_home(api, team_trip, on_the_team):
    """A team event's travel is a trip of every member, for their other events too: the
    member's own Berlin race's recovery is not put at home on Tuesday while the team is in
    Denver, and booking it there is 422 wrong-site; an athlete not on the team gets it."""
    if on_the_team:
        join(api, team_trip)
    post = proposals(api, team_trip["race"], kind="post")["post"]
    assert post
    for slot in post:  # the 10k has no venue site: at home only
        assert (slot["therapist_id"], slot["site_id"]) == (team_trip["berlin"],
                                                           team_trip["berlin_site"]), slot
    starts = {at(s["start"]) for s in post}
    assert any(s.astimezone(BERLIN).date().isoformat() == "2027-06-07" for s in starts), (
        "Monday, before the team leaves, is at home either way")
    during = [s for s in post if away(at(s["start"]), at(s["end"]), DEPART, RETURN)]
    tuesday = {"event_id": team_trip["race"], "kind": "post",
               "therapist_id": team_trip["berlin"], "start": "2027-06-08T09:00"}
    if on_the_team:
        assert during == [] and TUESDAY_0900 not in starts, during[:2]
        assert_error(api.post("/api/v1/bookings", tuesday), 422, "wrong-site")
    else:
        assert during and TUESDAY_0900 in starts
        assert created(api.post("/api/v1/bookings", tuesday))["site_id"] == (
            team_trip["berlin_site"])


def test_the_team_races_own_sessions_keep_its_trip(api, team_trip):
    """The team event whose sessions are planned keeps its own travel (it is not cut as
    another race's trip): the member's proposals and the team plan are near the venue
    while away, at home otherwise."""
    join(api, team_trip)
    team_race, athlete = team_trip["team_race"], team_trip["athlete"]
    answer = proposals(api, team_race, athlete_id=athlete)
    for kind in ("pre", "post"):
        assert answer[kind], kind
    for slot in answer["pre"] + answer["post"]:
        if away(at(slot["start"]), at(slot["end"]), DEPART, RETURN):
            assert slot["therapist_id"] == team_trip["denver"], slot
            assert at(slot["start"]) >= DEPART and at(slot["end"]) <= RETURN, slot
        else:
            assert slot["therapist_id"] == team_trip["berlin"], slot
    plan = ok(api.post(f"/api/v1/events/{team_race}/plan"))
    assert plan["placed"] == 1 and plan["unplaced"] == [], plan
    [assignment] = plan["assignments"]
    assert assignment["post"]["site_id"] == team_trip["denver_site"], assignment


@pytest.mark.parametrize("on_the_team", [True, False], ids=["member", "not-a-member"])
def test_the_season_view_keeps_a_member_away_during_a_team_trip(api, make_event, team_trip,
                                                                 on_the_team):
    """The season view's slots for a member's own race leave out the time the team is away
    for another of its events: the Sunday 10k's recovery (Sun 20 June, post window to the
    end of Wed 23 June, Berlin) is at home on Monday morning only, the team leaving for an
    altitude camp on Mon 21 June at 12:00 Berlin time; an athlete not on the team has
    Monday afternoon too (the best 20 slots are all on Monday)."""
    if on_the_team:
        join(api, team_trip)
    leave = datetime(2027, 6, 21, 4, 0, tzinfo=DENVER)  # 12:00 Berlin
    make_event(team_id=team_trip["team"], name="Altitude camp", sport="mtb",
               timezone="America/Denver", start="2027-06-30", end="2027-07-02",
               venue_site_id=team_trip["denver_site"],
               travel={"depart": "2027-06-21T04:00", "return": "2027-07-04T12:00"})
    race = make_event(team_trip["athlete"], name="Sunday 10k", start="2027-06-20T08:00",
                      end="2027-06-20T10:00")["id"]
    view = ok(api.get(f"/api/v1/athletes/{team_trip['athlete']}/season",
                      query_string={"from": "2027-06-17", "to": "2027-06-25",
                                    "tune_up_weeks": 0, "slots": 20}))
    [post] = [s["slots"] for s in view["suggestions"] if s["event_ids"] == [race]
              and s["kind"] == "post"]
    assert len(post) == (14 if on_the_team else 20), post  # 08:00 to 11:15 starts
    assert {s["site_id"] for s in post} == {team_trip["berlin_site"]}
    assert all(at(s["end"]) <= leave for s in post) == on_the_team, post
