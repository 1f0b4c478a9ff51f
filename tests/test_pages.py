"""The planning pages through the Flask test client, on SQLite and PostgreSQL: plan a race,
see the windows and the slots the API proposes, book, and every way it can go wrong."""

from __future__ import annotations

import re
from datetime import UTC

import icalendar
import pytest
from pageutil import DEMO_LOGINS, Page, csrf, sign_in, text
from sqlalchemy import func, select

from athlete_sched.db.models import Athlete, Booking, Event, Therapist
from athlete_sched.extensions import db

DEMO_EMAIL, DEMO_PASSWORD = DEMO_LOGINS["athlete"]
RACE = {"name": "Spring 10K", "date": "2027-03-14", "start_time": "10:00",
        "finish_time": "11:00", "end_date": "", "timezone": "Europe/Berlin",
        "sport": "running"}
STAGE_RACE = {"name": "Moab Stage Race", "date": "2027-03-19", "start_time": "",
              "finish_time": "", "end_date": "2027-03-21", "timezone": "America/Denver",
              "sport": "mtb"}


def plan(client, **fields: str):
    return client.post("/events", data={**RACE, **fields, "csrf_token": csrf(client)})


def event_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Event))


def confirmed(app, **where: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Booking).filter_by(
            status="confirmed", **where))


@pytest.fixture
def demo(app, runner, client) -> int:
    """The demo clinic, `client` signed in as its athlete; returns the athlete's id."""
    with app.app_context():
        assert runner.invoke(args=["demo"]).exit_code == 0
        athlete_id = db.session.scalar(select(Athlete.id).where(Athlete.email == DEMO_EMAIL))
    assert sign_in(client, DEMO_EMAIL, DEMO_PASSWORD).status_code == 303
    return athlete_id


@pytest.fixture
def therapists(app, demo) -> dict[str, Therapist]:
    with app.app_context():
        found = {t.name: t for t in db.session.scalars(select(Therapist))}
        db.session.expunge_all()
        return found


def planned(client, **fields: str) -> tuple[int, Page]:
    response = plan(client, **fields)
    assert response.status_code == 303, text(response)
    event_id = int(re.fullmatch(r"/events/(\d+)", response.location).group(1))
    page = client.get(response.location)
    assert page.status_code == 200
    return event_id, Page(page.get_data(as_text=True))


# --- the happy path -----------------------------------------------------------------------

@pytest.mark.parametrize("race, pre_text, post_text", [
    (RACE, "Thu 11 Mar 2027 through Fri 12 Mar 2027 (Europe/Berlin)",
     "Sun 14 Mar 2027 12:00 through Wed 17 Mar 2027 (Europe/Berlin)"),
    (STAGE_RACE, "Tue 16 Mar 2027 through Wed 17 Mar 2027 (America/Denver)",
     "Mon 22 Mar 2027 through Wed 24 Mar 2027 (America/Denver)"),
], ids=["marathon-with-finish", "date-only-stage-race"])
def test_planned_race_shows_the_api_windows_and_slots(client, api, demo, race, pre_text,
                                                      post_text):
    event_id, page = planned(client, **race)
    proposals = api.get(f"/api/v1/events/{event_id}/proposals?limit=8").get_json()
    windows = proposals["windows"]
    assert page.times == [windows["pre"]["start"], windows["pre"]["end"],
                          windows["post"]["start"], windows["post"]["end"]]
    shown = [(s["kind"], int(s["therapist_id"]), s["start"]) for s in page.slots()]
    assert proposals["pre"] and proposals["post"]
    for kind in ("pre", "post"):  # the API's slots, listed in time order
        expected = sorted((s["kind"], s["therapist_id"], s["start"]) for s in proposals[kind])
        assert [s for s in shown if s[0] == kind] == sorted(expected, key=lambda s: (s[2], s[1]))
    best = [shown[i] for i, t in enumerate(page.slot_texts) if " Best " in f" {t} "]
    assert best == [(k, proposals[k][0]["therapist_id"], proposals[k][0]["start"])
                    for k in ("pre", "post")], "the API's best slot of each window is marked"
    html = text(client.get(f"/events/{event_id}"))
    assert pre_text in html and post_text in html
    assert api.get(f"/api/v1/events/{event_id}").get_json()["athlete_id"] == demo


def test_slot_times_in_the_event_zone_and_the_therapists(client, api, demo, therapists):
    """A race in Denver: a Berlin therapist's slot also shows the therapist's time. The
    race day, 14 March 2027, is the day the US springs forward."""
    event_id, page = planned(client, timezone="America/Denver")
    ana = therapists["Ana Ruiz"].id
    slots = list(zip(page.slots(), page.slot_texts, strict=True))
    mine = [t for s, t in slots if (int(s["therapist_id"]), s["start"]) == (
        ana, "2027-03-11T16:00:00Z")]
    assert mine, "72 h before 10:00 MDT is 16:00 UTC, Ana's best pre slot"
    assert "Thu 11 Mar 2027 09:00–09:45" in mine[0]
    assert "Therapist's time: Thu 11 Mar 2027 17:00–17:45 (Europe/Berlin)" in mine[0]
    kelsey = therapists["Kelsey Moreno"].id
    for fields, slot_text in slots:
        differs = int(fields["therapist_id"]) != kelsey
        assert ("Therapist's time" in slot_text) is differs
    # booked, the race's page says the session's time in both zones as well
    fields = next(s for s, _ in slots if (int(s["therapist_id"]), s["start"]) == (
        ana, "2027-03-11T16:00:00Z"))
    assert client.post(f"/events/{event_id}/book", data=fields).status_code == 303
    shown = text(client.get(f"/events/{event_id}"))
    assert ("Booked: Thu 11 Mar 2027 09:00–09:45 (America/Denver) with Ana Ruiz (their time: "
            "Thu 11 Mar 2027 17:00–17:45 Europe/Berlin).") in shown


def test_book_a_slot_then_see_the_confirmation(client, api, demo, therapists):
    event_id, page = planned(client)
    slot = page.slots()[0]
    response = client.post(f"/events/{event_id}/book", data=slot)
    assert response.status_code == 303
    booking_id = int(re.fullmatch(r"/bookings/(\d+)", response.location).group(1))
    booking = api.get(f"/api/v1/bookings/{booking_id}").get_json()
    assert (booking["kind"], booking["therapist_id"], booking["start"], booking["athlete_id"]
            ) == (slot["kind"], int(slot["therapist_id"]), slot["start"], demo)
    shown = text(client.get(response.location))
    name = next(n for n, t in therapists.items() if t.id == booking["therapist_id"])
    # e.g. "Thu 11 Mar 2027 10:00–10:45", as the Book button's label names it
    local = re.search(r"\w{3} \d+ \w{3} \d{4} \d\d:\d\d–\d\d:\d\d", page.slot_texts[0]).group(0)
    assert "Your pre-race session is booked" in shown and name in shown and local in shown
    assert "No strenuous activity for 24–48 hours" in shown
    event_page = Page(client.get(f"/events/{event_id}").get_data(as_text=True))
    # with its zone (issue 12: times always with their zone)
    assert f"Booked: {local} (Europe/Berlin) with {name}" in text(client.get(f"/events/{event_id}"))
    assert {s["kind"] for s in event_page.slots()} == {"post"}, "no more pre slots offered"
    assert "Spring 10K" in text(client.get("/season"))


def test_the_confirmation_offers_the_invite_for_a_calendar_app(client, api, demo, therapists):
    event_id, page = planned(client)
    location = client.post(f"/events/{event_id}/book", data=page.slots()[0]).location
    booking = api.get(f"/api/v1{location}").get_json()
    link = re.search(r'href="([^"]+\.ics)"', client.get(location).get_data(as_text=True))
    assert link and link.group(1) == f"{location}/invite.ics"
    invite = client.get(link.group(1))
    assert invite.status_code == 200
    assert invite.headers["Content-Type"] == "text/calendar; charset=utf-8; method=REQUEST"
    parsed = icalendar.Calendar.from_ical(invite.get_data())
    [vevent] = parsed.walk("VEVENT")
    assert (str(vevent["UID"]), int(vevent["SEQUENCE"])) == (booking["uid"], 0)
    assert vevent.decoded("DTSTART").astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") == (
        booking["start"])


def test_double_submit_of_one_slot_is_a_readable_409(client, app, demo):
    event_id, page = planned(client)
    slot = page.slots()[0]
    assert client.post(f"/events/{event_id}/book", data=slot).status_code == 303
    again = client.post(f"/events/{event_id}/book", data=slot)
    assert again.status_code == 409
    assert "You already have this session booked" in text(again)
    assert confirmed(app, event_id=event_id) == 1


def test_slot_taken_by_someone_else_is_a_readable_409(client, app, api, demo, make_athlete,
                                                      make_event):
    event_id, page = planned(client)
    slot = page.slots()[0]
    other = make_athlete(name="Fast Rival")
    rival_event = make_event(other["id"], start="2027-03-14T10:00", end="2027-03-14T11:00")
    taken = api.post("/api/v1/bookings", {"event_id": rival_event["id"], "kind": slot["kind"],
                                          "therapist_id": int(slot["therapist_id"]),
                                          "start": slot["start"]})
    assert taken.status_code == 201
    response = client.post(f"/events/{event_id}/book", data=slot)
    assert response.status_code == 409
    assert "that slot was taken a moment ago" in text(response)
    fresh = Page(response.get_data(as_text=True)).slots()
    assert fresh and slot["start"] not in [s["start"] for s in fresh
                                           if s["therapist_id"] == slot["therapist_id"]]
    assert confirmed(app, event_id=event_id) == 0


# --- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("fields, field, message", [
    ({"date": ""}, "date", "Pick the date of the race or ride."),
    ({"name": "   "}, "name", "Give the race or ride a name."),
    ({"name": "x" * 201}, "name", "Use at most 200 characters."),
    ({"date": "2027-02-30"}, "date", "Not a valid date value."),
    ({"start_time": "10:00", "finish_time": "09:30"}, "finish_time",
     "The finish time must be after the start time."),
    ({"start_time": "10:00", "finish_time": "10:00"}, "finish_time",
     "The finish time must be after the start time."),
    ({"end_date": "2027-03-13"}, "end_date", "The last day cannot be before the first day."),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone", "is not a time zone we know"),
    ({"timezone": "CET+1"}, "timezone", "is not a time zone we know"),
    ({"sport": "golf"}, "sport", "Not a valid choice"),
    ({"date": "2026-12-01"}, "date", "That race is over"),
    ({"finish_time": "", "end_date": "2027-06-30"}, "end_date",
     "An event lasts at most 60 days."),
], ids=["missing-date", "blank-name", "long-name", "no-such-day", "finish-before-start",
        "finish-equals-start", "last-day-before-first", "unknown-zone", "offset-not-zone",
        "unknown-sport", "race-over", "too-long"])
def test_bad_race_input_is_a_readable_422_and_saves_nothing(client, app, demo, fields, field,
                                                            message):
    before = event_count(app)
    response = plan(client, **fields)
    assert response.status_code == 422
    page = Page(response.get_data(as_text=True))
    assert message in text(response)
    assert page.invalid == [field]
    assert event_count(app) == before
    kept = {k: v for k, v in {**RACE, **fields}.items() if k in ("name", "date")}
    form = next(f for f in page.forms if f["action"] == "/events")["fields"]
    for name, value in kept.items():
        if value.strip() and name != field:
            assert form[name] == value, "what the athlete typed is still in the form"


@pytest.mark.parametrize("change, status, message", [
    ({"kind": "during"}, 422, "Choose a pre-race or a recovery session."),
    ({"therapist_id": "abc"}, 422, "That slot is not valid"),
    ({"therapist_id": "99999999999"}, 422, "That slot is not valid"),
    ({"start": "yesterday"}, 422, "That slot is not valid"),
    ({"start": "2027-03-11T09:00"}, 422, "That slot is not valid"),
    ({"start": "2027-03-01T09:00:00Z"}, 422, "must lie inside the pre window"),
    ({"start": "2027-03-11T02:00:00Z"}, 422, "does not fit inside one of the therapist"),
], ids=["unknown-kind", "therapist-not-a-number", "therapist-out-of-range", "start-not-a-date",
        "start-without-offset", "outside-window", "outside-working-hours"])
def test_bad_booking_request_is_a_readable_4xx(client, app, demo, change, status, message):
    event_id, page = planned(client)
    response = client.post(f"/events/{event_id}/book", data={**page.slots()[0], **change})
    assert response.status_code == status
    assert message in text(response)
    assert Page(response.get_data(as_text=True)).slots(), "the slots are shown again"
    assert confirmed(app, event_id=event_id) == 0


def test_forms_need_the_csrf_token_but_the_api_does_not(client, app, api, demo):
    before = event_count(app)
    response = client.post("/events", data=RACE)
    assert response.status_code == 400
    assert "This form has expired" in text(response)
    assert event_count(app) == before
    created = api.post("/api/v1/athletes", {"name": "Api Only", "email": "api@athletes.test",
                                            "sport": "running", "timezone": "UTC"})
    assert created.status_code == 201


@pytest.mark.parametrize("url", ["/events/{other}", "/events/99999999999",
                                 "/bookings/99999999999"])
def test_someone_elses_or_missing_pages_are_404(client, demo, make_athlete, make_event, url):
    other = make_event(make_athlete()["id"])
    response = client.get(url.format(other=other["id"]))
    assert response.status_code == 404
    assert "Something is not right" in text(response)


def test_without_sign_in_the_pages_send_you_to_sign_in_and_save_nothing(app, runner):
    with app.app_context():
        assert runner.invoke(args=["demo"]).exit_code == 0
    before = event_count(app)
    anonymous = app.test_client()
    for url in ("/", "/season", "/events/1", "/bookings/1"):
        answer = anonymous.get(url)
        assert answer.status_code == 302 and answer.location.startswith("/sign-in?next=")
    app.config["WTF_CSRF_ENABLED"] = False  # even without the CSRF check: no sign-in, no change
    posted = anonymous.post("/events", data=RACE)
    assert posted.status_code == 302 and "/sign-in" in posted.location
    assert event_count(app) == before


def test_a_tune_up_booking_has_its_page_and_is_listed(client, api, demo):
    """A tune-up belongs to no event: its page says so and links no event."""
    view = api.get(f"/api/v1/athletes/{demo}/season",
                   query_string={"tune_up_weeks": 3, "slots": 1}).get_json()
    slot = next(s["slots"][0] for s in view["suggestions"]
                if s["kind"] == "tune-up" and s["slots"])
    booked = api.post("/api/v1/bookings", {"kind": "tune-up", "athlete_id": demo,
                                           "therapist_id": slot["therapist_id"],
                                           "start": slot["start"]})
    assert booked.status_code == 201, booked.get_json()
    page = client.get(f"/bookings/{booked.get_json()['id']}")
    assert page.status_code == 200
    shown = text(page)
    assert "Tune-up session" in shown and "Periodic tune-up" in shown
    assert "Tune-up session: Periodic tune-up" in text(client.get("/season"))
