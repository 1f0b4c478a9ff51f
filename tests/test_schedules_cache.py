"""The per-process schedules cache (services/schedules.py) is never stale, on both backends:
a change of weekly hours, of a one-day change or of a therapist's settings is in the next
proposals request, whether this worker made it, another worker did (its own engine and
cache), or someone wrote the tables by hand (the triggers of migration 0015 count every
write); bookings, which change all day, leave the cached schedules alone. A request about
dates before what the cache keeps reads afresh, with the same answer.

The race: the Rennsteig Marathon, Sat 2027-05-15 08:00-12:30 Berlin (pre window Wed 12 and
Thu 13 May), the clock pinned at Mon 2027-01-04."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from api.helpers import book  # tests/ is on sys.path (rootdir)
from test_one_road import cache_off

BERLIN = ZoneInfo("Europe/Berlin")
MON_TO_FRI = [{"day": d, "start": "08:00", "end": "12:00"}
              for d in ("mon", "tue", "wed", "thu", "fri")]


def local_hours(api, event: dict, kind: str = "pre") -> set[int]:
    answer = api.get(f"/api/v1/events/{event['id']}/proposals?kind={kind}&limit=1000")
    assert answer.status_code == 200, answer.get_json()
    return {datetime.fromisoformat(slot["start"]).astimezone(BERLIN).hour
            for slot in answer.get_json()[kind]}


def version(app) -> int:
    from athlete_sched.db.queries import therapists
    from athlete_sched.extensions import db

    with app.app_context():
        try:
            return therapists.schedule_version()
        finally:
            db.session.remove()


def misses(app) -> int:
    return app.extensions["athlete_sched.caches"]["schedules"].misses


@pytest.fixture
def setup(app, make_therapist, make_athlete, make_event):
    cache_off(app)  # the proposals cache: every request is worked out from the schedules
    therapist = make_therapist(working_hours=MON_TO_FRI)
    return therapist, make_event(make_athlete()["id"])


def test_a_change_of_weekly_hours_is_in_the_next_request(app, api, setup):
    therapist, race = setup
    assert local_hours(api, race) == {8, 9, 10, 11}
    assert local_hours(api, race) == {8, 9, 10, 11}
    assert misses(app) == 1  # the second request was served from the cache
    answer = api.put(f"/api/v1/therapists/{therapist['id']}/working-hours",
                     [{"day": d, "start": "14:00", "end": "17:00"}
                      for d in ("wed", "thu")])
    assert answer.status_code == 200, answer.get_json()
    assert local_hours(api, race) == {14, 15, 16}
    assert misses(app) == 2


def test_one_day_changes_and_settings_are_in_the_next_request(app, api, setup):
    therapist, race = setup
    base = f"/api/v1/therapists/{therapist['id']}/working-days"
    assert local_hours(api, race) == {8, 9, 10, 11}
    for day in ("2027-05-12", "2027-05-13"):
        answer = api.put(f"{base}/{day}", {"closed": False,
                                           "periods": [{"start": "18:00", "end": "20:00"}]})
        assert answer.status_code == 200, answer.get_json()
    assert local_hours(api, race) == {18, 19}
    assert api.delete(f"{base}/2027-05-13").status_code in (200, 204)
    assert local_hours(api, race) == {8, 9, 10, 11, 18, 19}
    from athlete_sched.extensions import db

    with app.app_context():  # the API changes no zone; an operator's UPDATE does
        db.session.execute(sa.text("UPDATE therapist SET timezone = 'Europe/London'"))
        db.session.commit()
        db.session.remove()
    # 18:00-20:00 and 08:00-12:00 London are an hour later in Berlin
    assert local_hours(api, race) == {9, 10, 11, 12, 19, 20}


def test_a_write_by_another_worker_or_by_hand_is_seen(app, app_config, api, setup):
    """Another app (its own engine, pool and cache: another gunicorn worker or host)
    changes the hours; then a plain SQL UPDATE outside the app does."""
    from athlete_sched import create_app
    from athlete_sched.extensions import db

    therapist, race = setup
    assert local_hours(api, race) == {8, 9, 10, 11}
    other = create_app(app_config)
    try:
        answer = api.__class__(other.test_client(), api.token).put(
            f"/api/v1/therapists/{therapist['id']}/working-hours?affected=keep",
            [{"day": d, "start": "10:00", "end": "12:00"} for d in ("wed", "thu")])
        assert answer.status_code == 200, answer.get_json()
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
    assert local_hours(api, race) == {10, 11}
    engine = sa.create_engine(app_config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE working_period SET start_minute = 9 * 60"))
    finally:
        engine.dispose()
    assert local_hours(api, race) == {9, 10, 11}


def test_bookings_leave_the_schedules_version_alone(app, api, setup, make_athlete,
                                                    make_event):
    therapist, race = setup
    first = version(app)
    slot = api.get(f"/api/v1/events/{race['id']}/proposals?kind=pre&limit=1"
                   ).get_json()["pre"][0]
    booking = book(api, race["id"], therapist["id"], "pre", slot["start"])
    rival = make_event(make_athlete()["id"])
    api.get(f"/api/v1/events/{rival['id']}/proposals")
    assert api.post(f"/api/v1/bookings/{booking['id']}/cancel").status_code in (200, 204)
    assert version(app) == first
    assert misses(app) == 1
    answer = api.post(f"/api/v1/therapists/{therapist['id']}/time-off",
                      {"start": "2027-05-12T00:00:00Z", "end": "2027-05-13T00:00:00Z"})
    assert answer.status_code == 201, answer.get_json()
    assert version(app) == first  # time off is read with the bookings, not the schedules
    answer = api.patch(f"/api/v1/therapists/{therapist['id']}", {"name": "Ana Ruiz-Ortega"})
    assert answer.status_code == 200, answer.get_json()
    assert version(app) > first  # any write of a therapist row counts


def test_an_event_long_past_reads_afresh_with_the_same_answer(app, api, setup,
                                                              make_athlete, make_event):
    """Before the clock's week the cache keeps no one-day changes: such windows are read
    as they were (every slot is then over, and the reason says so), the cache untouched."""
    therapist, _ = setup
    old = make_event(make_athlete()["id"], start="2026-11-14T08:00", end="2026-11-14T12:30")
    answer = api.get(f"/api/v1/events/{old['id']}/proposals")
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["pre"] == body["post"] == []
    assert {reason["code"] for reason in body["reasons"].values()} == {"past"}
    assert "schedules" not in app.extensions.get("athlete_sched.caches", {}) or misses(app) == 0
