"""The pages of sites and travel through the Flask test client, on SQLite and PostgreSQL:
the admin's sites page (add, change) and the site pickers for therapists and athletes; the
athlete's home site; a race's site near the venue and travel on the athlete's and the
coach's forms; slots named with their site and a window without a slot saying why; the
coach's board and the therapist's week naming sites; the hours editor's site per period.
Only the right role opens each; bad input comes back readable with what was typed, and
nothing is saved."""

from __future__ import annotations

from html import unescape
from typing import Any

import pytest
import sqlalchemy as sa
from coachutil import board_url
from coachutil import post as post_form
from pageutil import Page, csrf, post, scalar, text

from athlete_sched.extensions import db

BERLIN = {"name": "Berlin Mitte", "timezone": "Europe/Berlin", "address": "Torstraße 140"}
DENVER = {"name": "Denver Clinic", "timezone": "America/Denver",
          "address": "1600 Wynkoop St, Denver"}
TENT = {"name": "Boulder Race Tent", "timezone": "America/Denver"}
# A Saturday race in Denver: its pre window is Wed 10 and Thu 11 Feb (Denver's days), its
# recovery window runs from the finish to the end of Tue 16 Feb.
RACE = {"name": "Rocky Mountain Half", "sport": "running", "timezone": "America/Denver",
        "start": "2027-02-13T07:00", "end": "2027-02-13T09:30"}
AWAY = {"depart": "2027-02-09T08:00", "return": "2027-02-17T18:00"}




def site(api, body: dict[str, str]) -> dict[str, Any]:
    made = api.post("/api/v1/sites", body)
    assert made.status_code == 201, made.get_json()
    return made.get_json()


@pytest.fixture
def places(api) -> dict[str, dict[str, Any]]:
    return {"berlin": site(api, BERLIN), "denver": site(api, DENVER)}


@pytest.fixture
def admin(page_as):
    return page_as("admin", "boss@clinic.test")


def fields_of(response, action: str) -> dict[str, str | None]:
    return [f["fields"] for f in Page(response.get_data(as_text=True)).forms
            if f["action"] == action][-1]


def field_error(response, field_id: str) -> str:
    """The error message shown under a field."""
    html = response.get_data(as_text=True)
    marker = f'id="{field_id}-error">'
    assert marker in html, text(response)
    return unescape(html.split(marker, 1)[1].split("<", 1)[0])


# --- who may open them ----------------------------------------------------------------------

@pytest.mark.parametrize("role", ["athlete", "coach", "therapist"])
def test_other_roles_are_refused_the_sites_pages_and_forms(app, page_as, places, role):
    client = page_as(role)
    berlin = places["berlin"]["id"]
    for url in ("/admin/sites", f"/admin/sites/{berlin}"):
        assert client.get(url).status_code == 403, url
    token = csrf(client, "/account")
    for url in ("/admin/sites", f"/admin/sites/{berlin}", "/admin/therapists/1/site"):
        answer = client.post(url, data={"csrf_token": token, "name": "Taken over",
                                        "timezone": "UTC", "site_id": str(berlin)})
        assert answer.status_code == 403, url
    assert scalar(app, "SELECT count(*) FROM site WHERE name = 'Taken over'") == 0


@pytest.mark.parametrize("role", ["coach", "therapist", "admin"])
def test_only_an_athlete_sets_a_home_site_on_the_season_page(app, page_as, places, role):
    client = page_as(role)
    answer = client.post("/season/home-site", data={
        "home-csrf_token": csrf(client, "/account"),
        "home-home_site_id": str(places["berlin"]["id"])})
    assert answer.status_code == 403


# --- the admin's sites page -------------------------------------------------------------------

def test_the_sites_page_is_in_the_admins_navigation_and_lists_no_site_at_first(admin):
    page = admin.get("/admin")
    assert 'href="/admin/sites"' in page.get_data(as_text=True)
    listed = admin.get("/admin/sites")
    assert listed.status_code == 200
    assert "No sites yet" in text(listed)


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"name": "", "timezone": "Europe/Berlin"}, "name", "Give the site a name."),
    ({"name": "Mitte", "timezone": "Mars/Olympus"}, "timezone", "is not a time zone we know"),
    ({"name": "Mitte", "timezone": "Europe/Berlin", "address": "x" * 501}, "address",
     "at most 500 characters"),
])
def test_a_bad_site_is_refused_readably_with_what_was_typed(app, admin, fields, field,
                                                            message):
    answer = post(admin, "/admin/sites", fields)
    assert answer.status_code == 422
    assert message in field_error(answer, field)
    assert "The site was not added." in text(answer)
    kept = fields_of(answer, "/admin/sites")
    assert kept["name"] == fields["name"]
    assert scalar(app, "SELECT count(*) FROM site") == 0


def test_the_admin_adds_a_site_and_changes_it(app, admin):
    added = post(admin, "/admin/sites", {"name": " Berlin Mitte ", "timezone": "Europe/Berlin",
                                         "address": "Torstraße  140"})
    assert added.status_code == 303 and added.headers["Location"] == "/admin/sites"
    listed = admin.get("/admin/sites")
    assert "The site Berlin Mitte is added." in text(listed)
    assert "Berlin Mitte · Europe/Berlin" in text(listed) and "Torstraße 140" in text(listed)
    site_id = scalar(app, "SELECT id FROM site WHERE name = 'Berlin Mitte'")
    again = post(admin, "/admin/sites", {"name": "Berlin Mitte", "timezone": "UTC"})
    assert again.status_code == 422
    assert "exists already" in field_error(again, "name")
    assert scalar(app, "SELECT count(*) FROM site") == 1

    edit = admin.get(f"/admin/sites/{site_id}")
    assert edit.status_code == 200
    assert fields_of(edit, f"/admin/sites/{site_id}")["name"] == "Berlin Mitte"
    refused = post(admin, f"/admin/sites/{site_id}", {"name": "", "timezone": "Europe/Berlin",
                                                      "address": "Elsewhere 1"})
    assert refused.status_code == 422 and "Give the site a name." in text(refused)
    assert fields_of(refused, f"/admin/sites/{site_id}")["address"] == "Elsewhere 1"
    assert scalar(app, "SELECT address FROM site") == "Torstraße 140"
    saved = post(admin, f"/admin/sites/{site_id}", {
        "name": "Berlin Mitte", "timezone": "Europe/Berlin", "address": "Invalidenstraße 1"})
    assert saved.status_code == 303
    assert scalar(app, "SELECT address FROM site") == "Invalidenstraße 1"
    assert admin.get("/admin/sites/999999").status_code == 404


def test_the_admin_puts_a_new_therapist_at_a_site_and_moves_them(app, admin, api, places):
    berlin, denver = places["berlin"]["id"], places["denver"]["id"]
    page = admin.get("/admin/therapists")
    assert f'<option value="{denver}">Denver Clinic (America/Denver)</option>' in \
        page.get_data(as_text=True)
    added = post(admin, "/admin/therapists", {
        "name": "Kelsey Moreno", "email": "kelsey@clinic.test", "timezone": "America/Denver",
        "session_minutes": "50", "site_id": str(denver)})
    assert added.status_code == 303
    therapist_id = scalar(app, "SELECT id FROM therapist WHERE email = 'kelsey@clinic.test'")
    assert scalar(app, "SELECT site_id FROM therapist WHERE id = :i", i=therapist_id) == denver
    assert "works at Denver Clinic" in text(admin.get("/admin/therapists"))

    for bad in ("999999", "abc", ""):
        refused = post(admin, f"/admin/therapists/{therapist_id}/site", {"site_id": bad},
                       "/admin/therapists")
        assert refused.status_code == 422, bad
        assert "Pick a site from the list" in text(refused)
    assert scalar(app, "SELECT site_id FROM therapist WHERE id = :i", i=therapist_id) == denver
    moved = post(admin, f"/admin/therapists/{therapist_id}/site", {"site_id": str(berlin)},
                 "/admin/therapists")
    assert moved.status_code == 303
    assert scalar(app, "SELECT site_id FROM therapist WHERE id = :i", i=therapist_id) == berlin


def test_a_new_athlete_gets_a_home_site_or_none(app, admin, places):
    denver = places["denver"]["id"]
    added = post(admin, "/admin/athletes", {
        "name": "Diego Alvarez", "email": "diego@athletes.test", "sport": "mtb",
        "timezone": "America/Denver", "home_site_id": str(denver)})
    assert added.status_code == 303
    assert scalar(app, "SELECT home_site_id FROM athlete") == denver
    assert "home site Denver Clinic" in text(admin.get("/admin/athletes"))
    refused = post(admin, "/admin/athletes", {
        "name": "Sam Carter", "email": "sam@athletes.test", "sport": "mtb",
        "timezone": "America/Denver", "home_site_id": "999999"})
    assert refused.status_code == 422 and "The athlete was not added." in text(refused)
    assert scalar(app, "SELECT count(*) FROM athlete") == 1


# --- the athlete: home site, a race away with travel -----------------------------------------

@pytest.fixture
def athlete(page_as, make_athlete):
    made = make_athlete(email="mara@athletes.test")
    return made, page_as("athlete", "mara@athletes.test")


def test_the_athlete_sets_and_clears_their_home_site(app, athlete, places):
    _, client = athlete
    berlin = places["berlin"]["id"]
    season = client.get("/season")
    assert "My home site" in text(season) and "No home site yet" in text(season)
    bad = client.post("/season/home-site", data={"home-csrf_token": csrf(client),
                                                 "home-home_site_id": "999999"})
    assert bad.status_code == 422
    assert "not one of the clinic's sites" in field_error(bad, "home-home_site_id")
    assert scalar(app, "SELECT home_site_id FROM athlete") is None
    saved = client.post("/season/home-site", data={"home-csrf_token": csrf(client),
                                                   "home-home_site_id": str(berlin)})
    assert saved.status_code == 303
    assert scalar(app, "SELECT home_site_id FROM athlete") == berlin
    assert "are at Berlin Mitte (Torstraße 140)" in text(client.get("/season"))
    cleared = client.post("/season/home-site", data={"home-csrf_token": csrf(client),
                                                     "home-home_site_id": ""})
    assert cleared.status_code == 303
    assert scalar(app, "SELECT home_site_id FROM athlete") is None


def test_no_site_no_home_site_card_and_no_travel_fields(athlete):
    _, client = athlete
    season = client.get("/season").get_data(as_text=True)
    assert "My home site" not in season and 'name="travel_depart"' not in season


PLAN = {"name": "Rocky Mountain Half", "date": "2027-02-13", "sport": "running",
        "start_time": "07:00", "finish_time": "09:30", "timezone": "America/Denver"}


@pytest.mark.parametrize(("travel", "field", "message"), [
    ({"travel_depart": "2027-02-09T08:00"}, "travel_return",
     "Give the time you are back home too"),
    ({"travel_return": "2027-02-17T18:00"}, "travel_depart", "Give the time you leave home too"),
    ({"travel_depart": "2027-02-17T18:00", "travel_return": "2027-02-09T08:00"},
     "travel_return", "You are back home after you leave"),
    ({"travel_depart": "next tuesday", "travel_return": "2027-02-09T08:00"}, "travel_depart",
     "Not a valid datetime value"),
    ({"venue_site_id": "999999"}, "venue_site_id", "No site with id 999999"),
    ({"venue_site_id": "Denver"}, "venue_site_id", "Pick a site from the list."),
])
def test_a_bad_venue_or_travel_is_refused_readably_with_what_was_typed(
        app, athlete, places, travel, field, message):
    _, client = athlete
    answer = post(client, "/events", {**PLAN, **travel}, "/season")
    assert answer.status_code == 422
    assert message.lower() in field_error(answer, field).lower()
    kept = fields_of(answer, "/events")
    assert kept["name"] == PLAN["name"]
    for name, value in travel.items():
        if name != "venue_site_id":
            assert kept[name] == value
    assert scalar(app, "SELECT count(*) FROM event") == 0


def test_the_athlete_plans_a_race_away_and_sees_slots_at_the_venue_site(
        app, api, athlete, places, make_therapist):
    made, client = athlete
    berlin, denver = places["berlin"]["id"], places["denver"]["id"]
    make_therapist(site_id=berlin)
    make_therapist(name="Kelsey Moreno", timezone="America/Denver", site_id=denver)
    api.patch(f"/api/v1/athletes/{made['id']}", {"home_site_id": berlin})
    planned = post(client, "/events", {**PLAN, "venue_site_id": str(denver),
                                       "travel_depart": AWAY["depart"],
                                       "travel_return": AWAY["return"]}, "/season")
    assert planned.status_code == 303, text(planned)
    event = api.get(planned.headers["Location"].replace("/events", "/api/v1/events")).get_json()
    assert event["venue_site_id"] == denver
    assert event["travel"] == {"depart": "2027-02-09T15:00:00Z", "return": "2027-02-18T01:00:00Z"}
    race = client.get(planned.headers["Location"])
    said = text(race)
    assert "Away from home Tue 9 Feb 2027 08:00 – Wed 17 Feb 2027 18:00 (America/Denver)" in said
    assert "Sessions near the venue are at Denver Clinic, 1600 Wynkoop St, Denver." in said
    slots = Page(race.get_data(as_text=True)).slot_texts
    assert slots and all("at Denver Clinic, 1600 Wynkoop St, Denver" in s for s in slots)
    assert all("Kelsey Moreno" in s for s in slots)
    slot = Page(race.get_data(as_text=True)).slots()[0]
    booked = client.post(f"{planned.headers['Location']}/book", data=slot)
    assert booked.status_code == 303, text(booked)
    session = text(client.get(booked.headers["Location"]))
    assert "Where Denver Clinic, 1600 Wynkoop St, Denver" in session
    assert "At Denver Clinic, 1600 Wynkoop St, Denver." in text(client.get(
        planned.headers["Location"]))


def test_a_window_without_a_slot_says_travel_is_why(app, api, athlete, places,
                                                     make_therapist):
    made, client = athlete
    berlin = places["berlin"]["id"]
    tent = site(api, TENT)["id"]  # nobody works there
    make_therapist(site_id=berlin)
    api.patch(f"/api/v1/athletes/{made['id']}", {"home_site_id": berlin})
    event = api.post("/api/v1/events", {**RACE, "athlete_id": made["id"],
                                        "venue_site_id": tent, "travel": AWAY}).get_json()
    race = client.get(f"/events/{event['id']}")
    assert Page(race.get_data(as_text=True)).slot_texts == []
    said = text(race)
    assert "Your travel leaves no time in the pre-race window at a site where you are" in said
    assert "Your travel leaves no time in the recovery window" in said
    assert "the athlete" not in said  # the page speaks to them


# --- the coach: a team event away, the board -------------------------------------------------

@pytest.fixture
def team(api, page_as, make_athlete, places):
    coach = page_as("coach", "coach@test.example")
    made = api.post("/api/v1/teams", {"name": "Spree Runners",
                                      "coach_email": "coach@test.example"}).get_json()
    member = make_athlete(name="Ada Lind", home_site_id=places["berlin"]["id"])
    api.post(f"/api/v1/teams/{made['id']}/members", {"athlete_id": member["id"]})
    return coach, made


def test_the_coach_plans_a_team_event_with_a_venue_site_and_travel(app, api, team, places,
                                                                   make_therapist):
    coach, made = team
    denver = places["denver"]["id"]
    make_therapist(name="Kelsey Moreno", timezone="America/Denver", site_id=denver)
    url = f"/teams/{made['id']}"
    refused = post_form(coach, url, f"{url}/events", {
        "event-name": "Rocky Relay", "event-date": "2027-02-13", "event-sport": "running",
        "event-timezone": "America/Denver", "event-travel_depart": AWAY["depart"]})
    assert refused.status_code == 422
    assert "Give the time you are back home too" in field_error(refused, "event-travel_return")
    assert fields_of(refused, f"{url}/events")["event-travel_depart"] == AWAY["depart"]
    assert scalar(app, "SELECT count(*) FROM event") == 0
    planned = post_form(coach, url, f"{url}/events", {
        "event-name": "Rocky Relay", "event-date": "2027-02-13", "event-sport": "running",
        "event-start_time": "07:00", "event-finish_time": "09:30",
        "event-timezone": "America/Denver", "event-venue_site_id": str(denver),
        "event-travel_depart": AWAY["depart"], "event-travel_return": AWAY["return"]})
    assert planned.status_code == 303, text(planned)
    assert scalar(app, "SELECT venue_site_id FROM event") == denver
    board = text(coach.get(planned.headers["Location"]))
    assert "with Kelsey Moreno at Denver Clinic" in board


def test_the_board_says_travel_keeps_an_athlete_unplaced(app, api, team, places,
                                                         make_therapist):
    coach, made = team
    make_therapist(site_id=places["berlin"]["id"])
    tent = site(api, TENT)["id"]
    event = api.post("/api/v1/events", {**RACE, "team_id": made["id"],
                                        "venue_site_id": tent, "travel": AWAY}).get_json()
    board = text(coach.get(board_url(made["id"], event["id"])))
    assert "Their travel leaves no time in a window at a site where they are" in board


# --- the therapist: hours at another site, the week ------------------------------------------

@pytest.fixture
def therapist(page_as, make_therapist, places):
    made = make_therapist(email="ana@clinic.test", site_id=places["berlin"]["id"],
                          working_hours=[{"day": "mon", "start": "08:00", "end": "12:00"}])
    return made, page_as("therapist", "ana@clinic.test")


def test_a_weekly_period_can_be_at_another_site(app, therapist, places):
    _, client = therapist
    denver = places["denver"]["id"]
    page = client.get("/hours").get_data(as_text=True)
    assert "My site (Berlin Mitte)" in page and "Denver Clinic (America/Denver)" in page
    fields = fields_of(client.get("/hours"), "/hours")
    assert fields["mon-0-site_id"] is None  # a select: its value is the option chosen
    data = {k: v or "" for k, v in fields.items()}
    data.update({"mon-0-start": "08:00", "mon-0-end": "12:00", "mon-0-site_id": "",
                 "tue-0-start": "09:00", "tue-0-end": "13:00", "tue-0-site_id": str(denver)})
    bad = client.post("/hours", data={**data, "tue-0-site_id": "Denver"})
    assert bad.status_code == 422 and "Pick a site from the list." in text(bad)
    assert scalar(app, "SELECT count(*) FROM working_period") == 1
    saved = client.post("/hours", data=data)
    assert saved.status_code == 303, text(saved)
    with app.app_context():
        rows = db.session.execute(sa.text(
            "SELECT day, site_id FROM working_period ORDER BY day")).all()
        db.session.rollback()
    assert [tuple(r) for r in rows] == [(0, None), (1, denver)]
    again = client.get("/hours").get_data(as_text=True)
    assert f'<option selected value="{denver}">' in again


def test_one_site_no_site_picker_on_the_hours_page(api, page_as, make_therapist):
    site(api, BERLIN)
    make_therapist(email="ana@clinic.test")
    client = page_as("therapist", "ana@clinic.test")
    assert 'name="mon-0-site_id"' not in client.get("/hours").get_data(as_text=True)


def test_the_week_names_the_site_of_each_session(app, api, therapist, places, make_athlete):
    made, client = therapist
    athlete = make_athlete(home_site_id=places["berlin"]["id"])
    booked = api.post("/api/v1/bookings", {
        "therapist_id": made["id"], "athlete_id": athlete["id"], "kind": "tune-up",
        "start": "2027-01-11T08:00:00+01:00"})
    assert booked.status_code == 201, booked.get_json()
    week = text(client.get("/week?start=2027-01-11"))
    assert "At Berlin Mitte · Torstraße 140" in week
