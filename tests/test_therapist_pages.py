"""The therapist's pages through the test client, on SQLite and PostgreSQL: the week (by
day in the therapist's zone, screening flags and the review, the feed with rotate, a
bounded number of statements), the hours editor, time off and the busy calendar; each
form's bad input; other roles refused and anonymous visitors sent to sign in."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from pageutil import Page, csrf, text
from test_ical_import import ics
from test_one_road import statements
from test_subscriptions import (
    Route,
    server,  # noqa: F401 - the calendar server fixture
)

from athlete_sched.db.models import Screening
from athlete_sched.extensions import db

MONDAY = "2027-05-10"  # the week of the race on Sat 15 May 2027 (make_event's default)


@pytest.fixture
def ana(make_therapist) -> dict[str, Any]:
    return make_therapist(email=f"ana-{uuid.uuid4().hex[:6]}@clinic.test")


@pytest.fixture
def therapist_page(page_as, ana):
    return page_as("therapist", ana["email"])


def book(api, athlete_id: int, event_id: int, therapist_id: int, kind: str, start: str):
    made = api.post("/api/v1/bookings", {"event_id": event_id, "athlete_id": athlete_id,
                                         "therapist_id": therapist_id, "kind": kind,
                                         "start": start})
    assert made.status_code == 201, made.get_json()
    return made.get_json()


@pytest.fixture
def booked(api, ana, make_athlete, make_event):
    """An athlete with a pre session (Wed 12 May 09:00 Berlin) and a recovery session (Sat
    15 May 14:00) with Ana, and flagged screening answers."""
    athlete = make_athlete(name="Mara Runner")
    event = make_event(athlete["id"])
    pre = book(api, athlete["id"], event["id"], ana["id"], "pre", "2027-05-12T09:00")
    post = book(api, athlete["id"], event["id"], ana["id"], "post", "2027-05-15T14:00")
    answered = api.put(f"/api/v1/athletes/{athlete['id']}/screening",
                       {"answers": {"blood_thinners": True, "pregnancy": False},
                        "note": "I take aspirin daily"})
    assert answered.status_code == 200, answered.get_json()
    return {"athlete": athlete, "event": event, "pre": pre, "post": post}


# --- the week -----------------------------------------------------------------------------

def test_the_week_lists_sessions_by_day_in_the_therapists_zone(therapist_page, booked):
    page = therapist_page.get(f"/week?start={MONDAY}")
    assert page.status_code == 200
    words = text(page)
    assert "Mon 10 May 2027 – Sun 16 May 2027" in words and "Europe/Berlin" in words
    wed = words.index("Wed 12 May 2027")
    assert words.index("09:00 – 09:45", wed) < words.index("Thu 13 May 2027")
    assert "Mara Runner" in words and "Pre-race" in words or "Pre" in words
    assert "Rennsteig Marathon" in words
    assert "Blood thinners" in words and "Awaiting review" in words
    assert "I take aspirin daily" in words  # the therapist with a session reads the note
    assert re.search(r'href="webcal://localhost/feeds/[\w-]+\.ics"', page.get_data(as_text=True))


def test_the_week_defaults_to_this_week_and_links_the_next(therapist_page, booked):
    page = therapist_page.get("/week")  # FROZEN_NOW: Mon 4 Jan 2027
    assert "Mon 4 Jan 2027 – Sun 10 Jan 2027" in text(page)
    html = page.get_data(as_text=True)
    assert "start=2027-01-11" in html and "start=2026-12-28" in html
    assert "Mara Runner" not in text(page)


def test_an_empty_week_points_to_the_week_of_the_next_session(therapist_page, booked):
    """The demo's therapist opens this week with nothing in it: the page says when the
    next session is and links its week (Wed 12 May 2027: the week of Mon 10 May)."""
    words = text(therapist_page.get("/week"))
    assert "No session this week. The next one is on Wed 12 May 2027" in words
    assert f'href="/week?start={MONDAY}"' in therapist_page.get("/week").get_data(as_text=True)
    assert "No session this week" not in text(therapist_page.get(f"/week?start={MONDAY}"))
    assert "No session this week" not in text(therapist_page.get("/week?start=2027-05-17"))


def test_a_cancelled_session_is_shown_as_cancelled(api, therapist_page, booked):
    cancelled = api.post(f"/api/v1/bookings/{booked['pre']['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.get_json()
    words = text(therapist_page.get(f"/week?start={MONDAY}"))
    assert "09:00 – 09:45" in words and "cancelled" in words


def test_a_bad_start_date_is_a_readable_error(therapist_page):
    page = therapist_page.get("/week?start=10-05-2027")
    assert page.status_code == 422 and "2027-05-10" in text(page)


def review(client, athlete_id: int, data: dict[str, str]):
    prefix = f"review-{athlete_id}-"
    body = {prefix + k: v for k, v in data.items() if k != "start"}
    body["start"] = MONDAY
    body["csrf_token"] = csrf(client, f"/week?start={MONDAY}")
    return client.post(f"/week/review/{athlete_id}", data=body)


def test_the_therapist_records_the_review_and_the_athlete_sees_it(
        therapist_page, page_as, booked):
    athlete_id = booked["athlete"]["id"]
    done = review(therapist_page, athlete_id, {"decision": "cleared", "note": "Fine to go"})
    assert done.status_code == 303
    assert done.location == f"/week?start={MONDAY}#athlete-{athlete_id}"
    words = text(therapist_page.get(done.location))
    assert "Your decision is recorded: Cleared for dry needling." in words
    assert "Cleared" in words and "Fine to go" in words
    athlete_page = page_as("athlete", booked["athlete"]["email"])
    seen = text(athlete_page.get(f"/bookings/{booked['pre']['id']}"))
    assert "Cleared for dry needling" in seen and "Fine to go" in seen


def test_a_review_without_a_decision_keeps_the_note_and_says_what_is_missing(
        app, therapist_page, booked):
    athlete_id = booked["athlete"]["id"]
    answer = review(therapist_page, athlete_id, {"note": "Talk about the aspirin first"})
    assert answer.status_code == 422
    assert "Choose “cleared” or “not cleared”." in text(answer)
    assert "Talk about the aspirin first" in answer.get_data(as_text=True)
    assert f"review-{athlete_id}-decision-0" in Page(answer.get_data(as_text=True)).invalid
    with app.app_context():
        assert db.session.execute(sa.text("SELECT decision FROM screening")).scalar() is None


def db_set_answered_at(app, athlete_id: int, at: datetime) -> None:
    with app.app_context():
        db.session.get(Screening, athlete_id).answered_at = at
        db.session.commit()


def test_a_review_of_answers_changed_meanwhile_is_refused(app, api, therapist_page, booked):
    athlete_id = booked["athlete"]["id"]
    client = therapist_page
    token = csrf(client, f"/week?start={MONDAY}")
    form = Page(client.get(f"/week?start={MONDAY}").get_data(as_text=True)).forms
    seen = next(f["fields"] for f in form if f["action"].endswith(f"/review/{athlete_id}"))
    assert seen[f"review-{athlete_id}-answered_at"].endswith("Z")
    # the answers as read at 00:00 UTC; then the athlete changes them
    seen[f"review-{athlete_id}-answered_at"] = "2027-01-04T00:00:00Z"
    db_set_answered_at(app, athlete_id, datetime(2027, 1, 4, tzinfo=UTC))
    api.put(f"/api/v1/athletes/{athlete_id}/screening", {"answers": {"diabetes": True}})
    answer = client.post(f"/week/review/{athlete_id}", data={
        **{k: v for k, v in seen.items() if v is not None}, "csrf_token": token,
        f"review-{athlete_id}-decision": "cleared"})
    assert answer.status_code == 422 and "changed their answers" in text(answer)
    assert "Diabetes" in text(answer)


def test_rotate_gives_the_feed_a_new_address(client, therapist_page, booked):
    before = re.search(r"/feeds/([\w-]+)\.ics", therapist_page.get(f"/week?start={MONDAY}")
                       .get_data(as_text=True)).group(1)
    assert client.get(f"/feeds/{before}.ics").status_code == 200
    rotated = therapist_page.post("/week/feed/rotate", data={
        "csrf_token": csrf(therapist_page, "/week"), "start": MONDAY})
    assert rotated.status_code == 303 and rotated.location.endswith("#feed")
    after = re.search(r"/feeds/([\w-]+)\.ics", therapist_page.get(rotated.location)
                      .get_data(as_text=True)).group(1)
    assert after != before
    assert client.get(f"/feeds/{before}.ics").status_code == 404
    assert client.get(f"/feeds/{after}.ics").status_code == 200


def test_an_admin_opens_any_therapists_week_and_another_therapist_cannot(
        page_as, make_therapist, ana, booked):
    admin = page_as("admin")
    assert ana["name"] in text(admin.get("/week"))  # the choice of therapists
    words = text(admin.get(f"/week?therapist_id={ana['id']}&start={MONDAY}"))
    assert "Ana Ruiz’s week" in words and "Mara Runner" in words
    other = make_therapist(email="other@clinic.test")
    stranger = page_as("therapist", other["email"])
    assert stranger.get(f"/week?therapist_id={ana['id']}").status_code == 404
    assert "Mara Runner" not in text(stranger.get(f"/week?start={MONDAY}"))
    refused = review(stranger, booked["athlete"]["id"], {"decision": "not-cleared"})
    assert refused.status_code == 404


@pytest.mark.parametrize("role", ["athlete", "coach"])
def test_other_roles_are_refused_the_week(page_as, role):
    assert page_as(role).get("/week").status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client):
    for url in ("/week", "/hours", "/time-off", "/busy-calendar"):
        answer = client.get(url)
        assert answer.status_code == 302 and answer.location.startswith("/sign-in"), url


def _add_sessions(api, ana, make_athlete, make_event, hours: list[int]) -> None:
    """An athlete with a session on Wed 12 May at each of `hours`, with flagged answers."""
    for hour in hours:
        athlete = make_athlete(name=f"Runner {hour}")
        event = make_event(athlete["id"])
        book(api, athlete["id"], event["id"], ana["id"], "pre", f"2027-05-12T{hour:02d}:00")
        api.put(f"/api/v1/athletes/{athlete['id']}/screening", {"answers": {"diabetes": True}})


def test_the_week_reads_as_many_statements_for_one_session_as_for_eight(
        app, api, therapist_page, ana, make_athlete, make_event):
    """Bounded queries: the page never reads per session or per athlete."""
    counts = []
    for hours in ([8], [9, 10, 11, 13, 14, 15, 16]):  # 1, then 8 (not in the lunch break)
        _add_sessions(api, ana, make_athlete, make_event, hours)
        therapist_page.get(f"/week?start={MONDAY}")  # the feed exists from here on
        with statements(app) as seen:
            page = therapist_page.get(f"/week?start={MONDAY}")
        assert page.status_code == 200
        counts.append(len(seen))
    # each athlete in their day, and in the screening: their heading and review form
    assert text(page).count("Runner ") == 3 * 8
    assert counts[0] == counts[1], counts


# --- hours ----------------------------------------------------------------------------------

def hours_form(client, url: str = "/hours") -> dict[str, str]:
    """The hours form as the page fills it (blank rows as empty strings)."""
    forms = Page(client.get(url).get_data(as_text=True)).forms
    fields = next(f["fields"] for f in forms if f["action"] == "/hours")
    return {k: v or "" for k, v in fields.items()}


def stored_hours(api, therapist_id: int) -> list[dict]:
    return api.get(f"/api/v1/therapists/{therapist_id}").get_json()["working_hours"]


def test_the_hours_page_shows_the_periods_with_a_blank_row_each_day(therapist_page):
    fields = hours_form(therapist_page)
    assert fields["mon-0-start"] == "08:00" and fields["mon-0-end"] == "12:00"
    assert fields["mon-1-start"] == "13:00" and fields["mon-2-start"] == ""
    assert fields["sun-0-start"] == "" and fields["sun-1-end"] == ""
    assert fields["session_minutes"] == "45"


def test_saving_hours_with_a_break_and_new_settings(api, therapist_page, ana):
    fields = {k: "" for k in hours_form(therapist_page) if k[:3] in
              ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    fields.update({"mon-0-start": "09:00", "mon-0-end": "12:30", "mon-1-start": "14:00",
                   "mon-1-end": "19:00", "sun-0-start": "10:00", "sun-0-end": "14:00",
                   "session_minutes": "60", "buffer_minutes": "10", "slot_step_minutes": "30",
                   "csrf_token": csrf(therapist_page, "/hours")})
    saved = therapist_page.post("/hours", data=fields)
    assert saved.status_code == 303 and saved.location == "/hours"
    assert stored_hours(api, ana["id"]) == [
        {"day": "mon", "start": "09:00", "end": "12:30"},
        {"day": "mon", "start": "14:00", "end": "19:00"},
        {"day": "sun", "start": "10:00", "end": "14:00"}]
    therapist = api.get(f"/api/v1/therapists/{ana['id']}").get_json()
    assert (therapist["session_minutes"], therapist["buffer_minutes"],
            therapist["slot_step_minutes"]) == (60, 10, 30)
    assert "Your hours are saved." in text(therapist_page.get("/hours"))


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"tue-0-end": "07:00"}, "tue-0-end", "The end must be after the start."),
    ({"tue-1-start": "11:00"}, "tue-1-start", "Overlaps 08:00–12:00 on the same day."),
    ({"wed-2-start": "19:00"}, "wed-2-end", "Give the end of this period too."),
    ({"thu-0-start": "8 o'clock"}, "thu-0-start", "Not a valid time value."),
    ({"session_minutes": "2"}, "session_minutes", "Between 5 and 480 minutes."),
    ({"buffer_minutes": ""}, "buffer_minutes", "Give the minutes kept free after a session"),
], ids=["reversed", "overlap", "half", "not-a-time", "too-short", "no-buffer"])
def test_bad_hours_keep_what_was_typed_and_save_nothing(api, therapist_page, ana, change,
                                                        field, message):
    before = stored_hours(api, ana["id"])
    fields = {**hours_form(therapist_page), "mon-0-start": "07:30", **change,
              "csrf_token": csrf(therapist_page, "/hours")}
    answer = therapist_page.post("/hours", data=fields)
    assert answer.status_code == 422
    assert message in text(answer), text(answer)[:3000]
    assert "Nothing was saved." in text(answer)
    page = Page(answer.get_data(as_text=True))
    assert page.invalid == [field]
    typed = next(f["fields"] for f in page.forms if f["action"] == "/hours")
    assert typed["mon-0-start"] == "07:30" and typed[field] == change.get(field, typed[field])
    assert stored_hours(api, ana["id"]) == before


def test_an_admin_edits_a_therapists_hours_and_another_therapist_cannot(
        api, page_as, make_therapist, ana):
    admin = page_as("admin")
    assert ana["name"] in text(admin.get("/hours"))
    url = f"/hours?therapist_id={ana['id']}"
    fields = {**hours_form(admin, url), "sat-0-start": "", "sat-0-end": "", "sat-1-start": "",
              "sat-1-end": "", "csrf_token": csrf(admin, url)}
    saved = admin.post("/hours", data=fields)
    assert saved.status_code == 303 and saved.location == url
    assert not [p for p in stored_hours(api, ana["id"]) if p["day"] == "sat"]
    stranger = page_as("therapist", make_therapist(email="b@clinic.test")["email"])
    assert stranger.get(url).status_code == 404
    refused = stranger.post("/hours", data={**fields, "csrf_token": csrf(stranger, "/hours")})
    assert refused.status_code == 403
    assert not [p for p in stored_hours(api, ana["id"]) if p["day"] == "sat"]
    for role in ("athlete", "coach"):
        assert page_as(role).get("/hours").status_code == 403


# --- time off -------------------------------------------------------------------------------

def time_off_rows(api, therapist_id: int) -> list[tuple[str, str]]:
    found = api.get(f"/api/v1/therapists/{therapist_id}/time-off").get_json()["items"]
    return [(t["start"], t["end"]) for t in found]


def add_off(client, data: dict[str, str], url: str = "/time-off"):
    return client.post("/time-off", data={"first": "", "last": "", "start": "", "end": "",
                                          "reason": "", **data, "csrf_token": csrf(client, url)})


@pytest.mark.parametrize(("data", "stored", "shown"), [
    ({"first": "2027-06-07", "last": "2027-06-09"},  # CEST: UTC+2
     ("2027-06-06T22:00:00Z", "2027-06-09T22:00:00Z"),
     "Mon 7 Jun 2027 – Wed 9 Jun 2027 (whole days)"),
    ({"first": "2027-03-27", "last": "2027-03-28"},  # the clocks go forward on the 28th
     ("2027-03-26T23:00:00Z", "2027-03-28T22:00:00Z"),
     "Sat 27 Mar 2027 – Sun 28 Mar 2027 (whole days)"),
    ({"first": "2027-06-07"}, ("2027-06-06T22:00:00Z", "2027-06-07T22:00:00Z"),
     "Mon 7 Jun 2027 (whole days)"),
    ({"first": "2027-06-07", "start": "14:00"},
     ("2027-06-07T12:00:00Z", "2027-06-07T22:00:00Z"),
     "Mon 7 Jun 2027 14:00 – Tue 8 Jun 2027 00:00 Europe/Berlin"),
    ({"first": "2027-06-07", "last": "2027-06-08", "start": "14:00", "end": "10:00"},
     ("2027-06-07T12:00:00Z", "2027-06-08T08:00:00Z"),
     "Mon 7 Jun 2027 14:00 – Tue 8 Jun 2027 10:00 Europe/Berlin"),
], ids=["days", "dst", "one-day", "afternoon", "part-days"])
def test_time_off_is_whole_days_with_the_last_included_in_the_therapists_zone(
        api, therapist_page, ana, data, stored, shown):
    added = add_off(therapist_page, {**data, "reason": "Holiday"})
    assert added.status_code == 303 and added.location == "/time-off"
    assert time_off_rows(api, ana["id"]) == [stored]
    words = text(therapist_page.get("/time-off"))
    assert shown in words and "Holiday" in words and "Time off added" in words


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"first": ""}, "first", "Give the first day off."),
    ({"first": "2027-06-09", "last": "2027-06-07"}, "last",
     "The last day cannot be before the first day."),
    ({"first": "2027-06-07", "start": "14:00", "end": "10:00"}, "end",
     "The time off must end after it starts"),
    ({"first": "7 June"}, "first", "Not a valid date value."),
    ({"first": "2027-06-07", "reason": "x" * 501}, "reason", "Use at most 500 characters."),
], ids=["no-first", "reversed-days", "reversed-times", "not-a-date", "long-reason"])
def test_bad_time_off_keeps_what_was_typed_and_adds_nothing(api, therapist_page, ana, data,
                                                            field, message):
    answer = add_off(therapist_page, data)
    assert answer.status_code == 422
    assert message in text(answer) and "Nothing was added." in text(answer)
    page = Page(answer.get_data(as_text=True))
    assert page.invalid == [field]
    typed = next(f["fields"] for f in page.forms if f["action"] == "/time-off")
    assert all((typed[k] or "") == v for k, v in data.items() if k != "reason")
    assert time_off_rows(api, ana["id"]) == []


def test_time_off_is_removed_and_only_by_its_therapist_or_an_admin(
        api, therapist_page, page_as, make_therapist, ana):
    add_off(therapist_page, {"first": "2027-06-07"})
    add_off(therapist_page, {"first": "2027-07-01"})
    ids = [t["id"] for t in api.get(f"/api/v1/therapists/{ana['id']}/time-off")
           .get_json()["items"]]
    stranger = page_as("therapist", make_therapist(email="c@clinic.test")["email"])
    token = csrf(stranger, "/time-off")
    refused = stranger.post(f"/time-off/{ids[0]}/remove", data={"csrf_token": token})
    assert refused.status_code == 404 and len(time_off_rows(api, ana["id"])) == 2
    assert "Mon 7 Jun 2027" not in text(stranger.get("/time-off"))
    removed = therapist_page.post(f"/time-off/{ids[0]}/remove",
                                  data={"csrf_token": csrf(therapist_page, "/time-off")})
    assert removed.status_code == 303
    assert len(time_off_rows(api, ana["id"])) == 1
    admin = page_as("admin")
    url = f"/time-off?therapist_id={ana['id']}"
    assert "Thu 1 Jul 2027 (whole days)" in text(admin.get(url))
    gone = admin.post(f"/time-off/{ids[1]}/remove", data={"csrf_token": csrf(admin, url),
                                                          "therapist_id": ana["id"]})
    assert gone.status_code == 303 and gone.location == url
    assert time_off_rows(api, ana["id"]) == []
    for role in ("athlete", "coach"):
        assert page_as(role).get("/time-off").status_code == 403


# --- the busy calendar ------------------------------------------------------------------------

def upload_busy(client, body: bytes, name: str = "calendar.ics", url: str = "/busy-calendar"):
    return client.post("/busy-calendar/upload", content_type="multipart/form-data", data={
        "calendar": (io.BytesIO(body), name), "csrf_token": csrf(client, url)})


def busy_count(app, therapist_id: int) -> int:
    with app.app_context():
        count = db.session.execute(sa.text("SELECT count(*) FROM busy_interval WHERE "
                                           "therapist_id = :t"), {"t": therapist_id}).scalar()
        db.session.rollback()
    return count


def test_an_uploaded_calendar_blocks_its_busy_times_until_removed(app, therapist_page, ana):
    done = upload_busy(therapist_page, ics("google.ics"))
    assert done.status_code == 303 and done.location == "/busy-calendar"
    words = text(therapist_page.get("/busy-calendar"))
    assert "Calendar imported: 9 busy times block bookings." in words
    assert "Last synced" in words and "9 busy times" in words and "Europe/Berlin" in words
    assert busy_count(app, ana["id"]) == 9
    removed = therapist_page.post("/busy-calendar/upload/remove",
                                  data={"csrf_token": csrf(therapist_page, "/busy-calendar")})
    assert removed.status_code == 303 and busy_count(app, ana["id"]) == 0
    assert "No calendar uploaded." in text(therapist_page.get("/busy-calendar"))


@pytest.mark.parametrize(("body", "message"), [
    (b"", "Choose the .ics file your calendar app exported."),
    (b"this is not a calendar", "Nothing was imported."),
], ids=["no-file", "not-ics"])
def test_a_bad_upload_says_so_and_keeps_the_calendar_in_force(app, therapist_page, ana, body,
                                                              message):
    upload_busy(therapist_page, ics("google.ics"))
    answer = (upload_busy(therapist_page, body) if body else therapist_page.post(
        "/busy-calendar/upload", data={"csrf_token": csrf(therapist_page, "/busy-calendar")}))
    assert answer.status_code == 422 and message in text(answer)
    assert Page(answer.get_data(as_text=True)).invalid == ["calendar"]
    assert busy_count(app, ana["id"]) == 9


def _multipart(token: str, calendar: bytes) -> bytes:
    # the multipart body built here (the test client would spool it to a file it never closes)
    return (f'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            '--b\r\nContent-Disposition: form-data; name="calendar"; filename="big.ics"\r\n'
            'Content-Type: text/calendar\r\n\r\n').encode() + calendar + b"\r\n--b--\r\n"


def test_an_oversized_upload_is_a_readable_page(app, therapist_page, ana):
    token = csrf(therapist_page, "/busy-calendar")
    body = _multipart(token, b"X" * app.config["CALENDAR_MAX_BYTES"])
    answer = therapist_page.post("/busy-calendar/upload", data=body,
                                 content_type="multipart/form-data; boundary=b")
    assert answer.status_code == 413 and answer.mimetype == "text/html"
    assert "That file is too large: the limit is 5 MiB." in text(answer)
    assert busy_count(app, ana["id"]) == 0


def test_an_upload_over_the_forms_limit_but_within_the_calendars_is_imported(
        app, therapist_page, ana):
    """The page takes calendars as large as the API does (CALENDAR_MAX_BYTES), not only
    as large as other forms (MAX_CONTENT_LENGTH): the limit is raised before the CSRF check
    reads the form."""
    events = "".join(
        f"BEGIN:VEVENT\r\nUID:pad-{n}@example.test\r\nDTSTAMP:20261201T000000Z\r\n"
        f"DTSTART:2027{1 + n // 28 % 12:02d}{1 + n % 28:02d}T{6 + n // 336 % 12:02d}0000Z\r\n"
        f"DURATION:PT30M\r\nSUMMARY:Busy {n} {'x' * 60}\r\nEND:VEVENT\r\n"
        for n in range(8000))
    calendar = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//pad//EN\r\n" + events
                + "END:VCALENDAR\r\n").encode()
    assert app.config["MAX_CONTENT_LENGTH"] < len(calendar) < app.config["CALENDAR_MAX_BYTES"]
    token = csrf(therapist_page, "/busy-calendar")
    answer = therapist_page.post("/busy-calendar/upload", data=_multipart(token, calendar),
                                 content_type="multipart/form-data; boundary=b")
    assert answer.status_code == 303, text(answer)
    assert busy_count(app, ana["id"]) > 0
    assert "At most 5 MiB." in text(therapist_page.get("/busy-calendar"))


def subscribe(client, url: str, page: str = "/busy-calendar"):
    return client.post("/busy-calendar/subscriptions", data={
        "url": url, "interval": "60", "csrf_token": csrf(client, page)})


def test_a_subscription_syncs_now_shows_its_error_and_is_removed(app, therapist_page, ana,
                                                                 server):  # noqa: F811
    app.config["CALENDAR_FETCH_PRIVATE"] = True  # the calendar server is on loopback
    server.routes["/cal.ics"] = Route(ics("google.ics"), etag='"v1"')
    assert subscribe(therapist_page, server.url("/cal.ics")).status_code == 303
    page = therapist_page.get("/busy-calendar")
    assert "Not synced yet." in text(page) and "/cal.ics" not in page.get_data(as_text=True)
    sub_id = int(re.search(r"/subscriptions/(\d+)/sync", page.get_data(as_text=True)).group(1))
    token = csrf(therapist_page, "/busy-calendar")
    synced = therapist_page.post(f"/busy-calendar/subscriptions/{sub_id}/sync",
                                 data={"csrf_token": token})
    assert synced.status_code == 303
    words = text(therapist_page.get("/busy-calendar"))
    assert "Synced: imported 9 busy intervals." in words and "9 busy times" in words
    server.routes["/cal.ics"] = Route(b"", status=500)
    therapist_page.post(f"/busy-calendar/subscriptions/{sub_id}/sync", data={"csrf_token": token})
    words = text(therapist_page.get("/busy-calendar"))
    assert "The sync failed: the server answered HTTP 500" in words
    assert "Last error" in words and "Last synced" in words  # the last good import stays
    assert busy_count(app, ana["id"]) == 9
    removed = therapist_page.post(f"/busy-calendar/subscriptions/{sub_id}/remove",
                                  data={"csrf_token": token})
    assert removed.status_code == 303 and busy_count(app, ana["id"]) == 0


@pytest.mark.parametrize(("url", "message"), [
    ("", "secret address (https:// or webcal://)"),
    ("ftp://example.com/cal.ics", "The address must be an http(s):// or webcal:// URL."),
], ids=["empty", "ftp"])
def test_a_bad_subscription_address_keeps_what_was_typed(therapist_page, url, message):
    answer = subscribe(therapist_page, url)
    assert answer.status_code == 422 and message in text(answer)
    page = Page(answer.get_data(as_text=True))
    assert page.invalid == ["url"]
    typed = next(f["fields"] for f in page.forms if f["action"].endswith("/subscriptions"))
    assert (typed["url"] or "") == url
    assert "Sync now" not in text(answer)


def test_a_duplicate_subscription_is_refused(therapist_page):
    assert subscribe(therapist_page, "https://calendar.example/a.ics").status_code == 303
    answer = subscribe(therapist_page, "webcal://calendar.example/a.ics")
    assert answer.status_code == 422 and "already subscribed" in text(answer)


def test_busy_calendars_are_the_therapists_own(page_as, make_therapist, therapist_page, ana):
    subscribe(therapist_page, "https://calendar.example/secret.ics")
    stranger = page_as("therapist", make_therapist(email="d@clinic.test")["email"])
    assert stranger.get(f"/busy-calendar?therapist_id={ana['id']}").status_code == 404
    assert "calendar.example" not in text(stranger.get("/busy-calendar"))
    admin = page_as("admin")
    assert "calendar.example" in text(admin.get(f"/busy-calendar?therapist_id={ana['id']}"))
    for role in ("athlete", "coach"):
        assert page_as(role).get("/busy-calendar").status_code == 403


def test_hours_that_leave_booked_sessions_outside_ask_first_and_keep_them(
        api, therapist_page, ana, booked):
    """The pre session is Wed 12 May 09:00; new Wednesday hours from 10:00 leave it out."""
    before = stored_hours(api, ana["id"])
    fields = {**hours_form(therapist_page), "wed-0-start": "10:00",
              "csrf_token": csrf(therapist_page, "/hours")}
    asked = therapist_page.post("/hours", data=fields)
    assert asked.status_code == 409
    words = text(asked)
    assert "1 booked session would fall outside these hours" in words
    assert "Wed 12 May 2027 09:00–09:45 Europe/Berlin · Mara Runner" in words
    assert stored_hours(api, ana["id"]) == before
    typed = next(f["fields"] for f in Page(asked.get_data(as_text=True)).forms
                 if f["action"] == "/hours")
    assert typed["wed-0-start"] == "10:00"
    kept = therapist_page.post("/hours", data={**fields, "affected": "keep"})
    assert kept.status_code == 303
    assert {"day": "wed", "start": "10:00", "end": "12:00"} in stored_hours(api, ana["id"])
    pre = api.get(f"/api/v1/bookings/{booked['pre']['id']}").get_json()
    assert pre["status"] == "confirmed"


def test_time_off_over_booked_sessions_asks_first_and_keeps_them(api, therapist_page, ana,
                                                                 booked):
    """The sessions: Wed 12 May 09:00 and Sat 15 May 14:00 (Berlin)."""
    asked = add_off(therapist_page, {"first": "2027-05-12", "last": "2027-05-15",
                                     "reason": "Conference"})
    assert asked.status_code == 409
    words = text(asked)
    assert "2 booked sessions fall in this time off" in words
    assert "Wed 12 May 2027 09:00–09:45 Europe/Berlin · Mara Runner" in words
    assert "Sat 15 May 2027 14:00–14:45 Europe/Berlin" in words
    assert time_off_rows(api, ana["id"]) == []
    kept = add_off(therapist_page, {"first": "2027-05-12", "last": "2027-05-15",
                                    "reason": "Conference", "affected": "keep"})
    assert kept.status_code == 303
    assert time_off_rows(api, ana["id"]) == [("2027-05-11T22:00:00Z", "2027-05-15T22:00:00Z")]
    assert api.get(f"/api/v1/bookings/{booked['post']['id']}").get_json()["status"] == \
        "confirmed"
    beside = add_off(therapist_page, {"first": "2027-05-13"})  # no session that day
    assert beside.status_code == 303


def test_a_therapist_account_without_a_profile_is_told_so(page_as):
    lost = page_as("therapist", "no-profile@clinic.test")
    for url in ("/week", "/hours", "/time-off", "/busy-calendar"):
        answer = lost.get(url)
        assert answer.status_code == 403, url
        assert "no therapist profile" in text(answer)
