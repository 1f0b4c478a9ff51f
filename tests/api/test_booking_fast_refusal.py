"""A lost race for a slot, on both backends: the early answer of services/lost_races.py
(one read before the full path, for a start with an offset) and the booking guard's fast
refusal (db/guard.py: on PostgreSQL a read without locks before the locked check; on
SQLite the guard's one statement) answer exactly as the full check does, and every error
that the contract puts before slot-taken still wins over it.

Each case is asked twice on the same data: as the app answers it, and without the fast
reads (`slow`: no early answer, PostgreSQL's locked check alone), and the answers must be
equal; with the start as the therapist's wall-clock time and with an offset.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from conftest import Api, backend_of

from athlete_sched.db import guard
from athlete_sched.services import lost_races

SLOT = "2027-05-12T09:00"  # Wed, in the pre window of a race on Sat 15 May 2027 (Berlin)
OFFSET = "+02:00"  # Berlin's in May: SLOT + OFFSET is the same instant
STARTS = pytest.mark.parametrize("offset", ["", OFFSET], ids=["wall-clock", "offset"])


@pytest.fixture
def taken(api, make_therapist, make_athlete, make_event) -> dict[str, Any]:
    """Therapist T (10-minute buffer), whose 09:00 slot A booked for race E; athlete B with
    race F the same day, who loses the race for it."""
    t = make_therapist(buffer_minutes=10)
    a, b = make_athlete(), make_athlete()
    e, f = make_event(a["id"]), make_event(b["id"])
    won = api.post("/api/v1/bookings", {"event_id": e["id"], "therapist_id": t["id"],
                                        "kind": "pre", "start": SLOT})
    assert won.status_code == 201, won.get_json()
    return {"t": t["id"], "a": a["id"], "b": b["id"], "e": e["id"], "f": f["id"],
            "booking": won.get_json()}


def slow(monkeypatch) -> None:
    """No fast read: no early answer, and the locked check alone (PostgreSQL) answers
    every claim."""
    monkeypatch.setattr(lost_races, "early", lambda _caller, _data: lost_races.NOTHING)
    monkeypatch.setattr(guard, "TAKEN_OR_LOCK_AND_CHECK", guard.LOCK_AND_CHECK)


def answer(api, body: dict[str, Any]) -> tuple[int, Any]:
    response = api.post("/api/v1/bookings", body)
    return response.status_code, response.get_json()


def both_ways(api, monkeypatch, body: dict[str, Any]) -> tuple[int, Any]:
    """The answer with the fast refusal, after checking it equals the full check's."""
    fast = answer(api, body)
    with monkeypatch.context() as patched:
        slow(patched)
        assert answer(api, body) == fast
    return fast


@STARTS
def test_a_lost_race_is_slot_taken_with_the_same_body(api, monkeypatch, taken, offset):
    status, body = both_ways(api, monkeypatch, {
        "event_id": taken["f"], "therapist_id": taken["t"], "kind": "pre",
        "start": SLOT + offset})
    assert status == 409
    assert body["error"]["code"] == "slot-taken"
    assert list(body["error"]["fields"]) == ["start"]
    # the buffer counts: 09:45 + 10 minutes reaches into a 09:50 start
    status, body = both_ways(api, monkeypatch, {
        "event_id": taken["f"], "therapist_id": taken["t"], "kind": "pre",
        "start": "2027-05-12T09:50" + offset})
    assert (status, body["error"]["code"]) == (409, "slot-taken")
    # a start inside A's session: refused early on an offset
    status, body = both_ways(api, monkeypatch, {
        "event_id": taken["f"], "therapist_id": taken["t"], "kind": "pre",
        "start": "2027-05-12T09:44" + offset})
    assert (status, body["error"]["code"]) == (409, "slot-taken")


def test_a_lost_race_at_an_offset_is_answered_from_one_read(app, api, taken):
    """Once the schedules are cached (services/schedules.py: the first attempt reads them),
    the bearer token's read, then one statement: the early answer (services/lost_races.py)
    needs no read of the event, therapist, screening, settings or guard."""
    from test_one_road import statements

    body = {"event_id": taken["f"], "therapist_id": taken["t"], "kind": "pre",
            "start": SLOT + OFFSET}
    assert answer(api, body)[0] == 409
    with statements(app) as sent:
        status, got = answer(api, body)
    assert (status, got["error"]["code"]) == (409, "slot-taken")
    assert len(sent) == 2, sent


def test_a_won_booking_reads_the_gate_and_the_schedule_once(app, api, taken):
    """The early read found the slot free: the full path books it without reading the
    screening decision or the therapist's schedule again (services/lost_races.Known; the
    schedule from the per-process cache, as the early read took it)."""
    from test_one_road import statements

    lost = {"event_id": taken["f"], "therapist_id": taken["t"], "kind": "pre",
            "start": SLOT + OFFSET}
    assert answer(api, lost)[0] == 409  # the schedules are cached from here on
    with statements(app) as sent:
        status, got = answer(api, {**lost, "start": "2027-05-12T14:00" + OFFSET})
    assert status == 201, got
    assert not [s for s in sent if s.startswith("SELECT screening.decision")], sent
    assert not [s for s in sent if "JOIN working_period" in s], sent


@STARTS
def test_a_free_slot_is_refused_while_the_athlete_is_not_cleared(api, monkeypatch, taken,
                                                                 offset):
    _screened_out(api, taken)
    status, body = both_ways(api, monkeypatch, {
        "event_id": taken["f"], "therapist_id": taken["t"], "kind": "pre",
        "start": "2027-05-12T14:00" + offset})
    assert (status, body["error"]["code"]) == (409, "screening-not-cleared")


@STARTS
def test_a_free_slot_after_an_early_read_is_booked_once(api, taken, offset):
    """The early read finds the slot free: the full path books it, and the same attempt
    again is refused (already-booked) with the same body either way."""
    body = {"event_id": taken["f"], "therapist_id": taken["t"], "kind": "pre",
            "start": "2027-05-12T14:00" + offset}
    assert answer(api, body)[0] == 201
    status, again = answer(api, body)
    assert (status, again["error"]["code"]) == (409, "already-booked")


def test_a_free_slot_is_booked_after_the_fast_read_found_nothing(api, taken):
    status, body = answer(api, {"event_id": taken["f"], "therapist_id": taken["t"],
                                "kind": "pre", "start": "2027-05-12T09:55"})
    assert status == 201, body
    assert body["start"] == "2027-05-12T07:55:00Z"


def _screened_out(api, taken) -> None:
    athletes = f"/api/v1/athletes/{taken['b']}/screening"
    assert api.put(athletes, {"answers": {"pacemaker": True}}).status_code == 200
    review = api.post(f"{athletes}/review", {"decision": "not-cleared"})
    assert review.status_code == 200, review.get_json()


def _hours_moved(api, taken) -> None:
    """T now works afternoons only; A's 09:00 session stays (affected=keep)."""
    hours = [{"day": day, "start": "13:00", "end": "18:00"}
             for day in ("mon", "tue", "wed", "thu", "fri")]
    moved = api.put(f"/api/v1/therapists/{taken['t']}/working-hours?affected=keep", hours)
    assert moved.status_code == 200, moved.get_json()


# (what is done first, the request's fields over B's lost race, the answer that wins)
EARLIER_ERRORS = [
    pytest.param(_screened_out, {}, 409, "screening-not-cleared", id="screening-gate"),
    pytest.param(None, {"kind": "post"}, 422, "outside-window", id="outside-window"),
    pytest.param(_hours_moved, {}, 422, "outside-working-hours", id="outside-working-hours"),
    pytest.param(None, {"therapist_id": 999_999}, 404, "not-found", id="unknown-therapist"),
    pytest.param(None, {"event_id": "E"}, 409, "already-booked", id="already-booked"),
    pytest.param(None, {"athlete_id": "A"}, 422, "invalid-value", id="another-athletes-event"),
]


@STARTS
@pytest.mark.parametrize(("before", "fields", "status", "code"), EARLIER_ERRORS)
def test_errors_before_slot_taken_still_win(api, monkeypatch, taken,
                                            before: Callable | None, fields: dict[str, Any],
                                            status: int, code: str, offset: str):
    if before is not None:
        before(api, taken)
    body = {"event_id": taken["f"], "therapist_id": taken["t"], "kind": "pre",
            "start": SLOT + offset, **fields}
    if body["event_id"] == "E":  # A asks again for the slot they hold
        body["event_id"] = taken["e"]
    if body.get("athlete_id") == "A":  # B's event, booked for A
        body["athlete_id"] = taken["a"]
    got_status, got = both_ways(api, monkeypatch, body)
    assert (got_status, got["error"]["code"]) == (status, code), got


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_a_lost_race_does_not_wait_for_the_therapists_lock(app, api, database, taken):
    """PostgreSQL (SQLite's BEGIN IMMEDIATE serializes every writer, so there is no lock to
    pass by): while another writer holds T's advisory lock (a booking of T under way), B's
    attempt at A's committed slot is refused at once by the fast read; an attempt at a free
    slot of T queues for the lock (the locked check) until the writer ends."""
    assert backend_of(database) == "postgresql"
    import sqlalchemy as sa

    from athlete_sched.extensions import db
    from athlete_sched.services.unit_of_work import THERAPIST_LOCK_SPACE

    def attempt(start: str, into: list) -> threading.Thread:
        thread = threading.Thread(target=lambda: into.append(answer(api, {
            "event_id": taken["f"], "therapist_id": taken["t"], "kind": "pre",
            "start": start})))
        thread.start()
        return thread

    with app.app_context():
        holder = db.engine.connect()
    try:
        holder.execute(sa.text("SELECT pg_advisory_xact_lock(:s, :k)"),
                       {"s": THERAPIST_LOCK_SPACE, "k": taken["t"]})
        lost: list = []
        attempt(SLOT, lost).join(timeout=10)
        assert [(s, b["error"]["code"]) for s, b in lost] == [(409, "slot-taken")]
        queued: list = []
        waiting = attempt("2027-05-12T14:00", queued)
        waiting.join(timeout=1)
        assert waiting.is_alive() and queued == []  # the free slot waits for the lock
    finally:
        holder.rollback()
        holder.close()
    waiting.join(timeout=10)
    assert [s for s, _ in queued] == [201]


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_lost_race_does_not_wait_for_the_write_lock(api, database, taken):
    """SQLite: POST /bookings begins as a reader (services/unit_of_work.begins_as_reader).
    While another writer holds the database's write lock, B's attempt at A's committed slot
    is refused at once from a read; an attempt at a free slot of T runs again as a writer
    and waits for the lock, then books once (the checks made again under the lock)."""
    assert backend_of(database) == "sqlite"
    import sqlite3

    import sqlalchemy as sa

    def attempt(start: str, into: list) -> threading.Thread:
        thread = threading.Thread(target=lambda: into.append(answer(api, {
            "event_id": taken["f"], "therapist_id": taken["t"], "kind": "pre",
            "start": start})))
        thread.start()
        return thread

    holder = sqlite3.connect(sa.engine.make_url(database).database, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        lost: list = []
        attempt(SLOT, lost).join(timeout=10)
        assert [(s, b["error"]["code"]) for s, b in lost] == [(409, "slot-taken")]
        queued: list = []
        waiting = attempt("2027-05-12T14:00", queued)
        waiting.join(timeout=1)
        assert waiting.is_alive() and queued == []  # the free slot waits for the lock
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    waiting.join(timeout=10)
    assert [s for s, _ in queued] == [201]
    listed = api.get(f"/api/v1/bookings?event_id={taken['f']}").get_json()
    assert [b["start"] for b in listed["items"]] == ["2027-05-12T12:00:00Z"]


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_commit_between_the_checks_and_the_write_is_seen(api, app_config, database, taken,
                                                           monkeypatch, make_athlete,
                                                           make_event):
    """SQLite: B's attempt at a free slot of T passes its checks as a reader; before it
    takes the write lock, another worker books that slot for C and commits. Taking the
    lock then fails (B's snapshot is stale): B's request runs again, sees C's booking and
    is refused as any lost race is. One booking of the slot, no overlap."""
    assert backend_of(database) == "sqlite"
    from api.helpers import another_worker
    from athlete_sched.services import bookings

    free = "2027-05-12T14:00"
    c = make_athlete()["id"]
    g = make_event(c)["id"]
    real, passes, others = guard.check, [], []

    def check_then_another_books(claim: guard.Claim) -> None:
        real(claim)
        passes.append(claim.athlete_id)
        if passes == [taken["b"]]:  # the first pass of B's request only
            with another_worker(app_config) as other:
                others.append(Api(other, api.token).post("/api/v1/bookings", {
                    "event_id": g, "therapist_id": taken["t"], "kind": "pre",
                    "start": free}).status_code)

    monkeypatch.setattr(bookings.guard, "check", check_then_another_books)
    status, body = answer(api, {"event_id": taken["f"], "therapist_id": taken["t"],
                                "kind": "pre", "start": free})
    assert others == [201]
    assert (status, body["error"]["code"]) == (409, "slot-taken")
    assert passes == [taken["b"], c]  # B's second pass: refused by the guard itself
    listed = api.get(f"/api/v1/bookings?therapist_id={taken['t']}").get_json()["items"]
    assert sorted(b["event_id"] for b in listed if b["status"] == "confirmed") == sorted(
        [taken["e"], g])


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_a_lost_race_waits_for_the_winner_under_way_and_is_refused_early(app, api,
                                                                         database, taken,
                                                                         monkeypatch,
                                                                         make_athlete,
                                                                         make_event):
    """PostgreSQL: C's booking of T's free 14:00 slot is under way (past its guard, holding
    T's lock, not committed). B's attempt at the same slot reads it free; it waits for C's
    transaction to end (services/unit_of_work.waited_for_booking_writer), reads again, and
    is refused from that read (C's booking is there then): B's attempt never reaches the
    full path's guard. One booking of the slot."""
    assert backend_of(database) == "postgresql"
    from athlete_sched.services import bookings

    free = "2027-05-12T14:00" + OFFSET
    c = make_athlete()["id"]
    g = make_event(c)["id"]
    real, guarded = guard.check, []
    held, release = threading.Event(), threading.Event()

    def check_then_hold(claim: guard.Claim) -> None:
        guarded.append(claim.athlete_id)
        real(claim)
        if claim.athlete_id == c:
            held.set()
            assert release.wait(timeout=20)

    monkeypatch.setattr(bookings.guard, "check", check_then_hold)
    answers: dict[str, tuple[int, Any]] = {}

    def attempt(who: str, event_id: int) -> threading.Thread:
        thread = threading.Thread(target=lambda: answers.setdefault(who, answer(api, {
            "event_id": event_id, "therapist_id": taken["t"], "kind": "pre",
            "start": free})))
        thread.start()
        return thread

    winner = attempt("c", g)
    try:
        assert held.wait(timeout=20)
        loser = attempt("b", taken["f"])
        loser.join(timeout=1)
        assert loser.is_alive() and "b" not in answers  # waits for C's transaction
    finally:
        release.set()
    winner.join(timeout=20)
    loser.join(timeout=20)
    assert answers["c"][0] == 201, answers["c"]
    status, body = answers["b"]
    assert (status, body["error"]["code"]) == (409, "slot-taken")
    assert guarded == [c]  # B was refused by the early read, not by the guard
    listed = api.get(f"/api/v1/bookings?therapist_id={taken['t']}").get_json()["items"]
    assert sorted(b["event_id"] for b in listed) == sorted([taken["e"], g])
