"""Changes of a therapist's hours over booked sessions, through the API, on SQLite and
PostgreSQL (the contract's "Changes and cancellations"): new weekly hours, time off and a
one-day change that would strand confirmed sessions to come answer 409 sessions-affected
with their ids and save nothing; ?affected=keep saves and keeps them; ?affected=cancel
saves, cancels them (sequence + 1, the cancel iMIP) and sends each athlete one message with
the best new slots, all in one transaction. Sessions past or cancelled do not count."""

from __future__ import annotations

from typing import Any

import pytest
from api.helpers import assert_error
from conftest import WEEKDAYS_8_TO_18
from test_mail import CLINIC, serve

from athlete_sched.services import affected as affected_service

T = "/api/v1/therapists"


@pytest.fixture
def smtp():
    with serve() as server:
        yield server


@pytest.fixture
def app_config(app_config: dict[str, Any], smtp) -> dict[str, Any]:
    return {**app_config, **CLINIC, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port,
            "MAIL_TIMEOUT": 5}


def book(api, athlete_id: int, event_id: int, therapist_id: int, kind: str, start: str):
    made = api.post("/api/v1/bookings", {"event_id": event_id, "athlete_id": athlete_id,
                                         "therapist_id": therapist_id, "kind": kind,
                                         "start": start})
    assert made.status_code == 201, made.get_json()
    return made.get_json()


@pytest.fixture
def clinic(api, make_therapist, make_athlete, make_event, smtp) -> dict[str, Any]:
    """Ana (Berlin, Mon-Sat 08-12 and 13-18); Mara's pre Wed 12 May 09:00 and post Sat 15 May
    14:00; Kai's pre Wed 12 May 10:00 (their races on Sat 15 May 2027)."""
    ana = make_therapist(name="Ana Ruiz")
    mara, kai = make_athlete(name="Mara Runner"), make_athlete(name="Kai Rider")
    mara_race, kai_race = make_event(mara["id"]), make_event(kai["id"], name="Kai's 10k")
    found = {"ana": ana, "mara": mara, "kai": kai, "mara_race": mara_race,
             "pre": book(api, mara["id"], mara_race["id"], ana["id"], "pre", "2027-05-12T09:00"),
             "post": book(api, mara["id"], mara_race["id"], ana["id"], "post",
                          "2027-05-15T14:00"),
             "kai_pre": book(api, kai["id"], kai_race["id"], ana["id"], "pre",
                             "2027-05-12T10:00")}
    smtp.take()  # the invitations of these bookings
    return found


def hours(**days: list[tuple[str, str]]) -> list[dict[str, str]]:
    """The fixture's weekly hours with some days replaced (an empty list: closed)."""
    kept = [p for p in WEEKDAYS_8_TO_18 if p["day"] not in days]
    return kept + [{"day": d, "start": s, "end": e} for d, periods in days.items()
                   for s, e in periods]


def booking(api, booking_id: int) -> dict[str, Any]:
    return api.get(f"/api/v1/bookings/{booking_id}").get_json()


def stored_hours(api, therapist_id: int) -> list[dict[str, str]]:
    return api.get(f"{T}/{therapist_id}").get_json()["working_hours"]


def statuses(api, c: dict[str, Any]) -> dict[str, str]:
    return {k: booking(api, c[k]["id"])["status"] for k in ("pre", "post", "kai_pre")}


ALL_CONFIRMED = {"pre": "confirmed", "post": "confirmed", "kai_pre": "confirmed"}


# --- weekly hours ---------------------------------------------------------------------------

def test_new_hours_over_sessions_are_refused_with_their_ids_and_nothing_saved(api, clinic):
    before = stored_hours(api, clinic["ana"]["id"])
    answer = api.put(f"{T}/{clinic['ana']['id']}/working-hours",
                     hours(wed=[("11:00", "12:00"), ("13:00", "18:00")]))
    error = assert_error(answer, 409, "sessions-affected")
    assert error["affected"] == [clinic["pre"]["id"], clinic["kai_pre"]["id"]]
    assert stored_hours(api, clinic["ana"]["id"]) == before
    assert statuses(api, clinic) == ALL_CONFIRMED


def test_keep_saves_the_hours_and_the_sessions_stay(api, clinic, smtp):
    answer = api.put(f"{T}/{clinic['ana']['id']}/working-hours?affected=keep",
                     hours(wed=[("11:00", "12:00")]))
    assert answer.status_code == 200, answer.get_json()
    assert {"day": "wed", "start": "11:00", "end": "12:00"} in answer.get_json()["working_hours"]
    assert statuses(api, clinic) == ALL_CONFIRMED
    assert smtp.take() == []


def test_cancel_saves_cancels_and_tells_each_athlete_once_with_new_slots(api, clinic, smtp):
    answer = api.put(f"{T}/{clinic['ana']['id']}/working-hours?affected=cancel",
                     hours(wed=[("11:00", "12:00"), ("13:00", "18:00")]))
    assert answer.status_code == 200, answer.get_json()
    assert {"day": "wed", "start": "11:00", "end": "12:00"} in stored_hours(
        api, clinic["ana"]["id"])
    assert statuses(api, clinic) == {**ALL_CONFIRMED, "pre": "cancelled",
                                     "kai_pre": "cancelled"}
    assert booking(api, clinic["pre"]["id"])["sequence"] == clinic["pre"]["sequence"] + 1
    mails = smtp.take()
    cancels = [m for m in mails if m.message.get_content_type() == "multipart/alternative"]
    assert sorted(r for m in cancels for r in m.rcpt) == sorted(
        [clinic["mara"]["email"], clinic["kai"]["email"], clinic["ana"]["email"],
         clinic["ana"]["email"]])
    assert all(m.method_param == "CANCEL" for m in cancels)
    told = [m for m in mails if m.message["Subject"] == "Sessions cancelled: new times to book"]
    assert sorted(r for m in told for r in m.rcpt) == sorted(
        [clinic["mara"]["email"], clinic["kai"]["email"]])
    for m in told:
        body = m.message.get_content()
        assert "Free now:" in body and body.count("2027") >= 4, body  # the session + 3 slots
        assert "Europe/Berlin" in body


def test_nothing_is_half_done_when_telling_the_athletes_fails(api, clinic, smtp, monkeypatch):
    def broken(cancelled):
        raise RuntimeError("no slots today")

    monkeypatch.setattr(affected_service, "_tell_athletes", broken)
    before = stored_hours(api, clinic["ana"]["id"])
    answer = api.put(f"{T}/{clinic['ana']['id']}/working-hours?affected=cancel",
                     hours(wed=[]))
    assert answer.status_code == 500
    assert stored_hours(api, clinic["ana"]["id"]) == before
    assert statuses(api, clinic) == ALL_CONFIRMED
    assert smtp.take() == []


def test_an_unknown_choice_is_invalid_and_changes_nothing(api, clinic):
    before = stored_hours(api, clinic["ana"]["id"])
    answer = api.put(f"{T}/{clinic['ana']['id']}/working-hours?affected=maybe", hours(wed=[]))
    assert_error(answer, 422, "invalid", "affected")
    assert stored_hours(api, clinic["ana"]["id"]) == before


def test_hours_that_strand_nothing_need_no_choice(api, clinic):
    answer = api.put(f"{T}/{clinic['ana']['id']}/working-hours", hours(mon=[("09:00", "17:00")]))
    assert answer.status_code == 200, answer.get_json()


def test_a_day_change_still_holds_its_sessions_when_the_weekly_hours_change(api, clinic):
    """Wednesday 12 May has its own hours 08:00-12:00: closing Wednesdays strands nothing
    that day (one-day changes count, as for bookings)."""
    ana = clinic["ana"]["id"]
    day = api.put(f"{T}/{ana}/working-days/2027-05-12", {"periods": [
        {"start": "08:00", "end": "12:00"}]})
    assert day.status_code == 200, day.get_json()
    answer = api.put(f"{T}/{ana}/working-hours", hours(wed=[]))
    assert answer.status_code == 200, answer.get_json()


def test_sessions_past_started_or_cancelled_do_not_count(app, api, clinic):
    ana = clinic["ana"]["id"]
    app.config["FROZEN_NOW"] = "2027-05-12T07:10:00+00:00"  # 09:10 Berlin: Mara's has begun
    try:
        refused = api.put(f"{T}/{ana}/working-hours", hours(wed=[]))
        assert assert_error(refused, 409, "sessions-affected")["affected"] == [
            clinic["kai_pre"]["id"]]
    finally:
        app.config["FROZEN_NOW"] = None
    app.config["FROZEN_NOW"] = "2027-05-13T00:00:00+00:00"  # Wednesday's sessions are past
    try:
        assert api.put(f"{T}/{ana}/working-hours", hours(wed=[])).status_code == 200
        refused = api.put(f"{T}/{ana}/working-hours", hours(wed=[], sat=[]))
        assert assert_error(refused, 409, "sessions-affected")["affected"] == [
            clinic["post"]["id"]]
    finally:
        app.config["FROZEN_NOW"] = None
    assert api.post(f"/api/v1/bookings/{clinic['post']['id']}/cancel").status_code == 200
    app.config["FROZEN_NOW"] = "2027-05-13T00:00:00+00:00"
    try:
        assert api.put(f"{T}/{ana}/working-hours", hours(wed=[], sat=[])).status_code == 200
    finally:
        app.config["FROZEN_NOW"] = None


# --- time off -------------------------------------------------------------------------------

def time_off(api, therapist_id: int) -> list[dict[str, Any]]:
    return api.get(f"{T}/{therapist_id}/time-off").get_json()["items"]


def test_time_off_over_sessions_is_refused_kept_or_cancelled(api, clinic, smtp):
    ana = clinic["ana"]["id"]
    body = {"start": "2027-05-12T08:00", "end": "2027-05-12T09:30", "reason": "dentist"}
    refused = api.post(f"{T}/{ana}/time-off", body)
    assert assert_error(refused, 409, "sessions-affected")["affected"] == [clinic["pre"]["id"]]
    assert time_off(api, ana) == []
    kept = api.post(f"{T}/{ana}/time-off?affected=keep", body)
    assert kept.status_code == 201 and statuses(api, clinic) == ALL_CONFIRMED
    later = {"start": "2027-05-12T09:50", "end": "2027-05-12T11:00"}
    cancelled = api.post(f"{T}/{ana}/time-off?affected=cancel", later)
    assert cancelled.status_code == 201, cancelled.get_json()
    assert len(time_off(api, ana)) == 2
    assert statuses(api, clinic) == {**ALL_CONFIRMED, "kai_pre": "cancelled"}
    told = [m for m in smtp.take() if m.message["Subject"].startswith("Sessions cancelled")]
    assert [m.rcpt for m in told] == [[clinic["kai"]["email"]]]


# --- one-day changes ------------------------------------------------------------------------

def test_a_one_day_change_over_sessions_that_day(api, clinic):
    ana, url = clinic["ana"]["id"], f"{T}/{clinic['ana']['id']}/working-days/2027-05-12"
    refused = api.put(url, {"closed": True})
    assert assert_error(refused, 409, "sessions-affected")["affected"] == [
        clinic["pre"]["id"], clinic["kai_pre"]["id"]]
    assert api.get(f"{T}/{ana}/working-days").get_json()["items"] == []
    short = api.put(url, {"periods": [{"start": "09:00", "end": "10:00"}]})  # Kai's 10:00 out
    assert assert_error(short, 409, "sessions-affected")["affected"] == [
        clinic["kai_pre"]["id"]]
    done = api.put(url + "?affected=cancel", {"periods": [{"start": "09:00", "end": "10:00"}]})
    assert done.status_code == 200, done.get_json()
    assert statuses(api, clinic) == {**ALL_CONFIRMED, "kai_pre": "cancelled"}
    other_day = api.put(f"{T}/{ana}/working-days/2027-05-13", {"closed": True})
    assert other_day.status_code == 200  # no session that Thursday
