"""What the coach pages' tests share: `make_world` (each module's `world` fixture: a coach
with a team of two and a team event, another coach's team, two therapists) and posting a
page's form with its token."""

from __future__ import annotations

from typing import Any

from pageutil import Page

WORLD_EVENT = {"name": "Spreewald Relay", "sport": "running", "timezone": "Europe/Berlin",
               "start": "2027-05-15T08:00", "end": "2027-05-15T12:30"}


def post(client, page_url: str, action: str, data: dict[str, str]):
    """Post the form of `page_url` whose action is `action`, with its CSRF token (under
    the form's own field name) and `data`."""
    forms = Page(client.get(page_url).get_data(as_text=True)).forms
    form = next(f for f in forms if f["action"] == action)
    token = next((k, v) for k, v in form["fields"].items() if k.endswith("csrf_token"))
    return client.post(action, data={token[0]: token[1], **data})


def make_world(api, make_therapist, make_athlete, page_as) -> dict[str, Any]:
    """Two therapists (one in Denver), a coach with a team of two and a team event,
    another coach with a team of their own."""
    therapists = [make_therapist(), make_therapist(name="Kelsey Moreno",
                                                   timezone="America/Denver")]
    coach = page_as("coach", "coach@test.example")
    team = api.post("/api/v1/teams", {"name": "Spree Runners",
                                      "coach_email": "coach@test.example"}).get_json()
    members = [make_athlete(name=n) for n in ("Ada Lind", "Ben Ott")]
    for m in members:
        assert api.post(f"/api/v1/teams/{team['id']}/members",
                        {"athlete_id": m["id"]}).status_code == 201
    event = api.post("/api/v1/events", {**WORLD_EVENT, "team_id": team["id"]}).get_json()
    other = api.post("/api/v1/teams", {"name": "Other Club",
                                       "coach_email": "other@test.example"}).get_json()
    other_event = api.post("/api/v1/events", {**WORLD_EVENT, "team_id": other["id"]}).get_json()
    return {"coach": coach, "team": team, "members": members, "event": event,
            "other": other, "other_event": other_event, "therapists": therapists}


def board_url(team_id: int, event_id: int) -> str:
    return f"/teams/{team_id}/events/{event_id}/board"
