"""The waiting list (contract: "Waiting list"; services/waitlist.py): the API's shapes and
who may do what, the line's order, an offer after a cancellation, expiry and the next in
line, the hold enforced by the booking guard ('held', migration 0020) while its holder
books it, proposals of others without the held slot (and their cache following offers),
and the due work run twice or by two workers at once: one offer, one email. Both
backends; the clock pinned (FROZEN_NOW, moved on by hand where an offer must expire)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from api.helpers import another_worker, assert_error, created, ok
from conftest import NOW, Api

from athlete_sched.services import proposals

# One working period: Wednesday 08:00-08:45 Berlin, so the Rennsteig Marathon's pre window
# (Wed 12 + Thu 13 May 2027) holds exactly one slot with the therapist.
HOURS = [{"day": "wed", "start": "08:00", "end": "08:45"}]
SLOT = "2027-05-12T08:00"  # Berlin
SLOT_UTC = "2027-05-12T06:00:00Z"
HOLD = timedelta(minutes=30)


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """Mail on (to a port nothing listens on: the messages are queued in the outbox, where
    the tests count them, and their delivery fails quietly)."""
    return {**app_config, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": closed_port(),
            "MAIL_TIMEOUT": 0.5}


class World:
    """The therapist with one slot; athletes X (who books it first), A, B, C, each with the
    Rennsteig Marathon; tokens of A and B (as athletes) and of a coach of A's team."""

    def __init__(self, app, api: Api, make_user, make_therapist, make_athlete, make_event):
        self.app, self.api = app, api
        self.therapist = make_therapist(working_hours=HOURS)["id"]
        self.athletes: dict[str, dict[str, Any]] = {}
        self.events: dict[str, int] = {}
        for name in "XABC":
            athlete = make_athlete(name=f"Athlete {name}")
            self.athletes[name] = athlete
            self.events[name] = make_event(athlete["id"])["id"]
        self.as_ = {name: Api(api.client, make_user("athlete", self.athletes[name]["email"]))
                    for name in "AB"}
        coach_email = "coach-a@test.example"
        self.coach = Api(api.client, make_user("coach", coach_email))
        team = created(api.post("/api/v1/teams", {"name": "A's club",
                                                  "coach_email": coach_email}))
        created(api.post(f"/api/v1/teams/{team['id']}/members",
                         {"athlete_id": self.athletes["A"]["id"]}))
        self.therapist_api = Api(api.client, make_user(
            "therapist", "therapist-w@test.example"))

    def id(self, name: str) -> int:
        return self.athletes[name]["id"]

    def join(self, name: str, kind: str = "pre", caller: Api | None = None) -> dict[str, Any]:
        return created((caller or self.api).post(
            f"/api/v1/events/{self.events[name]}/waitlist", {"kind": kind}))

    def line(self, name: str, caller: Api | None = None) -> list[dict[str, Any]]:
        return ok((caller or self.api).get(f"/api/v1/events/{self.events[name]}/waitlist"))[
            "items"]

    def book(self, name: str, caller: Api | None = None):
        return (caller or self.api).post("/api/v1/bookings", {
            "event_id": self.events[name], "kind": "pre", "therapist_id": self.therapist,
            "start": SLOT})

    def run(self, at=None) -> int:
        """One round of the waiting list's due work at `at` (default: the pinned now)."""
        from athlete_sched.services import waitlist

        at = at or NOW
        self.app.config["FROZEN_NOW"] = at.isoformat()
        with self.app.app_context():
            return waitlist.run(at)

    def notices(self) -> list[str]:
        """The NOTICE messages queued, as their recipients."""
        from athlete_sched.db.models import MailMessage
        from athlete_sched.extensions import db

        with self.app.app_context():
            found = list(db.session.scalars(sa.select(MailMessage.recipient).where(
                MailMessage.method == "NOTICE").order_by(MailMessage.id)))
            db.session.rollback()
            return found

    def email(self, name: str) -> str:
        return self.athletes[name]["email"]


@pytest.fixture
def world(app, api, make_user, make_therapist, make_athlete, make_event) -> World:
    return World(app, api, make_user, make_therapist, make_athlete, make_event)


@pytest.fixture
def full(world: World) -> dict[str, Any]:
    """X has the slot; A then B join the pre line of their races."""
    booking = created(world.book("X"))
    return {"booking": booking["id"], "A": world.join("A"), "B": world.join("B")}


# --- the API ------------------------------------------------------------------------------

def test_join_answers_the_entry_with_its_place(world: World, full):
    assert set(full["A"]) == {"id", "event_id", "athlete_id", "kind", "position",
                              "created_at", "offer"}
    assert full["A"] == {**full["A"], "event_id": world.events["A"],
                         "athlete_id": world.id("A"), "kind": "pre", "position": 1,
                         "offer": None}
    assert full["B"]["position"] == 1  # another event's line
    assert world.join("A", "post")["position"] == 1


def test_an_athlete_joins_for_themself_and_twice_is_a_409(world: World):
    entry = world.join("A", caller=world.as_["A"])
    assert entry["athlete_id"] == world.id("A")
    again = world.as_["A"].post(f"/api/v1/events/{world.events['A']}/waitlist", {"kind": "pre"})
    assert_error(again, 409, "already-waiting", "kind")


def test_a_booked_window_cannot_be_joined(world: World):
    created(world.book("X"))
    refused = world.api.post(f"/api/v1/events/{world.events['X']}/waitlist", {"kind": "pre"})
    assert_error(refused, 409, "already-booked")


def test_who_may_join(world: World):
    url = f"/api/v1/events/{world.events['A']}/waitlist"
    # another athlete's race: not theirs to see
    assert_error(world.as_["B"].post(url, {"kind": "pre"}), 404)
    # a therapist books nothing
    assert_error(world.therapist_api.post(url, {"kind": "pre"}), 403)
    # an athlete who is not the event's
    assert_error(world.api.post(url, {"kind": "pre", "athlete_id": world.id("B")}), 422,
                 field="athlete_id")
    # the coach of A's team puts A in line
    assert created(world.coach.post(url, {"kind": "pre", "athlete_id": world.id("A")}))[
        "athlete_id"] == world.id("A")
    # but not B, whom they do not coach
    url_b = f"/api/v1/events/{world.events['B']}/waitlist"
    assert_error(world.coach.post(url_b, {"kind": "pre", "athlete_id": world.id("B")}), 404)
    assert_error(world.api.post(url, {"kind": "mid"}), 422, field="kind")


def test_a_team_event_takes_its_members_only(world: World, api, make_athlete):
    team = created(api.post("/api/v1/teams", {"name": "Crew"}))
    created(api.post(f"/api/v1/teams/{team['id']}/members", {"athlete_id": world.id("C")}))
    event = created(api.post("/api/v1/events", {
        "team_id": team["id"], "name": "Relay", "sport": "running",
        "timezone": "Europe/Berlin", "start": "2027-05-15T08:00", "end": "2027-05-15T12:30"}))
    url = f"/api/v1/events/{event['id']}/waitlist"
    assert_error(api.post(url, {"kind": "pre"}), 422, field="athlete_id")
    assert_error(api.post(url, {"kind": "pre", "athlete_id": world.id("A")}), 422,
                 field="athlete_id")
    assert created(api.post(url, {"kind": "pre", "athlete_id": world.id("C")}))["position"] == 1


def test_who_sees_what_of_a_line(world: World, api, make_event):
    """Two athletes in the line of one team event: each sees their own entry with its place;
    a therapist and an admin see the line."""
    team = created(api.post("/api/v1/teams", {"name": "Crew"}))
    for name in "AB":
        created(api.post(f"/api/v1/teams/{team['id']}/members", {"athlete_id": world.id(name)}))
    event = created(api.post("/api/v1/events", {
        "team_id": team["id"], "name": "Relay", "sport": "running",
        "timezone": "Europe/Berlin", "start": "2027-06-15T08:00", "end": "2027-06-15T12:30"}))
    url = f"/api/v1/events/{event['id']}/waitlist"
    first = created(world.as_["A"].post(url, {"kind": "pre"}))
    second = created(world.as_["B"].post(url, {"kind": "pre"}))
    assert (first["position"], second["position"]) == (1, 2)
    assert [e["id"] for e in ok(world.as_["B"].get(url))["items"]] == [second["id"]]
    assert ok(world.as_["B"].get(url))["items"][0]["position"] == 2
    assert [e["id"] for e in ok(world.as_["A"].get(url))["items"]] == [first["id"]]
    for caller in (api, world.therapist_api):
        assert [e["id"] for e in ok(caller.get(url))["items"]] == [first["id"], second["id"]]
    assert_error(world.as_["A"].get(f"/api/v1/events/{world.events['B']}/waitlist"), 404)


def test_leave(world: World, full):
    a, b = full["A"], full["B"]
    assert_error(world.as_["B"].delete(f"/api/v1/waitlist/{a['id']}"), 404)
    assert_error(world.therapist_api.delete(f"/api/v1/waitlist/{a['id']}"), 404)
    assert world.as_["A"].delete(f"/api/v1/waitlist/{a['id']}").status_code == 204
    assert world.line("A") == []
    assert_error(world.api.delete(f"/api/v1/waitlist/{a['id']}"), 404)
    assert world.api.delete(f"/api/v1/waitlist/{b['id']}").status_code == 204


def test_the_line_is_in_the_order_of_joining(world: World, api):
    """Three athletes in one team event's line: places 1, 2, 3; the first leaves and the
    others move up."""
    team = created(api.post("/api/v1/teams", {"name": "Crew"}))
    for name in "ABC":
        created(api.post(f"/api/v1/teams/{team['id']}/members", {"athlete_id": world.id(name)}))
    event = created(api.post("/api/v1/events", {
        "team_id": team["id"], "name": "Relay", "sport": "running",
        "timezone": "Europe/Berlin", "start": "2027-06-15T08:00", "end": "2027-06-15T12:30"}))
    url = f"/api/v1/events/{event['id']}/waitlist"
    entries = [created(api.post(url, {"kind": k, "athlete_id": world.id(n)}))
               for n, k in (("C", "pre"), ("A", "pre"), ("B", "post"), ("B", "pre"))]
    assert [e["position"] for e in entries] == [1, 2, 1, 3]
    line = ok(api.get(url))["items"]
    assert [(e["athlete_id"], e["kind"], e["position"]) for e in line] == [
        (world.id("C"), "pre", 1), (world.id("A"), "pre", 2), (world.id("B"), "pre", 3),
        (world.id("B"), "post", 1)]
    assert api.delete(f"/api/v1/waitlist/{entries[0]['id']}").status_code == 204
    assert [(e["athlete_id"], e["position"]) for e in ok(api.get(url))["items"]
            if e["kind"] == "pre"] == [(world.id("A"), 1), (world.id("B"), 2)]


# --- offers -------------------------------------------------------------------------------

def test_nothing_is_offered_while_the_window_is_full(world: World, full):
    assert world.run() == 0
    assert world.line("A")[0]["offer"] is None
    assert world.notices() == []


def test_a_cancellation_is_offered_to_the_first_in_line_with_an_email(world: World, full):
    ok(world.api.post(f"/api/v1/bookings/{full['booking']}/cancel", {}))
    assert world.run() == 1
    entry = world.line("A", world.as_["A"])[0]
    assert entry["offer"] == {
        "slot": {"therapist_id": world.therapist, "start": SLOT_UTC,
                 "end": "2027-05-12T06:45:00Z", "kind": "pre", "site_id": None},
        "expires": (NOW + HOLD).strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert world.line("B")[0]["offer"] is None  # nothing else is free
    assert world.notices() == [world.email("A")]
    from athlete_sched.db.models import MailMessage
    from athlete_sched.extensions import db

    with world.app.app_context():
        text = db.session.scalars(sa.select(MailMessage.message).where(
            MailMessage.method == "NOTICE")).one()
    assert "Wednesday 12 May 2027, 08:00-08:45 (Europe/Berlin)" in text
    assert "Held until: Monday 04 January 2027, 01:30 (Europe/Berlin)" in text
    assert f"/events/{world.events['A']}" in text


def test_the_holder_books_the_offer_and_leaves_the_line(world: World, full):
    ok(world.api.post(f"/api/v1/bookings/{full['booking']}/cancel", {}))
    world.run()
    assert_error(world.book("B", world.as_["B"]), 409, "held", "start")
    booked = created(world.book("A", world.as_["A"]))
    assert booked["start"] == SLOT_UTC
    assert world.line("A") == []
    assert world.run() == 0  # B: nothing free


def test_booking_another_slot_of_the_window_removes_the_entry(world: World, full, api,
                                                             make_therapist):
    other = make_therapist(working_hours=[{"day": "thu", "start": "10:00", "end": "11:00"}])
    created(api.post("/api/v1/bookings", {"event_id": world.events["A"], "kind": "pre",
                                          "therapist_id": other["id"],
                                          "start": "2027-05-13T10:00"}))
    assert world.line("A") == []
    assert [e["athlete_id"] for e in world.line("B")] == [world.id("B")]


def test_held_refuses_others_within_the_buffer_and_only_while_live(world: World, full, api,
                                                                    make_therapist):
    ok(world.api.post(f"/api/v1/bookings/{full['booking']}/cancel", {}))
    world.run()
    # an admin booking for C at the held time: held, whoever books
    assert_error(world.book("C"), 409, "held")
    # once the offer has expired (and before any round cleared it) the time is free again
    world.app.config["FROZEN_NOW"] = (NOW + HOLD).isoformat()
    created(world.book("C"))


def test_an_expired_offer_goes_to_the_next_in_line_and_the_first_keeps_their_place(
        world: World, full):
    ok(world.api.post(f"/api/v1/bookings/{full['booking']}/cancel", {}))
    world.run()
    assert world.run(NOW + HOLD) == 1
    a, b = world.line("A")[0], world.line("B")[0]
    assert a["offer"] is None and a["position"] == 1
    assert b["offer"]["slot"]["start"] == SLOT_UTC
    assert b["offer"]["expires"] == (NOW + 2 * HOLD).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert world.notices() == [world.email("A"), world.email("B")]
    # B's offer expires too: A is not offered the same start again, nobody else waits
    assert world.run(NOW + 2 * HOLD) == 0
    assert world.line("B")[0]["offer"] is None
    assert len(world.notices()) == 2


def test_an_expired_holder_may_still_book_a_free_slot(world: World, full):
    """After expiry the slot is offered to the next; until they take it, it is held for
    them, and the first athlete gets 'held' too."""
    ok(world.api.post(f"/api/v1/bookings/{full['booking']}/cancel", {}))
    world.run()
    world.run(NOW + HOLD)
    assert_error(world.book("A", world.as_["A"]), 409, "held")
    created(world.book("B", world.as_["B"]))
    assert world.line("B") == []
    assert [e["athlete_id"] for e in world.line("A")] == [world.id("A")]


def test_proposals_of_others_leave_the_held_slot_out(world: World, full):
    """The holder is proposed the slot; anyone else not, though it is free; and C's cached
    proposals change when the offer is made and when it is cleared."""
    ok(world.api.post(f"/api/v1/bookings/{full['booking']}/cancel", {}))

    def pre(name: str) -> list[str]:
        url = f"/api/v1/events/{world.events[name]}/proposals?kind=pre"
        return [s["start"] for s in ok(world.api.get(url))["pre"]]

    assert pre("C") == [SLOT_UTC]  # cached now
    world.run()
    assert pre("A") == [SLOT_UTC]
    assert pre("C") == []
    assert pre("B") == []
    # the offer expired and a round cleared it and offered it to B: still held (for B)
    world.run(NOW + HOLD)
    assert pre("C") == []
    assert pre("B") == [SLOT_UTC]
    world.run(NOW + 2 * HOLD)  # B's expired: cleared, nobody new (A saw this start before)
    assert pre("C") == [SLOT_UTC]


def test_the_proposals_cache_follows_offers_made_and_cleared(world: World, full,
                                                             monkeypatch):
    """proposals_version (migration 0020) grows when an offer is written or cleared: a
    cached answer of C's race is worked out again each time, and only then."""
    calls: list[int] = []
    real = proposals.propose

    def counted(event, *args: Any, **kwargs: Any):
        calls.append(event.id)
        return real(event, *args, **kwargs)

    url = f"/api/v1/events/{world.events['C']}/proposals?kind=pre"
    ok(world.api.post(f"/api/v1/bookings/{full['booking']}/cancel", {}))
    monkeypatch.setattr(proposals, "propose", counted)
    first = ok(world.api.get(url))
    assert ok(world.api.get(url)) == first and calls == [world.events["C"]]
    world.join("C", "post")  # joining (no offer) leaves it cached
    assert ok(world.api.get(url)) == first and len(calls) == 1
    world.run()  # the offer to A (the round calls services/waitlist's own `propose`)
    held = ok(world.api.get(url))
    assert held["pre"] == [] and len(calls) == 2
    assert ok(world.api.get(url)) == held and len(calls) == 2
    version = _proposals_version(world.app)
    assert world.api.delete(f"/api/v1/waitlist/{full['A']['id']}").status_code == 204
    assert _proposals_version(world.app) > version  # an entry with an offer deleted
    assert ok(world.api.get(url))["pre"][0]["start"] == SLOT_UTC and len(calls) == 3


def _proposals_version(app) -> int:
    from athlete_sched.extensions import db

    with app.app_context():
        n = db.session.execute(sa.text("SELECT n FROM proposals_version")).scalar_one()
        db.session.rollback()
        return n


# --- the due work: twice, and two workers at once -----------------------------------------

def test_running_twice_makes_one_offer_and_one_email(world: World, full):
    ok(world.api.post(f"/api/v1/bookings/{full['booking']}/cancel", {}))
    assert world.run() == 1
    assert world.run() == 0
    assert world.run(NOW + timedelta(minutes=5)) == 0
    assert world.notices() == [world.email("A")]


def test_two_workers_at_once_make_one_offer_and_one_email(world: World, full, app_config):
    """Two apps on the database (two worker hosts), each running the round in its own
    thread, released together, several times: one offer to A, one email."""
    from athlete_sched.extensions import db
    from athlete_sched.services import waitlist

    ok(world.api.post(f"/api/v1/bookings/{full['booking']}/cancel", {}))
    made: list[int] = []
    errors: list[BaseException] = []
    with another_worker(app_config) as second:
        apps = [world.app, second.application]
        barrier = threading.Barrier(len(apps) * 2)

        def worker(app) -> None:
            try:
                with app.app_context():
                    barrier.wait(timeout=30)
                    made.append(waitlist.run(NOW))
                    db.session.remove()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(a,)) for a in apps * 2]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert not errors, errors
    assert sorted(made) == [0, 0, 0, 1]
    assert world.notices() == [world.email("A")]
    assert world.line("A")[0]["offer"]["slot"]["start"] == SLOT_UTC
    assert world.line("B")[0]["offer"] is None


def test_a_hold_rechecks_the_slot_with_the_booking_guard(world: World, full, monkeypatch):
    """A slot that proposals found free but that is booked by the time of the hold (here:
    the proposals answer is stale on purpose) is refused by the guard under the booking
    locks: nothing is offered or mailed."""
    from athlete_sched.core.proposals import Slot
    from athlete_sched.services import waitlist

    ok(world.api.post(f"/api/v1/bookings/{full['booking']}/cancel", {}))
    created(world.book("C"))
    stale = Slot(world.therapist, at_utc(SLOT_UTC), at_utc("2027-05-12T06:45:00Z"), "pre")
    monkeypatch.setattr(waitlist, "_best_new_slot", lambda event, entry: stale)
    assert world.run() == 0
    assert world.notices() == []
    assert world.line("A")[0]["offer"] is None


def at_utc(text: str):
    from datetime import datetime

    return datetime.fromisoformat(text)


# --- the guard's rule 'held' on its own ---------------------------------------------------

GUARD_CASES = [
    # (claim start UTC, claim athlete, offer expires after now?, the answer)
    pytest.param("2027-05-12T06:00:00Z", "B", True, "held", id="the-held-slot"),
    pytest.param("2027-05-12T06:50:00Z", "B", True, "held", id="inside-the-buffer-after"),
    pytest.param("2027-05-12T05:10:00Z", "B", True, "held", id="inside-the-buffer-before"),
    pytest.param("2027-05-12T07:00:00Z", "B", True, None, id="touching-the-buffer"),
    pytest.param("2027-05-12T06:00:00Z", "A", True, None, id="the-holder-own-offer"),
    pytest.param("2027-05-12T06:00:00Z", "B", False, None, id="expired"),
]


@pytest.mark.parametrize(("start", "who", "live", "answer"), GUARD_CASES)
def test_the_guard_refuses_a_live_offer_of_another_athlete_with_the_buffer(
        app, api, make_therapist, make_athlete, make_event, start, who, live, answer):
    """An offer of 06:00-06:45 held for A with a therapist whose buffer is 15 minutes:
    claims of B on that therapist, 45 minutes each."""
    from athlete_sched.core.intervals import Interval
    from athlete_sched.db import guard
    from athlete_sched.db.models import WaitlistEntry
    from athlete_sched.extensions import db

    therapist = make_therapist(buffer_minutes=15)["id"]
    athletes = {name: make_athlete()["id"] for name in "AB"}
    events = {name: make_event(athletes[name])["id"] for name in "AB"}
    held_from = at_utc("2027-05-12T06:00:00Z")
    with app.app_context():
        db.session.add(WaitlistEntry(
            event_id=events["A"], athlete_id=athletes["A"], kind="pre", created_at=NOW,
            offer_therapist_id=therapist, offer_start=held_from,
            offer_end=held_from + timedelta(minutes=45),
            offer_block_end=held_from + timedelta(minutes=60), offered_at=NOW,
            offer_expires=NOW + (HOLD if live else timedelta(0)), offers_made=1))
        db.session.commit()
        claimed = at_utc(start)
        claim = guard.Claim(None, athletes[who], events[who], "pre", therapist,
                            Interval(claimed, claimed + timedelta(minutes=45)),
                            timedelta(minutes=15), NOW)
        try:
            assert guard.refusal(claim) == answer
        finally:
            db.session.rollback()


def test_slot_taken_comes_before_held(world: World, full):
    """A booking and another athlete's live offer on the same time (the offer written by
    hand): the booking is what refuses first."""
    ok(world.api.post(f"/api/v1/bookings/{full['booking']}/cancel", {}))
    world.run()
    created(world.book("A"))  # the holder books it
    from athlete_sched.db.models import WaitlistEntry
    from athlete_sched.extensions import db

    start = at_utc(SLOT_UTC)
    with world.app.app_context():
        entry = db.session.get(WaitlistEntry, full["B"]["id"])
        entry.offer_therapist_id, entry.offer_start = world.therapist, start
        entry.offer_end = entry.offer_block_end = start + timedelta(minutes=45)
        entry.offered_at, entry.offer_expires = NOW, NOW + HOLD
        db.session.commit()
    assert world.line("B")[0]["offer"] is not None
    assert_error(world.book("C"), 409, "slot-taken")


def test_an_athlete_not_cleared_is_passed_over(world: World, full):
    """A therapist recorded "not cleared" for A: A could not book, so the slot is offered
    to B, next in line; A keeps their place."""
    ok(world.api.put(f"/api/v1/athletes/{world.id('A')}/screening",
                     {"answers": {"pacemaker": True}, "note": ""}))
    ok(world.api.post(f"/api/v1/athletes/{world.id('A')}/screening/review",
                      {"decision": "not-cleared"}))
    ok(world.api.post(f"/api/v1/bookings/{full['booking']}/cancel", {}))
    assert world.run() == 1
    assert world.line("A")[0]["offer"] is None
    assert world.line("B")[0]["offer"]["slot"]["start"] == SLOT_UTC
    assert world.notices() == [world.email("B")]
