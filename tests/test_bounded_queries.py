"""The window queries read only rows near the window (db/queries/, migration 0002):
their bounds must still find every row that touches the window, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from athlete_sched.core.intervals import Interval
from athlete_sched.db.models import Athlete, Booking, Event, Therapist
from athlete_sched.db.queries import MAX_BUSY_SPAN, events, therapists
from athlete_sched.db.queries.bookings import athlete_sessions_in
from athlete_sched.db.queries.therapists import schedule_of
from athlete_sched.extensions import db

S = datetime(2027, 3, 10, 8, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


@pytest.fixture
def rows(app, make_therapist, make_athlete, make_event):
    """A therapist, an athlete and their event (made through the API), loaded inside an
    app context for direct inserts."""
    therapist = make_therapist()
    athlete = make_athlete()
    event = make_event(athlete["id"], start="2027-03-15T09:00", end="2027-03-15T12:00")
    with app.app_context():
        yield (db.session.get(Therapist, therapist["id"]), db.session.get(Athlete, athlete["id"]),
               db.session.get(Event, event["id"]))
        db.session.rollback()


def bookings(therapist_id: int, spans: list[Interval]) -> list[Interval]:
    """The therapist's bookings touching `spans`, as proposals read them."""
    return therapists.blocked_and_booked_in([therapist_id], spans, spans)[1].get(therapist_id, [])


def sessions(athlete_id: int, spans: list[Interval]) -> list[Interval]:
    """The athlete's sessions touching `spans`, as the season rules read them."""
    return [s.interval for s in athlete_sessions_in(athlete_id, spans)]


def _booking(therapist, athlete, event, start, minutes, buffer, kind="pre", uid="u1"):
    return Booking(event_id=event.id, athlete_id=athlete.id, therapist_id=therapist.id,
                   kind=kind, start=start, end=start + minutes * MIN,
                   block_end=start + (minutes + buffer) * MIN, status="confirmed", uid=uid,
                   sequence=0, notes="", created_at=S, updated_at=S)


@pytest.mark.parametrize(("minutes", "buffer", "refused"), [
    (480, 240, False),  # the longest the API can make: 720 minutes blocked
    (480, 241, True),   # one minute more: the query bound would miss it, so it is refused
    (721, 0, True),
])
def test_database_refuses_a_booking_blocking_more_than_720_minutes(rows, minutes, buffer,
                                                                   refused):
    db.session.add(_booking(*rows, S, minutes, buffer))
    if refused:
        with pytest.raises(IntegrityError, match="ck_booking_span"):
            db.session.commit()
    else:
        db.session.commit()


def test_database_refuses_stretching_a_booking_past_720_minutes(rows):
    booking = _booking(*rows, S, 480, 240)
    db.session.add(booking)
    db.session.commit()
    booking.block_end += timedelta(seconds=1)
    with pytest.raises(IntegrityError, match="ck_booking_span"):
        db.session.commit()


@pytest.mark.parametrize(("span_start", "found"), [
    (S + 719 * MIN, True),   # the last blocked minute of the longest booking
    (S + 720 * MIN, False),  # touching its block_end is not overlapping
])
def test_therapist_bookings_finds_the_longest_booking_from_its_last_minute(rows, span_start,
                                                                           found):
    therapist = rows[0]
    db.session.add(_booking(*rows, S, 480, 240))
    db.session.commit()
    span = Interval(span_start, span_start + 30 * MIN)
    _, result = therapists.blocked_and_booked_in([therapist.id], [span], [span])
    assert result.get(therapist.id, []) == ([Interval(S, S + 480 * MIN)] if found else [])


@pytest.mark.parametrize(("span_start", "found"), [(S + 479 * MIN, True), (S + 480 * MIN, False)])
def test_athlete_bookings_finds_the_longest_session_from_its_last_minute(rows, span_start,
                                                                         found):
    athlete = rows[1]
    db.session.add(_booking(*rows, S, 480, 240))
    db.session.commit()
    result = sessions(athlete.id, [Interval(span_start, span_start + 30 * MIN)])
    assert result == ([Interval(S, S + 480 * MIN)] if found else [])


def test_in_variants_return_each_row_once_for_overlapping_spans(rows):
    therapist, athlete, event = rows
    db.session.add_all([_booking(*rows, S, 45, 15),
                        _booking(therapist, athlete, event, S + timedelta(days=2), 45, 15,
                                 kind="post", uid="u2")])
    db.session.commit()
    spans = [Interval(S - timedelta(hours=1), S + timedelta(hours=1)),
             Interval(S, S + timedelta(days=3))]
    found = bookings(therapist.id, spans)
    assert sorted(found) == [Interval(S, S + 45 * MIN),
                             Interval(S + timedelta(days=2), S + timedelta(days=2, minutes=45))]
    assert sorted(sessions(athlete.id, spans)) == sorted(found)
    assert bookings(therapist.id, spans[:1]) == found[:1]


def test_athlete_events_include_the_teams_events(api, rows):
    _, athlete, event = rows
    team = api.post("/api/v1/teams", {"name": "Club"}).get_json()
    assert api.post(f"/api/v1/teams/{team['id']}/members",
                    {"athlete_id": athlete.id}).status_code == 201
    body = {"name": "Relay", "sport": "running", "timezone": "UTC"}
    relay = api.post("/api/v1/events", {**body, "team_id": team["id"], "start": "2027-03-16"})
    far = api.post("/api/v1/events", {**body, "athlete_id": athlete.id, "start": "2027-06-01"})
    far_relay = api.post("/api/v1/events", {**body, "team_id": team["id"],
                                             "start": "2027-06-02"})
    early_relay = api.post("/api/v1/events", {**body, "team_id": team["id"],
                                               "start": "2026-12-01"})
    assert {r.status_code for r in (relay, far, far_relay, early_relay)} == {201}
    db.session.rollback()  # see the API's commits
    span = Interval(S, S + timedelta(days=10))
    found = [e.id for e in events.athlete_events_in(athlete.id, [span])]
    assert found == [event.id, relay.get_json()["id"]]
    assert [row.id for row in events.athletes_event_timings_in(
        [athlete.id], [span])[athlete.id]] == found
    assert events.athletes_event_timings_in([athlete.id + 1], [span]) == {}


def test_therapist_rows_give_the_same_schedule_as_the_model(api, make_therapist, app):
    made = make_therapist(timezone="America/Denver", buffer_minutes=10, working_hours=[
        {"day": "sat", "start": "09:00", "end": "13:00"},
        {"day": "mon", "start": "13:00", "end": "23:30"},
        {"day": "mon", "start": "08:00", "end": "12:00"}])
    with app.app_context():
        (row,) = therapists.schedules(made["id"])
        assert row == schedule_of(db.session.get(Therapist, made["id"]))
        assert [r.therapist_id for r in therapists.schedules()] == [made["id"]]


def test_blocked_and_booked_in_one_round_trip_reads_each_by_its_spans(api, rows):
    """blocked_and_booked_in (what proposals read): time off by `spans`, bookings by the
    (buffer-widened) booking spans."""
    therapist, athlete, event = rows
    db.session.add_all([_booking(*rows, S, 45, 15),
                        _booking(therapist, athlete, event, S + timedelta(days=2), 45, 15,
                                 kind="post", uid="u2")])
    db.session.commit()
    for start, end in (("2027-03-10T09:30", "2027-03-10T11:00"),
                       ("2027-03-11", "2027-03-12"), ("2027-03-20", "2027-03-21")):
        # over the bookings on purpose: kept (else 409 sessions-affected)
        assert api.post(f"/api/v1/therapists/{therapist.id}/time-off?affected=keep",
                        {"start": start, "end": end}).status_code == 201
    db.session.rollback()  # see the API's commits
    spans = [Interval(S - timedelta(hours=1), S + timedelta(hours=2)),
             Interval(S + timedelta(days=1), S + timedelta(days=3))]
    wide = [Interval(s.start - 15 * MIN, s.end + 15 * MIN) for s in spans]
    blocked, booked = therapists.blocked_and_booked_in([therapist.id], spans, wide)
    # Berlin (UTC+1): 09:30-11:00 on the 10th, and the whole of the 11th; not the 20th.
    assert sorted(blocked[therapist.id]) == [
        Interval(S + 30 * MIN, S + 2 * timedelta(hours=1)),
        Interval(S + timedelta(hours=15), S + timedelta(days=1, hours=15))]
    assert sorted(booked[therapist.id]) == [
        Interval(S, S + 45 * MIN),
        Interval(S + timedelta(days=2), S + timedelta(days=2) + 45 * MIN)]


def test_a_therapist_without_hours_reads_as_no_hours(app, make_therapist):
    made = make_therapist()
    with app.app_context():
        therapist = db.session.get(Therapist, made["id"])
        therapist.working_hours.clear()
        db.session.commit()
        (row,) = therapists.schedules(made["id"])
        assert row.working_hours == ()
        assert schedule_of(db.session.get(Therapist, made["id"])).working_hours == ()


# --- busy intervals: at most 7 days a row (migration 0008) ----------------------------------

def _busy(therapist, start, length):
    from athlete_sched.db.models import BusyInterval

    return BusyInterval(therapist_id=therapist.id, start=start, end=start + length,
                        source="upload")


@pytest.mark.parametrize(("length", "refused"), [
    (MAX_BUSY_SPAN, False),
    (MAX_BUSY_SPAN + timedelta(seconds=1), True),
])
def test_database_refuses_a_busy_interval_longer_than_7_days(rows, length, refused):
    db.session.add(_busy(rows[0], S, length))
    if refused:
        with pytest.raises(IntegrityError, match="ck_busy_interval_span"):
            db.session.commit()
    else:
        db.session.commit()


def test_database_refuses_stretching_a_busy_interval_past_7_days(rows):
    busy = _busy(rows[0], S, MAX_BUSY_SPAN)
    db.session.add(busy)
    db.session.commit()
    busy.end += timedelta(seconds=1)
    with pytest.raises(IntegrityError, match="ck_busy_interval_span"):
        db.session.commit()


@pytest.mark.parametrize(("span_start", "found"), [
    (S + MAX_BUSY_SPAN - MIN, True),  # the last minute of the longest busy row
    (S + MAX_BUSY_SPAN, False),       # touching its end is not overlapping
])
def test_blocked_time_includes_the_longest_busy_interval_from_its_last_minute(rows, span_start,
                                                                       found):
    therapist = rows[0]
    db.session.add(_busy(therapist, S, MAX_BUSY_SPAN))
    db.session.commit()
    span = Interval(span_start, span_start + 30 * MIN)
    blocked, _ = therapists.blocked_and_booked_in([therapist.id], [span], [span])
    assert blocked.get(therapist.id, []) == (
        [Interval(S, S + MAX_BUSY_SPAN)] if found else [])


def test_therapist_rows_list_the_hours_by_day_and_time_whatever_order_they_were_added(
        app, make_therapist):
    from athlete_sched.db.models import WorkingPeriodRow

    made = make_therapist()
    with app.app_context():
        therapist = db.session.get(Therapist, made["id"])
        therapist.working_hours.clear()
        db.session.flush()
        for day, start, end in ((4, 780, 1020), (0, 480, 720), (4, 480, 720), (0, 60, 120)):
            db.session.add(WorkingPeriodRow(therapist_id=therapist.id, day=day,
                                         start_minute=start, end_minute=end))
        db.session.commit()
        (row,) = therapists.schedules(made["id"])
        assert [(p.day, p.start, p.end) for p in row.working_hours] == [
            (0, time(1), time(2)), (0, time(8), time(12)), (4, time(8), time(12)),
            (4, time(13), time(17))]
        db.session.expire_all()
        assert row == schedule_of(db.session.get(Therapist, made["id"]))
