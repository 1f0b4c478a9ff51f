"""Sites and travel as properties (hypothesis): no proposed or booked slot is ever at a site
where the athlete is not at that time.

- Through the API on both backends: random clinics of 2-3 sites (Berlin, Denver, London),
  1-3 therapists each at a site with weekly periods that may lie at another site, athletes
  with or without a home site, a personal race and a team race each with or without a
  venue site and travel. The rule is worked out here from what the API shows (the
  athlete's `home_site_id`, the event's `venue_site_id` and `travel`) with
  core.sites.places / allows: every proposed slot (personal, and each member's in a team
  plan) and every booked session obeys it. Booking attempts come from a control race at
  the same time (an athlete with no home, no venue, no travel: every site at any time),
  so they lie in the window and in working hours and are free: one the rule forbids is
  422 `wrong-site` and changes nothing; one it allows is never `wrong-site`. A `site_id`
  filter only narrows: its slots obey the same rule. Few
  examples, no deadline: each is a few dozen requests on a fresh clinic.
- Pure core: core.proposals.propose(where=...) against the exhaustive answer
  (where=None, every slot) filtered by core.sites.allows, for random schedules at sites,
  random places (home, venue, travel, asked sites) and limits.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from api.helpers import assert_error, created
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from athlete_sched.core.availability import TherapistSchedule, WorkingPeriod
from athlete_sched.core.intervals import Interval
from athlete_sched.core.proposals import TherapistState, propose
from athlete_sched.core.sites import Travel, allows, both, places
from athlete_sched.core.working_days import WorkingDay

ZONES = ("Europe/Berlin", "America/Denver", "Europe/London")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BERLIN = ZoneInfo("Europe/Berlin")
TRAVEL_FROM = datetime(2027, 5, 11, tzinfo=BERLIN)  # sent naive: the race's zone

# --- strategies -----------------------------------------------------------------------------

# A weekly period: (day, start hour, hours, site index or None: the therapist's site).
periods = st.lists(st.tuples(st.integers(0, 6), st.sampled_from([6, 8, 13, 16]),
                             st.integers(1, 4), st.one_of(st.none(), st.integers(0, 2))),
                   min_size=1, max_size=8, unique_by=lambda p: (p[0], p[1]))
therapists = st.lists(st.tuples(st.integers(0, 2), st.sampled_from(ZONES), periods,
                                st.sampled_from([30, 45, 60])), min_size=1, max_size=3)
trips = st.one_of(st.none(), st.tuples(st.integers(0, 24), st.integers(1, 28)))  # x 6 hours
places_of_event = st.tuples(st.one_of(st.none(), st.integers(0, 2)), trips)  # venue, trip
homes = st.one_of(st.none(), st.integers(0, 2))


def hours_json(found: list[tuple[int, int, int, int | None]], sites: list[int]
               ) -> list[dict[str, Any]]:
    """Weekly periods as the API takes them; overlapping ones dropped (the API refuses
    them), a site index beyond the clinic's sites read modulo."""
    taken: dict[int, list[tuple[int, int]]] = {}
    out = []
    for day, start, length, at in sorted(found):
        end = min(start + length, 23)
        if any(start < e and s < end for s, e in taken.get(day, [])):
            continue
        taken.setdefault(day, []).append((start, end))
        period = {"day": DAYS[day], "start": f"{start:02d}:00", "end": f"{end:02d}:00"}
        if at is not None:
            period["site_id"] = sites[at % len(sites)]
        out.append(period)
    return out


def travel_json(trip: tuple[int, int] | None) -> dict[str, str] | None:
    if trip is None:
        return None
    depart = (TRAVEL_FROM + timedelta(hours=6 * trip[0])).replace(tzinfo=None)
    return {"depart": depart.isoformat(timespec="minutes"),
            "return": (depart + timedelta(hours=6 * trip[1])).isoformat(timespec="minutes")}


# --- the rule, from what the API shows ------------------------------------------------------

def rule(api, athlete_id: int, event: dict[str, Any]):
    home = ok(api.get(f"/api/v1/athletes/{athlete_id}"))["home_site_id"]
    travel = event["travel"]
    trip = None if travel is None else Travel(instant(travel["depart"]),
                                              instant(travel["return"]))
    return places(home, event["venue_site_id"], trip)


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def session(slot: dict[str, Any]) -> Interval:
    return Interval(instant(slot["start"]), instant(slot["end"]))


def ok(response, status: int = 200) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_json()


def confirmed(api) -> list[dict[str, Any]]:
    return ok(api.get("/api/v1/bookings?status=confirmed&limit=500"))["items"]


def proposals(api, event_id: int, **query: Any) -> dict[str, Any]:
    return ok(api.get(f"/api/v1/events/{event_id}/proposals",
                      query_string={"limit": 200, **query}))


# --- through the API ------------------------------------------------------------------------

# No shrinking: each step is a fresh clinic through the API, and the failing example is
# printed as generated.
@settings(max_examples=15, deadline=None, derandomize=True,
          phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(site_zones=st.lists(st.sampled_from(ZONES), min_size=2, max_size=3),
       staff=therapists, home=homes, race=places_of_event,
       members=st.lists(homes, min_size=1, max_size=3), relay=places_of_event,
       picks=st.lists(st.integers(0, 10_000), max_size=8),
       asked=st.lists(st.integers(0, 2), min_size=1, max_size=2))
def test_no_slot_or_booking_is_where_the_athlete_is_not(
        api, make_therapist, make_athlete, make_event, site_zones, staff, home, race, members,
        relay, picks, asked):
    # The examples share one database (a function-scoped app): names are made unique.
    sites = [created(api.post("/api/v1/sites", {"name": f"Site {uuid.uuid4().hex[:8]}",
                                                "timezone": zone}))["id"]
             for zone in site_zones]
    site_of = lambda index: None if index is None else sites[index % len(sites)]  # noqa: E731
    for at, zone, hours, minutes in staff:
        make_therapist(site_id=site_of(at), timezone=zone, session_minutes=minutes,
                       working_hours=hours_json(hours, sites))
    athlete = make_athlete(home_site_id=site_of(home))["id"]
    race_event = make_event(athlete, venue_site_id=site_of(race[0]), travel=travel_json(race[1]))
    where = rule(api, athlete, race_event)
    answer = proposals(api, race_event["id"])
    event(f"personal proposals: {len(answer['pre'] + answer['post']) > 0}, reasons "
          f"{sorted(r['code'] for r in answer.get('reasons', {}).values())}")
    for kind in ("pre", "post"):
        for slot in answer[kind]:
            assert allows(where, slot["site_id"], session(slot)), (slot, where)
        assert (not answer[kind]) == (kind in answer.get("reasons", {})), answer
    # A site filter narrows: its slots obey the same rule, the one bookings obey.
    wanted = sorted({site_of(a) for a in asked})
    filtered = proposals(api, race_event["id"], site_id=wanted)
    for slot in filtered["pre"] + filtered["post"]:
        assert slot["site_id"] in wanted and allows(where, slot["site_id"], session(slot))

    # Booking attempts: slots of a control race at the same time, free of any site rule.
    control = make_event(make_athlete()["id"], name="Control")
    offered = [s for kind in ("pre", "post") for s in proposals(api, control["id"])[kind]]
    for pick in picks if offered else []:
        slot = offered[pick % len(offered)]
        before = confirmed(api)
        response = api.post("/api/v1/bookings", {
            "event_id": race_event["id"], "therapist_id": slot["therapist_id"],
            "kind": slot["kind"], "start": slot["start"]})
        if not allows(where, slot["site_id"], session(slot)):
            event("a booking attempt where the athlete is not")
            assert_error(response, 422, "wrong-site")
            assert confirmed(api) == before
        elif response.status_code == 201:
            event("a booking where the athlete is")
        else:
            error = assert_error(response, response.status_code)
            assert response.status_code in (409, 422) and error["code"] != "wrong-site", error
    for booking in confirmed(api):
        if booking["event_id"] == race_event["id"]:
            assert allows(where, booking["site_id"], session(booking)), booking

    # The team race: each member with their own home.
    team = created(api.post("/api/v1/teams", {"name": "Riders"}))["id"]
    ids = []
    for at in members:
        ids.append(make_athlete(home_site_id=site_of(at))["id"])
        created(api.post(f"/api/v1/teams/{team}/members", {"athlete_id": ids[-1]}))
    relay_event = make_event(team_id=team, name="Relay", venue_site_id=site_of(relay[0]),
                             travel=travel_json(relay[1]))
    plan = ok(api.post(f"/api/v1/events/{relay_event['id']}/plan"))
    event(f"team plan: {plan['placed']} of {len(ids)} placed")
    rules = {a: rule(api, a, relay_event) for a in ids}
    for assignment in plan["assignments"]:
        for kind in ("pre", "post"):
            slot = assignment[kind]
            if slot is not None:
                assert allows(rules[assignment["athlete_id"]], slot["site_id"],
                              session(slot)), (assignment, rules)
    assert {r["reason"] for r in plan["unplaced_reasons"]} <= {
        "site", "travel", "no-capacity", "own-conflict"}
    booked = api.post(f"/api/v1/events/{relay_event['id']}/book-team")
    assert booked.status_code in (201, 409), booked.get_json()
    for booking in confirmed(api):
        if booking["event_id"] == relay_event["id"]:
            assert allows(rules[booking["athlete_id"]], booking["site_id"], session(booking))


# --- pure core ------------------------------------------------------------------------------

WINDOW_DAY = datetime(2027, 5, 12, tzinfo=BERLIN)


@st.composite
def schedules(draw, sites: list[int | None]) -> TherapistSchedule:
    own = draw(st.sampled_from(sites))
    found, taken = [], set()
    for day, start, length, at in draw(periods):
        if (day, start) in taken or any((day, h) in taken for h in range(start, start + length)):
            continue
        taken.update((day, h) for h in range(start, start + length))
        site = None if at is None else sites[at % len(sites)]
        found.append(WorkingPeriod(day, time(start), time(min(start + length, 23)), site))
    days = ()
    if draw(st.booleans()):  # a one-day change at the therapist's own site
        date = (WINDOW_DAY + timedelta(days=draw(st.integers(0, 5)))).date()
        days = (WorkingDay(date, draw(st.sampled_from(((), ((time(9), time(12)),))))),)
    return TherapistSchedule(
        therapist_id=draw(st.integers(1, 10_000)), tz=ZoneInfo(draw(st.sampled_from(ZONES))),
        working_hours=tuple(sorted(found, key=lambda p: (p.day, p.start))),
        session_minutes=draw(st.sampled_from([30, 45, 60])),
        buffer_minutes=draw(st.sampled_from([0, 10])),
        slot_step_minutes=draw(st.sampled_from([15, 30])), working_days=days, site_id=own)


hours_after = st.integers(0, 6 * 24).map(lambda h: WINDOW_DAY + timedelta(hours=h))
intervals = st.tuples(hours_after, st.integers(1, 30)).map(
    lambda p: Interval(p[0].astimezone(UTC), (p[0] + timedelta(hours=p[1])).astimezone(UTC)))


@st.composite
def problems(draw):
    sites = [1, 2, 3][:draw(st.integers(1, 3))]
    pool = [*sites, None]
    staff = draw(st.lists(schedules(pool), min_size=1, max_size=4,
                          unique_by=lambda s: s.therapist_id))
    states = [TherapistState(s, tuple(draw(st.lists(intervals, max_size=2))),
                             tuple(draw(st.lists(intervals, max_size=2)))) for s in staff]
    trip = draw(st.one_of(st.none(), intervals))
    where = places(draw(st.sampled_from(pool)), draw(st.sampled_from(pool)),
                   None if trip is None else Travel(trip.start, trip.end),
                   draw(st.lists(st.sampled_from(sites), max_size=2)))
    return states, where


@settings(max_examples=300, deadline=None)
@given(problem=problems(), kind=st.sampled_from(["pre", "post"]), limit=st.integers(1, 40),
       busy=st.lists(intervals, max_size=2), now_hours=st.sampled_from([-1000, 30]))
def test_propose_where_is_the_exhaustive_answer_filtered_by_allows(problem, kind, limit, busy,
                                                                    now_hours):
    states, where = problem
    window = Interval(WINDOW_DAY.astimezone(UTC),
                      (WINDOW_DAY + timedelta(days=2)).astimezone(UTC))
    start = (WINDOW_DAY + timedelta(days=3, hours=8)).astimezone(UTC)
    now = window.start + timedelta(hours=now_hours)
    everything = propose(kind, window, start, states, busy, now, limit=100_000)
    expected = [s for s in everything if allows(where, s.site_id, Interval(s.start, s.end))]
    assert propose(kind, window, start, states, busy, now, limit=limit,
                   where=where) == expected[:limit]


somewhere = st.builds(
    lambda home, venue, trip, asked: places(
        home, venue, None if trip is None else Travel(trip.start, trip.end), asked),
    st.sampled_from([1, 2, 3, None]), st.sampled_from([1, 2, 3, None]),
    st.one_of(st.none(), intervals), st.lists(st.sampled_from([1, 2, 3]), max_size=2))


@settings(max_examples=300, deadline=None)
@given(first=somewhere, second=somewhere, site=st.sampled_from([1, 2, 3]),
       session=intervals)
def test_both_allows_what_each_allows(first, second, site, session):
    """core.sites.both (a shared session's rule) allows exactly what both rules allow."""
    assert allows(both(first, second), site, session) == (
        allows(first, site, session) and allows(second, site, session))
