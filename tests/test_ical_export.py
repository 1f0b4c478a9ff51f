"""Invites out: core/ical.py on its own, then GET /bookings/{id}/invite.ics and
GET /events/{id}/invites.ics through the API. Every file is read back by two real parsers,
icalendar and Mozilla's ical.js (tests/icaljs.py), which must agree on UID, SEQUENCE and
the UTC start and end; and line by line (CRLF, 75 octets, whole UTF-8 characters, no
content line but the ones we write)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from api.helpers import assert_error, book, created
from icalendar import Calendar
from icaljs import (
    icaljs,  # noqa: F401  (fixture)
    property_names,
)

from athlete_sched.core import ical

# domain.md, "After-care (goes into every invite's description)", word for word.
AFTER_CARE_POINTS = (
    "- Drink water; gentle stretching; ice on sore spots.",
    "- No strenuous activity for 24–48 hours after the session.",
    "- Soreness or a temporary increase in symptoms for 1–2 days is common; mild bruising "
    "may occur. If symptoms last beyond 2 days, tell the therapist.",
)
CLINIC = ical.Clinic(name="Needle & Co, Berlin", email="bookings@clinic.example",
                     location="Needle & Co, Torstr. 1; Berlin", reminder=timedelta(hours=2))
START = datetime(2027, 5, 12, 7, 0, tzinfo=UTC)


def session(**fields) -> ical.Session:
    values = dict(uid="b-1@athlete-sched", sequence=0, stamp=datetime(2027, 1, 4, tzinfo=UTC),
                  start=START, end=START + timedelta(minutes=45), cancelled=False,
                  summary="Dry needling – pre-race session: Rennsteig Marathon",
                  location=CLINIC.location,
                  attendees=(ical.Person("mara@athletes.test", "Mara Runner"),
                             ical.Person("ana@clinic.test", "Ana Ruiz")))
    return ical.Session(**{**values, **fields})


def utc_text(value: date | datetime) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def by_icalendar(data: bytes) -> list[dict]:
    """The VEVENTs as the icalendar library reads them back."""
    calendar = Calendar.from_ical(data)
    return [{"uid": str(e["UID"]), "sequence": int(e.get("SEQUENCE", 0)),
             "start_utc": utc_text(e.decoded("DTSTART")),
             "end_utc": utc_text(e.decoded("DTEND")),
             "method": str(calendar.get("METHOD")), "status": str(e.get("STATUS")),
             "summary": str(e.get("SUMMARY")), "description": str(e.get("DESCRIPTION", "")),
             "cns": [str(a.params["CN"]) for a in _list(e.get("ATTENDEE"))],
             "alarms": len(e.walk("VALARM"))}
            for e in calendar.walk("VEVENT")]


def _list(value) -> list:
    return [] if value is None else value if isinstance(value, list) else [value]


def both(data: bytes, icaljs) -> list[dict]:  # noqa: F811
    """Parse with both parsers; they must agree on UID, SEQUENCE, UTC start and end,
    METHOD and STATUS. Returns ical.js's reading."""
    seen_js, seen_py = icaljs(data), by_icalendar(data)
    keys = ("uid", "sequence", "start_utc", "end_utc", "method", "status")
    assert [{k: e[k] for k in keys} for e in seen_js] == [{k: e[k] for k in keys}
                                                          for e in seen_py]
    property_names(data)  # CRLF, 75 octets, whole characters, every line a property
    return seen_js


# --- the core alone -----------------------------------------------------------------------

def test_invite_holds_what_the_contract_names(icaljs):  # noqa: F811
    data = ical.invite(session(sequence=2), CLINIC)
    [event] = both(data, icaljs)
    assert event["method"] == "REQUEST" and event["status"] == "CONFIRMED"
    assert (event["uid"], event["sequence"]) == ("b-1@athlete-sched", 2)
    assert (event["start_utc"], event["end_utc"]) == ("2027-05-12T07:00:00Z",
                                                      "2027-05-12T07:45:00Z")
    assert event["dtstamp"] == "2027-01-04T00:00:00Z"
    assert event["organizer"]["value"] == "mailto:bookings@clinic.example"
    assert event["organizer"]["cn"] == "Needle & Co, Berlin"
    assert [(a["value"], a["cn"], a["partstat"], a["rsvp"], a["role"])
            for a in event["attendees"]] == [
        ("mailto:mara@athletes.test", "Mara Runner", "NEEDS-ACTION", "TRUE", "REQ-PARTICIPANT"),
        ("mailto:ana@clinic.test", "Ana Ruiz", "NEEDS-ACTION", "TRUE", "REQ-PARTICIPANT")]
    assert event["location"] == "Needle & Co, Torstr. 1; Berlin"
    lines = event["description"].splitlines()
    assert all(point in lines for point in AFTER_CARE_POINTS), event["description"]
    assert event["has_alarm"] and event["alarm_triggers"] == ["-PT2H"]
    assert b"DTSTART:20270512T070000Z\r\n" in data  # UTC, no TZID, no floating time


def test_cancel_is_method_cancel_without_alarm(icaljs):  # noqa: F811
    data = ical.invite(session(sequence=3, cancelled=True), CLINIC)
    [event] = both(data, icaljs)
    assert (event["method"], event["status"], event["sequence"]) == ("CANCEL", "CANCELLED", 3)
    assert not event["has_alarm"] and b"VALARM" not in data
    assert len(event["attendees"]) == 2 and event["organizer"] is not None
    assert ical.method_of(session(cancelled=True)) == "CANCEL"
    assert ical.method_of(session()) == "REQUEST"


NASTY = [
    ("commas and semicolons", "Ruiz, Ana; PT, DPT"),
    ("quotes", 'Mara "The Rocket" O\'Neil'),
    ("backslash escapes", r"C:\new\table \, \; \n \\"),
    ("CRLF property injection", "Mara\r\nDTSTART:19990101T000000Z\r\nBEGIN:VEVENT\r\nUID:x"),
    ("bare LF and CR", "a\nATTENDEE:mailto:evil@x.test\rORGANIZER:mailto:evil@x.test"),
    ("unicode line breaks", "a\u2028b\u2029c\x85d\x0be\x0cf\x1cg\x1dh\x1ei"),
    ("control characters", "a\x00b\x1b[31mc\x7fd\x07e\x9bf"),
    ("emoji", "🏃\u200d♀️ 🚵🏽 Trail 💨 ✔"),
    ("200-character word", "x" * 200),
    ("200 four-byte characters", "🏃" * 200),
    ("two- and three-byte characters", "é" * 151 + "日本語" * 33),
    ("carets and colons", "^n ^' ^^ a:b mailto:x"),
    ("tabs and spaces", " \ta\t b "),
]


@pytest.mark.parametrize(("label", "value"), NASTY, ids=[label for label, _ in NASTY])
def test_nasty_text_stays_inside_its_property(label, value, icaljs):  # noqa: F811
    plain = ical.invite(session(summary="plain"), CLINIC)
    nasty = session(summary=value, location=value,
                    attendees=(ical.Person("mara@athletes.test", value),
                               ical.Person("ana@clinic.test", "Ana Ruiz")))
    data = ical.invite(nasty, CLINIC)
    # The same content lines as an invite with harmless values: no line break in a value
    # started a property or a component of its own.
    assert Counter(property_names(data)) == Counter(property_names(plain))
    [js] = both(data, icaljs)
    [py] = by_icalendar(data)
    assert js["summary"] == py["summary"] == ical.clean(value)
    assert js["location"] == ical.clean(value)
    assert js["description"] == py["description"]
    assert js["attendees"][0]["cn"] == py["cns"][0] == (ical.clean_param(value) or
                                                        "mara@athletes.test")
    assert (js["uid"], js["start_utc"]) == ("b-1@athlete-sched", "2027-05-12T07:00:00Z")


@pytest.mark.parametrize(("raw", "clean"), [
    ("plain", "plain"),
    ("a\r\nb", "a\nb"),  # CRLF is one break
    ("a\rb", "a\nb"),
    ("a\n\nb", "a\n\nb"),
    ("a\u2028b\u2029c\x85d", "a\nb\nc\nd"),  # Unicode's line and paragraph separators
    ("a\x0bb\x0cc", "a\nb\nc"),  # vertical tab, form feed (str.splitlines breaks there)
    ("a\x00b\x1bc\x7fd\x9be", "abcde"),  # NUL, ESC, DEL, a C1 control: dropped
    ("a\tb", "a\tb"),  # a tab is allowed in TEXT
    ("🏃 é 日本", "🏃 é 日本"),
], ids=repr)
def test_clean(raw, clean):
    assert ical.clean(raw) == clean


def test_clean_param_keeps_one_line():
    assert ical.clean_param(" Mara\r\nRunner\t ") == "Mara Runner"


def test_invites_file_holds_every_session(icaljs):  # noqa: F811
    post = session(uid="b-2@athlete-sched", start=START + timedelta(days=5),
                   end=START + timedelta(days=5, minutes=45), summary="post")
    data = ical.invites([session(), post], CLINIC)
    events = both(data, icaljs)
    assert [(e["uid"], e["method"], e["has_alarm"]) for e in events] == [
        ("b-1@athlete-sched", "REQUEST", True), ("b-2@athlete-sched", "REQUEST", True)]
    assert all(len(e["attendees"]) == 2 for e in events)
    with pytest.raises(ValueError, match="cancelled"):
        ical.invites([session(cancelled=True)], CLINIC)


def test_a_naive_instant_is_refused():
    with pytest.raises(ValueError, match="aware"):
        ical.invite(session(start=datetime(2027, 5, 12, 9, 0)), CLINIC)  # noqa: DTZ001


def test_other_zones_are_written_in_utc(icaljs):  # noqa: F811
    from zoneinfo import ZoneInfo

    berlin = datetime(2027, 3, 28, 3, 30, tzinfo=ZoneInfo("Europe/Berlin"))  # just after DST
    [event] = both(ical.invite(session(start=berlin, end=berlin + timedelta(minutes=45)),
                               CLINIC), icaljs)
    assert (event["start_utc"], event["end_utc"]) == ("2027-03-28T01:30:00Z",
                                                      "2027-03-28T02:15:00Z")


# --- through the API ----------------------------------------------------------------------

ICS_TYPE = "text/calendar; charset=utf-8; method={}"
NOTES = 'Left calf; "tight", since Tue\r\nBEGIN:VALARM\r\nsecret 🏃 ' + "z" * 200


@pytest.fixture
def race(api, make_therapist, make_athlete, make_event):
    therapist = make_therapist(name='Ana "Needles" Ruiz, PT; DPT')
    athlete = make_athlete(name="Mara\r\nDTSTART:19990101T000000Z Rünner 🏃‍♀️")
    event = make_event(athlete["id"])
    pre = book(api, event["id"], therapist["id"], "pre", "2027-05-12T09:00", notes=NOTES)
    return therapist, athlete, event, pre


def invite(api, booking_id: int):
    return api.get(f"/api/v1/bookings/{booking_id}/invite.ics")


def test_invite_route(api, race, icaljs):  # noqa: F811
    therapist, athlete, event, pre = race
    response = invite(api, pre["id"])
    assert response.status_code == 200
    assert response.headers["Content-Type"] == ICS_TYPE.format("REQUEST")
    assert pre["invite_url"] == f"/api/v1/bookings/{pre['id']}/invite.ics"
    [js] = both(response.get_data(), icaljs)
    assert (js["uid"], js["sequence"], js["start_utc"], js["end_utc"]) == (
        pre["uid"], 0, "2027-05-12T07:00:00Z", "2027-05-12T07:45:00Z")
    assert [a["value"] for a in js["attendees"]] == [f"mailto:{athlete['email']}",
                                                     f"mailto:{therapist['email']}"]
    assert [a["cn"] for a in js["attendees"]] == [
        "Mara DTSTART:19990101T000000Z Rünner 🏃\u200d♀️", 'Ana "Needles" Ruiz, PT; DPT']
    assert js["organizer"]["value"] == "mailto:bookings@clinic.example"
    # The booking's notes (free text the athlete wrote) stay in the app: never in an invite.
    assert "Notes:" not in js["description"] and "calf" not in response.get_data(as_text=True)
    assert all(p in js["description"].splitlines() for p in AFTER_CARE_POINTS)
    assert js["has_alarm"]


def test_reschedule_and_cancel_round_trip(api, race, icaljs):  # noqa: F811
    _, _, _, pre = race
    first = both(invite(api, pre["id"]).get_data(), icaljs)[0]
    moved = api.patch(f"/api/v1/bookings/{pre['id']}", {"start": "2027-05-13T10:00"})
    assert moved.status_code == 200, moved.get_json()
    update = invite(api, pre["id"])
    assert update.headers["Content-Type"] == ICS_TYPE.format("REQUEST")
    second = both(update.get_data(), icaljs)[0]
    assert second["uid"] == first["uid"] == pre["uid"]
    assert second["sequence"] > first["sequence"]
    assert second["dtstamp"] >= first["dtstamp"]  # stamp(): the real clock, whole seconds
    assert (second["method"], second["status"]) == ("REQUEST", "CONFIRMED")
    assert (second["start_utc"], second["end_utc"]) == ("2027-05-13T08:00:00Z",
                                                        "2027-05-13T08:45:00Z")
    assert second["has_alarm"]

    assert api.post(f"/api/v1/bookings/{pre['id']}/cancel").status_code == 200
    cancel = invite(api, pre["id"])
    assert cancel.headers["Content-Type"] == ICS_TYPE.format("CANCEL")
    third = both(cancel.get_data(), icaljs)[0]
    assert third["uid"] == pre["uid"] and third["sequence"] > second["sequence"]
    assert third["dtstamp"] >= second["dtstamp"]
    assert (third["method"], third["status"], third["has_alarm"]) == ("CANCEL", "CANCELLED",
                                                                      False)
    assert (third["start_utc"], third["end_utc"]) == (second["start_utc"], second["end_utc"])

    assert api.post(f"/api/v1/bookings/{pre['id']}/cancel").status_code == 200
    again = both(invite(api, pre["id"]).get_data(), icaljs)[0]
    assert again["sequence"] == third["sequence"]  # a second cancel changes nothing


def test_event_file_holds_pre_and_post(api, race, icaljs):  # noqa: F811
    therapist, _, event, pre = race
    post = book(api, event["id"], therapist["id"], "post", "2027-05-17T09:00")
    url = f"/api/v1/events/{event['id']}/invites.ics"
    response = api.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == ICS_TYPE.format("REQUEST")
    events = both(response.get_data(), icaljs)
    assert [(e["uid"], e["start_utc"], e["method"]) for e in events] == [
        (pre["uid"], "2027-05-12T07:00:00Z", "REQUEST"),
        (post["uid"], "2027-05-17T07:00:00Z", "REQUEST")]
    assert all(e["has_alarm"] and len(e["attendees"]) == 2 for e in events)

    api.post(f"/api/v1/bookings/{pre['id']}/cancel")
    assert [e["uid"] for e in both(api.get(url).get_data(), icaljs)] == [post["uid"]]
    api.post(f"/api/v1/bookings/{post['id']}/cancel")
    assert_error(api.get(url), 404, "no-sessions")


def test_team_event_file_per_member(api, make_therapist, make_athlete, make_event, make_user,
                                    icaljs):  # noqa: F811
    therapist = make_therapist()
    coach_email = "coach@clubs.test"
    coach = api.as_(make_user("coach", coach_email))
    team = created(api.post("/api/v1/teams", {"name": "Trail Club", "coach_email": coach_email}))
    members = [make_athlete(), make_athlete()]
    for member in members:
        created(api.post(f"/api/v1/teams/{team['id']}/members", {"athlete_id": member["id"]}))
    event = make_event(team_id=team["id"], name="Club Relay", start="2027-06-05",
                       end="2027-06-05")
    first = book(coach, event["id"], therapist["id"], "pre", "2027-06-02T09:00",
                 athlete_id=members[0]["id"])
    second = book(coach, event["id"], therapist["id"], "pre", "2027-06-02T10:00",
                  athlete_id=members[1]["id"])
    url = f"/api/v1/events/{event['id']}/invites.ics"
    assert [e["uid"] for e in both(coach.get(url).get_data(), icaljs)] == [first["uid"],
                                                                          second["uid"]]
    only = coach.get(f"{url}?athlete_id={members[1]['id']}")
    assert [e["uid"] for e in both(only.get_data(), icaljs)] == [second["uid"]]
    assert_error(coach.get(f"{url}?athlete_id=abc"), 422)


def test_invite_access(api, race, make_user, make_therapist):
    therapist, athlete, event, pre = race
    url = f"/api/v1/bookings/{pre['id']}/invite.ics"
    events_url = f"/api/v1/events/{event['id']}/invites.ics"
    own = api.as_(make_user("athlete", athlete["email"]))
    assert own.get(url).status_code == 200 and own.get(events_url).status_code == 200
    assert api.as_(make_user("therapist", therapist["email"])).get(url).status_code == 200
    other_therapist = make_therapist()
    for stranger in (api.as_(make_user("athlete")), api.as_(make_user("coach")),
                     api.as_(make_user("therapist", other_therapist["email"]))):
        assert_error(stranger.get(url), 404)
        assert_error(stranger.get(events_url), 404)
    assert_error(api.as_("no-such-token").get(url), 401)
    assert_error(api.get("/api/v1/bookings/999999/invite.ics"), 404)
    assert_error(api.get("/api/v1/events/999999/invites.ics"), 404)
