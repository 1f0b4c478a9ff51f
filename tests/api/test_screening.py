"""Screening (domain.md, "Special considerations"): the flags (core, no app), then the API on
both backends: round trip, who may read, answer and review, bad input that stores nothing,
a change of the answers clearing the therapist's decision, the planner's exclusions, the
booking JSON and page, and nothing medical in any .ics, feed or invitation email."""

from __future__ import annotations

import re
from email import message_from_string
from email.policy import default as default_policy
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from athlete_sched.core import screening as core
from athlete_sched.core.errors import InvalidValue

from .helpers import INSTANT, assert_error, book, created, snapshot

A = "/api/v1/athletes"
NOTE = "Zanzibarquill warfarin since March"  # distinctive words that must never leak
REVIEW_NOTE = "Quokkafennel: not before the cardiology check"
ALL_YES = {key: True for key in core.KEYS}


# --- the core: flags from answers ---------------------------------------------------------

@pytest.mark.parametrize(("answers", "flagged", "unanswered"), [
    ({}, [], list(core.KEYS)),  # nothing answered: nothing flagged, all open
    ({k: False for k in core.KEYS}, [], []),  # "no" to everything flags nothing
    ({"pacemaker": True, "pregnancy": True}, ["pregnancy", "pacemaker"],  # list order
     [k for k in core.KEYS if k not in ("pacemaker", "pregnancy")]),
    ({"needle_fear": True, "diabetes": None, "cancer": False}, ["needle_fear"],
     [k for k in core.KEYS if k not in ("needle_fear", "cancer")]),
    (ALL_YES, list(core.KEYS), []),
])
def test_flags_are_the_yes_answers_in_list_order(answers, flagged, unanswered):
    assert core.flagged(answers) == flagged
    assert core.unanswered(answers) == unanswered
    assert core.normalized(answers) == {k: answers.get(k) for k in core.KEYS}


def test_the_list_is_domain_md_and_labels_follow_keys():
    assert core.KEYS == ("pregnancy", "low_blood_pressure", "extreme_frailty",
                         "recent_surgery", "cancer", "blood_thinners", "immunosuppressants",
                         "diabetes", "pacemaker", "needle_fear")
    assert core.labels(["recent_surgery", "needle_fear"]) == [
        "Surgery within the last six weeks", "Fear of needles"]


@pytest.mark.parametrize(("answers", "error"), [
    ({"smoker": True}, InvalidValue),  # an unknown key is refused, not ignored
    ({"pregnancy": "yes"}, ValueError),
    ({"pregnancy": 1}, ValueError),
])
def test_normalized_refuses_unknown_keys_and_non_booleans(answers, error):
    with pytest.raises(error):
        core.normalized(answers)


# --- a small clinic -----------------------------------------------------------------------

@pytest.fixture
def clinic(api, make_user, make_therapist, make_athlete, make_event) -> dict[str, Any]:
    """a1 in coach's team X with a pre booking with t1 and a cancelled post with t3; a2
    with a booking with t2 (so t2 is a therapist, but not a1's); other_coach coaches
    nobody here. `callers`: an Api per person; `ids`: the rows."""
    t1, t2, t3 = (make_therapist(email=f"{n}@clinic.test") for n in ("t1", "t2", "t3"))
    a1, a2 = make_athlete(email="a1@athletes.test"), make_athlete(email="a2@athletes.test")
    team = created(api.post("/api/v1/teams", {"name": "X", "coach_email": "coach@c.test"}))
    created(api.post(f"/api/v1/teams/{team['id']}/members", {"athlete_id": a1["id"]}))
    e1, e2 = make_event(a1["id"]), make_event(a2["id"])
    b1 = book(api, e1["id"], t1["id"], "pre", "2027-05-12T09:00")
    cancelled = book(api, e1["id"], t3["id"], "post", "2027-05-17T09:00")
    assert api.post(f"/api/v1/bookings/{cancelled['id']}/cancel").status_code == 200
    b2 = book(api, e2["id"], t2["id"], "pre", "2027-05-12T09:00")
    roles = {"a1": ("athlete", "a1@athletes.test"), "a2": ("athlete", "a2@athletes.test"),
             "coach": ("coach", "coach@c.test"), "other_coach": ("coach", "other@c.test"),
             "t1": ("therapist", "t1@clinic.test"), "t2": ("therapist", "t2@clinic.test"),
             "t3": ("therapist", "t3@clinic.test")}
    callers = {name: api.as_(make_user(*role)) for name, role in roles.items()}
    callers["admin"] = api
    ids = {"a1": a1["id"], "a2": a2["id"], "t1": t1["id"], "t2": t2["id"], "t3": t3["id"],
           "e1": e1["id"], "b1": b1["id"], "b2": b2["id"], "cancelled": cancelled["id"],
           "team": team["id"]}
    return {"callers": callers, "ids": ids}


def ok(response, status: int = 200) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_json()


def put(caller, athlete_id: int, answers: dict, note: str = ""):
    return caller.put(f"{A}/{athlete_id}/screening", {"answers": answers, "note": note})


def review(caller, athlete_id: int, decision: str, note: str = "", **extra: Any):
    return caller.post(f"{A}/{athlete_id}/screening/review",
                       {"decision": decision, "note": note, **extra})


# --- round trip ---------------------------------------------------------------------------

def test_round_trip_with_flags_labels_and_open_answers(clinic):
    me, a1 = clinic["callers"]["a1"], clinic["ids"]["a1"]
    assert_error(me.get(f"{A}/{a1}/screening"), 404, "not-found")  # not answered yet
    answers = {"pregnancy": False, "blood_thinners": True, "pacemaker": True,
               "diabetes": None}
    stored = ok(put(me, a1, answers, NOTE))
    assert stored == ok(me.get(f"{A}/{a1}/screening"))
    assert stored["athlete_id"] == a1 and stored["note"] == NOTE
    assert stored["answers"] == {k: answers.get(k) for k in core.KEYS}  # every key
    assert stored["flagged"] == ["blood_thinners", "pacemaker"]
    assert stored["flagged_labels"] == ["Blood thinners", "Cardiac pacemaker"]
    assert stored["unanswered"] == [k for k in core.KEYS
                                    if k not in ("pregnancy", "blood_thinners", "pacemaker")]
    assert INSTANT.match(stored["answered_at"]) and stored["review"] is None


def test_put_replaces_the_answers_a_key_left_out_is_not_answered(clinic):
    me, a1 = clinic["callers"]["a1"], clinic["ids"]["a1"]
    ok(put(me, a1, {"pregnancy": True, "diabetes": True}))
    again = ok(put(me, a1, {"diabetes": True}))
    assert again["answers"]["pregnancy"] is None and again["flagged"] == ["diabetes"]


# --- who may do what ----------------------------------------------------------------------

ACCESS = [  # caller, read, answer, review (expected status; 404 = may not see it at all)
    ("a1", 200, 200, 403),           # the athlete: own data, but never their own decision
    ("a2", 404, 404, 404),           # another athlete
    ("coach", 200, 403, 403),        # coach of a team a1 is in: the state only, no answers
    ("other_coach", 404, 404, 404),  # a coach, not a1's
    ("t1", 200, 403, 200),           # therapist with a confirmed booking with a1
    ("t3", 200, 403, 403),           # had a booking (cancelled): reads, does not decide
    ("t2", 404, 404, 404),           # a therapist without any booking with a1
    ("admin", 200, 200, 200),
]


def test_who_may_read_answer_and_review(app, clinic):
    callers, a1 = clinic["callers"], clinic["ids"]["a1"]
    ok(put(callers["admin"], a1, {"cancer": True}, NOTE))
    for name, read, answer, decide in ACCESS:
        caller = callers[name]
        for status, call in ((read, lambda c: c.get(f"{A}/{a1}/screening")),
                             (answer, lambda c: put(c, a1, {"cancer": True}, NOTE)),
                             (decide, lambda c: review(c, a1, "cleared"))):
            before = snapshot(app) if status != 200 else None
            response = call(caller)
            if status == 200 and name == "coach":  # the state alone, never the answers
                assert response.status_code == 200, (name, response.get_json())
                assert set(response.get_json()) == {"athlete_id", "state"}, name
            elif status == 200:
                assert response.status_code == 200, (name, response.get_json())
                assert response.get_json()["flagged"] == ["cancer"], name
            else:
                assert_error(response, status)
                assert snapshot(app) == before, name  # a refusal changes nothing
    reviewed = ok(callers["a1"].get(f"{A}/{a1}/screening"))["review"]
    assert reviewed["therapist_id"] is None and reviewed["decision"] == "cleared"  # admin last


def test_therapist_review_names_the_therapist(clinic):
    callers, ids = clinic["callers"], clinic["ids"]
    ok(put(callers["a1"], ids["a1"], {"needle_fear": True}))
    decided = ok(review(callers["t1"], ids["a1"], "not-cleared", REVIEW_NOTE))["review"]
    assert decided["therapist_id"] == ids["t1"] and decided["decision"] == "not-cleared"
    assert decided["note"] == REVIEW_NOTE and INSTANT.match(decided["reviewed_at"])


def test_unknown_athlete_and_no_screening_are_404(clinic):
    admin, ids = clinic["callers"]["admin"], clinic["ids"]
    assert_error(admin.get(f"{A}/999999/screening"), 404, "not-found")
    assert_error(put(admin, 999999, {}), 404, "not-found")
    assert_error(review(admin, ids["a1"], "cleared"), 404, "not-found")  # nothing to review


# --- bad input: the contract's error, nothing stored --------------------------------------

BAD_ANSWERS = [  # body, field named in the error
    ({"answers": {"pregnancy": True, "smoker": True}}, "answers.smoker"),  # unknown key
    ({"answers": {"pregnancy": "yes"}}, "answers.pregnancy"),
    ({"answers": {"pregnancy": 1}}, "answers.pregnancy"),
    ({"answers": ["pregnancy"]}, "answers"),
    ({"answers": None}, "answers"),
    ({"note": "no answers"}, "answers"),
    ({"answers": {}, "note": 7}, "note"),
    ({"answers": {}, "note": "x" * (core.MAX_NOTE_LENGTH + 1)}, "note"),
    ({"answers": {}, "note": "nul \x00 byte"}, "note"),
]


@pytest.mark.parametrize(("body", "field"), BAD_ANSWERS)
def test_bad_answers_are_422_and_store_nothing(app, clinic, body, field):
    admin, a1, a2 = clinic["callers"]["admin"], clinic["ids"]["a1"], clinic["ids"]["a2"]
    ok(put(admin, a2, {"diabetes": True}))
    before = snapshot(app)
    assert_error(admin.put(f"{A}/{a1}/screening", body), 422, "invalid", field)  # first
    assert_error(admin.put(f"{A}/{a2}/screening", body), 422, "invalid", field)  # a change
    assert snapshot(app) == before
    assert_error(admin.get(f"{A}/{a1}/screening"), 404)
    assert ok(admin.get(f"{A}/{a2}/screening"))["flagged"] == ["diabetes"]


BAD_REVIEWS = [
    ({"decision": "maybe"}, "decision"),
    ({"decision": "Cleared"}, "decision"),
    ({"decision": None}, "decision"),
    ({"note": "forgot the decision"}, "decision"),
    ({"decision": "cleared", "note": "x" * (core.MAX_NOTE_LENGTH + 1)}, "note"),
    ({"decision": "cleared", "answered_at": "yesterday"}, "answered_at"),
    ({"decision": "cleared", "answered_at": "2027-01-04T00:00"}, "answered_at"),  # naive
]


@pytest.mark.parametrize(("body", "field"), BAD_REVIEWS)
def test_bad_reviews_are_422_and_record_nothing(app, clinic, body, field):
    callers, a1 = clinic["callers"], clinic["ids"]["a1"]
    ok(put(callers["a1"], a1, {"diabetes": True}))
    before = snapshot(app)
    assert_error(callers["t1"].post(f"{A}/{a1}/screening/review", body), 422, "invalid",
                 field)
    assert snapshot(app) == before


# --- a change of the answers asks for a new review ----------------------------------------

def test_changed_answers_or_note_clear_the_decision_the_same_ones_keep_it(clinic):
    callers, a1 = clinic["callers"], clinic["ids"]["a1"]
    me, therapist = callers["a1"], callers["t1"]
    first = ok(put(me, a1, {"diabetes": True}, "type 1"))
    ok(review(therapist, a1, "cleared"))
    same = ok(put(me, a1, {"diabetes": True}, "type 1"))  # sent again, unchanged
    assert same["review"]["decision"] == "cleared"
    assert same["answered_at"] == first["answered_at"]
    for answers, note in (({"diabetes": True, "pacemaker": True}, "type 1"),  # answers
                          ({"diabetes": True, "pacemaker": True}, "type 2")):  # note only
        ok(review(therapist, a1, "cleared"))
        changed = ok(put(me, a1, answers, note))
        assert changed["review"] is None, (answers, note)
        assert ok(me.get(f"{A}/{a1}/screening"))["review"] is None


def test_a_review_of_answers_that_changed_since_is_409_stale(app, clinic):
    callers, a1 = clinic["callers"], clinic["ids"]["a1"]
    current = ok(put(callers["a1"], a1, {"pregnancy": True}))
    before = snapshot(app)
    stale = review(callers["t1"], a1, "cleared", answered_at="2027-01-01T00:00:00Z")
    assert_error(stale, 409, "stale", "answered_at")
    assert snapshot(app) == before
    fresh = ok(review(callers["t1"], a1, "cleared", answered_at=current["answered_at"]))
    assert fresh["review"]["decision"] == "cleared"


# --- the planner's exclusions -------------------------------------------------------------

def test_only_a_not_cleared_decision_excludes(app, clinic, make_athlete):
    from athlete_sched.services.screening import excluded_by_screening

    callers, ids = clinic["callers"], clinic["ids"]
    admin = callers["admin"]
    more = {name: make_athlete()["id"] for name in ("flagged", "cleared", "none", "changed")}
    ok(put(admin, ids["a1"], {"cancer": True}))
    ok(review(callers["t1"], ids["a1"], "not-cleared", REVIEW_NOTE))  # excluded
    ok(put(admin, more["flagged"], ALL_YES))  # every flag, no decision: not excluded
    ok(put(admin, more["cleared"], ALL_YES))
    ok(review(admin, more["cleared"], "cleared"))
    ok(put(admin, more["changed"], {"cancer": True}))
    ok(review(admin, more["changed"], "not-cleared"))
    # New answers alone do not lift a "not cleared" (contract, "Screening"): it stays the
    # latest decision until a therapist reviews the new answers.
    ok(put(admin, more["changed"], {"cancer": False}))
    with app.app_context():
        assert excluded_by_screening([ids["a1"], ids["a2"], *more.values()]) == {
            ids["a1"]: "screening", more["changed"]: "screening"}
        assert excluded_by_screening([ids["a2"], more["flagged"]]) == {}
        assert excluded_by_screening([]) == {}


def test_a_screening_write_moves_the_data_version(app, clinic):
    """Cached answers keyed by the data version see a decision (PostgreSQL: the trigger of
    migration 0005 on the screening table; the PUT and the review write nothing else)."""
    from athlete_sched.db.version import data_version
    from athlete_sched.extensions import db

    callers, a1 = clinic["callers"], clinic["ids"]["a1"]

    def version():
        with app.app_context():
            found = data_version()
            db.session.rollback()
            return found

    start = version()
    ok(put(callers["a1"], a1, {"cancer": True}))
    answered = version()
    ok(review(callers["t1"], a1, "not-cleared"))
    assert len({start, answered, version()}) == 3


# --- the booking: JSON and page -----------------------------------------------------------

def test_booking_json_shows_flags_and_decision_to_those_who_see_it(clinic):
    callers, ids = clinic["callers"], clinic["ids"]
    url = f"/api/v1/bookings/{ids['b1']}"
    for name in ("t1", "admin", "a1", "coach"):
        assert ok(callers[name].get(url))["screening"] is None, name  # not answered yet
    ok(put(callers["a1"], ids["a1"], {"blood_thinners": True, "pregnancy": False}))
    for name in ("t1", "admin", "a1", "coach"):
        shown = ok(callers[name].get(url))["screening"]
        assert shown == {"flagged": ["blood_thinners"], "decision": None}, name
    ok(review(callers["t1"], ids["a1"], "not-cleared"))
    assert ok(callers["t1"].get(url))["screening"]["decision"] == "not-cleared"
    listed = ok(callers["t1"].get("/api/v1/bookings"))["items"]
    assert [b["screening"] for b in listed] == [
        {"flagged": ["blood_thinners"], "decision": "not-cleared"}]
    assert ok(callers["t2"].get(f"/api/v1/bookings/{ids['b2']}"))["screening"] is None


def page_text(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    html = response.get_data(as_text=True)
    assert "<script" not in html  # works without JavaScript
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_booking_page_shows_the_athletes_flags_and_the_decision(app, api, page_as, make_user,
                                                                make_athlete, make_event,
                                                                make_therapist):
    athlete, therapist = make_athlete(), make_therapist(email="ana@clinic.test")
    client = page_as("athlete", athlete["email"])  # signed in as this athlete
    booking = book(api, make_event(athlete["id"])["id"], therapist["id"], "pre",
                   "2027-05-12T09:00")
    url = f"/bookings/{booking['id']}"
    text = page_text(client, url)
    assert "You have not answered the screening yet" in text
    assert all(c.label in text for c in core.CONSIDERATIONS)

    ok(put(api, athlete["id"], {"pacemaker": True, "recent_surgery": True,
                                "pregnancy": False}, NOTE))
    text = page_text(client, url)
    assert "You told us these apply to you" in text
    flagged = re.search(r'aria-label="Flagged for your therapist">(.*?)</ul>',
                        client.get(url).get_data(as_text=True), re.S).group(1)
    assert [li.strip() for li in re.findall(r"<li>(.*?)</li>", flagged)] == [
        "Surgery within the last six weeks", "Cardiac pacemaker"]
    assert "Not answered yet: Low blood pressure, Extreme frailty, Malignant" in text
    assert "Pregnancy" not in text  # answered "no": neither flagged nor open
    assert "Not reviewed yet" in text and f"Your note: {NOTE}" in text

    therapist_api = api.as_(make_user("therapist", "ana@clinic.test"))
    ok(review(therapist_api, athlete["id"], "not-cleared", REVIEW_NOTE))
    text = page_text(client, url)
    assert "Not cleared for dry needling by your therapist" in text
    assert REVIEW_NOTE in text and "Not reviewed yet" not in text


# --- nothing medical in any calendar file or email ----------------------------------------

BANNED = (NOTE, REVIEW_NOTE, "Zanzibarquill", "Quokkafennel", "warfarin", "screening",
          "not-cleared", *core.KEYS, *core.LABELS.values())


def assert_nothing_medical(where: str, text: str) -> None:
    lowered = text.lower()
    for word in BANNED:
        assert word.lower() not in lowered, (where, word)


def mail_texts(app) -> list[tuple[str, str]]:
    """Every queued message: its raw text and each of its parts decoded."""
    from athlete_sched.db.models import MailMessage
    from athlete_sched.extensions import db

    found = []
    with app.app_context():
        for row in db.session.scalars(select(MailMessage).order_by(MailMessage.id)):
            message = message_from_string(row.message, policy=default_policy)
            parts = [p.get_payload(decode=True).decode() for p in message.walk()
                     if not p.is_multipart()]
            found.append((f"mail {row.id} to {row.recipient}",
                          "\n".join([row.message, str(message["Subject"]), *parts])))
        db.session.rollback()
    return found


def test_no_screening_word_in_any_ics_feed_or_email(app, api, client, page_as, monkeypatch,
                                                    make_user, make_athlete, make_event,
                                                    make_therapist):
    from athlete_sched.services import mail

    monkeypatch.setattr(mail, "deliver", lambda ids: None)  # queue, do not send
    app.config["MAIL_SERVER"] = "127.0.0.1"
    athlete = make_athlete(email="mara.runner@athletes.example", name="Mara Runner")
    therapist = make_therapist(name="Ana Ruiz")
    team = created(api.post("/api/v1/teams", {"name": "Trail Club", "coach_email": "c@c.test"}))
    created(api.post(f"/api/v1/teams/{team['id']}/members", {"athlete_id": athlete["id"]}))
    ok(put(api, athlete["id"], ALL_YES, NOTE))
    ok(review(api, athlete["id"], "cleared", REVIEW_NOTE))  # cleared: bookable

    race = make_event(athlete["id"])
    relay = make_event(team_id=team["id"], name="Club Relay", start="2027-06-05",
                       end="2027-06-05")
    pre = book(api, race["id"], therapist["id"], "pre", "2027-05-12T09:00")
    post = book(api, race["id"], therapist["id"], "post", "2027-05-17T09:00")
    relay_pre = book(api, relay["id"], therapist["id"], "pre", "2027-06-02T09:00",
                     athlete_id=athlete["id"])
    ok(api.patch(f"/api/v1/bookings/{post['id']}", {"start": "2027-05-17T10:00"}))
    ok(api.post(f"/api/v1/bookings/{relay_pre['id']}/cancel"))
    assert ok(api.get(f"/api/v1/bookings/{pre['id']}"))["screening"]["flagged"]  # in the app
    ok(review(api, athlete["id"], "not-cleared", REVIEW_NOTE))  # the files are made now

    therapist_api = api.as_(make_user("therapist", therapist["email"]))
    files = {f"invite {b['id']}": api.get(f"/api/v1/bookings/{b['id']}/invite.ics")
             for b in (pre, post, relay_pre)}
    files["therapist's invite"] = therapist_api.get(f"/api/v1/bookings/{pre['id']}/invite.ics")
    files["race invites"] = api.get(f"/api/v1/events/{race['id']}/invites.ics")
    athlete_page = page_as("athlete", athlete["email"])
    files["page invite"] = athlete_page.get(f"/bookings/{pre['id']}/invite.ics")
    for kind, ident in (("therapists", therapist["id"]), ("athletes", athlete["id"]),
                        ("teams", team["id"])):
        feed = urlsplit(ok(api.get(f"/api/v1/{kind}/{ident}/feed"))["url"]).path
        files[f"{kind} feed"] = client.get(feed)
    for where, response in files.items():
        assert response.status_code == 200, where
        body = response.get_data(as_text=True)
        assert body.startswith("BEGIN:VCALENDAR") and "BEGIN:VEVENT" in body, where
        assert_nothing_medical(where, body)

    mails = mail_texts(app)
    # pre, post, relay booked; post moved; relay cancelled: two recipients each
    assert len(mails) == 10
    assert any("After-care" in text for _, text in mails)  # the text parts were read
    for where, text in mails:
        assert "BEGIN:VCALENDAR" in text, where
        assert_nothing_medical(where, text)
