"""The athlete's pages through the Flask test client, on SQLite and PostgreSQL: the season
page (timeline, races, sessions of any status, the plan-a-race form), the race page's
windows and slots by day, the session page (calendar links, moving, cancelling under the
clinic's notice) and the screening page; other roles and anonymous callers kept out."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import icalendar
import pytest
from pageutil import DEMO_LOGINS, Page, csrf, sign_in, text
from sqlalchemy import func, select
from test_one_road import statements

from athlete_sched.db.models import Athlete, Booking, Screening
from athlete_sched.extensions import db
from athlete_sched.web.pages.format import clock_span, period

DEMO_EMAIL, DEMO_PASSWORD = DEMO_LOGINS["athlete"]
RACE = {"name": "Spring 10K", "date": "2027-03-14", "start_time": "10:00",
        "finish_time": "11:00", "end_date": "", "timezone": "Europe/Berlin",
        "sport": "running"}


@pytest.fixture
def demo(app, runner, client) -> int:
    """The demo clinic, `client` signed in as its athlete; returns the athlete's id."""
    with app.app_context():
        assert runner.invoke(args=["demo"]).exit_code == 0
        athlete_id = db.session.scalar(select(Athlete.id).where(Athlete.email == DEMO_EMAIL))
    assert sign_in(client, DEMO_EMAIL, DEMO_PASSWORD).status_code == 303
    return athlete_id


def planned(client, **fields: str) -> tuple[int, Page]:
    response = client.post("/events", data={**RACE, **fields, "csrf_token": csrf(client)})
    assert response.status_code == 303, text(response)
    event_id = int(re.fullmatch(r"/events/(\d+)", response.location).group(1))
    return event_id, Page(client.get(response.location).get_data(as_text=True))


def booked(client, **fields: str) -> tuple[int, dict]:
    """Plan the race and book its best pre slot; the booking's id and the slot."""
    event_id, page = planned(client, **fields)
    best = next(f for f, t in zip(page.slots(), page.slot_texts, strict=True)
                if " Best " in f" {t} " and f["kind"] == "pre")
    response = client.post(f"/events/{event_id}/book", data=best)
    assert response.status_code == 303, text(response)
    return int(response.location.rsplit("/", 1)[1]), best


def booking_row(app, booking_id: int) -> tuple[str, int, datetime]:
    with app.app_context():
        b = db.session.get(Booking, booking_id)
        return b.status, b.sequence, b.start.astimezone(UTC)


def form_of(page_html: str, action_end: str) -> list[dict]:
    return [f["fields"] for f in Page(page_html).forms if f["action"].endswith(action_end)]


# --- the season page ----------------------------------------------------------------------

def test_season_page_draws_the_timeline_and_lists_it_as_text(client, demo):
    event_id, _ = planned(client)
    booking_id, _ = booked(client, name="Autumn Trail", date="2027-04-18")
    html = client.get("/season").get_data(as_text=True)
    assert '<svg class="timeline__svg"' in html and 'role="img"' in html
    assert '<title id="tl-title">Season timeline</title>' in html and "<desc" in html
    shown = text(client.get("/season"))
    assert "Spring 10K" in shown and "Autumn Trail" in shown
    assert ("Pre-race session window: Thu 11 Mar 2027 through Fri 12 Mar 2027 "
            "(Europe/Berlin)") in shown
    assert re.search(r"Booked: pre-race session, Thu 15 Apr 2027 \d\d:\d\d–\d\d:\d\d", shown)
    assert "Suggested: recovery session for Autumn Trail, Sun 18 Apr 2027 12:00 through " \
        "Wed 21 Apr 2027 (Europe/Berlin)" in shown
    assert f'href="/events/{event_id}"' in html and f'href="/bookings/{booking_id}"' in html
    assert html.count('class="tl-pre"') >= 2 and html.count('class="tl-session"') == 1


def test_season_form_defaults_to_the_athletes_zone_with_every_zone_to_search(client, demo):
    html = client.get("/season").get_data(as_text=True)
    form = next(f for f in Page(html).forms if f["action"] == "/events")["fields"]
    assert form["timezone"] == "Europe/Berlin"  # the demo athlete's zone
    assert 'list="zones"' in html and 'data-browser-zone="fill"' in html
    options = re.findall(r'<option value="([^"]+)">', html.split('<datalist id="zones">')[1]
                         .split("</datalist>")[0])
    assert {"America/Denver", "Asia/Kathmandu", "Pacific/Chatham"} <= set(options)
    assert "/static/athlete-zone.js" in html


def test_a_zone_typed_from_the_list_plans_the_race_there(client, demo):
    event_id, page = planned(client, timezone="Asia/Kathmandu")
    assert "(Asia/Kathmandu)" in text(client.get(f"/events/{event_id}"))


def test_a_zone_not_in_the_list_is_a_422_keeping_what_was_typed(client, app, demo):
    response = client.post("/events", data={**RACE, "timezone": "Berlin",
                                            "csrf_token": csrf(client)})
    assert response.status_code == 422
    page = Page(response.get_data(as_text=True))
    assert page.invalid == ["timezone"]
    form = next(f for f in page.forms if f["action"] == "/events")["fields"]
    assert (form["timezone"], form["name"], form["date"]) == ("Berlin", "Spring 10K",
                                                              "2027-03-14")
    assert 'data-browser-zone="fill"' not in response.get_data(as_text=True), (
        "a sent form keeps its zone: the script must not replace it")


def test_cancelled_and_past_sessions_stay_listed_and_marked(client, app, demo):
    first, _ = booked(client)
    second, _ = booked(client, name="Autumn Trail", date="2027-04-18")
    assert client.post(f"/bookings/{first}/cancel",
                       data={"csrf_token": csrf(client, f"/bookings/{first}")}).status_code == 303
    shown = text(client.get("/season"))
    assert re.search(r"Pre-race session: Spring 10K Cancelled", shown)
    app.config["FROZEN_NOW"] = "2027-04-20T00:00:00+00:00"  # the second one is over
    shown = text(client.get("/season"))
    assert "Earlier sessions" in shown
    assert re.search(r"Pre-race session: Autumn Trail Past", shown)
    assert re.search(r"Pre-race session: Spring 10K Cancelled", shown)


def test_season_page_sends_the_same_statements_for_few_or_many_sessions(client, app, demo):
    booked(client)
    with statements(app) as few:
        assert client.get("/season").status_code == 200
    for n, day in enumerate(("2027-04-18", "2027-05-23", "2027-06-20", "2027-07-18")):
        booked(client, name=f"Race {n}", date=day)
    with statements(app) as many:
        assert client.get("/season").status_code == 200
    assert len(many) == len(few), (len(few), len(many))
    assert len(many) <= 25


# --- the race page ------------------------------------------------------------------------

def test_race_page_lists_slots_by_day_with_year_and_zone(client, demo):
    event_id, page = planned(client)
    html = client.get(f"/events/{event_id}").get_data(as_text=True)
    days = re.findall(r'<h4 class="slot-day">([^<]+)<span class="muted">\(([^)]+)\)', html)
    assert days and all(re.fullmatch(r"\w{3} \d+ \w{3} 2027 ", d) for d, _ in days)
    assert {z for _, z in days} == {"Europe/Berlin"}
    for kind in ("pre", "post"):
        starts = [s["start"] for s in page.slots() if s["kind"] == kind]
        assert starts == sorted(starts), "time order within a window"
    assert html.count('class="slot__best"') == 2, "one best slot per window"


# --- the session page ---------------------------------------------------------------------

def test_session_page_offers_the_calendar_links(client, app, demo):
    booking_id, slot = booked(client)
    html = client.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert f'href="/bookings/{booking_id}/invite.ics"' in html
    invite = icalendar.Calendar.from_ical(client.get(f"/bookings/{booking_id}/invite.ics")
                                          .get_data())
    [vevent] = invite.walk("VEVENT")
    assert vevent.decoded("DTSTART").astimezone(UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ") == slot["start"]
    found = [u.replace("&amp;", "&")
             for u in re.findall(r'href="((?:https|webcal)://[^"]+)"', html)]
    links = {urlsplit(u).netloc: u for u in found}
    start = datetime.fromisoformat(slot["start"].replace("Z", "+00:00"))
    end = start + timedelta(minutes=45)
    google = parse_qs(urlsplit(links["calendar.google.com"]).query)
    assert google["dates"] == [f"{start:%Y%m%dT%H%M%SZ}/{end:%Y%m%dT%H%M%SZ}"]
    assert google["text"] == ["Dry needling – pre-race session: Spring 10K"]
    outlook = parse_qs(urlsplit(links["outlook.live.com"]).query)
    assert (outlook["startdt"], outlook["enddt"]) == ([slot["start"]],
                                                      [f"{end:%Y-%m-%dT%H:%M:%SZ}"])
    # what the invite says, the links say: its title and place (the site's address)
    for query, title in ((google, "text"), (outlook, "subject")):
        assert (query[title], query["location"]) == ([str(vevent["SUMMARY"])],
                                                      [str(vevent["LOCATION"])])
    assert "Torstraße 140" in str(vevent["LOCATION"])
    webcal = next(u for u in links.values() if u.startswith("webcal://"))
    feed = client.get(urlsplit(webcal).path)
    assert feed.status_code == 200 and b"BEGIN:VCALENDAR" in feed.get_data()


def test_move_to_another_slot_of_the_window(client, app, demo):
    booking_id, slot = booked(client)
    html = client.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "you can move or cancel this session until" in text(
        client.get(f"/bookings/{booking_id}"))
    options = form_of(html, "/reschedule")
    assert options and all(o["kind"] == "pre" for o in options)
    assert slot["start"] not in [o["start"] for o in options]
    target = options[-1]
    response = client.post(f"/bookings/{booking_id}/reschedule", data=target)
    assert response.status_code == 303
    status, sequence, start = booking_row(app, booking_id)
    assert (status, sequence, start.strftime("%Y-%m-%dT%H:%M:%SZ")) == (
        "confirmed", 1, target["start"])
    assert "Your session was moved" in text(client.get(response.location))


@pytest.mark.parametrize("change", ["reschedule", "cancel"])
def test_too_late_and_started_are_readable_409s_that_change_nothing(client, app, demo, change):
    booking_id, slot = booked(client)
    page = client.get(f"/bookings/{booking_id}").get_data(as_text=True)
    data = (form_of(page, "/reschedule")[0] if change == "reschedule"
            else form_of(page, "/cancel")[0])
    start = datetime.fromisoformat(slot["start"].replace("Z", "+00:00"))
    app.config["FROZEN_NOW"] = (start - timedelta(hours=3)).isoformat()
    late = client.post(f"/bookings/{booking_id}/{change}", data=data)
    assert late.status_code == 409
    assert "It is too late to change this session online" in text(late)
    assert "24 hours' notice" in text(late)
    app.config["FROZEN_NOW"] = (start + timedelta(minutes=5)).isoformat()
    started = client.post(f"/bookings/{booking_id}/{change}", data=data)
    assert started.status_code == 409
    assert "This session has already started" in text(started)
    assert booking_row(app, booking_id)[:2] == ("confirmed", 0)


def test_inside_the_notice_the_page_offers_no_change(client, app, demo):
    booking_id, slot = booked(client)
    start = datetime.fromisoformat(slot["start"].replace("Z", "+00:00"))
    app.config["FROZEN_NOW"] = (start - timedelta(hours=3)).isoformat()
    html = client.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert not form_of(html, "/reschedule") and not form_of(html, "/cancel")
    assert "That time has passed" in text(client.get(f"/bookings/{booking_id}"))


def test_cancel_then_the_page_shows_it_cancelled(client, app, demo):
    booking_id, _ = booked(client)
    token = csrf(client, f"/bookings/{booking_id}")
    response = client.post(f"/bookings/{booking_id}/cancel", data={"csrf_token": token})
    assert response.status_code == 303
    shown = text(client.get(response.location))
    assert "This pre-race session was cancelled" in shown and "Cancelled" in shown
    assert booking_row(app, booking_id)[:2] == ("cancelled", 1)
    again = client.post(f"/bookings/{booking_id}/reschedule",
                        data={"csrf_token": token, "kind": "pre", "therapist_id": "1",
                              "start": "2027-03-11T09:00:00Z"})
    assert again.status_code == 409 and "This session is cancelled" in text(again)


@pytest.mark.parametrize("change", [{"start": "soon"}, {"therapist_id": "99999999"}],
                         ids=["start-not-a-date", "no-such-therapist"])
def test_a_bad_move_is_a_readable_422(client, app, demo, change):
    booking_id, _ = booked(client)
    page = client.get(f"/bookings/{booking_id}").get_data(as_text=True)
    response = client.post(f"/bookings/{booking_id}/reschedule",
                           data={**form_of(page, "/reschedule")[0], **change})
    assert response.status_code == 422
    assert "That slot is not valid" in text(response)
    assert booking_row(app, booking_id)[:2] == ("confirmed", 0)


# --- the screening page -------------------------------------------------------------------

def checked(html: str, key: str) -> str | None:
    """The value of the radio button checked for a consideration."""
    found = re.search(rf'<input checked id="{key}-\d" name="{key}" type="radio" value="([^"]*)"',
                      html)
    return found and found.group(1)


def screening_data(client, **answers: str) -> dict:
    return {"csrf_token": csrf(client, "/screening"), "note": ""} | answers


def test_screening_answer_then_see_it_awaiting_review(client, app, api, demo):
    assert "Not answered yet" in text(client.get("/screening"))
    response = client.post("/screening", data=screening_data(
        client, pacemaker="yes", pregnancy="no", note="Left calf tight"))
    assert response.status_code == 303
    shown = text(client.get("/screening"))
    assert "Answered: awaiting your therapist&#39;s review" in shown
    assert "Cardiac pacemaker" in shown
    stored = api.get(f"/api/v1/athletes/{demo}/screening").get_json()
    assert stored["answers"]["pacemaker"] is True and stored["answers"]["pregnancy"] is False
    assert stored["answers"]["diabetes"] is None and stored["note"] == "Left calf tight"
    html = client.get("/screening").get_data(as_text=True)
    assert checked(html, "pacemaker") == "yes" and checked(html, "pregnancy") == "no"
    assert checked(html, "diabetes") == ""
    assert re.search(r">\s*Left calf tight</textarea>", html)


def test_screening_shows_the_therapists_decision_and_note(client, app, api, demo):
    client.post("/screening", data=screening_data(client, diabetes="yes"))
    review = api.post(f"/api/v1/athletes/{demo}/screening/review",
                      {"decision": "not-cleared", "note": "Let us talk first"})
    assert review.status_code == 200, review.get_json()
    shown = text(client.get("/screening"))
    assert "Not cleared for dry needling" in shown and "Let us talk first" in shown
    api.post(f"/api/v1/athletes/{demo}/screening/review", {"decision": "cleared"})
    assert "Cleared for dry needling" in text(client.get("/screening"))


@pytest.mark.parametrize("fields, message", [
    ({"pacemaker": "maybe"}, "Choose one of the three answers."),
    ({"note": "x" * 2001}, "Use at most 2000 characters."),
], ids=["unknown-answer", "long-note"])
def test_bad_screening_input_keeps_what_was_typed(client, app, demo, fields, message):
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Screening))
    data = screening_data(client, diabetes="yes", note="kept") | fields
    response = client.post("/screening", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in text(response)
    assert checked(html, "diabetes") == "yes", "the other answers are kept"
    if "note" not in fields:
        assert re.search(r">\s*kept</textarea>", html)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Screening)) == before, \
            "nothing saved (the demo's other athlete keeps her answers)"


# --- who may open them --------------------------------------------------------------------

ATHLETE_PAGES = ["/season", "/screening", "/events/{event}", "/bookings/{booking}"]


@pytest.mark.parametrize("role", ["coach", "therapist", "admin"])
def test_other_roles_are_refused(client, demo, page_as, role):
    booking_id, _ = booked(client)
    event_id = planned(client, name="Other")[0]
    other = page_as(role)
    for url in ATHLETE_PAGES:
        answer = other.get(url.format(event=event_id, booking=booking_id))
        assert answer.status_code == 403, url
    for url in (f"/bookings/{booking_id}/cancel", "/screening"):
        assert other.post(url, data={}).status_code in (400, 403)


def test_anonymous_is_sent_to_sign_in(app, demo):
    anonymous = app.test_client()
    for url in ATHLETE_PAGES:
        answer = anonymous.get(url.format(event=1, booking=1))
        assert answer.status_code == 302 and answer.location.startswith("/sign-in?next=")


def test_someone_elses_booking_cannot_be_changed(client, app, api, demo, make_athlete,
                                                 make_event, make_therapist):
    other = make_athlete()
    site_id = api.get("/api/v1/sites").get_json()["items"][0]["id"]  # the demo has two
    therapist = make_therapist(site_id=site_id)
    event = make_event(other["id"])
    theirs = api.post("/api/v1/bookings", {"event_id": event["id"], "kind": "pre",
                                           "therapist_id": therapist["id"],
                                           "start": "2027-05-12T06:00:00Z"}).get_json()
    token = csrf(client)
    assert client.post(f"/bookings/{theirs['id']}/cancel",
                       data={"csrf_token": token}).status_code == 404
    assert booking_row(app, theirs["id"])[:2] == ("confirmed", 0)


# --- how the pages say times (no database) --------------------------------------------------

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize("start, end, expected", [
    ("2027-03-11T08:00Z", "2027-03-11T08:45Z", "09:00–09:45"),
    ("2027-03-11T22:30Z", "2027-03-11T23:15Z", "23:30 – Fri 12 Mar 2027 00:15"),
], ids=["within-the-day", "across-midnight"])
def test_a_slot_within_its_day(start, end, expected):
    assert clock_span(instant(start), instant(end), BERLIN) == expected


@pytest.mark.parametrize("start, end, expected", [
    ("2026-12-22T23:00Z", "2026-12-25T23:00Z", "Wed 23 Dec 2026 through Fri 25 Dec 2026"),
    ("2027-03-14T11:00Z", "2027-03-17T23:00Z", "Sun 14 Mar 2027 12:00 through Wed 17 Mar 2027"),
    ("2027-05-12T22:00Z", "2027-05-13T22:00Z", "Thu 13 May 2027"),
    ("2027-01-04T00:00Z", "2027-01-05T00:00Z",
     "Mon 4 Jan 2027 01:00 until Tue 5 Jan 2027 01:00"),
], ids=["whole-days", "opens-after-the-finish", "one-day", "not-on-midnights"])
def test_a_window_ends_through_its_last_day(start, end, expected):
    """Never 'Sat 26 Dec 00:00' for a window that ends with Friday 25 December."""
    assert period(instant(start), instant(end), BERLIN) == expected


def instant(text_: str) -> datetime:
    return datetime.fromisoformat(text_.replace("Z", "+00:00"))
