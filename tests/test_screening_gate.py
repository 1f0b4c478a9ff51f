"""The screening gate (contract, "Screening"), on both backends: while the athlete's latest
recorded decision is "not cleared", every booking path answers 409 `screening-not-cleared`
and writes nothing (a booking of each kind, a reschedule, a team booking naming them, a
race moved with `move_bookings`, the athlete's and the coach's pages); new answers alone
do not lift it, a "cleared" review does; cancelling stays allowed. A coach reads the state
only and may not answer; a therapist reviews but does not answer."""

from __future__ import annotations

from typing import Any

import pytest
from api.helpers import assert_error, book, created, snapshot
from conftest import PASSWORD
from pageutil import csrf, sign_in, text

A = "/api/v1/athletes"
SECRET = "Zanzibarquill pacemaker since May"


def ok(response, status: int = 200) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_json()


@pytest.fixture
def gate(api, make_user, make_therapist, make_athlete, make_event) -> dict[str, Any]:
    """Mara (own race E, a confirmed pre Wed 12 May 09:00 with Ana) and Tom in coach
    Carla's team, which has a relay on Sat 5 June; Mara answered the screening."""
    ana = make_therapist(email="ana@clinic.test")
    mara = make_athlete(email="mara@athletes.test")
    tom = make_athlete(email="tom@athletes.test")
    team = created(api.post("/api/v1/teams", {"name": "Trail Club",
                                              "coach_email": "carla@coaches.test"}))
    for member in (mara, tom):
        created(api.post(f"/api/v1/teams/{team['id']}/members", {"athlete_id": member["id"]}))
    race = make_event(mara["id"])  # Sat 15 May 2027 08:00-12:30 Berlin
    relay = make_event(team_id=team["id"], name="Club Relay", start="2027-06-05",
                       end="2027-06-05")
    pre = book(api, race["id"], ana["id"], "pre", "2027-05-12T09:00")
    callers = {role: api.as_(make_user(role, email, password=PASSWORD)) for role, email in (
        ("coach", "carla@coaches.test"), ("therapist", "ana@clinic.test"),
        ("athlete", "mara@athletes.test"))}
    callers["admin"] = api
    ok(callers["athlete"].put(f"{A}/{mara['id']}/screening",
                              {"answers": {"pacemaker": True}, "note": SECRET}))
    return {"api": api, "callers": callers, "mara": mara["id"], "tom": tom["id"],
            "ana": ana["id"], "team": team["id"], "race": race["id"], "relay": relay["id"],
            "pre": pre["id"]}


def review(g: dict, decision: str):
    return ok(g["callers"]["therapist"].post(f"{A}/{g['mara']}/screening/review",
                                             {"decision": decision}))


def season_slot(g: dict, kind: str) -> str:
    """The first suggested slot of a course or tune-up session for Mara."""
    view = ok(g["api"].get(f"{A}/{g['mara']}/season", query_string={
        "from": "2027-03-01", "to": "2027-06-01", "course_sessions": 3, "tune_up_weeks": 3}))
    found = [s for s in view["suggestions"] if s["kind"] == kind and s["slots"]]
    assert found, (kind, view["suggestions"])
    return found[0]["slots"][0]["start"]


def attempts(g: dict) -> dict[str, tuple[str, str, dict | None]]:
    """Every booking path of the API for Mara: method, url, body."""
    plan = ok(g["callers"]["coach"].post(f"/api/v1/events/{g['relay']}/plan"))
    mine = [a for a in plan["assignments"] if a["athlete_id"] == g["mara"]]
    assert mine and mine[0]["pre"] and mine[0]["post"], plan  # planned while not blocked
    new = {"therapist_id": g["ana"]}
    return {
        "post": ("post", "/api/v1/bookings", {**new, "event_id": g["race"], "kind": "post",
                                               "start": "2027-05-17T09:00"}),
        "course": ("post", "/api/v1/bookings", {**new, "event_id": g["race"],
                                                 "kind": "course",
                                                 "start": season_slot(g, "course")}),
        "tune-up": ("post", "/api/v1/bookings", {**new, "athlete_id": g["mara"],
                                                  "kind": "tune-up",
                                                  "start": season_slot(g, "tune-up")}),
        "reschedule": ("patch", f"/api/v1/bookings/{g['pre']}", {"start": "2027-05-13T10:00"}),
        "book-team": ("post", f"/api/v1/events/{g['relay']}/book-team",
                      {"assignments": mine}),
        "race move": ("patch", f"/api/v1/events/{g['race']}",
                      {"start": "2027-05-22T08:00", "end": "2027-05-22T12:30",
                       "move_bookings": True}),
    }


def call(g: dict, attempt: tuple[str, str, dict | None]):
    method, url, body = attempt
    caller = g["callers"]["coach"] if "book-team" in url else g["api"]
    return getattr(caller, method)(url, body)


def test_every_api_path_is_409_and_writes_nothing_until_a_cleared_review(app, gate):
    g = gate
    paths = attempts(g)
    review(g, "not-cleared")
    for name, attempt in paths.items():
        before = snapshot(app)
        assert_error(call(g, attempt), 409, "screening-not-cleared")
        assert snapshot(app) == before, name
    # A fresh team plan leaves Mara out with the reason; Tom is still planned.
    plan = ok(g["callers"]["coach"].post(f"/api/v1/events/{g['relay']}/plan"))
    assert {"athlete_id": g["mara"], "reason": "screening"} in plan["unplaced_reasons"]
    assert [a["athlete_id"] for a in plan["assignments"] if a["pre"]] == [g["tom"]]

    # New answers alone do not lift it: the latest decision is still "not cleared".
    ok(g["callers"]["athlete"].put(f"{A}/{g['mara']}/screening",
                                   {"answers": {"pacemaker": False}, "note": ""}))
    assert ok(g["callers"]["coach"].get(f"{A}/{g['mara']}/screening"))["state"] == \
        "not-cleared"
    for name, attempt in paths.items():
        assert_error(call(g, attempt), 409, "screening-not-cleared"), name

    # A "cleared" review of the current answers lifts it: every path goes through.
    review(g, "cleared")
    for name in ("post", "course", "tune-up"):
        ok(call(g, paths[name]), 201)
    assert ok(call(g, paths["reschedule"]))["start"] == "2027-05-13T08:00:00Z"
    team = ok(call(g, paths["book-team"]), 201)
    assert {b["athlete_id"] for b in team["bookings"]} == {g["mara"]}
    moved = ok(call(g, paths["race move"]))
    assert g["pre"] in [b["id"] for b in moved["moved_bookings"]]


def test_cancelling_stays_allowed_while_not_cleared(gate):
    review(gate, "not-cleared")
    cancelled = ok(gate["api"].post(f"/api/v1/bookings/{gate['pre']}/cancel"))
    assert cancelled["status"] == "cancelled"


def test_a_race_move_without_move_bookings_is_not_a_booking(gate):
    """Moving the race alone books nothing: allowed, the session comes back flagged."""
    review(gate, "not-cleared")
    moved = ok(gate["api"].patch(f"/api/v1/events/{gate['race']}",
                                 {"start": "2027-05-22T08:00", "end": "2027-05-22T12:30"}))
    assert [b["id"] for b in moved["flagged_bookings"]] == [gate["pre"]]


def test_a_coach_reads_the_state_only_and_may_not_answer(app, gate, make_athlete, api):
    g, coach = gate, gate["callers"]["coach"]
    url = f"{A}/{g['mara']}/screening"
    assert ok(coach.get(url)) == {"athlete_id": g["mara"], "state": "awaiting-review"}
    assert ok(coach.get(f"{A}/{g['tom']}/screening")) == {  # before any answer: 200 too
        "athlete_id": g["tom"], "state": "not-answered"}
    review(g, "not-cleared")
    shown = coach.get(url)
    assert ok(shown) == {"athlete_id": g["mara"], "state": "not-cleared"}
    assert SECRET not in shown.get_data(as_text=True)
    review(g, "cleared")
    assert ok(coach.get(url))["state"] == "cleared"
    stranger = make_athlete()  # not in Carla's team: not hers to see at all
    assert_error(coach.get(f"{A}/{stranger['id']}/screening"), 404)
    before = snapshot(app)
    for who in ("coach", "therapist"):
        assert_error(g["callers"][who].put(url, {"answers": {"cancer": True}}), 403,
                     "forbidden")
    assert snapshot(app) == before
    ok(g["callers"]["admin"].put(url, {"answers": {"cancer": True}}))  # an admin may
    assert ok(g["callers"]["athlete"].get(url))["note"] == ""


# --- the pages ----------------------------------------------------------------------------

def signed_in(app, email: str):
    """A test client signed in to the pages as the fixture's user with this email."""
    client = app.test_client()
    assert sign_in(client, email, PASSWORD).status_code == 303
    return client


def test_the_athletes_pages_say_why_and_refuse_with_a_readable_409(app, gate):
    g = gate
    athlete = signed_in(app, "mara@athletes.test")
    race_url = f"/events/{g['race']}"
    assert ">Book<" in athlete.get(race_url).get_data(as_text=True)
    token = csrf(athlete, race_url)
    review(g, "not-cleared")
    page = athlete.get(race_url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Your therapist has not cleared you for dry needling yet" in text(page)
    assert ">Book<" not in html and f"{race_url}/book" not in html  # no Book button
    before = snapshot(app)
    refused = athlete.post(f"{race_url}/book", data={
        "csrf_token": token, "kind": "post", "therapist_id": g["ana"],
        "start": "2027-05-17T09:00:00+02:00"})
    assert refused.status_code == 409
    assert "Your therapist has not cleared you for dry needling yet" in text(refused)
    assert snapshot(app) == before
    session_url = f"/bookings/{g['pre']}"
    session_page = athlete.get(session_url)  # (its first view makes the athlete's feed)
    assert "cannot be moved for now" in text(session_page)
    assert "Move here" not in session_page.get_data(as_text=True)
    before = snapshot(app)
    moved = athlete.post(f"{session_url}/reschedule", data={
        "csrf_token": token, "kind": "pre", "therapist_id": g["ana"],
        "start": "2027-05-13T10:00:00+02:00"})
    assert moved.status_code == 409 and "not cleared you" in text(moved)
    assert snapshot(app) == before


def test_the_coachs_book_all_leaves_the_athlete_out_with_the_reason(app, gate):
    g = gate
    review(g, "not-cleared")
    coach = signed_in(app, "carla@coaches.test")
    board = f"/teams/{g['team']}/events/{g['relay']}/board"
    shown = text(coach.get(board))
    assert "Not cleared at the screening review" in shown and SECRET not in shown
    done = coach.post(f"/teams/{g['team']}/events/{g['relay']}/book-all",
                      data={"csrf_token": csrf(coach, board)})
    assert done.status_code == 303
    booked = ok(g["api"].get(f"/api/v1/bookings?event_id={g['relay']}&limit=100"))["items"]
    assert {b["athlete_id"] for b in booked} == {g["tom"]}


# --- no free text an athlete wrote leaves the app -----------------------------------------

NOTES = "hamstring"  # the booking's notes
NOTE = "Quokkafennel beta blockers"  # the screening's note


def ics_text(data: str | bytes) -> str:
    """Every property value of every component of an .ics, parsed with icalendar."""
    from icalendar import Calendar

    calendar = Calendar.from_ical(data)
    return "\n".join(str(value) for part in calendar.walk() for _, value in part.property_items())


def queued_mail(app) -> list[tuple[str, str]]:
    """Each queued message: who it is for, and its headers, text parts and invites (parsed)."""
    from email import message_from_string
    from email.policy import default

    from sqlalchemy import select

    from athlete_sched.db.models import MailMessage
    from athlete_sched.extensions import db

    found = []
    with app.app_context():
        for row in db.session.scalars(select(MailMessage).order_by(MailMessage.id)):
            message = message_from_string(row.message, policy=default)
            parts = [str(message["Subject"]), row.message]
            for part in message.walk():
                if part.is_multipart():
                    continue
                payload = part.get_payload(decode=True)
                if part.get_content_type() == "text/calendar":
                    parts += ["(an invite, parsed:)", ics_text(payload)]
                else:
                    parts.append(payload.decode())
            found.append((row.recipient, "\n".join(parts)))
        db.session.rollback()
    return found


def test_notes_stay_in_the_app_never_in_an_invite_feed_or_email(app, api, client, monkeypatch,
                                                                page_as, make_therapist,
                                                                make_athlete, make_event):
    from urllib.parse import urlsplit

    from athlete_sched.services import mail

    monkeypatch.setattr(mail, "deliver", lambda ids: None)  # queue, do not send
    app.config["MAIL_SERVER"] = "127.0.0.1"
    therapist, athlete = make_therapist(email="ana@clinic.test"), make_athlete()
    therapist_page = page_as("therapist", "ana@clinic.test")
    ok(api.put(f"{A}/{athlete['id']}/screening", {"answers": {"diabetes": True}, "note": NOTE}))
    booked = book(api, make_event(athlete["id"])["id"], therapist["id"], "pre",
                  "2027-05-12T09:00", notes=NOTES)
    week = therapist_page.get("/week?start=2027-05-10")  # in the app, for the therapist
    assert week.status_code == 200 and f"Booking notes: {NOTES}" in text(week)
    files = {"invite": api.get(f"/api/v1/bookings/{booked['id']}/invite.ics")}
    for kind, ident in (("athletes", athlete["id"]), ("therapists", therapist["id"])):
        files[f"{kind} feed"] = client.get(urlsplit(ok(api.get(
            f"/api/v1/{kind}/{ident}/feed"))["url"]).path)
    for where, response in files.items():
        assert response.status_code == 200, where
        shown = ics_text(response.get_data())
        assert "Dry needling" in shown or "Physio" in shown, where  # it was read
        assert NOTES not in shown.lower() and NOTE not in shown, where
        assert NOTES not in response.get_data(as_text=True).lower(), where
    mails = queued_mail(app)
    assert sorted(to for to, _ in mails) == sorted([athlete["email"], therapist["email"]])
    for to, shown in mails:
        assert "(an invite, parsed:)" in shown and "Rennsteig Marathon" in shown, to
        assert NOTES not in shown.lower() and NOTE not in shown, to
