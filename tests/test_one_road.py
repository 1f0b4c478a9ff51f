"""One road through the house, measured on both backends: the SQL statements a request
sends stay few and do not grow with the rows it lists (no query per row), and an event's
timing and windows and the clinic's policy are worked out once per request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from api.helpers import book  # tests/ is on sys.path (rootdir)


@contextmanager
def statements(app) -> Iterator[list[str]]:
    """The SQL statements sent meanwhile (BEGIN, COMMIT and ROLLBACK are not statements)."""
    from athlete_sched.extensions import db

    with app.app_context():
        engine = db.engine
    sent: list[str] = []

    def hook(_conn, _cursor, statement, _params, _context, _many):  # type: ignore[no-untyped-def]
        if statement.split()[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):
            sent.append(statement)

    sa.event.listen(engine, "before_cursor_execute", hook)
    try:
        yield sent
    finally:
        sa.event.remove(engine, "before_cursor_execute", hook)


@pytest.fixture
def season(api, make_therapist, make_athlete, make_event) -> dict:
    """An athlete with three races, a pre and a post session booked for two of them."""
    therapist = make_therapist()
    athlete = make_athlete()
    races = [make_event(athlete["id"], start=f"2027-0{month}-15T08:00",
                        end=f"2027-0{month}-15T12:30") for month in (3, 4, 5)]
    for race in races[:2]:
        for kind in ("pre", "post"):
            slot = api.get(f"/api/v1/events/{race['id']}/proposals?kind={kind}&limit=1"
                           ).get_json()[kind][0]
            book(api, race["id"], slot["therapist_id"], kind, slot["start"])
    return {"therapist": therapist, "athlete": athlete, "races": races}


def cache_off(app) -> None:
    """Every proposals request worked out afresh (the cache is made again, empty)."""
    app.config["PROPOSALS_CACHE_SIZE"] = 0
    app.extensions.get("athlete_sched.caches", {}).pop("proposals", None)


def test_a_proposals_request_sends_seven_statements(app, api, season):
    """The bearer token with the caller's profiles, the event, the clinic's saved settings
    (the policy's booking notice and recovery gap, which an admin changes on the pages: a
    read by primary key), the schedules' version (the therapists with their hours come
    from the per-process cache, services/schedules.py, read again after a change), their
    blocked time and bookings near the windows, the athlete's events and sessions near
    them: one statement each (with the proposals cache on, an eighth reads the data
    version; in a clinic of more therapists than a batch, one more reads the loads of
    those at the top). Blocked time and bookings are
    read best first (services/proposals.py): a first batch that settles the answer is
    the only read, as here; each further batch would be one statement more
    (tests/test_best_first_reads.py)."""
    cache_off(app)
    url = f"/api/v1/events/{season['races'][2]['id']}/proposals"
    assert api.get(url).status_code == 200  # warm: the app's first request
    with statements(app) as sent:
        assert api.get(url).status_code == 200
    assert len(sent) == 7, "\n".join(sent)


def test_a_proposals_miss_reads_only_what_its_key_leaves_unknown(app, api, season,
                                                               make_athlete, make_event):
    """With the proposals cache on (the default), a request it cannot answer sends the
    bearer token, the key (db/queries/proposal_keys.py: its counters include the
    schedules' version, which needs no read of its own; and the event's row_version,
    which tells that the event kept from the warm request is the row as it is, so the
    event needs no read either), and the blocked time and bookings; the athlete's events
    and sessions near the windows only where the key saw more than the event itself and
    some booking near them (a first race, nothing booked yet: neither). On PostgreSQL
    too: the settings are the key's (no second read). The answers are those worked out
    with every read (the cache off)."""
    athlete = make_athlete()
    first = make_event(athlete["id"], start="2027-04-15T08:00", end="2027-04-15T12:30")
    urls = {3: f"/api/v1/events/{first['id']}/proposals",
            5: f"/api/v1/events/{season['races'][1]['id']}/proposals"}
    caches = app.extensions.setdefault("athlete_sched.caches", {})
    answers = {}
    for expected, url in urls.items():
        assert api.get(url).status_code == 200  # warm: the settings, schedules, event
        for name in ("proposals", "proposal_slots"):
            caches.pop(name, None)
        with statements(app) as sent:
            response = api.get(url)
        assert response.status_code == 200
        assert len(sent) == expected, "\n".join(sent)
        answers[url] = response.get_json()
    cache_off(app)
    for url, answer in answers.items():
        assert api.get(url).get_json() == answer


@pytest.mark.parametrize("path", ["/api/v1/bookings?limit=100", "/season"])
def test_a_list_of_bookings_costs_the_same_statements_for_one_or_many(
        app, api, season, make_therapist, page_as, path):
    """The API's booking list and the athlete's home page read the bookings' screenings,
    events and therapists in one statement each, however many bookings they list (and
    with however many therapists)."""
    client = page_as("athlete", season["athlete"]["email"])
    fetch = (lambda: api.get(path)) if path.startswith("/api/") else (lambda: client.get(path))
    assert fetch().status_code == 200
    with statements(app) as before:
        assert fetch().status_code == 200
    race, other = season["races"][2], make_therapist()
    for kind in ("pre", "post"):
        slot = api.get(f"/api/v1/events/{race['id']}/proposals?kind={kind}&limit=1"
                       f"&therapist_id={other['id']}").get_json()[kind][0]
        book(api, race["id"], slot["therapist_id"], kind, slot["start"])
    with statements(app) as after:
        assert fetch().status_code == 200
    assert len(after) == len(before), "\n".join(after)


def test_an_events_timing_and_windows_are_worked_out_once_per_request(app, api, season,
                                                                      monkeypatch):
    """A proposals request for one race of a three-race season: each race's timing and
    windows are worked out once at most (the target race's used to be three times), and
    the policy is read from the config once."""
    from athlete_sched.core import windows
    from athlete_sched.db.queries import events
    from athlete_sched.services import common

    cache_off(app)
    worked: list[str] = []
    timing_check, event_windows, policy = (windows.EventTiming.__post_init__,
                                           common.event_windows, common.Policy)

    def timing(self):  # type: ignore[no-untyped-def]
        worked.append("timing")
        timing_check(self)

    def counted_windows(*args):  # type: ignore[no-untyped-def]
        worked.append("windows")
        return event_windows(*args)

    def counted_policy(**values):  # type: ignore[no-untyped-def]
        worked.append("policy")
        return policy(**values)

    monkeypatch.setattr(windows.EventTiming, "__post_init__", timing)
    monkeypatch.setattr(common, "event_windows", counted_windows)
    monkeypatch.setattr(common, "Policy", counted_policy)
    events._timing.cache_clear()  # what earlier requests worked out is remembered
    common._windows.cache_clear()
    assert api.get(f"/api/v1/events/{season['races'][2]['id']}/proposals").status_code == 200
    races = len(season["races"])
    assert 1 <= worked.count("timing") <= races, worked
    assert 1 <= worked.count("windows") <= races, worked
    assert worked.count("policy") == 1, worked
