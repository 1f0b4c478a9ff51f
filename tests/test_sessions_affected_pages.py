"""The therapist's pages over booked sessions, on SQLite and PostgreSQL: the hours, time off
and day-change pages show the sessions a change would strand and offer both ways on, keep
them or cancel them (each athlete told); cancel saves the change and cancels those
sessions in one go (services/affected.py, the API's road)."""

from __future__ import annotations

import pytest
import test_therapist_pages as therapist_pages
from pageutil import Page, csrf, text
from test_therapist_pages import add_off, hours_form, stored_hours

# the therapist pages' fixtures: Ana, her page client, Mara's two sessions with her
ana, therapist_page, booked = (therapist_pages.ana, therapist_pages.therapist_page,
                               therapist_pages.booked)

CANCEL_ONE = "Save and cancel this session (athletes told)"


def status(api, booking: dict) -> str:
    return api.get(f"/api/v1/bookings/{booking['id']}").get_json()["status"]


def test_hours_page_offers_cancel_and_cancels_the_sessions(api, therapist_page, ana, booked):
    """The pre session is Wed 12 May 09:00; Wednesday hours from 10:00 leave it out."""
    fields = {**hours_form(therapist_page), "wed-0-start": "10:00",
              "csrf_token": csrf(therapist_page, "/hours")}
    asked = therapist_page.post("/hours", data=fields)
    assert asked.status_code == 409
    words = text(asked)
    assert CANCEL_ONE in words and "Save and keep this session" in words
    buttons = [f for f in Page(asked.get_data(as_text=True)).forms if f["action"] == "/hours"]
    assert buttons, "the hours form is shown again"
    cancelled = therapist_page.post("/hours", data={**fields, "affected": "cancel"},
                                    follow_redirects=True)
    assert cancelled.status_code == 200
    assert "The affected sessions are cancelled" in text(cancelled)
    assert {"day": "wed", "start": "10:00", "end": "12:00"} in stored_hours(api, ana["id"])
    assert status(api, booked["pre"]) == "cancelled"
    assert status(api, booked["post"]) == "confirmed"


def test_time_off_page_cancels_the_sessions_inside_it(api, therapist_page, ana, booked):
    data = {"first": "2027-05-15", "reason": "Race tent"}
    asked = add_off(therapist_page, data)
    assert asked.status_code == 409
    assert "Add and cancel this session (athletes told)" in text(asked)
    assert status(api, booked["post"]) == "confirmed"
    done = add_off(therapist_page, {**data, "affected": "cancel"})
    assert done.status_code == 303
    assert status(api, booked["post"]) == "cancelled"
    assert status(api, booked["pre"]) == "confirmed"


def day_change(client, data: dict[str, str]):
    return client.post("/day-changes", data={**data, "csrf_token": csrf(client, "/day-changes")})


@pytest.mark.parametrize(("choice", "after"), [("keep", "confirmed"), ("cancel", "cancelled")])
def test_day_change_page_shows_the_sessions_then_keeps_or_cancels(api, therapist_page, ana,
                                                                 booked, choice, after):
    data = {"day": "2027-05-12", "hours": "closed"}
    asked = day_change(therapist_page, data)
    assert asked.status_code == 409
    words = text(asked)
    assert "1 booked session would fall outside the hours of that day" in words
    assert "Wed 12 May 2027 09:00–09:45 Europe/Berlin · Mara Runner" in words
    assert api.get(f"/api/v1/therapists/{ana['id']}/working-days").get_json()["items"] == []
    done = day_change(therapist_page, {**data, "affected": choice})
    assert done.status_code == 303
    assert status(api, booked["pre"]) == after
    [day] = api.get(f"/api/v1/therapists/{ana['id']}/working-days").get_json()["items"]
    assert day["date"] == "2027-05-12"
