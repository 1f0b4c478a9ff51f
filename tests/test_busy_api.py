"""PUT/GET /api/v1/therapists/{id}/busy-calendar: the upload of the contract, both backends.

Every quirk fixture goes in through the API and is stored as exactly its busy intervals
(test_ical_import.EXPECTED); then the proposals of events around each busy day are
compared with the slots computed here by hand (working hours on the slot grid, minus the
busy time): the same set, so the proposals avoid exactly the imported busy time, in the
weeks of the 2027 DST changes. A failed import (bad bytes, too large, too complex) answers
422 / 413 and leaves the stored rows as they were; a booking at imported busy time is a
409 (the guard re-checks busy intervals at booking time).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from api.helpers import assert_error
from test_ical_import import EXPECTED, calendar, ics

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PATHOLOGICAL = calendar("DTSTART:20270110T090000Z\nDURATION:PT1M\nRRULE:FREQ=SECONDLY")


def url(therapist_id: int) -> str:
    return f"/api/v1/therapists/{therapist_id}/busy-calendar"


def upload(api, therapist_id: int, data: bytes, content_type: str = "text/calendar"):
    return api.put(url(therapist_id), data=data, headers={"Content-Type": content_type})


def stored(app, therapist_id: int) -> list[tuple]:
    """The therapist's busy_interval rows: (id, start, end, source, calendar_id)."""
    from athlete_sched.db.models import BusyInterval
    from athlete_sched.extensions import db

    with app.app_context():
        rows = db.session.execute(
            sa.select(BusyInterval.id, BusyInterval.start, BusyInterval.end,
                      BusyInterval.source, BusyInterval.calendar_id)
            .where(BusyInterval.therapist_id == therapist_id).order_by(BusyInterval.start)).all()
        db.session.rollback()
    return [tuple(row) for row in rows]


def spans_of(rows: list[tuple]) -> list[tuple[datetime, datetime]]:
    return [(start, end) for _, start, end, *_ in rows]


# --- exact proposals ----------------------------------------------------------------------

def grid_slots(therapist: dict, day: date) -> set[tuple[datetime, datetime]]:
    """Every slot of the therapist's working periods on local `day`, on the step grid."""
    tz = ZoneInfo(therapist["timezone"])
    length = timedelta(minutes=therapist["session_minutes"])
    step = timedelta(minutes=therapist["slot_step_minutes"])
    slots = set()
    for period in therapist["working_hours"]:
        if period["day"] != DAY_NAMES[day.weekday()]:
            continue
        start = datetime.combine(day, time.fromisoformat(period["start"]), tz)
        end = datetime.combine(day, time.fromisoformat(period["end"]), tz)
        while start + length <= end:
            slots.add((start.astimezone(UTC), (start + length).astimezone(UTC)))
            start += step
    return slots


def check_pre_proposals(api, make_athlete, make_event, therapist: dict, day: date,
                        busy: list[tuple[datetime, datetime]]) -> int:
    """The pre proposals of an all-day event on day + 3 (pre window: day and day + 1) are
    exactly the grid slots that miss every busy interval. Returns how many slots the busy
    time removed."""
    event = make_event(make_athlete()["id"], start=(day + timedelta(days=3)).isoformat(),
                       end=(day + timedelta(days=3)).isoformat())
    got = api.get(f"/api/v1/events/{event['id']}/proposals?kind=pre&limit=1000"
                  f"&therapist_id={therapist['id']}")
    assert got.status_code == 200, got.get_data(as_text=True)
    offered = {(datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"]))
               for s in got.get_json()["pre"]}
    grid = grid_slots(therapist, day) | grid_slots(therapist, day + timedelta(days=1))
    free = {slot for slot in grid if not any(b[0] < slot[1] and slot[0] < b[1] for b in busy)}
    assert offered == free, (day, sorted(offered ^ free)[:5])
    return len(grid) - len(free)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_upload_stores_its_busy_time_and_proposals_avoid_exactly_it(
        app, api, make_therapist, make_athlete, make_event, name):
    therapist = make_therapist()
    answer = upload(api, therapist["id"], ics(name))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["busy_intervals"] == len(EXPECTED[name])
    rows = stored(app, therapist["id"])
    assert spans_of(rows) == [tuple(i) for i in EXPECTED[name]]
    assert {source for _, _, _, source, _ in rows} == {"upload"}
    berlin = ZoneInfo("Europe/Berlin")
    days = sorted({i.start.astimezone(berlin).date() for i in EXPECTED[name]})
    removed = sum(check_pre_proposals(api, make_athlete, make_event, therapist, day,
                                      spans_of(rows)) for day in days)
    assert removed > 0  # the busy time did fall into working hours


# --- the contract's shape -----------------------------------------------------------------

def test_put_answers_the_count_and_get_shows_the_import_in_force(api, make_therapist):
    therapist = make_therapist()
    empty = api.get(url(therapist["id"]))
    assert empty.status_code == 200
    assert empty.get_json() == {"busy_intervals": 0, "synced_at": None, "body_sha256": None}
    data = ics("google.ics")
    put = upload(api, therapist["id"], data)
    assert put.status_code == 200 and put.mimetype == "application/json"
    assert put.get_json()["busy_intervals"] == 9
    shown = api.get(url(therapist["id"])).get_json()
    assert shown == put.get_json()
    assert shown["body_sha256"] == hashlib.sha256(data).hexdigest()
    assert shown["synced_at"].endswith("Z")


def test_a_new_upload_replaces_the_previous_one_as_a_whole(app, api, make_therapist):
    therapist = make_therapist()
    assert upload(api, therapist["id"], ics("google.ics")).status_code == 200
    assert upload(api, therapist["id"], ics("apple.ics")).status_code == 200
    assert spans_of(stored(app, therapist["id"])) == [tuple(i) for i in EXPECTED["apple.ics"]]
    empty = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nEND:VCALENDAR\r\n"
    assert upload(api, therapist["id"], empty).get_json()["busy_intervals"] == 0
    assert stored(app, therapist["id"]) == []


def test_an_unchanged_body_is_not_parsed_again(app, api, make_therapist):
    import calendar_parses as ical_import

    therapist = make_therapist()
    first = upload(api, therapist["id"], ics("outlook.ics")).get_json()
    rows = stored(app, therapist["id"])
    parsed = ical_import.parse_count()
    assert upload(api, therapist["id"], ics("outlook.ics")).get_json() == first
    assert ical_import.parse_count() == parsed
    assert stored(app, therapist["id"]) == rows  # the same rows, ids included


def age(app, calendar_id: int | None = None, days: int = 8) -> None:
    """Move the last good import of a busy calendar (every one by default) back in time."""
    from athlete_sched.db.models import BusyCalendar
    from athlete_sched.extensions import db

    with app.app_context():
        for calendar in db.session.scalars(sa.select(BusyCalendar)):
            if calendar_id in (None, calendar.id):
                calendar.synced_at -= timedelta(days=days)
        db.session.commit()


def test_an_unchanged_body_is_expanded_again_once_its_import_is_a_week_old(app, api,
                                                                          make_therapist):
    import calendar_parses as ical_import

    therapist = make_therapist()
    upload(api, therapist["id"], ics("apple.ics"))
    age(app)
    parsed = ical_import.parse_count()
    assert upload(api, therapist["id"], ics("apple.ics")).get_json()["busy_intervals"] == 8
    assert ical_import.parse_count() == parsed + 1


def test_uploads_of_two_therapists_are_independent(app, api, make_therapist):
    ana, ben = make_therapist(), make_therapist()
    upload(api, ana["id"], ics("google.ics"))
    upload(api, ben["id"], ics("outlook.ics"))
    upload(api, ana["id"], ics("libical.ics"))
    assert spans_of(stored(app, ben["id"])) == [tuple(i) for i in EXPECTED["outlook.ics"]]
    assert spans_of(stored(app, ana["id"])) == [tuple(i) for i in EXPECTED["libical.ics"]]


# --- failures keep the previous import ----------------------------------------------------

@pytest.mark.parametrize(("data", "code"), [
    (b"\x00\xff\xfe garbage", "calendar-unparsable"),
    (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:tomorrow\r\n", "calendar-unparsable"),
    (PATHOLOGICAL, "calendar-too-complex"),
    (calendar("DTSTART:20270110T090000Z\nDURATION:PT1H\nRRULE:FREQ=MINUTELY;COUNT=1000000000"),
     "calendar-too-complex"),
], ids=["bad-bytes", "broken-calendar", "secondly", "minutely-count-a-billion"])
def test_a_failed_import_is_422_and_the_previous_one_stays(app, api, make_therapist, data,
                                                            code):
    therapist = make_therapist()
    upload(api, therapist["id"], ics("google.ics"))
    before, shown = stored(app, therapist["id"]), api.get(url(therapist["id"])).get_json()
    assert_error(upload(api, therapist["id"], data), 422, code, "body")
    assert stored(app, therapist["id"]) == before
    assert api.get(url(therapist["id"])).get_json() == shown


def padded(size: int) -> bytes:
    """The Google fixture grown past `size` bytes with X- properties (still valid)."""
    data = ics("google.ics")
    head, tail = data.split(b"BEGIN:VTIMEZONE", 1)
    line = b"X-PADDING:" + b"x" * 62 + b"\r\n"
    return head + line * max(0, (size - len(data)) // len(line) + 1) + b"BEGIN:VTIMEZONE" + tail


def test_up_to_5_mib_is_accepted_on_this_route_only(app, api, make_therapist):
    therapist = make_therapist()
    big = padded(1536 * 1024)  # over the API's general 1 MiB limit
    assert len(big) > app.config["MAX_CONTENT_LENGTH"]
    answer = upload(api, therapist["id"], big)
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    assert answer.get_json()["busy_intervals"] == 9
    other = api.post("/api/v1/therapists", data=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                     headers={"Content-Type": "application/json"})
    assert_error(other, 413, "body-too-large")


def test_over_5_mib_is_413_and_the_previous_import_stays(app, api, make_therapist):
    import io

    therapist = make_therapist()
    upload(api, therapist["id"], ics("apple.ics"))
    before = stored(app, therapist["id"])
    limit = app.config["CALENDAR_MAX_BYTES"]
    assert limit == 5 * 1024 * 1024
    error = assert_error(upload(api, therapist["id"], padded(limit + 100)), 413,
                         "body-too-large")
    assert str(limit) in error["message"]
    chunked = api.put(url(therapist["id"]), input_stream=io.BytesIO(padded(limit + 100)),
                      headers={"Content-Type": "text/calendar", "Transfer-Encoding": "chunked"},
                      environ_overrides={"wsgi.input_terminated": True})
    assert_error(chunked, 413, "body-too-large")
    assert stored(app, therapist["id"]) == before


@pytest.mark.parametrize("content_type", ["application/json", "application/octet-stream",
                                          "text/plain"])
def test_another_content_type_is_415(api, make_therapist, content_type):
    therapist = make_therapist()
    assert_error(upload(api, therapist["id"], ics("google.ics"), content_type), 415,
                 "unsupported-media-type")


# --- access -------------------------------------------------------------------------------

def test_only_the_therapist_and_admins_see_or_change_the_upload(app, api, make_therapist,
                                                                make_user):
    therapist = make_therapist()
    own = api.as_(make_user("therapist", therapist["email"]))
    assert upload(own, therapist["id"], ics("google.ics")).status_code == 200
    assert own.get(url(therapist["id"])).get_json()["busy_intervals"] == 9
    for role in ("therapist", "coach", "athlete"):
        stranger = api.as_(make_user(role))
        assert_error(stranger.get(url(therapist["id"])), 404, "not-found")
        assert_error(upload(stranger, therapist["id"], ics("apple.ics")), 404, "not-found")
    assert len(stored(app, therapist["id"])) == 9
    assert_error(api.get(url(999999)), 404, "not-found")


# --- booking re-checks busy time ----------------------------------------------------------

def test_a_booking_at_imported_busy_time_is_409_and_next_to_it_is_fine(
        api, make_therapist, make_athlete, make_event):
    """Google's 'Clinic rounds' moved to 15:00-16:00 Berlin on Fri 29 Oct 2027; a race on
    Mon 1 Nov has its pre window on Fri 29 and Sat 30 Oct."""
    therapist = make_therapist()
    upload(api, therapist["id"], ics("google.ics"))
    event = make_event(make_athlete()["id"], start="2027-11-01", end="2027-11-01")
    claim = {"event_id": event["id"], "therapist_id": therapist["id"], "kind": "pre"}
    refused = api.post("/api/v1/bookings", {**claim, "start": "2027-10-29T14:30"})
    assert_error(refused, 409, "slot-taken", "start")
    touching = api.post("/api/v1/bookings", {**claim, "start": "2027-10-29T14:15"})
    assert touching.status_code == 201, touching.get_data(as_text=True)
    assert touching.get_json()["end"] == "2027-10-29T13:00:00Z"  # 15:00 Berlin


def test_a_busy_interval_longer_than_a_week_is_stored_as_pieces_and_blocks_all_of_it(
        app, api, make_therapist, make_athlete, make_event):
    """A three-week holiday in the therapist's calendar: stored as rows of at most 7 days
    (the window queries stop reading at window end + 7 days; migration 0008), counted as one
    interval, and the proposals of a day deep inside it (and of the days around its end)
    avoid exactly the holiday."""
    from athlete_sched.db.queries import MAX_BUSY_SPAN

    therapist = make_therapist()
    data = calendar("DTSTART;VALUE=DATE:20270201\nDTEND;VALUE=DATE:20270222\nSUMMARY:Holiday")
    answer = upload(api, therapist["id"], data)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["busy_intervals"] == 1
    berlin = ZoneInfo("Europe/Berlin")
    holiday = (datetime(2027, 2, 1, tzinfo=berlin).astimezone(UTC),
               datetime(2027, 2, 22, tzinfo=berlin).astimezone(UTC))
    spans = spans_of(stored(app, therapist["id"]))
    assert len(spans) == 3 and all(end - start <= MAX_BUSY_SPAN for start, end in spans)
    assert (spans[0][0], spans[-1][1]) == holiday
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))  # they touch
    assert check_pre_proposals(api, make_athlete, make_event, therapist, date(2027, 2, 17),
                               [holiday]) > 0
    # Sunday 21st (the holiday's last day) and Monday 22nd (free again): exactly the grid.
    check_pre_proposals(api, make_athlete, make_event, therapist, date(2027, 2, 21), [holiday])
