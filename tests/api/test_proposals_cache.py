"""The per-process proposals cache (services/cache.py) is never stale: a booking, a write by
another worker with its own connections, or the clock passing the notice all change the
answer at once; access is checked on every request, cached or not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from athlete_sched.services.cache import VersionedCache

from .helpers import another_worker, book

URL = "/api/v1/events/{}/proposals?kind=pre&limit=3"


def cache_of(app) -> VersionedCache:
    return app.extensions["athlete_sched.caches"]["proposals"]


@pytest.fixture
def race(make_therapist, make_athlete, make_event):
    therapist = make_therapist()
    athlete = make_athlete()
    return therapist, athlete, make_event(athlete["id"])


def test_a_repeated_request_is_a_hit_with_the_same_body(app, api, race):
    _, _, event = race
    first = api.get(URL.format(event["id"]))
    second = api.get(URL.format(event["id"]))
    assert first.status_code == second.status_code == 200
    assert first.get_data() == second.get_data()
    assert first.get_json()["pre"]
    assert (cache_of(app).hits, cache_of(app).misses) == (1, 1)
    assert second.mimetype == "application/json"


def test_a_booking_by_another_athlete_removes_the_slot(api, race, make_athlete, make_event):
    therapist, _, event = race
    best = api.get(URL.format(event["id"])).get_json()["pre"][0]
    rival = make_event(make_athlete()["id"])  # same race, same windows
    book(api, rival["id"], therapist["id"], "pre", best["start"])
    after = api.get(URL.format(event["id"])).get_json()["pre"]
    assert best["start"] not in [slot["start"] for slot in after]


def test_a_write_by_another_worker_is_seen(app_config, api, race):
    """A second app (its own engine, pool and cache: another gunicorn worker or host)
    blocks the best slot; the first worker's next answer no longer offers it."""
    therapist, _, event = race
    best = api.get(URL.format(event["id"])).get_json()["pre"][0]
    with another_worker(app_config) as other:
        start = datetime.fromisoformat(best["start"])
        response = api.__class__(other, api.token).post(
            f"/api/v1/therapists/{therapist['id']}/time-off",
            {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()})
        assert response.status_code == 201, response.get_data(as_text=True)
    after = api.get(URL.format(event["id"])).get_json()["pre"]
    assert best["start"] not in [slot["start"] for slot in after]


def test_a_kept_event_is_shown_only_to_who_may_see_it(api, race, make_user):
    """An event kept by the worker is checked against each caller, as a read one is."""
    _, _, event = race
    assert api.get(URL.format(event["id"])).status_code == 200
    assert api.as_(make_user("athlete")).get(URL.format(event["id"])).status_code == 404
    assert api.get(URL.format(event["id"])).status_code == 200


def test_the_clock_passing_the_notice_drops_the_slot(app, api, make_therapist, make_athlete,
                                                     make_event):
    make_therapist()
    event = make_event(make_athlete()["id"], start="2027-01-08T08:00", end="2027-01-08T12:00")
    post = f"/api/v1/events/{event['id']}/proposals?kind=post&limit=3"
    earliest = api.get(post).get_json()["post"][0]["start"]
    assert api.get(post).get_json()["post"][0]["start"] == earliest  # a hit
    # Two hours' notice: one minute past (earliest - 2 h) the earliest slot is gone.
    app.config["FROZEN_NOW"] = (datetime.fromisoformat(earliest)
                                - timedelta(hours=2) + timedelta(minutes=1)).isoformat()
    later = api.get(post).get_json()["post"]
    assert later and earliest not in [slot["start"] for slot in later]


def test_access_is_checked_on_a_hit(api, race, make_user):
    _, _, event = race
    assert api.get(URL.format(event["id"])).status_code == 200
    stranger = api.as_(make_user("athlete"))
    assert stranger.get(URL.format(event["id"])).status_code == 404


def test_size_zero_turns_the_cache_off(app, api, race):
    app.config["PROPOSALS_CACHE_SIZE"] = 0
    _, _, event = race
    assert api.get(URL.format(event["id"])).get_data() == api.get(
        URL.format(event["id"])).get_data()
    assert cache_of(app).hits == 0


# --- the cache itself, without an app -----------------------------------------------------

T0 = datetime(2027, 1, 4, tzinfo=UTC)


def test_versioned_cache_rules():
    cache = VersionedCache(2)
    cache.put("a", 1, "A", T0, T0 + timedelta(hours=1))
    assert cache.get("a", 1, T0) == "A"
    assert cache.get("a", 1, T0 + timedelta(hours=1)) == "A"  # the span is inclusive
    assert cache.get("a", 1, T0 + timedelta(hours=1, seconds=1)) is None
    assert cache.get("a", 1, T0 - timedelta(seconds=1)) is None  # a clock set back
    assert cache.get("a", 2, T0) is None  # another data version
    cache.put("b", 1, "B", T0)
    assert cache.get("a", 1, T0) == "A"  # a is now the most recent
    cache.put("c", 1, "C", T0)  # evicts b, the least recently used
    assert cache.get("b", 1, T0) is None
    assert (cache.get("a", 1, T0), cache.get("c", 1, T0)) == ("A", "C")



def test_every_new_engine_counts_its_own_commits(tmp_path):
    """On SQLite the token counts this process's own commits per engine. A later engine
    often gets the id() of one already collected (CPython reuses the memory); it must still
    be tracked, or its own commits would leave the token unchanged and a cache would serve
    what they replaced (a CI run once showed a coach's board from before the demo booked
    anything). Engines made and dropped one after another, as the tests' apps are."""
    import gc

    import sqlalchemy as sa

    from athlete_sched.db import version

    url = f"sqlite:///{tmp_path / 'v.db'}"
    ids = []
    # Every object alive now is frozen out of the collections below: they still collect
    # each dropped engine (made after the freeze), but no longer walk the whole test
    # worker's heap 50 times (in a full run that took over 5 minutes on the CI machine).
    gc.freeze()
    try:
        for _ in range(50):
            engine = sa.create_engine(url)
            ids.append(id(engine))
            version.track(engine)
            before = version.commits_of(engine)
            with engine.begin() as conn:
                conn.execute(sa.text("CREATE TABLE IF NOT EXISTS t (n INTEGER)"))
                conn.execute(sa.text("INSERT INTO t VALUES (1)"))
            assert version.commits_of(engine) == before + 1, (
                f"engine {len(ids)} (an earlier engine's id: {ids[-1] in ids[:-1]}) "
                "did not count its commit")
            engine.dispose()
            del engine, conn
            gc.collect()
    finally:
        gc.unfreeze()
