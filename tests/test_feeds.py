"""Calendar feeds: GET/rotate of the feed links (access as the contract says) and the public
GET /feeds/<token>.ics: METHOD:PUBLISH, the same UIDs as the invites, races, nothing
medical and no ORGANIZER/ATTENDEE; a strong ETag (304 on If-None-Match), Last-Modified,
a cache that never serves a stale feed, and a rotated token that answers 404 at once.
Every feed is read by ical.js and icalendar (tests/test_ical_export.py: `both`)."""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from api.helpers import another_worker, assert_error, book, created
from icaljs import icaljs  # noqa: F401  (fixture)
from test_ical_export import AFTER_CARE_POINTS, both

from athlete_sched.core import ical

SECRET_NOTES = "left hamstring; blood thinners; pacemaker"
BANNED = ("ORGANIZER", "ATTENDEE", "DESCRIPTION", "VALARM")


@pytest.fixture
def clinic(api, make_therapist, make_athlete, make_event, make_user):
    """A therapist, a coached team of two athletes with a team event (all-day), the first
    athlete's own race (timed), and bookings: the first athlete's pre and post for the
    race, the second athlete's pre for the team event."""
    therapist = make_therapist(name="Ana Ruiz")
    coach_email = "coach@clubs.test"
    team = created(api.post("/api/v1/teams", {"name": "Trail Club, Berlin",
                                              "coach_email": coach_email}))
    first = make_athlete(name="Mara Runner")
    second = make_athlete(name="Tom Biker", sport="mtb")
    for member in (first, second):
        created(api.post(f"/api/v1/teams/{team['id']}/members", {"athlete_id": member["id"]}))
    race = make_event(first["id"])  # Sat 2027-05-15 08:00-12:30 Berlin
    relay = make_event(team_id=team["id"], name="Club Relay", start="2027-06-05",
                       end="2027-06-06")
    pre = book(api, race["id"], therapist["id"], "pre", "2027-05-12T09:00", notes=SECRET_NOTES)
    post = book(api, race["id"], therapist["id"], "post", "2027-05-17T09:00")
    relay_pre = book(api, relay["id"], therapist["id"], "pre", "2027-06-02T09:00",
                     athlete_id=second["id"])
    return {"therapist": therapist, "team": team, "first": first, "second": second,
            "race": race, "relay": relay, "pre": pre, "post": post, "relay_pre": relay_pre,
            "coach": api.as_(make_user("coach", coach_email))}


def feed_url(caller, kind: str, ident: int) -> str:
    response = caller.get(f"/api/v1/{kind}/{ident}/feed")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"url", "webcal"}
    assert body["webcal"] == "webcal://" + body["url"].split("://", 1)[1]
    assert urlsplit(body["url"]).scheme in ("http", "https")
    return urlsplit(body["url"]).path


def fetch(client, path: str, **headers):
    return client.get(path, headers=headers)  # no bearer token: the token is in the URL


def check_feed(data: bytes, icaljs) -> list[dict]:  # noqa: F811
    events = both(data, icaljs)
    assert all(e["method"] == "PUBLISH" for e in events)
    for banned in BANNED:
        assert f"\r\n{banned}".encode() not in data, banned
    assert not any(set(e["properties"]) & {"organizer", "attendee", "description"}
                   for e in events)
    text = data.decode()
    assert "After-care" not in text and "hamstring" not in text and "needling" not in text
    assert not any(point[2:20] in text for point in AFTER_CARE_POINTS)
    assert "\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in text
    assert "\r\nX-PUBLISHED-TTL:PT1H\r\n" in text
    return events


def test_therapist_feed(api, client, clinic, icaljs):  # noqa: F811
    path = feed_url(api, "therapists", clinic["therapist"]["id"])
    assert feed_url(api, "therapists", clinic["therapist"]["id"]) == path  # stable
    response = fetch(client, path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    events = check_feed(response.get_data(), icaljs)
    assert [(e["uid"], e["sequence"], e["start_utc"], e["end_utc"]) for e in events] == [
        (clinic[b]["uid"], 0, clinic[b]["start"], clinic[b]["end"])
        for b in ("pre", "post", "relay_pre")]
    assert events[0]["calname"] == "Ana Ruiz – sessions"
    assert events[0]["summary"] == ("Physio – pre-race session · Mara Runner · "
                                    "Rennsteig Marathon")


def test_the_feed_uid_is_the_invite_uid(api, client, clinic, icaljs):  # noqa: F811
    invite = api.get(f"/api/v1/bookings/{clinic['pre']['id']}/invite.ics").get_data()
    feed = fetch(client, feed_url(api, "athletes", clinic["first"]["id"])).get_data()
    [invited] = both(invite, icaljs)
    published = {e["uid"]: e for e in both(feed, icaljs)}
    same = published[invited["uid"]]
    assert (same["sequence"], same["start_utc"], same["end_utc"]) == (
        invited["sequence"], invited["start_utc"], invited["end_utc"])


def test_athlete_feed_holds_races_and_sessions(api, client, clinic, icaljs):  # noqa: F811
    events = check_feed(fetch(client, feed_url(api, "athletes", clinic["first"]["id"]))
                        .get_data(), icaljs)
    race, relay = clinic["race"]["id"], clinic["relay"]["id"]
    assert [(e["uid"], e["start_utc"], e["end_utc"], e["all_day"]) for e in events] == [
        (clinic["pre"]["uid"], "2027-05-12T07:00:00Z", "2027-05-12T07:45:00Z", False),
        (clinic["post"]["uid"], "2027-05-17T07:00:00Z", "2027-05-17T07:45:00Z", False),
        (f"event-{race}@athlete-sched", "2027-05-15T06:00:00Z", "2027-05-15T10:30:00Z", False),
        (f"event-{relay}@athlete-sched", "2027-06-05", "2027-06-07", True)]  # DTEND exclusive
    assert events[0]["calname"] == "Mara Runner – races and sessions"
    assert events[2]["summary"] == "Rennsteig Marathon"
    # The second athlete's session is in the team feed, not in the first athlete's.
    assert clinic["relay_pre"]["uid"] not in {e["uid"] for e in events}


def test_team_feed(api, client, clinic, icaljs):  # noqa: F811
    path = feed_url(clinic["coach"], "teams", clinic["team"]["id"])
    events = check_feed(fetch(client, path).get_data(), icaljs)
    assert [e["uid"] for e in events] == [clinic["relay_pre"]["uid"],
                                          f"event-{clinic['relay']['id']}@athlete-sched"]
    assert events[0]["summary"] == ("Physio – pre-race session · Tom Biker with Ana Ruiz · "
                                    "Club Relay")
    assert events[0]["calname"] == "Trail Club, Berlin – races and sessions"


def test_an_empty_feed_is_a_valid_calendar(api, client, make_therapist, icaljs):  # noqa: F811
    data = fetch(client, feed_url(api, "therapists", make_therapist()["id"])).get_data()
    assert check_feed(data, icaljs) == []
    assert data.startswith(b"BEGIN:VCALENDAR\r\n") and b"METHOD:PUBLISH\r\n" in data


def test_etag_304_and_head(api, client, clinic):
    path = feed_url(api, "athletes", clinic["first"]["id"])
    first = fetch(client, path)
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith('W/') and len(etag) == 66
    assert first.headers["Cache-Control"] == "private, no-cache"
    assert parsedate_to_datetime(first.headers["Last-Modified"]).tzinfo is not None
    for match in (etag, f'"other", {etag}', f"W/{etag}", "*"):
        again = fetch(client, path, **{"If-None-Match": match})
        assert again.status_code == 304, match
        assert again.get_data() == b"" and again.headers["ETag"] == etag
        assert "Content-Type" not in again.headers
    assert fetch(client, path, **{"If-None-Match": '"stale"'}).status_code == 200
    head = client.head(path)
    assert head.status_code == 200 and head.get_data() == b""
    assert head.headers["ETag"] == etag
    assert head.headers["Content-Type"] == "text/calendar; charset=utf-8"


def test_a_change_gives_a_new_etag_at_once(app, api, client, clinic, icaljs):  # noqa: F811
    path = feed_url(api, "therapists", clinic["therapist"]["id"])
    before = fetch(client, path)
    assert fetch(client, path).get_data() == before.get_data()
    cache = app.extensions["athlete_sched.caches"]["feeds"]
    assert cache.hits >= 1

    moved = api.patch(f"/api/v1/bookings/{clinic['pre']['id']}", {"start": "2027-05-13T10:00"})
    assert moved.status_code == 200
    after = fetch(client, path, **{"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert (parsedate_to_datetime(after.headers["Last-Modified"])
            >= parsedate_to_datetime(before.headers["Last-Modified"]))
    entry = {e["uid"]: e for e in check_feed(after.get_data(), icaljs)}[clinic["pre"]["uid"]]
    assert (entry["sequence"], entry["start_utc"]) == (1, "2027-05-13T08:00:00Z")

    api.post(f"/api/v1/bookings/{clinic['pre']['id']}/cancel")
    cancelled = fetch(client, path, **{"If-None-Match": after.headers["ETag"]})
    assert cancelled.status_code == 200
    uids = [e["uid"] for e in check_feed(cancelled.get_data(), icaljs)]
    assert clinic["pre"]["uid"] not in uids and clinic["post"]["uid"] in uids


def test_a_write_by_another_worker_is_seen(app_config, api, client, clinic):
    """A second app (its own engine, pool and cache: another worker) renames the race; the
    first worker's cached feed is not served again."""
    path = feed_url(api, "athletes", clinic["first"]["id"])
    before = fetch(client, path)
    with another_worker(app_config) as other:
        response = api.__class__(other, api.token).patch(
            f"/api/v1/events/{clinic['race']['id']}", {"name": "Rennsteig Supermarathon"})
        assert response.status_code == 200, response.get_data(as_text=True)
    after = fetch(client, path, **{"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and b"Rennsteig Supermarathon" in after.get_data()


def test_rotation_kills_the_old_url(api, client, clinic, make_user):
    athlete = clinic["first"]
    own = api.as_(make_user("athlete", athlete["email"]))
    old = feed_url(own, "athletes", athlete["id"])
    assert fetch(client, old).status_code == 200
    rotated = own.post(f"/api/v1/athletes/{athlete['id']}/feed/rotate")
    assert rotated.status_code == 200
    new = urlsplit(rotated.get_json()["url"]).path
    assert new != old and feed_url(own, "athletes", athlete["id"]) == new
    gone = fetch(client, old)
    assert gone.status_code == 404 and gone.mimetype == "text/plain"
    assert b"<html" not in gone.get_data().lower()
    assert fetch(client, new).status_code == 200


@pytest.mark.parametrize("token", [
    "A" * 43, "x" * 16, "a" * 300, "%00" * 20, "ab%0D%0ASet-Cookie:x" * 2,
    "%F0%9F%8F%83" * 8, "' OR 1=1 --" + "a" * 10,
], ids=["unknown", "short", "long", "nul", "crlf", "emoji", "quote"])
def test_unknown_tokens_answer_plain_404(client, token):
    response = client.get(f"/feeds/{token}.ics")
    assert response.status_code == 404
    assert response.mimetype == "text/plain"


@pytest.mark.parametrize(("kind", "owner", "allowed", "refused"), [
    ("therapists", "therapist", ("admin", "self"), ("athlete", "coach", "other_therapist")),
    ("athletes", "first", ("admin", "self"), ("coach", "second", "therapist", "stranger")),
    ("teams", "team", ("admin", "coach"), ("first", "therapist", "other_coach")),
])
def test_who_may_see_and_rotate_a_feed(api, clinic, make_user, make_therapist, kind, owner,
                                       allowed, refused):
    emails = {"self": clinic[owner].get("email"), "therapist": clinic["therapist"]["email"],
              "other_therapist": make_therapist()["email"], "athlete": clinic["first"]["email"],
              "first": clinic["first"]["email"], "second": clinic["second"]["email"]}
    roles = {"self": kind[:-1], "therapist": "therapist", "other_therapist": "therapist",
             "stranger": "athlete", "other_coach": "coach"}

    def caller(name: str):
        if name in ("admin", "coach"):
            return api if name == "admin" else clinic["coach"]
        return api.as_(make_user(roles.get(name, "athlete"), emails.get(name)))

    ident = clinic[owner]["id"]
    for name in allowed:
        who = caller(name)
        assert who.get(f"/api/v1/{kind}/{ident}/feed").status_code == 200, name
        assert who.post(f"/api/v1/{kind}/{ident}/feed/rotate").status_code == 200, name
    for name in refused:
        who = caller(name)
        assert_error(who.get(f"/api/v1/{kind}/{ident}/feed"), 404)
        assert_error(who.post(f"/api/v1/{kind}/{ident}/feed/rotate"), 404)
    assert_error(api.as_("nope").get(f"/api/v1/{kind}/{ident}/feed"), 401)
    assert_error(api.get(f"/api/v1/{kind}/999999/feed"), 404)


def test_nasty_names_stay_inside_their_property(api, client, make_therapist, make_athlete,
                                                make_event, icaljs):  # noqa: F811
    therapist = make_therapist(name="Ana\r\nORGANIZER:mailto:evil@x.test")
    athlete = make_athlete(name='Mara "🏃" Rünner; Jr., ' + "w" * 150)
    event = make_event(athlete["id"], name="Race\nBEGIN:VEVENT\nUID:evil, 🚵; " + "é" * 100)
    booked = book(api, event["id"], therapist["id"], "pre", "2027-05-12T09:00")
    data = fetch(client, feed_url(api, "athletes", athlete["id"])).get_data()
    events = check_feed(data, icaljs)
    assert [e["uid"] for e in events] == [booked["uid"], f"event-{event['id']}@athlete-sched"]
    assert events[1]["summary"] == ical.clean(event["name"])
    assert events[0]["summary"].endswith("· with Ana\nORGANIZER:mailto:evil@x.test")
    assert events[0]["calname"] == ical.clean(athlete["name"]) + " – races and sessions"


def test_odd_stored_data_does_not_break_a_feed(app, api, client, clinic, icaljs):  # noqa: F811
    """An event row no API call can write (an unknown time zone) is left out of the feed;
    the rest is served."""
    from athlete_sched.extensions import db

    with app.app_context():
        db.session.execute(sa.text("UPDATE event SET timezone = 'Mars/Olympus' WHERE id = :id"),
                           {"id": clinic["race"]["id"]})
        db.session.commit()
    response = fetch(client, feed_url(api, "athletes", clinic["first"]["id"]))
    assert response.status_code == 200
    uids = [e["uid"] for e in check_feed(response.get_data(), icaljs)]
    assert f"event-{clinic['race']['id']}@athlete-sched" not in uids
    assert clinic["pre"]["uid"] in uids


def test_public_url_sets_the_links_handed_out(app, api, clinic):
    app.config["PUBLIC_URL"] = "https://book.clinic.example/"
    body = api.get(f"/api/v1/therapists/{clinic['therapist']['id']}/feed").get_json()
    assert body["url"].startswith("https://book.clinic.example/feeds/")
    assert body["webcal"] == "webcal://" + body["url"].removeprefix("https://")


def test_the_first_feed_request_creates_one_token_even_twice_at_once(app, api, clinic):
    """GET /feed writes on first use: on SQLite it restarts as a writer (BEGIN IMMEDIATE)
    instead of upgrading its read transaction; two first uses give one token."""
    import threading

    kind, ident = "athletes", clinic["second"]["id"]
    answers: list = []

    def first_use() -> None:
        answers.append(app.test_client().get(
            f"/api/v1/{kind}/{ident}/feed",
            headers={"Authorization": f"Bearer {api.token}"}))

    threads = [threading.Thread(target=first_use) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200, 200], [a.get_data() for a in answers]
    assert answers[0].get_json() == answers[1].get_json()
