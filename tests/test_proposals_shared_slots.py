"""The slots shared by events with the same windows (services/proposals.propose, the cache
"proposal_slots"): a second athlete racing the same day with the same season gets the
slots worked out for the first, and every write that could change either answer gives
both the fresh answer at once: the bytes a cache-off app answers. Both backends."""

from __future__ import annotations

from typing import Any

import pytest
import test_proposals_freshness as freshness
from test_proposals_freshness import WRITES, fresh, url

from athlete_sched.services import proposals

world, plain_sql = freshness.world, freshness.plain_sql  # the same fixtures


@pytest.fixture
def worked(monkeypatch) -> list[tuple]:
    """The windows whose slots were worked out (not taken from the shared slots)."""
    calls: list[tuple] = []
    real = proposals._work_out

    def counted(chosen, *args: Any, **kwargs: Any):
        calls.append(tuple(chosen.items()))
        return real(chosen, *args, **kwargs)

    monkeypatch.setattr(proposals, "_work_out", counted)
    return calls


@pytest.fixture
def twin(api, world, make_athlete, make_event) -> int:
    """The id of a race of another athlete at the same home site, the same day and time
    as the world's athlete's, with a later race too: the same question of slots."""
    home = api.get(f"/api/v1/athletes/{world['athlete']}").get_json()["home_site_id"]
    athlete = make_athlete(home_site_id=home)["id"]
    make_event(athlete, start="2027-05-29T08:00", end="2027-05-29T12:00")
    return make_event(athlete)["id"]


def test_a_race_the_same_day_takes_the_slots_worked_out_for_another(api, app_config, world,
                                                                     twin, worked):
    first = api.get(url(world["event"]))
    second = api.get(url(twin))
    assert first.status_code == second.status_code == 200
    assert len(worked) == 1
    assert second.get_json()["event_id"] == twin
    assert second.get_json()["pre"] == first.get_json()["pre"]
    assert second.get_data() == fresh(app_config, api.token, url(twin))


def test_an_athlete_with_another_season_gets_their_own_slots(api, app_config, world, worked,
                                                             make_athlete, make_event):
    """A rival racing the same day whose session of another event is within the minimum
    gap: the same windows, but not the same question."""
    rival = make_athlete()["id"]
    race = make_event(rival)["id"]
    ride = make_event(rival, start="2027-05-09T08:00", end="2027-05-09T12:00")["id"]
    assert api.post("/api/v1/bookings", {"event_id": ride, "kind": "post",
                                         "therapist_id": world["therapist"],
                                         "start": "2027-05-10T16:00"}).status_code == 201
    assert api.get(url(world["event"])).status_code == 200
    answer = api.get(url(race)).get_data()
    assert len(worked) == 2
    assert answer == fresh(app_config, api.token, url(race))


@pytest.mark.parametrize(("before", "write"), [(b, w) for _, b, w in WRITES],
                         ids=[name for name, *_ in WRITES])
def test_a_write_that_changes_an_answer_is_seen_by_both_races(
        api, app_config, world, twin, worked, plain_sql, before, write):
    state = before(api, world)
    paths = [url(world["event"]), url(twin)]
    for path in paths:
        assert api.get(path).status_code == 200
    assert len(worked) == 1
    response = write(api, world, plain_sql, state)
    assert getattr(response, "status_code", 200) < 300, response.get_json()
    for path in (*paths, *reversed(paths)):
        assert api.get(path).get_data() == fresh(app_config, api.token, path)


def test_settings_written_by_hand_give_fresh_proposals(api, app_config, world, plain_sql):
    """The clinic's saved settings are kept per process by proposals_version
    (services/common.settings_as_of): a new recovery gap written by hand-written SQL moves
    the recovery window in the very next answer."""
    path = f"/api/v1/events/{world['event']}/proposals?kind=post&limit=3"
    old = api.get(path).get_data()
    plain_sql("INSERT INTO clinic_settings (id, recovery_gap_minutes, updated_at, updated_by) "
              "VALUES (1, :gap, :at, 'psql') "
              "ON CONFLICT (id) DO UPDATE SET recovery_gap_minutes = :gap",
              {"gap": 600, "at": "2027-01-04 00:00:00+00:00"})
    new = api.get(path).get_data()
    assert new != old
    assert new == fresh(app_config, api.token, path)
