"""The therapist's day-changes page through the test client, on both backends: add a
shift and a closed day, see them listed with the weekly hours they replace, remove one;
bad input shows the form again with what was typed and saves nothing; other roles and
anonymous visitors are kept out; the page costs the same statements for one change or
many."""

from __future__ import annotations

import pytest
from pageutil import Page, csrf, text
from test_one_road import statements

URL = "/day-changes"
MON_TO_FRI = [{"day": d, "start": "08:00", "end": "12:00"}
              for d in ("mon", "tue", "wed", "thu", "fri")]


@pytest.fixture
def therapist(make_therapist) -> dict:
    return make_therapist(working_hours=MON_TO_FRI)


@pytest.fixture
def signed(page_as, therapist):
    """A test client signed in as the therapist."""
    return page_as("therapist", therapist["email"])


def post(client, data: dict, url: str = URL):
    return client.post(url, data={**data, "csrf_token": csrf(client, URL)})


def changes(api, therapist: dict) -> list[dict]:
    return api.get(f"/api/v1/therapists/{therapist['id']}/working-days").get_json()["items"]


def test_add_list_and_remove_day_changes(signed, api, therapist):
    page = signed.get(URL)
    assert page.status_code == 200
    assert "No day changes" in text(page) and "Europe/Berlin" in text(page)
    added = post(signed, {"day": "2027-05-15", "hours": "own", "start_1": "14:00",
                          "end_1": "18:00", "start_2": "09:00", "end_2": "10:30"})
    assert added.status_code == 303 and added.headers["Location"].endswith(URL)
    shown = text(signed.get(URL))
    assert "Sat 15 May 2027: 09:00–10:30, 14:00–18:00 instead of your weekly hours." in shown
    assert "Sat 15 May 2027 09:00–10:30, 14:00–18:00 (Europe/Berlin)" in shown
    assert "Weekly hours that day: none" in shown
    assert post(signed, {"day": "2027-05-13", "hours": "closed", "start_1": "08:00",
                         "end_1": "09:00"}).status_code == 303
    shown = text(signed.get(URL))
    assert "Thu 13 May 2027 Closed Weekly hours that day: 08:00–12:00" in shown
    assert shown.index("Thu 13 May 2027") < shown.index("Sat 15 May 2027")  # by date
    assert [(d["date"], d["closed"], d["periods"]) for d in changes(api, therapist)] == [
        ("2027-05-13", True, []),
        ("2027-05-15", False, [{"start": "09:00", "end": "10:30"},
                               {"start": "14:00", "end": "18:00"}])]
    removed = post(signed, {}, f"{URL}/2027-05-13/remove")
    assert removed.status_code == 303
    assert "Thu 13 May 2027: your weekly hours again." in text(signed.get(URL))
    assert [d["date"] for d in changes(api, therapist)] == ["2027-05-15"]
    assert post(signed, {}, f"{URL}/2027-05-13/remove").status_code == 404
    assert post(signed, {}, f"{URL}/not-a-date/remove").status_code == 404


@pytest.mark.parametrize(("data", "invalid", "message"), [
    ({"day": "", "hours": "own", "start_1": "14:00", "end_1": "18:00"}, "day",
     "Enter the date of the change."),
    ({"day": "2027-13-45", "hours": "own", "start_1": "14:00", "end_1": "18:00"}, "day",
     "Not a valid date value."),
    ({"day": "2027-05-15", "hours": "own", "start_1": "14:00", "end_1": ""}, "end_1",
     "Enter both times."),
    ({"day": "2027-05-15", "hours": "own", "start_1": "18:00", "end_1": "14:00"}, "end_1",
     "The end must be after the start."),
    ({"day": "2027-05-15", "hours": "own", "start_1": "2 pm", "end_1": "18:00"}, "start_1",
     "Not a valid time value."),
    ({"day": "2027-05-15", "hours": "own"}, None, "at least one working period"),
    ({"day": "2027-05-15", "hours": "own", "start_1": "08:00", "end_1": "12:00",
      "start_2": "11:00", "end_2": "13:00"}, None, "overlap"),
    ({"day": "2026-12-31", "hours": "closed"}, "day", "That day has passed"),
])
def test_bad_input_keeps_what_was_typed_and_saves_nothing(signed, api, therapist, data,
                                                         invalid, message):
    answer = post(signed, data)
    assert answer.status_code == 422
    page = Page(answer.get_data(as_text=True))
    assert message in text(answer) and "The day was not changed" in text(answer)
    if invalid:
        assert invalid in page.invalid
    typed = next(f["fields"] for f in page.forms if f["action"] == URL)
    for name, value in data.items():
        if name != "hours":
            assert typed[name] == value, name
    assert changes(api, therapist) == []


def test_other_roles_and_anonymous_visitors_are_kept_out(app, api, page_as, make_athlete,
                                                         therapist):
    anonymous = app.test_client()
    answer = anonymous.get(URL)
    assert answer.status_code == 302 and "/sign-in?next=%2Fday-changes" in answer.headers[
        "Location"]
    athlete = make_athlete()
    for role, email in (("athlete", athlete["email"]), ("coach", None), ("admin", None)):
        other = page_as(role, email)
        assert other.get(URL).status_code == 403
        token = csrf(other, "/account")
        assert other.post(URL, data={"day": "2027-05-15", "hours": "closed",
                                     "csrf_token": token}).status_code == 403
        assert other.post(f"{URL}/2027-05-15/remove",
                          data={"csrf_token": token}).status_code == 403
    assert changes(api, therapist) == []


def test_the_page_costs_the_same_statements_for_one_change_or_many(app, signed, api,
                                                                      therapist):
    assert post(signed, {"day": "2027-05-15", "hours": "closed"}).status_code == 303
    assert signed.get(URL).status_code == 200
    with statements(app) as one:
        assert signed.get(URL).status_code == 200
    for day in range(16, 28):
        assert post(signed, {"day": f"2027-05-{day}", "hours": "own", "start_1": "09:00",
                             "end_1": "11:00", "start_2": "12:00", "end_2": "13:00"}
                    ).status_code == 303
    with statements(app) as many:
        assert signed.get(URL).status_code == 200
    assert len(many) == len(one), "\n".join(many)
