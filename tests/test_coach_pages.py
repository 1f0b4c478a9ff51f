"""The coach's teams and rosters on SQLite and PostgreSQL (test client): own teams only,
other roles refused, every form keeping what was typed, invitations by mail or as a link
to hand over, taking an athlete off the roster. The board: test_coach_board.py."""

from __future__ import annotations

import pytest
from coachutil import board_url, make_world, post
from pageutil import Page, text
from test_accounts import link_in
from test_mail import serve


@pytest.fixture
def world(api, make_therapist, make_athlete, page_as) -> dict:
    return make_world(api, make_therapist, make_athlete, page_as)


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
