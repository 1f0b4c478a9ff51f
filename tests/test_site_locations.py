"""Where a session is reaches the calendars: an invite's and a feed's LOCATION name the
clinic, the session's site and the site's address (read back by icalendar); a session
without a site keeps the clinic's location."""

from __future__ import annotations

from api.helpers import book, created
from icalendar import Calendar


def _locations(body: bytes) -> list[str]:
    return [str(e["LOCATION"]) for e in Calendar.from_ical(body).walk("VEVENT")
            if "LOCATION" in e]


def test_invites_and_feeds_name_the_sessions_site(api, client, make_therapist, make_athlete,
                                                  make_event):
    without = make_therapist()  # put at the first site when it is made
    athlete = make_athlete()
    event = make_event(athlete["id"])
    before = book(api, event["id"], without["id"], "pre", "2027-05-12T09:00")
    old = client.get(before["invite_url"], headers={"Authorization": f"Bearer {api.token}"})
    assert _locations(old.data) and "Torstr" not in _locations(old.data)[0]

    berlin = created(api.post("/api/v1/sites", {"name": "Berlin Mitte",
                                                "timezone": "Europe/Berlin",
                                                "address": "Torstr. 1, 10119 Berlin"}))
    assert api.get(f"/api/v1/therapists/{without['id']}").get_json()["site_id"] == berlin["id"]
    after = book(api, event["id"], without["id"], "post", "2027-05-17T09:00")
    assert after["site_id"] == berlin["id"]
    invite = client.get(after["invite_url"], headers={"Authorization": f"Bearer {api.token}"})
    (location,) = _locations(invite.data)
    assert "Berlin Mitte" in location and "Torstr. 1, 10119 Berlin" in location

    feed = api.get(f"/api/v1/athletes/{athlete['id']}/feed").get_json()["url"]
    path = "/feeds/" + feed.rsplit("/feeds/", 1)[1]
    listed = _locations(client.get(path).data)
    assert sum("Berlin Mitte" in x for x in listed) == 1  # the post; the pre has no site
    assert len(listed) == 2
