"""The coach's pages on SQLite and PostgreSQL (test client): own teams only, other roles
refused, every form keeping what was typed, invitations by mail or as a link to hand
over, planning a team event, the board, book all (once), the team feed, and nothing
medical anywhere."""

from __future__ import annotations

from typing import Any

import pytest
from pageutil import Page, text
from test_accounts import link_in
from test_mail import serve
from test_one_road import statements

WORLD_EVENT = {"name": "Spreewald Relay", "sport": "running", "timezone": "Europe/Berlin",
               "start": "2027-05-15T08:00", "end": "2027-05-15T12:30"}


def post(client, page_url: str, action: str, data: dict[str, str]):
    """Post the form of `page_url` whose action is `action`, with its CSRF token (under
    the form's own field name) and `data`."""
    forms = Page(client.get(page_url).get_data(as_text=True)).forms
    form = next(f for f in forms if f["action"] == action)
    token = next((k, v) for k, v in form["fields"].items() if k.endswith("csrf_token"))
    return client.post(action, data={token[0]: token[1], **data})


@pytest.fixture
def world(api, make_therapist, make_athlete, page_as) -> dict[str, Any]:
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


# --- who may open what ----------------------------------------------------------------------

def test_a_coach_sees_their_own_teams_only(world):
    coach, team, other = world["coach"], world["team"], world["other"]
    listed = coach.get("/teams")
    assert listed.status_code == 200
    assert "Spree Runners" in text(listed) and "Other Club" not in text(listed)
    assert "2 athletes" in text(listed)
    assert coach.get(f"/teams/{team['id']}").status_code == 200
    assert coach.get(board_url(team["id"], world["event"]["id"])).status_code == 200
    assert coach.get(f"/teams/{other['id']}").status_code == 404
    assert coach.get(board_url(other["id"], world["other_event"]["id"])).status_code == 404
    # Another team's event under one's own team: not found either.
    assert coach.get(board_url(team["id"], world["other_event"]["id"])).status_code == 404
    refused = coach.post(f"/teams/{other['id']}/feed/rotate",
                         data={"csrf_token": Page(listed.get_data(as_text=True))
                               .forms[-1]["fields"]["csrf_token"]})
    assert refused.status_code == 404


def test_an_admin_sees_every_team(world, page_as):
    admin = page_as("admin")
    listed = admin.get("/teams")
    assert "Spree Runners" in text(listed) and "Other Club" in text(listed)
    assert admin.get(board_url(world["other"]["id"], world["other_event"]["id"])
                     ).status_code == 200


@pytest.mark.parametrize("role", ["athlete", "therapist"])
def test_other_roles_are_refused(world, page_as, role):
    client, team = page_as(role), world["team"]
    for url in ("/teams", f"/teams/{team['id']}", board_url(team["id"], world["event"]["id"])):
        assert client.get(url).status_code == 403, url


def test_anonymous_is_sent_to_sign_in(client, world):
    team = world["team"]
    for url in ("/teams", f"/teams/{team['id']}", board_url(team["id"], world["event"]["id"])):
        answer = client.get(url)
        assert answer.status_code == 302 and "/sign-in" in answer.headers["Location"], url


# --- the teams page -------------------------------------------------------------------------

def test_a_coach_creates_a_team(world):
    coach = world["coach"]
    made = post(coach, "/teams", "/teams", {"name": "Track Squad"})
    assert made.status_code == 303
    page = coach.get(made.headers["Location"])
    assert page.status_code == 200 and "Track Squad" in text(page)
    assert "Track Squad" in text(coach.get("/teams"))


def test_a_bad_team_name_is_kept_and_said(world):
    typed = "x" * 201
    answer = post(world["coach"], "/teams", "/teams", {"name": typed})
    assert answer.status_code == 422
    assert "at most 200 characters" in text(answer)
    assert Page(answer.get_data(as_text=True)).invalid == ["name"]
    assert typed in answer.get_data(as_text=True)
    empty = post(world["coach"], "/teams", "/teams", {"name": "  "})
    assert empty.status_code == 422 and "Give the team a name" in text(empty)


# --- the roster -----------------------------------------------------------------------------

def test_a_coach_adds_an_athlete_they_coach_by_email(world, api):
    coach, member = world["coach"], world["members"][0]
    url = f"/teams/{world['team']['id']}"
    made = post(coach, "/teams", "/teams", {"name": "Second Squad"})
    second = made.headers["Location"]
    added = post(coach, second, f"{second}/members", {"add-email": member["email"].upper()})
    assert added.status_code == 303
    assert member["name"] in text(coach.get(second))
    again = post(coach, second, f"{second}/members", {"add-email": member["email"]})
    assert again.status_code == 422 and "already on this team" in text(again)
    assert again.get_data(as_text=True).count(member["email"]) >= 1
    assert coach.get(url).status_code == 200


@pytest.mark.parametrize(("typed", "message"), [
    ("nobody@test.example", "none of the athletes you coach"),
    ("not an email", "Enter an email address"),
    ("", "Enter the email of an athlete you coach"),
])
def test_adding_a_stranger_or_a_bad_email_keeps_what_was_typed(world, make_athlete, typed,
                                                              message):
    make_athlete(email="stranger@test.example")  # exists, but the coach does not coach them
    url = f"/teams/{world['team']['id']}"
    for email in (typed, "stranger@test.example"):
        answer = post(world["coach"], url, f"{url}/members", {"add-email": email})
        assert answer.status_code == 422
        assert Page(answer.get_data(as_text=True)).invalid == ["add-email"]
        form = next(f for f in Page(answer.get_data(as_text=True)).forms
                    if f["action"].endswith("/members"))
        assert (form["fields"]["add-email"] or "") == email
    assert message.lower() in text(post(world["coach"], url, f"{url}/members",
                                        {"add-email": typed})).lower()


def test_an_invitation_without_mail_shows_the_link_once(world, client):
    coach, url = world["coach"], f"/teams/{world['team']['id']}"
    sent = post(coach, url, f"{url}/invitations", {
        "invite-name": "Cleo Voss", "invite-email": "cleo@test.example",
        "invite-sport": "mtb", "invite-timezone": "Europe/Vienna"})
    assert sent.status_code == 303
    page = coach.get(url)
    link = Page(page.get_data(as_text=True))
    shown = page.get_data(as_text=True)
    assert "Cleo Voss" in text(page) and "give them the invitation link" in text(page)
    path = shown.split('id="invite-link"')[1].split('value="')[1].split('"')[0]
    assert "/invitation/" in path and link.invalid == []
    assert "/invitation/" not in coach.get(url).get_data(as_text=True), "shown once"
    accept = client.get(path.replace("http://localhost", ""))
    assert accept.status_code == 200 and "cleo@test.example" in text(accept)


def test_an_invitation_with_mail_on_is_emailed_not_shown(world, app, client):
    coach, url = world["coach"], f"/teams/{world['team']['id']}"
    with serve() as smtp:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_TIMEOUT=5)
        sent = post(coach, url, f"{url}/invitations", {
            "invite-name": "Cleo Voss", "invite-email": "Cleo@Test.example",
            "invite-sport": "running", "invite-timezone": "Europe/Berlin"})
        assert sent.status_code == 303
        [mail] = smtp.take()
    page = coach.get(url)
    assert "an invitation went to cleo@test.example" in text(page)
    assert "/invitation/" not in page.get_data(as_text=True)
    assert mail.rcpt == ["cleo@test.example"] and "invited you" in mail.text
    accept = client.get(link_in(mail.text))
    assert accept.status_code == 200 and "cleo@test.example" in text(accept)


@pytest.mark.parametrize(("fields", "invalid", "message"), [
    ({"invite-name": ""}, "invite-name", "Enter the athlete"),
    ({"invite-email": "cleo(at)test"}, "invite-email", "Enter an email address"),
    ({"invite-timezone": "Mars/Olympus"}, "invite-timezone", "not a time zone we know"),
])
def test_a_bad_invitation_keeps_what_was_typed(world, fields, invalid, message):
    url = f"/teams/{world['team']['id']}"
    typed = {"invite-name": "Cleo Voss", "invite-email": "cleo@test.example",
             "invite-sport": "mtb", "invite-timezone": "Europe/Vienna", **fields}
    answer = post(world["coach"], url, f"{url}/invitations", typed)
    assert answer.status_code == 422 and message in text(answer)
    page = Page(answer.get_data(as_text=True))
    assert page.invalid == [invalid]
    kept = next(f for f in page.forms if f["action"].endswith("/invitations"))["fields"]
    assert kept["invite-name"] == typed["invite-name"]
    assert kept["invite-email"] == typed["invite-email"]
    assert "Cleo Voss" not in text(world["coach"].get(url)).split("Roster")[1].split("Plan")[0]


def test_inviting_an_email_already_taken_saves_nothing(world):
    url, taken = f"/teams/{world['team']['id']}", world["members"][1]["email"]
    answer = post(world["coach"], url, f"{url}/invitations", {
        "invite-name": "Twin", "invite-email": taken, "invite-sport": "running",
        "invite-timezone": "Europe/Berlin"})
    assert answer.status_code == 422 and "already has an account" in text(answer)
    assert "Twin" in answer.get_data(as_text=True)
    assert Page(answer.get_data(as_text=True)).invalid == ["invite-email"]
    assert "Twin" not in text(world["coach"].get(url)).split("Plan a team event")[0]


def test_a_coach_removes_an_athlete_from_the_roster(world):
    coach, url, member = world["coach"], f"/teams/{world['team']['id']}", world["members"][0]
    removed = post(coach, url, f"{url}/members/{member['id']}/remove", {})
    assert removed.status_code == 303
    page = text(coach.get(url))
    assert "is off the team" in page
    assert member["email"] not in page
    gone = post(coach, url, f"{url}/members/{world['members'][1]['id']}/remove", {})
    assert gone.status_code == 303
    again = coach.post(f"{url}/members/{member['id']}/remove", data={
        "csrf_token": Page(coach.get("/teams").get_data(as_text=True)).forms[-1]["fields"][
            "csrf_token"]})
    assert again.status_code == 404


# --- team events, the board, book all -----------------------------------------------------

def test_a_coach_plans_a_team_event_and_lands_on_its_board(world):
    coach, url = world["coach"], f"/teams/{world['team']['id']}"
    planned = post(coach, url, f"{url}/events", {
        "event-name": "Havel Relay", "event-date": "2027-06-12", "event-sport": "running",
        "event-start_time": "09:00", "event-finish_time": "13:00",
        "event-timezone": "Europe/Berlin"})
    assert planned.status_code == 303 and planned.headers["Location"].endswith("/board")
    board = coach.get(planned.headers["Location"])
    assert board.status_code == 200
    assert "Havel Relay" in text(board) and "Sat 12 Jun 2027" in text(board)
    assert "Havel Relay: board" in text(coach.get(url))


@pytest.mark.parametrize(("fields", "invalid", "message"), [
    ({"event-name": ""}, "event-name", "Give the event a name"),
    ({"event-date": ""}, "event-date", "Pick the date of the event"),
    ({"event-date": "2026-12-20"}, "event-date", "recovery window has closed"),
    ({"event-finish_time": "08:00"}, "event-finish_time", "must be after the start time"),
    ({"event-end_date": "2027-06-10"}, "event-end_date", "cannot be before the first day"),
    ({"event-timezone": "Nowhere/City"}, "event-timezone", "not a time zone we know"),
])
def test_a_bad_team_event_keeps_what_was_typed(world, fields, invalid, message):
    url = f"/teams/{world['team']['id']}"
    typed = {"event-name": "Havel Relay", "event-date": "2027-06-12",
             "event-sport": "running", "event-start_time": "09:00",
             "event-timezone": "Europe/Berlin", **fields}
    answer = post(world["coach"], url, f"{url}/events", typed)
    assert answer.status_code == 422 and message in text(answer)
    page = Page(answer.get_data(as_text=True))
    assert page.invalid == [invalid]
    kept = next(f for f in page.forms if f["action"].endswith("/events"))["fields"]
    assert kept["event-name"] == typed["event-name"]
    assert "Havel Relay: board" not in text(world["coach"].get(url))


def _bookings(api, event_id: int) -> list[dict]:
    return api.get(f"/api/v1/bookings?event_id={event_id}&limit=100").get_json()["items"]


def test_book_all_books_the_board_once_and_the_athletes_see_it(world, api, page_as):
    coach, team, event = world["coach"], world["team"], world["event"]
    url = board_url(team["id"], event["id"])
    athlete = page_as("athlete", world["members"][0]["email"])
    assert "Spreewald Relay" not in text(athlete.get("/season"))
    board = coach.get(url)
    assert text(board).count("Proposed") == 4 and "Book all (4 sessions)" in text(board)
    assert "Ana Ruiz" in text(board)
    booked = post(coach, url, f"/teams/{team['id']}/events/{event['id']}/book-all", {})
    assert booked.status_code == 303
    after = coach.get(url)
    assert "Booked 4 sessions for 2 athletes" in text(after)
    assert text(after).count("Booked") >= 4 and "Proposed" not in text(after)
    assert len(_bookings(api, event["id"])) == 4
    assert "Book all" not in text(after) and "Nothing left to book" in text(after)
    token = Page(after.get_data(as_text=True)).forms[0]["fields"]["csrf_token"]
    again = coach.post(f"/teams/{team['id']}/events/{event['id']}/book-all",
                       data={"csrf_token": token})
    assert again.status_code == 303
    assert len(_bookings(api, event["id"])) == 4, "a second book-all books nothing more"
    assert "Spreewald Relay" in text(athlete.get("/season"))  # their sessions


def test_a_second_book_all_from_a_stale_page_books_nothing(world, api):
    coach, team, event = world["coach"], world["team"], world["event"]
    url, action = board_url(team["id"], event["id"]), \
        f"/teams/{team['id']}/events/{event['id']}/book-all"
    token = Page(coach.get(url).get_data(as_text=True)).forms[-1]["fields"]["csrf_token"]
    first = coach.post(action, data={"csrf_token": token})
    second = coach.post(action, data={"csrf_token": token})  # the same page, sent twice
    assert first.status_code == second.status_code == 303
    assert "Nothing new to book" in text(coach.get(url))
    assert len(_bookings(api, event["id"])) == 4


def test_the_board_says_why_an_athlete_is_not_placed_and_shows_no_answers(world, api):
    """A not-cleared athlete stays out with the reason; the page names only the state."""
    ada, ben = world["members"]
    secret = "left knee surgery in March"
    for athlete in (ada, ben):
        assert api.put(f"/api/v1/athletes/{athlete['id']}/screening", {
            "answers": {"pregnancy": False, "blood_thinners": True},
            "note": secret}).status_code == 200
    assert api.post(f"/api/v1/athletes/{ben['id']}/screening/review",
                    {"decision": "not-cleared", "note": "see me first"}).status_code in (200, 201)
    team, coach = world["team"], world["coach"]
    for page in (coach.get(board_url(team["id"], world["event"]["id"])),
                 coach.get(f"/teams/{team['id']}")):
        shown = page.get_data(as_text=True)
        assert secret not in shown and "see me first" not in shown
        assert "thinner" not in shown.lower() and "pregnan" not in shown.lower()
        assert "Awaiting review" in shown and "Not cleared" in shown
    board = text(coach.get(board_url(team["id"], world["event"]["id"])))
    assert "Not placed" in board and "Not cleared at the screening review" in board


def test_the_team_feed_is_linked_and_rotates(world, client):
    coach, url = world["coach"], f"/teams/{world['team']['id']}"
    page = coach.get(url).get_data(as_text=True)
    feed = page.split('id="feed-url"')[1].split('value="')[1].split('"')[0]
    assert feed.startswith("http://localhost/feeds/") and "webcal://localhost/feeds/" in page
    path = feed.replace("http://localhost", "")
    assert client.get(path).status_code == 200
    assert post(coach, url, f"{url}/feed/rotate", {}).status_code == 303
    assert client.get(path).status_code == 404
    assert "has a new address" in text(coach.get(url))


# --- bounded queries ------------------------------------------------------------------------

def test_the_board_reads_the_same_statements_for_two_or_six_athletes(app, api, world,
                                                                     make_athlete):
    coach, team, event = world["coach"], world["team"], world["event"]
    url = board_url(team["id"], event["id"])
    assert coach.get(url).status_code == 200  # warm
    with statements(app) as small:
        assert coach.get(url).status_code == 200
    for n in range(4):
        athlete = make_athlete(name=f"Extra {n}")
        api.post(f"/api/v1/teams/{team['id']}/members", {"athlete_id": athlete["id"]})
    coach.get(url)
    with statements(app) as large:
        page = coach.get(url)
    assert "Extra 3" in text(page)
    assert len(large) == len(small), "\n".join(large)
    # The sign-in's user, the team and its members, the event, the plan's reads (therapists,
    # their blocked time and bookings, the members, their bookings, screenings, events and
    # sessions near the windows), the booked sessions, the roster, the therapists named,
    # the screening states.
    assert len(small) <= 16, "\n".join(small)
