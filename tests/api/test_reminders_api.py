"""`reminders` on the athlete resource: GET answers it (default on), PATCH turns it off and
on; the athlete's own choice (or an admin's), not a coach's; the OpenAPI document names it
on both the answer and the PATCH body."""

from __future__ import annotations

from api.helpers import assert_error, created, ok


def test_reminders_are_on_by_default_and_the_athlete_turns_them_off_and_on(
        api, make_athlete, make_user):
    athlete = make_athlete(email="mara@athletes.test")
    assert athlete["reminders"] is True
    url = f"/api/v1/athletes/{athlete['id']}"
    me = api.as_(make_user("athlete", "mara@athletes.test"))
    assert ok(me.patch(url, {"reminders": False}))["reminders"] is False
    assert ok(me.get(url))["reminders"] is False
    assert ok(api.get(url))["reminders"] is False  # the admin sees it too
    changed = ok(me.patch(url, {"name": "Mara Läuferin"}))  # left out: stays as it was
    assert changed["reminders"] is False and changed["name"] == "Mara Läuferin"
    assert ok(api.patch(url, {"reminders": True}))["reminders"] is True  # an admin may
    assert [a["reminders"] for a in ok(api.get("/api/v1/athletes"))["items"]] == [True]


def test_a_coach_cannot_turn_an_athletes_reminders_off(api, make_athlete, make_user):
    athlete = make_athlete()
    team = created(api.post("/api/v1/teams", {"name": "X", "coach_email": "c@test.example"}))
    created(api.post(f"/api/v1/teams/{team['id']}/members", {"athlete_id": athlete["id"]}))
    coach = api.as_(make_user("coach", "c@test.example"))
    url = f"/api/v1/athletes/{athlete['id']}"
    assert ok(coach.get(url))["reminders"] is True
    assert_error(coach.patch(url, {"reminders": False}), 403, "forbidden")
    assert ok(api.get(url))["reminders"] is True  # nothing changed
    assert ok(coach.patch(url, {"sport": "mtb"}))["sport"] == "mtb"  # other fields: as before


def test_another_athlete_cannot_change_them(api, make_athlete, make_user):
    athlete, other = make_athlete(), make_athlete(email="other@athletes.test")
    them = api.as_(make_user("athlete", "other@athletes.test"))
    assert other["id"] != athlete["id"]
    response = them.patch(f"/api/v1/athletes/{athlete['id']}", {"reminders": False})
    assert response.status_code in (403, 404)
    assert ok(api.get(f"/api/v1/athletes/{athlete['id']}"))["reminders"] is True


def test_reminders_must_be_a_boolean(api, make_athlete):
    athlete = make_athlete()
    for value in ("no", 0, "false"):
        assert_error(api.patch(f"/api/v1/athletes/{athlete['id']}", {"reminders": value}),
                     422, field="reminders")


def test_the_openapi_document_names_reminders(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert schemas["AthleteOut"]["properties"]["reminders"]["type"] == "boolean"
    assert "reminders" in schemas["AthletePatch"]["properties"]
