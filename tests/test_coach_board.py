"""A team event on the coach's pages, on SQLite and PostgreSQL (test client): planning one
(bad input kept), its board (booked and proposed sessions, the unplaced with their reason,
no medical answer), book all once, the team feed, and the board's bounded statements."""

from __future__ import annotations

import pytest
from coachutil import board_url, make_world, post
from pageutil import Page, text
from test_one_road import statements


@pytest.fixture
def world(api, make_therapist, make_athlete, page_as) -> dict:
    return make_world(api, make_therapist, make_athlete, page_as)


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
    assert "Pre-race session: Spreewald Relay" not in text(athlete.get("/season"))
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
    season = text(athlete.get("/season"))  # their sessions
    assert "Pre-race session: Spreewald Relay" in season
    assert "Recovery session: Spreewald Relay" in season


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
    # The sign-in's user, the team and its members, the event, the clinic's settings (the
    # policy), the plan's reads (therapists,
    # their blocked time and bookings, the members, their bookings, screenings, events and
    # sessions near the windows), the booked sessions, the roster, the therapists named,
    # the screening states.
    assert len(small) <= 17, "\n".join(small)


def test_the_board_adds_the_therapists_own_time_where_it_differs(world):
    """An event in New York with therapists in Berlin and Denver: each time in the event's
    zone, then in the therapist's own."""
    coach, url = world["coach"], f"/teams/{world['team']['id']}"
    planned = post(coach, url, f"{url}/events", {
        "event-name": "Brooklyn Half", "event-date": "2027-05-22", "event-sport": "running",
        "event-start_time": "07:00", "event-timezone": "America/New_York"})
    board = text(coach.get(planned.headers["Location"]))
    assert "Sat 22 May 2027, start 07:00" in board
    assert board.count("America/New_York") >= 4
    assert board.count("their time:") == 4
    assert "Europe/Berlin" in board or "America/Denver" in board
