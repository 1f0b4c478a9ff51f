"""Issue 14: a write that does not touch a feed leaves it cached (same ETag, 304, not built
again); a write that does (a booking of its owner made, moved or cancelled, a name it
shows, an event deleted, a team left, a plain SQL UPDATE from another connection) changes
its bytes and ETag at once; and a rebuilt feed, which writes only its changed entries
again, has the very bytes of a feed built from nothing by a fresh app (empty cache).

The clinic is tests/test_feeds.py's: a therapist, a team of two athletes with a team event
(all-day), the first athlete's own race, the first athlete's pre and post, the second
athlete's pre for the team event, all with the one therapist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from api.helpers import another_worker, book
from conftest import WEEKDAYS_8_TO_18, backend_of
from test_feeds import clinic, feed_url, fetch  # noqa: F401  (clinic: a fixture)

from athlete_sched.services import feed_bodies

FEEDS = ("therapist", "first", "team")


@pytest.fixture
def paths(api, clinic) -> dict[str, str]:  # noqa: F811
    return {"therapist": feed_url(api, "therapists", clinic["therapist"]["id"]),
            "first": feed_url(api, "athletes", clinic["first"]["id"]),
            "team": feed_url(clinic["coach"], "teams", clinic["team"]["id"])}


@pytest.fixture
def builds(monkeypatch) -> list[str]:
    """The feeds built (or rebuilt) since the test began, by owner id in the scope."""
    built: list[str] = []
    real = feed_bodies._build

    def counted(feed, scope, *args: Any):
        built.append(next(iter(scope)))
        return real(feed, scope, *args)

    monkeypatch.setattr(feed_bodies, "_build", counted)
    return built


@pytest.fixture
def plain_sql(database: str) -> Iterator[Callable[[str, dict], None]]:
    """plain_sql(statement, params): run and commit hand-written SQL on a connection of
    its own (another engine: as psql or another host would), foreign keys enforced."""
    engine = sa.create_engine(database)
    if backend_of(database) == "sqlite":
        sa.event.listen(engine, "connect",
                        lambda conn, _: conn.execute("PRAGMA foreign_keys = ON"))

    def run(statement: str, params: dict) -> None:
        with engine.begin() as conn:
            conn.execute(sa.text(statement), params)

    yield run
    engine.dispose()


def etags(client, paths: dict[str, str]) -> dict[str, str]:
    found = {}
    for owner, path in paths.items():
        response = fetch(client, path)
        assert response.status_code == 200
        found[owner] = response.headers["ETag"]
    return found


def fresh_build(app_config: dict[str, Any], path: str) -> bytes:
    """The feed as a fresh app (another worker, empty cache) builds it from nothing."""
    with another_worker(app_config) as other:
        response = other.get(path)
        assert response.status_code == 200
        return response.get_data()


def check_after_write(client, app_config, paths, before: dict[str, str],
                      changed: set[str]) -> dict[str, str]:
    """Exactly the feeds `changed` answer 200 with a new ETag and the bytes of a fresh
    build; the others still 304 with their old ETag. The ETags now."""
    now = {}
    for owner, path in paths.items():
        response = fetch(client, path, **{"If-None-Match": before[owner]})
        if owner in changed:
            assert response.status_code == 200, owner
            assert response.headers["ETag"] != before[owner], owner
            assert response.get_data() == fresh_build(app_config, path), owner
        else:
            assert response.status_code == 304, owner
            assert response.headers["ETag"] == before[owner], owner
        now[owner] = response.headers["ETag"]
    return now


def test_writes_elsewhere_leave_every_feed_cached(api, client, paths, builds, make_therapist,
                                                 make_athlete, make_event, app):
    before = etags(client, paths)
    assert sorted(builds) == ["athlete_id", "team_id", "therapist_id"]
    other_therapist = make_therapist(name="Ben Okafor")
    other_athlete = make_athlete(name="Zoë Dubois")
    race = make_event(other_athlete["id"], name="Berlin Half")
    book(api, race["id"], other_therapist["id"], "pre", "2027-05-12T10:00")
    hours = api.put(f"/api/v1/therapists/{other_therapist['id']}/working-hours",
                    {"working_hours": WEEKDAYS_8_TO_18[:10]})  # no Saturday
    assert hours.status_code == 200, hours.get_json()
    moved = api.patch(f"/api/v1/events/{race['id']}", {"start": "2027-05-16T09:00",
                                                       "end": "2027-05-16T12:00"})
    assert moved.status_code == 200, moved.get_json()
    cache = app.extensions["athlete_sched.caches"]["feeds"]
    hits = cache.hits
    for owner, path in paths.items():
        again = fetch(client, path, **{"If-None-Match": before[owner]})
        assert again.status_code == 304 and again.headers["ETag"] == before[owner], owner
    assert cache.hits == hits + 3
    assert len(builds) == 3  # none built again


def test_a_poll_after_a_write_elsewhere_sends_two_statements(api, client, paths, builds,
                                                             make_athlete, app):
    """The committed state moved (a write elsewhere), the feed did not: the data version,
    then the token's row and the fingerprint in one statement (the kept feed knows its
    owner); no token lookup of its own. 304, not built again."""
    from test_one_road import statements

    before = etags(client, paths)
    for owner, path in paths.items():
        make_athlete(name=f"Elsewhere {owner}")  # a commit: the data version moves
        with statements(app) as sent:
            again = fetch(client, path, **{"If-None-Match": before[owner]})
        assert again.status_code == 304 and again.headers["ETag"] == before[owner], owner
        assert len(sent) == 2, (owner, sent)
    assert len(builds) == 3


def test_a_rotated_token_of_a_kept_feed_is_not_found(api, client, paths, clinic):  # noqa: F811
    """A feed kept in the cache whose token was rotated since: 404 at the old address."""
    before = etags(client, paths)
    therapist = clinic["therapist"]["id"]
    assert api.post(f"/api/v1/therapists/{therapist}/feed/rotate").status_code in (200, 201)
    gone = fetch(client, paths["therapist"], **{"If-None-Match": before["therapist"]})
    assert gone.status_code == 404


def test_writes_to_a_feed_change_it_and_a_rebuild_is_a_fresh_build(
        api, client, app_config, paths, builds, clinic, plain_sql):  # noqa: F811
    etag = etags(client, paths)
    pre, post, relay = clinic["pre"], clinic["post"], clinic["relay"]

    # A new booking of the first athlete (their post session for the team event).
    book(api, relay["id"], clinic["therapist"]["id"], "post", "2027-06-08T09:00",
         athlete_id=clinic["first"]["id"])
    etag = check_after_write(client, app_config, paths, etag, {"therapist", "first", "team"})

    # Moved, then cancelled: the therapist's and the first athlete's feeds.
    moved = api.patch(f"/api/v1/bookings/{pre['id']}", {"start": "2027-05-13T10:00"})
    assert moved.status_code == 200, moved.get_json()
    etag = check_after_write(client, app_config, paths, etag, {"therapist", "first"})
    assert api.post(f"/api/v1/bookings/{post['id']}/cancel").status_code == 200
    etag = check_after_write(client, app_config, paths, etag, {"therapist", "first"})

    # The therapist renamed: every feed names them.
    renamed = api.patch(f"/api/v1/therapists/{clinic['therapist']['id']}",
                        {"name": "Ana Ruiz-Weber"})
    assert renamed.status_code == 200, renamed.get_json()
    etag = check_after_write(client, app_config, paths, etag, {"therapist", "first", "team"})
    assert b"Ana Ruiz-Weber" in fetch(client, paths["team"]).get_data()

    # Hand-written SQL from another connection: the team event renamed (the team's and
    # the first athlete's feeds list it, the therapist's names it in a session).
    plain_sql("UPDATE event SET name = 'Club Relay, moved' WHERE id = :id", {"id": relay["id"]})
    etag = check_after_write(client, app_config, paths, etag, {"therapist", "first", "team"})

    # The first athlete leaves the team: the team event leaves their feed only.
    plain_sql("DELETE FROM team_member WHERE athlete_id = :a", {"a": clinic["first"]["id"]})
    etag = check_after_write(client, app_config, paths, etag, {"first"})

    # The first athlete's race deleted (its sessions go with it).
    plain_sql("DELETE FROM event WHERE id = :id", {"id": clinic["race"]["id"]})
    etag = check_after_write(client, app_config, paths, etag, {"therapist", "first"})
    assert b"Rennsteig" not in fetch(client, paths["first"]).get_data()

    # The clinic renamed (every session's location), by hand.
    plain_sql("INSERT INTO clinic_settings (id, clinic_name, updated_at, updated_by) "
              "VALUES (1, 'Needle & Co', '2027-01-04 00:00:00', '')", {})
    check_after_write(client, app_config, paths, etag, {"therapist", "first", "team"})


def test_a_rebuild_writes_only_the_changed_entries(
        api, client, app_config, paths, clinic, monkeypatch):  # noqa: F811
    """After one booking moved, the therapist's feed reads and writes that one session
    again, and its bytes are a fresh build's."""
    from athlete_sched.core import ical

    fetch(client, paths["therapist"])
    written: list[str] = []
    real = ical.session_entry
    monkeypatch.setattr(ical, "session_entry", lambda s: written.append(s.uid) or real(s))
    moved = api.patch(f"/api/v1/bookings/{clinic['post']['id']}", {"start": "2027-05-18T10:00"})
    assert moved.status_code == 200, moved.get_json()
    rebuilt = fetch(client, paths["therapist"]).get_data()
    assert written == [clinic["post"]["uid"]]
    assert rebuilt == fresh_build(app_config, paths["therapist"])


def test_a_write_committed_after_a_later_one_is_seen(api, client, app_config, database, paths,
                                                     clinic):  # noqa: F811
    """PostgreSQL hands out row versions when a row is written, not when it commits: a
    transaction that wrote first (an older version) may commit after one that wrote later
    and a feed was built in between. The fingerprint must still change (a max of versions
    would not). SQLite has one writer at a time, so there the first commits first."""
    engine = sa.create_engine(database)
    update = sa.text("UPDATE booking SET sequence = sequence + 5 WHERE id = :id")
    postgresql = backend_of(database) == "postgresql"
    try:
        with engine.connect() as first:
            if postgresql:  # written first, committed last
                first.execute(update, {"id": clinic["pre"]["id"]})
            moved = api.patch(f"/api/v1/bookings/{clinic['post']['id']}",
                              {"start": "2027-05-18T10:00"})
            assert moved.status_code == 200, moved.get_json()
            between = fetch(client, paths["therapist"])
            if not postgresql:
                first.execute(update, {"id": clinic["pre"]["id"]})
            first.commit()
    finally:
        engine.dispose()
    after = fetch(client, paths["therapist"], **{"If-None-Match": between.headers["ETag"]})
    assert after.status_code == 200
    assert after.get_data() == fresh_build(app_config, paths["therapist"])
    assert b"SEQUENCE:5" in after.get_data()
