"""The proposals cache's finer key (db/queries/proposal_keys.py, migration 0018): a write
that cannot change an event's proposals leaves them cached (no recompute), and every write
that can, through the API or hand-written SQL on a connection of its own, gives the fresh
answer at once: the bytes a cache-off app answers. Both backends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from api.helpers import another_worker, book, created
from conftest import Api, backend_of
from test_ical_import import calendar

from athlete_sched.services import proposals

BEST = "2027-05-12T08:00"  # Wed 12 May 08:00 Berlin: the first pre slot of the race
BEST_UTC = "2027-05-12T06:00:00Z"


def url(event_id: int) -> str:
    return f"/api/v1/events/{event_id}/proposals?kind=pre&limit=3"


@pytest.fixture
def computed(monkeypatch) -> list[int]:
    """The event ids whose proposals were worked out (not served by the cache)."""
    calls: list[int] = []
    real = proposals.propose

    def counted(event, *args: Any, **kwargs: Any):
        calls.append(event.id)
        return real(event, *args, **kwargs)

    monkeypatch.setattr(proposals, "propose", counted)
    return calls


@pytest.fixture
def plain_sql(database: str) -> Iterator[Callable[[str, dict], None]]:
    """plain_sql(statement, params): hand-written SQL committed on an engine of its own (as
    psql or another host would), foreign keys enforced. An instant is written as each
    backend stores it (SQLite: UTC text without an offset)."""
    engine = sa.create_engine(database)
    sqlite = backend_of(database) == "sqlite"
    if sqlite:
        sa.event.listen(engine, "connect",
                        lambda conn, _: conn.execute("PRAGMA foreign_keys = ON"))

    def run(statement: str, params: dict) -> None:
        if sqlite:
            params = {k: v.removesuffix("+00:00") if isinstance(v, str) else v
                      for k, v in params.items()}
        with engine.begin() as conn:
            conn.execute(sa.text(statement), params)

    yield run
    engine.dispose()


@pytest.fixture
def world(api, make_therapist, make_athlete, make_event) -> dict[str, Any]:
    """A Berlin site with the one therapist, another site with none; the athlete at home
    in Berlin with the Rennsteig Marathon (Sat 15 May: pre window Wed 12 + Thu 13) and a
    later race; a rival racing the same day; far away, another athlete's race in June
    with a pre session already booked."""
    home = created(api.post("/api/v1/sites", {"name": "Berlin", "timezone": "Europe/Berlin"}))
    away = created(api.post("/api/v1/sites", {"name": "Tent", "timezone": "Europe/Berlin"}))
    therapist = make_therapist(site_id=home["id"])["id"]
    athlete = make_athlete(home_site_id=home["id"])["id"]
    june = make_event(make_athlete()["id"], start="2027-06-19T08:00", end="2027-06-19T12:00")
    return {"therapist": therapist, "athlete": athlete, "away": away["id"],
            "event": make_event(athlete)["id"],
            "later": make_event(athlete, start="2027-05-29T08:00",
                                end="2027-05-29T12:00")["id"],
            "rival": make_event(make_athlete()["id"])["id"],
            "june": june["id"],
            "june_booking": book(api, june["id"], therapist, "pre", "2027-06-16T08:00")["id"]}


def fresh(app_config: dict[str, Any], token: str, path: str) -> bytes:
    """The answer of an app with the cache off (another worker that never cached)."""
    with another_worker({**app_config, "PROPOSALS_CACHE_SIZE": 0}) as other:
        response = Api(other, token).get(path)
        assert response.status_code == 200
        return response.get_data()


def cached_answer(api, path: str, computed: list[int]) -> bytes:
    """The answer, asked twice: worked out once, then served from the cache."""
    first = api.get(path)
    assert first.status_code == 200
    assert api.get(path).get_data() == first.get_data()
    assert len(computed) == 1
    return first.get_data()


def _rival_waiting(api, w) -> int:
    """The rival in the waiting list of their race's pre window (no offer yet)."""
    return created(api.post(f"/api/v1/events/{w['rival']}/waitlist", {"kind": "pre"}))["id"]


def _rival_best(api, w) -> int:
    return book(api, w["rival"], w["therapist"], "pre", BEST)["id"]


# (name, before the answer is cached -> state, the write)
WRITES: list[tuple[str, Callable[..., Any], Callable[..., None]]] = [
    ("booking in the window", lambda api, w: None,
     lambda api, w, sql, s: _rival_best(api, w)),
    ("cancelled booking", _rival_best,
     lambda api, w, sql, s: api.post(f"/api/v1/bookings/{s}/cancel", {})),
    ("moved booking", _rival_best,
     lambda api, w, sql, s: api.patch(f"/api/v1/bookings/{s}", {"start": "2027-05-13T15:00"})),
    ("busy import", lambda api, w: None,
     lambda api, w, sql, s: api.put(
         f"/api/v1/therapists/{w['therapist']}/busy-calendar",
         data=calendar("DTSTART:20270512T060000Z\nDTEND:20270512T080000Z"),
         headers={"Content-Type": "text/calendar"})),
    ("time off", lambda api, w: None,
     lambda api, w, sql, s: created(api.post(
         f"/api/v1/therapists/{w['therapist']}/time-off",
         {"start": "2027-05-12T08:00", "end": "2027-05-12T12:00"}))),
    ("hours change", lambda api, w: None,
     lambda api, w, sql, s: api.put(
         f"/api/v1/therapists/{w['therapist']}/working-hours?affected=keep",
         [{"day": d, "start": "10:00", "end": "18:00"}
          for d in ("mon", "tue", "wed", "thu", "fri", "sat")])),
    ("one-day change", lambda api, w: None,
     lambda api, w, sql, s: api.put(
         f"/api/v1/therapists/{w['therapist']}/working-days/2027-05-12", {"closed": True})),
    ("home site of the athlete", lambda api, w: None,
     lambda api, w, sql, s: api.patch(f"/api/v1/athletes/{w['athlete']}",
                                      {"home_site_id": w["away"]})),
    ("travel of the athlete's other race", lambda api, w: None,
     lambda api, w, sql, s: api.patch(f"/api/v1/events/{w['later']}", {"travel": {
         "depart": "2027-05-11T12:00", "return": "2027-05-30T12:00"}})),
    ("plain SQL UPDATE moving a booking in", lambda api, w: None,
     lambda api, w, sql, s: sql(
         "UPDATE booking SET start = :start, \"end\" = :end, block_end = :end WHERE id = :id",
         {"start": "2027-05-12 06:00:00+00:00", "end": "2027-05-12 07:00:00+00:00",
          "id": w["june_booking"]})),
    ("plain SQL DELETE", _rival_best,
     lambda api, w, sql, s: sql("DELETE FROM booking WHERE id = :id", {"id": s})),
    ("waiting-list offer of the best slot to the rival", _rival_waiting,
     lambda api, w, sql, s: sql(
         "UPDATE waitlist_entry SET offer_therapist_id = :t, offer_start = :start, "
         "offer_end = :end, offer_block_end = :end, offered_at = :at, offer_expires = :until "
         "WHERE id = :id", {"t": w["therapist"], "start": "2027-05-12 06:00:00+00:00",
                            "end": "2027-05-12 06:45:00+00:00",
                            "at": "2027-01-04 00:00:00+00:00",
                            "until": "2027-01-05 00:00:00+00:00", "id": s})),
    # The event itself, kept by the worker after the answer (services/proposals.py): its
    # row_version, read by the key, tells the kept row is stale.
    ("the event moved", lambda api, w: None,
     lambda api, w, sql, s: api.patch(f"/api/v1/events/{w['event']}",
                                      {"start": "2027-05-16T08:00", "end": "2027-05-16T12:30"})),
    ("plain SQL UPDATE moving the event", lambda api, w: None,
     lambda api, w, sql, s: sql(
         'UPDATE event SET start = :start, "end" = :end, occupied_end = :end WHERE id = :id',
         {"start": "2027-05-16 06:00:00+00:00", "end": "2027-05-16 10:30:00+00:00",
          "id": w["event"]})),
    ("plain SQL UPDATE of the athlete's home", lambda api, w: None,
     lambda api, w, sql, s: sql("UPDATE athlete SET home_site_id = :site WHERE id = :id",
                                {"site": w["away"], "id": w["athlete"]})),
]


@pytest.mark.parametrize(("before", "write"), [(b, w) for _, b, w in WRITES],
                         ids=[name for name, *_ in WRITES])
def test_a_write_that_changes_the_answer_is_seen(api, app_config, world, computed, plain_sql,
                                                 before, write):
    path = url(world["event"])
    state = before(api, world)
    old = cached_answer(api, path, computed)
    response = write(api, world, plain_sql, state)
    assert getattr(response, "status_code", 200) < 300, response.get_json()
    new = api.get(path).get_data()
    assert len(computed) == 2
    assert new != old
    assert new == fresh(app_config, api.token, path)


def test_an_event_deleted_after_its_answer_is_gone(api, world, computed, plain_sql):
    """The worker keeps the event it answered for (services/proposals.py); deleted by
    hand-written SQL, the key sees no such row and the request reads it afresh: 404."""
    path = url(world["event"])
    cached_answer(api, path, computed)
    plain_sql("DELETE FROM event WHERE id = :id", {"id": world["event"]})
    assert api.get(path).status_code == 404


def test_writes_that_cannot_change_the_answer_leave_it_cached(api, world, computed,
                                                              make_athlete):
    """A booking in another window (made, moved, cancelled), another athlete's race
    changed, a new athlete, an athlete's name: the event's proposals are served from the
    cache, unchanged."""
    path = url(world["event"])
    old = cached_answer(api, path, computed)
    made = book(api, world["june"], world["therapist"], "post", "2027-06-21T10:00")
    assert api.patch(f"/api/v1/bookings/{world['june_booking']}",
                     {"start": "2027-06-17T10:00"}).status_code == 200
    assert api.post(f"/api/v1/bookings/{made['id']}/cancel", {}).status_code == 200
    assert api.patch(f"/api/v1/events/{world['june']}", {"name": "Zugspitz Trail"}
                     ).status_code == 200
    make_athlete()
    assert api.patch(f"/api/v1/athletes/{world['athlete']}", {"name": "Mara Läuferin"}
                     ).status_code == 200
    assert api.get(path).get_data() == old
    assert computed == [world["event"]]


def test_a_booking_in_the_window_of_another_event_leaves_a_far_event_cached(
        api, world, computed):
    """The other way round: the June race's proposals stay cached while the May race's
    window fills."""
    path = url(world["june"])
    old = cached_answer(api, path, computed)
    _rival_best(api, world)
    assert api.get(path).get_data() == old
    assert computed == [world["june"]]


def test_a_write_committed_after_a_later_one_is_seen(api, app_config, database, world,
                                                     computed):
    """PostgreSQL numbers a row when it is written, not when it commits: a transaction that
    wrote first (an older row_version) may commit after one that wrote later, with the
    answer cached in between. The key must still change (a max of versions would not).
    SQLite has one writer at a time: there the first commits first."""
    path = url(world["event"])
    rival = _rival_best(api, world)
    engine = sa.create_engine(database)
    cancel = sa.text("UPDATE booking SET status = 'cancelled' WHERE id = :id")
    postgresql = backend_of(database) == "postgresql"
    try:
        with engine.connect() as first:
            if postgresql:  # written first, committed last
                first.execute(cancel, {"id": rival})
            book(api, world["june"], world["therapist"], "post", "2027-06-21T08:00")
            between = cached_answer(api, path, computed)
            if not postgresql:
                first.execute(cancel, {"id": rival})
            first.commit()
    finally:
        engine.dispose()
    after = api.get(path).get_data()
    assert after != between
    assert BEST_UTC.encode() in after or b"2027-05-12T06:00:00" in after
    assert after == fresh(app_config, api.token, path)


# A write committed by another connection between the request's read of the event and its
# read of the key (services/proposals.propose_for): PostgreSQL's key sees it (READ
# COMMITTED), so the event as read before is read again (the key tells whether it changed:
# proposal_keys.Read.saw); SQLite's one snapshot sees neither.
RACING: dict[str, tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "the event moved a day": (
        'UPDATE event SET start = :start, "end" = :end, occupied_end = :end WHERE id = :id',
        lambda w: {"start": "2027-05-16 06:00:00+00:00", "end": "2027-05-16 10:30:00+00:00",
                   "id": w["event"]}),
    "the athlete's home site": (
        "UPDATE athlete SET home_site_id = :site WHERE id = :id",
        lambda w: {"site": w["away"], "id": w["athlete"]}),
}


@pytest.mark.parametrize("racing", RACING.values(), ids=RACING.keys())
def test_a_write_between_the_event_and_its_key(api, app_config, database, world, plain_sql,
                                               monkeypatch, racing):
    from athlete_sched.db.queries import proposal_keys

    path = url(world["event"])
    before = fresh(app_config, api.token, path)
    statement, params = racing
    real, written = proposal_keys.key, []

    def key_after_a_write(*args: Any):  # type: ignore[no-untyped-def]
        if not written:
            plain_sql(statement, params(world))
            written.append(True)
        return real(*args)

    monkeypatch.setattr(proposal_keys, "key", key_after_a_write)
    first = api.get(path)
    assert first.status_code == 200 and written
    after = fresh(app_config, api.token, path)
    assert after != before
    assert first.get_data() == (after if backend_of(database) == "postgresql" else before)
    assert api.get(path).get_data() == after
