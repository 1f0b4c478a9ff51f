"""Proposals read therapists best first (core/proposals.py, services/proposals.py), on
both backends: the answer is the same whatever the batch size, a first batch that settles
the answer is the request's only read of blocked time and bookings (seven statements, as
tests/test_one_road.py counts), and each further batch costs one statement more.

A batch of one therapist makes the search stop and read at every chance; a batch of a
thousand reads the whole clinic at once (the exhaustive computation over the therapists
who have a start in the window at all; tests/core/test_best_first.py checks that core
step against `propose` over every therapist)."""

from __future__ import annotations

import pytest
from api.helpers import book  # tests/ is on sys.path (rootdir)
from test_one_road import cache_off, statements

HOURS = {
    "early": [{"day": d, "start": "07:00", "end": "12:00"}
              for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")],
    "late": [{"day": d, "start": "13:00", "end": "19:00"}
             for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")],
}


@pytest.fixture
def clinic(api, make_therapist, make_athlete, make_event) -> dict:
    """Eight therapists, early and late hours in two zones and two grids, three of them
    booked in the race's windows (so that load breaks ties) and three away (their bounds
    promise what their time off takes), and an athlete with a race."""
    made = [make_therapist(working_hours=HOURS["early" if i % 2 else "late"],
                           timezone=("Europe/Berlin", "Europe/London")[i % 3 == 0],
                           slot_step_minutes=(15, 30)[i % 4 == 0])
            for i in range(8)]
    for therapist in made[:3]:
        busy = make_event(make_athlete()["id"], start="2027-05-15T08:00",
                          end="2027-05-15T12:30")
        for kind in ("pre", "post"):
            slot = api.get(f"/api/v1/events/{busy['id']}/proposals?kind={kind}&limit=1"
                           f"&therapist_id={therapist['id']}").get_json()[kind][0]
            book(api, busy["id"], therapist["id"], kind, slot["start"])
    for therapist in made[3:6]:  # away the whole time: no load, no slot
        response = api.post(f"/api/v1/therapists/{therapist['id']}/time-off",
                            {"start": "2027-05-01T00:00:00Z", "end": "2027-06-01T00:00:00Z"})
        assert response.status_code == 201, response.get_json()
    athlete = make_athlete()
    race = make_event(athlete["id"], start="2027-05-15T09:00", end="2027-05-15T13:00")
    return {"therapists": made, "race": race}


def answer(app, api, monkeypatch, url: str, batch: int) -> tuple[dict, int]:
    from athlete_sched.core import proposals

    monkeypatch.setattr(proposals, "FIRST_READ", batch)
    cache_off(app)
    with statements(app) as sent:
        response = api.get(url)
    assert response.status_code == 200, response.get_json()
    return response.get_json(), len(sent)


@pytest.mark.parametrize("limit", [1, 3, 7, 40])
def test_the_answer_does_not_depend_on_the_batch(app, api, clinic, monkeypatch, limit):
    url = f"/api/v1/events/{clinic['race']['id']}/proposals?limit={limit}"
    whole, sent_whole = answer(app, api, monkeypatch, url, 1000)
    one_by_one, sent_one_by_one = answer(app, api, monkeypatch, url, 1)
    assert one_by_one == whole
    assert whole["pre"] and whole["post"]
    assert sent_whole == 7
    assert sent_one_by_one >= sent_whole


def test_a_batch_that_settles_the_answer_is_the_only_read(app, api, clinic, monkeypatch):
    """Limit 1 of eight: the first batch of four holds the best slot, so no more is read;
    with a batch of one, the search reads on while the next therapist could do better."""
    url = f"/api/v1/events/{clinic['race']['id']}/proposals?limit=1"
    api.get(url)  # warm
    _, sent = answer(app, api, monkeypatch, url, 4)
    assert sent == 8  # the seven, and the loads of the therapists at the top: five of eight
    # have a start, more than a batch of four: the loads choose which four come first
    whole, _ = answer(app, api, monkeypatch, url, 1000)
    more = {}
    for batch in (1, 2, 3):
        found, more[batch] = answer(app, api, monkeypatch, url, batch)
        assert found == whole
    # One statement per further batch: a batch of one reads on past the therapists away.
    assert more[1] > more[2] >= more[3] >= 8, more


def test_at_sites_only_the_therapists_there_are_read_and_the_answer_is_the_same(
        app, api, make_therapist, make_athlete, make_event, monkeypatch):
    """A site rule (the athlete's home, the venue with travel, ?site_id=) reads only the
    therapists who work at those sites; the answer, reasons included, is the one read
    from every therapist of the clinic."""
    from athlete_sched.services import schedules

    site = [api.post("/api/v1/sites", {"name": f"Site {i}", "timezone": "Europe/Berlin"}
                     ).get_json()["id"] for i in range(3)]
    hours = HOURS["early"] + HOURS["late"]
    for i in range(9):
        periods = [dict(p, site_id=site[(i + 1) % 3]) if p["start"] == "13:00" and i % 2
                   else p for p in hours]
        make_therapist(site_id=site[i % 3], working_hours=periods,
                       timezone=("Europe/Berlin", "Europe/London")[i % 3 == 0])
    home = make_athlete(home_site_id=site[0])
    races = [make_event(home["id"], start="2027-05-15T09:00", end="2027-05-15T13:00",
                        venue_site_id=site[1], travel={"depart": "2027-05-14T12:00",
                                                       "return": "2027-05-16T18:00"}),
             make_event(make_athlete(home_site_id=site[2])["id"], start="2027-06-12T09:00",
                        end="2027-06-12T12:00"),
             make_event(make_athlete()["id"], start="2027-07-10T09:00",
                        end="2027-07-10T12:00")]
    everyone = schedules.near
    for race in races:
        for query in ("", f"&site_id={site[2]}", f"&site_id={site[1]}&site_id={site[0]}"):
            url = f"/api/v1/events/{race['id']}/proposals?limit=30{query}"
            monkeypatch.setattr(schedules, "near", everyone)
            at_sites, _ = answer(app, api, monkeypatch, url, 1)
            monkeypatch.setattr(schedules, "near",
                                lambda tid, windows, sites=None, version=None:
                                    everyone(tid, windows, version=version))
            whole, _ = answer(app, api, monkeypatch, url, 1000)
            assert at_sites == whole, url
            if not query:  # a filter of other sites than the athlete's has none (reason)
                assert {slot["site_id"] for kind in ("pre", "post") for slot in whole[kind]}
            else:
                assert whole["pre"] or "pre" in whole.get("reasons", {}), url
