"""A held slot under a race: 50 simultaneous attempts to book it against a real
multi-worker server (gunicorn -w 4, as tests/test_concurrency.py), both backends.

The therapist has one slot in the Rennsteig Marathon's pre window; X books it, athlete H
joins the waiting list, X cancels, and a round of the waiting list's due work (in-process,
the same database) holds the slot for H. Then:

1. 50 other athletes try to book it at once: every one is refused with 409 `held` and
   nothing is booked (the guard's rule 'held', migration 0020, under the booking locks);
2. H and 49 others try at once: only H's booking succeeds (the others get `held`, or
   `slot-taken` once H's booking has committed), H's waiting-list entry is gone, and no
   two confirmed bookings overlap.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from api.helpers import created, ok
from conftest import NOW
from server import Server, serve
from test_concurrency import assert_no_overlaps, confirmed, race

pytestmark = pytest.mark.slow
HOURS = [{"day": "wed", "start": "08:00", "end": "08:45"}]  # one slot: Wed 12 May 08:00
RACERS = 50


@pytest.fixture(scope="module")
def server(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serve(database, tmp_path_factory.mktemp("gunicorn"))


def test_fifty_attempts_on_a_held_slot_only_the_holder_wins(
        app, api, server, make_therapist, make_athlete, make_event):
    from athlete_sched.services import waitlist

    therapist = make_therapist(working_hours=HOURS)["id"]
    holder = make_event(make_athlete(name="Holder")["id"])["id"]
    others = [make_event(make_athlete()["id"])["id"] for _ in range(RACERS + 1)]
    first = created(api.post("/api/v1/bookings", {
        "event_id": others.pop(), "kind": "pre", "therapist_id": therapist,
        "start": "2027-05-12T08:00"}))
    created(api.post(f"/api/v1/events/{holder}/waitlist", {"kind": "pre"}))
    ok(api.post(f"/api/v1/bookings/{first['id']}/cancel", {}))
    with app.app_context():
        assert waitlist.run(NOW) == 1
    line = ok(api.get(f"/api/v1/events/{holder}/waitlist"))["items"]
    assert line[0]["offer"]["slot"]["start"] == "2027-05-12T06:00:00Z"

    def body(event_id: int) -> dict:
        return {"event_id": event_id, "therapist_id": therapist, "kind": "pre",
                "start": "2027-05-12T08:00"}

    outcomes = race(server, api.token, [body(e) for e in others])
    assert Counter((o.status, o.code) for o in outcomes) == {(409, "held"): RACERS}
    assert confirmed(app, therapist_id=therapist) == []

    bodies = [body(holder)] + [body(e) for e in others[:RACERS - 1]]
    outcomes = race(server, api.token, bodies)
    assert Counter(o.status for o in outcomes) == {201: 1, 409: RACERS - 1}
    winner = next(o for o in outcomes if o.status == 201)
    assert winner.body["event_id"] == holder
    assert {o.code for o in outcomes if o.status == 409} <= {"held", "slot-taken"}
    assert [r["id"] for r in confirmed(app, therapist_id=therapist)] == [winner.answer["id"]]
    assert ok(api.get(f"/api/v1/events/{holder}/waitlist"))["items"] == []
    assert_no_overlaps(app)
