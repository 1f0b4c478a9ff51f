"""The clinic the authorization matrix (tests/test_authz_matrix.py) runs against, built
through the real API and sign-in form: for each role a person whose objects are "own",
and someone else's objects beside them, with unique marker strings in everything an
athlete writes and in the medical answers.

- therapists t1 (the signed-in therapist) and t2; athletes a1 (the signed-in athlete, in
  team X coached by the signed-in coach) and a2 (team Y, another coach's); x2, a second
  member of team X; a site.
- a1's event e1 with booking b1 (pre, with t1) and b1c (post, with t1, to be cancelled);
  a2's event e2 with b2 (pre, with t2) and b2c (post, with t2); team events tx (X), ty (Y);
  waiting-list entries of a1, x2 and a2 in events of their own (tw, tv, e3).
- time off, calendar subscriptions, one-day changes of t1 and t2 (one each for the API and
  one for the pages, as deleting one twice would be a 404 of its own).
- a1 answered the screening (pacemaker: yes) with a marked note and booked b1 with a
  marked note; a2 likewise with its own markers; t1 reviewed a1 with a marked note.
- API tokens per role and person; a spare token per signed-in role (its own token to
  revoke); a revoked token; a disabled user with a token and a page session; `victim`, a
  user for the admin's user pages.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from email import message_from_string
from email.policy import default as default_policy
from typing import Any

PASSWORD = "correct horse battery"
ROLES = ("admin", "therapist", "athlete", "coach")
# What each person wrote: the athlete's booking note and screening note, the therapist's
# review note of that screening. Unique, ASCII, no spaces: found as they are in any body.
MARKERS = {
    "a1_booking_note": "zqxA1BOOKINGNOTE",
    "a1_screening_note": "zqxA1SCREENINGNOTE",
    "a1_review_note": "zqxA1REVIEWNOTE",
    "a2_booking_note": "zqxA2BOOKINGNOTE",
    "a2_screening_note": "zqxA2SCREENINGNOTE",
}
# The medical answer a1 and a2 gave: on pages its label, in JSON the key set to true.
ANSWER_KEY, ANSWER_LABEL = "pacemaker", "Cardiac pacemaker"
HOURS = [{"day": d, "start": "08:00", "end": "18:00"}
         for d in ("mon", "tue", "wed", "thu", "fri", "sat")]
BUSY_ICS = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\n"
            "UID:busy-1@t\r\nDTSTAMP:20270101T000000Z\r\nDTSTART:20270301T090000Z\r\n"
            "DTEND:20270301T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


@dataclass
class World:
    app: Any
    ids: dict[str, Any] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # role or person -> API token
    pages: dict[str, Any] = field(default_factory=dict)  # role -> signed-in test client
    feeds: dict[str, str] = field(default_factory=dict)  # owner key -> feed path
    emails: dict[str, str] = field(default_factory=dict)  # role -> the signed-in email

    def call(self, token: str | None, method: str, url: str, **kw: Any):
        headers = dict(kw.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.app.test_client().open(url, method=method, headers=headers, **kw)

    def ok(self, token: str | None, method: str, url: str, status: int = 200, **kw: Any):
        response = self.call(token, method, url, **kw)
        assert response.status_code == status, (url, response.get_data(as_text=True)[:400])
        return response.get_json() if response.is_json else response

    def admin(self, method: str, url: str, status: int = 200, **kw: Any):
        return self.ok(self.tokens["admin"], method, url, status, **kw)

    def sign_in(self, email: str):
        client = self.app.test_client()  # the app runs without CSRF tokens here
        response = client.post("/sign-in", data={"email": email, "password": PASSWORD})
        assert response.status_code == 303, response.get_data(as_text=True)[:300]
        return client

    def mails(self) -> list[str]:
        """Every email queued so far, decoded: headers and each part's text."""
        from athlete_sched.extensions import db

        with self.app.app_context():
            raws = db.session.execute(db.text("SELECT message FROM mail_message")).scalars()
            texts = [_decoded(raw) for raw in raws]
            db.session.rollback()
        return texts


def _decoded(raw: str) -> str:
    message = message_from_string(raw, policy=default_policy)
    parts = [str(message)]
    for part in message.walk():
        payload = part.get_payload(decode=True)
        if payload:
            parts.append(payload.decode("utf-8", "replace"))
    return "\n".join(parts)


def _user(world: World, role: str, email: str) -> tuple[str, int]:
    from athlete_sched.extensions import db
    from athlete_sched.services.accounts import create_user

    with world.app.app_context():
        user, token = create_user(email, role, "", PASSWORD)
        user_id = user.id
        db.session.commit()
    return token, user_id


def build(app) -> World:
    w = World(app)
    admin_token, w.ids["admin_user"] = _user(w, "admin", "admin@authz.test")
    w.tokens["admin"] = admin_token
    ids = w.ids
    ids["site"] = w.admin("POST", "/api/v1/sites", 201, json={
        "name": "Berlin", "timezone": "Europe/Berlin"})["id"]
    for key in ("t1", "t2"):
        ids[key] = w.admin("POST", "/api/v1/therapists", 201, json={
            "name": f"Therapist {key}", "email": f"{key}@authz.test",
            "timezone": "Europe/Berlin", "working_hours": HOURS})["id"]
    for key in ("a1", "a2", "x2"):
        ids[key] = w.admin("POST", "/api/v1/athletes", 201, json={
            "name": f"Athlete {key}", "email": f"{key}@authz.test", "sport": "running",
            "timezone": "Europe/Berlin"})["id"]
    ids["x"] = w.admin("POST", "/api/v1/teams", 201, json={
        "name": "Team X", "coach_email": "coach@authz.test"})["id"]
    ids["y"] = w.admin("POST", "/api/v1/teams", 201, json={
        "name": "Team Y", "coach_email": "coach2@authz.test"})["id"]
    for team, member in (("x", "a1"), ("x", "x2"), ("y", "a2")):
        w.admin("POST", f"/api/v1/teams/{ids[team]}/members", 201,
                json={"athlete_id": ids[member]})
    for key, email, role in (("t1", "t1@authz.test", "therapist"),
                             ("t2", "t2@authz.test", "therapist"),
                             ("a1", "a1@authz.test", "athlete"),
                             ("a2", "a2@authz.test", "athlete"),
                             ("coach", "coach@authz.test", "coach"),
                             ("coach2", "coach2@authz.test", "coach")):
        w.tokens[key], ids[f"{key}_user"] = _user(w, role, email)
    for role, person in (("therapist", "t1"), ("athlete", "a1"), ("coach", "coach")):
        w.tokens[role] = w.tokens[person]
    _schedules(w)
    _athlete_writing(w)
    _waiting(w)
    _tokens_and_users(w)
    for role, email in (("admin", "admin@authz.test"), ("therapist", "t1@authz.test"),
                        ("athlete", "a1@authz.test"), ("coach", "coach@authz.test")):
        w.pages[role], w.emails[role] = w.sign_in(email), email
    w.pages["disabled"] = w.sign_in("disabled@authz.test")
    w.admin("PATCH", f"/api/v1/users/{ids['disabled_user']}", json={"disabled": True})
    for kind, key in (("athletes", "a1"), ("athletes", "a2"), ("therapists", "t1"),
                      ("therapists", "t2"), ("teams", "x"), ("teams", "y")):
        url = w.admin("GET", f"/api/v1/{kind}/{ids[key]}/feed")["url"]
        w.feeds[key] = "/feeds/" + url.rsplit("/feeds/", 1)[1]
    ids["feed_token"] = w.feeds["a1"].removeprefix("/feeds/").removesuffix(".ics")
    return w


def _schedules(w: World) -> None:
    ids = w.ids
    for key in ("t1", "t2"):
        for suffix, day in (("", "01"), ("p", "08")):
            ids[f"off_{key}{suffix}"] = w.admin(
                "POST", f"/api/v1/therapists/{ids[key]}/time-off", 201,
                json={"start": f"2027-02-{day}", "end": f"2027-02-{day}T12:00"})["id"]
            ids[f"sub_{key}{suffix}"] = w.admin(
                "POST", f"/api/v1/therapists/{ids[key]}/calendar-subscriptions", 201,
                json={"url": f"https://127.0.0.1:9/{key}{suffix}.ics"})["id"]
        for day in ("2027-03-02", "2027-03-03"):  # the API deletes one, the pages the other
            w.admin("PUT", f"/api/v1/therapists/{ids[key]}/working-days/{day}",
                    json={"closed": True})
    for key in ("a1", "a2"):  # race calendar subscriptions (synced never: nothing listens)
        w.admin("POST", f"/api/v1/athletes/{ids[key]}/race-calendar/subscription", 201,
                json={"url": f"https://127.0.0.1:9/races-{key}.ics"})
    for key, owner in (("e1", "a1"), ("e2", "a2")):
        ids[key] = w.admin("POST", "/api/v1/events", 201, json={
            "athlete_id": ids[owner], "name": f"Race {key}", "timezone": "Europe/Berlin",
            "start": "2027-05-15T08:00", "end": "2027-05-15T12:30"})["id"]
    for key, team in (("tx", "x"), ("ty", "y")):
        ids[key] = w.admin("POST", "/api/v1/events", 201, json={
            "team_id": ids[team], "name": f"Relay {key}", "timezone": "Europe/Berlin",
            "start": "2027-06-05", "end": "2027-06-05"})["id"]


def _athlete_writing(w: World) -> None:
    """Each athlete answers the screening and books with a note, with their own token (so
    the mails of those bookings are queued too); t1 reviews a1's answers."""
    ids = w.ids
    for athlete, therapist, event in (("a1", "t1", "e1"), ("a2", "t2", "e2")):
        token = w.tokens[athlete]
        w.ok(token, "PUT", f"/api/v1/athletes/{ids[athlete]}/screening", json={
            "answers": {ANSWER_KEY: True}, "note": MARKERS[f"{athlete}_screening_note"]})
        for suffix, kind, start in (("", "pre", "2027-05-12T09:00"),
                                    ("c", "post", "2027-05-17T09:00")):
            ids[f"b{athlete[1]}{suffix}"] = w.ok(token, "POST", "/api/v1/bookings", 201, json={
                "event_id": ids[event], "therapist_id": ids[therapist], "kind": kind,
                "start": start, "notes": MARKERS[f"{athlete}_booking_note"]})["id"]
    w.ok(w.tokens["t1"], "POST", f"/api/v1/athletes/{ids['a1']}/screening/review",
         json={"decision": "cleared", "note": MARKERS["a1_review_note"]})


def _waiting(w: World) -> None:
    """Waiting-list entries in events no other write books (team X's tw and a1's own e3,
    team Y's tv): a1's (one per role that may delete its own: w_athlete, w_coach;
    wp_athlete for the pages), x2's (w_therapist: the therapist's own run, refused), a2's
    (w2, w2p)."""
    ids = w.ids
    for key, owner in (("tw", {"team_id": ids["x"]}), ("tv", {"team_id": ids["y"]}),
                       ("e3", {"athlete_id": ids["a1"]})):
        ids[key] = w.admin("POST", "/api/v1/events", 201, json={
            **owner, "name": f"Relay {key}", "timezone": "Europe/Berlin",
            "start": "2027-06-19", "end": "2027-06-19"})["id"]
    for key, event, athlete, kind in (("w_athlete", "tw", "a1", "pre"),
                                      ("w_coach", "tw", "a1", "post"),
                                      ("wp_athlete", "e3", "a1", "pre"),
                                      ("w_therapist", "tw", "x2", "pre"),
                                      ("w2", "tv", "a2", "pre"), ("w2p", "tv", "a2", "post")):
        ids[key] = w.admin("POST", f"/api/v1/events/{ids[event]}/waitlist", 201, json={
            "kind": kind, "athlete_id": ids[athlete]})["id"]


def _tokens_and_users(w: World) -> None:
    ids = w.ids
    for role in ROLES:  # two spare tokens each: one the API revokes, one the pages do
        for n in (1, 2):
            ids[f"spare{n}_{role}"] = w.ok(w.tokens[role], "POST", "/api/v1/me/tokens", 201,
                                           json={"name": f"spare {n}"})["id"]
    ids["spare_a2"] = w.ok(w.tokens["a2"], "POST", "/api/v1/me/tokens", 201,
                           json={"name": "a2's"})["id"]
    revoked = w.ok(w.tokens["a1"], "POST", "/api/v1/me/tokens", 201,
                   json={"name": "revoked"})
    w.ok(w.tokens["a1"], "DELETE", f"/api/v1/me/tokens/{revoked['id']}", 204)
    w.tokens["revoked"] = revoked["token"]
    w.tokens["disabled"], ids["disabled_user"] = _user(w, "athlete", "disabled@authz.test")
    _, ids["victim"] = _user(w, "athlete", f"victim-{uuid.uuid4().hex[:6]}@authz.test")
