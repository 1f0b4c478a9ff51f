"""The core path of the contract, end to end through the API, on both backends."""

from __future__ import annotations


def test_propose_book_reschedule_cancel(api, make_therapist, make_athlete, make_event):
    therapist = make_therapist(buffer_minutes=10)
    athlete = make_athlete()
    event = make_event(athlete["id"])
    assert event["windows"] == {
        "pre": {"start": "2027-05-11T22:00:00Z", "end": "2027-05-13T22:00:00Z"},
        "post": {"start": "2027-05-15T11:30:00Z", "end": "2027-05-18T22:00:00Z"}}

    proposals = api.get(f"/api/v1/events/{event['id']}/proposals?limit=5").get_json()
    best = proposals["pre"][0]
    # 72 h before an 08:00 Berlin start is 08:00 local three days earlier.
    assert best == {"therapist_id": therapist["id"], "start": "2027-05-12T06:00:00Z",
                    "end": "2027-05-12T06:45:00Z", "kind": "pre",
                    "site_id": None}

    created = api.post("/api/v1/bookings", {"event_id": event["id"], "kind": "pre",
                                            "therapist_id": therapist["id"],
                                            "start": best["start"]})
    assert created.status_code == 201
    booking = created.get_json()
    assert (booking["status"], booking["sequence"]) == ("confirmed", 0)

    again = api.post("/api/v1/bookings", {"event_id": event["id"], "kind": "pre",
                                          "therapist_id": therapist["id"],
                                          "start": "2027-05-13T08:00:00Z"})
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "already-booked"

    moved = api.patch(f"/api/v1/bookings/{booking['id']}", {"start": "2027-05-13T09:00"})
    assert moved.status_code == 200
    assert moved.get_json()["start"] == "2027-05-13T07:00:00Z"  # naive = therapist's zone
    assert (moved.get_json()["uid"], moved.get_json()["sequence"]) == (booking["uid"], 1)

    for _ in range(2):
        cancelled = api.post(f"/api/v1/bookings/{booking['id']}/cancel")
        assert cancelled.status_code == 200
        assert (cancelled.get_json()["status"], cancelled.get_json()["sequence"]) == (
            "cancelled", 2)
