"""A race-weekend tent: a site open only around a race, served by a therapist whose one-day
change of working hours is at that site (PUT /therapists/{id}/working-days/{date} with
site_id). On that date the day's periods are at the tent and the therapist's own site is
closed; the other days are unchanged. Local wall-clock in the therapist's zone, as every
working period."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from api.helpers import assert_error, book, created

BERLIN = ZoneInfo("Europe/Berlin")
RACE_DAY = "2027-05-15"  # a Saturday; the race finishes 12:30, the post window opens 13:30


def _local(instant: str) -> datetime:
    return datetime.fromisoformat(instant.replace("Z", "+00:00")).astimezone(BERLIN)


def test_a_tent_day_is_offered_at_the_tent_and_only_that_day(api, make_therapist,
                                                             make_athlete, make_event):
    mitte = created(api.post("/api/v1/sites", {"name": "Mitte", "timezone": "Europe/Berlin"}))
    tent = created(api.post("/api/v1/sites", {"name": "Marathon tent",
                                              "timezone": "Europe/Berlin",
                                              "address": "Platz der Republik"}))
    ana = make_therapist(site_id=mitte["id"])
    day = f"/api/v1/therapists/{ana['id']}/working-days/{RACE_DAY}"
    assert_error(api.put(day, {"periods": [{"start": "12:00", "end": "18:00"}],
                               "site_id": 999}), 404)
    shown = api.put(day, {"periods": [{"start": "12:00", "end": "18:00"}],
                          "site_id": tent["id"]})
    assert shown.status_code == 200, shown.get_data(as_text=True)
    assert shown.get_json()["site_id"] == tent["id"]

    athlete = make_athlete(home_site_id=mitte["id"])
    race = make_event(athlete["id"], venue_site_id=tent["id"])
    post = api.get(f"/api/v1/events/{race['id']}/proposals?kind=post&limit=200").get_json()
    at_tent = [s for s in post["post"] if s["site_id"] == tent["id"]]
    assert at_tent and all(_local(s["start"]).date().isoformat() == RACE_DAY
                           and _local(s["start"]).hour >= 12 and _local(s["end"]).hour <= 18
                           for s in at_tent)
    at_home = [s for s in post["post"] if s["site_id"] == mitte["id"]]
    assert at_home and all(_local(s["start"]).date().isoformat() != RACE_DAY for s in at_home)
    only_tent = api.get(f"/api/v1/events/{race['id']}/proposals?kind=post&limit=200"
                        f"&site_id={tent['id']}").get_json()["post"]
    assert only_tent == at_tent

    booked = book(api, race["id"], ana["id"], "post", at_tent[0]["start"])
    assert booked["site_id"] == tent["id"]
    # Moving the day back to her own site would strand the tent session: asked first.
    moved = api.put(day, {"periods": [{"start": "12:00", "end": "18:00"}]})
    assert assert_error(moved, 409, "sessions-affected")["affected"] == [booked["id"]]
