"""`flask demo` on both backends: the clinic it loads, idempotence, and that every booking it
makes obeys the rules (checked here independently of the services that made them)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from pageutil import DEMO_LOGINS, csrf, sign_in
from sqlalchemy import func, select

from athlete_sched.core.windows import event_span
from athlete_sched.db.models import Athlete, Booking, Event, Therapist, TimeOff
from athlete_sched.extensions import db
from athlete_sched.services import proposals
from athlete_sched.services.common import timing_of, windows_of

NOW = datetime(2027, 1, 4, tzinfo=UTC)  # conftest pins the clock here

MODELS = (Therapist, Athlete, Event, TimeOff, Booking)


def load(runner) -> str:
    """`flask demo` through the CLI runner. The app context is pushed here because the
    runner (unlike the `flask` executable) only pushes one for AppGroup commands."""
    with runner.app.app_context():
        result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    return result.output


def counts(app) -> dict[str, int]:
    with app.app_context():
        return {m.__name__: db.session.scalar(select(func.count()).select_from(m))
                for m in MODELS}


def rows(app, model) -> list:
    with app.app_context():
        found = list(db.session.scalars(select(model)))
        db.session.expunge_all()
        return found


def test_demo_loads_the_clinic(app, runner):
    output = load(runner)
    assert "demo clinic loaded" in output
    for role, (email, password) in DEMO_LOGINS.items():  # the contract's sign-in lines
        assert f"sign in as {role}: {email} {password}" in output.splitlines()
    assert output.splitlines()[-4:] == [f"sign in as {role}: {email} {password}"
                                        for role, (email, password) in DEMO_LOGINS.items()]
    found = counts(app)
    assert found["Therapist"] == 3 and found["Athlete"] >= 4
    assert found["Event"] >= 4 and found["TimeOff"] >= 1 and found["Booking"] >= 4
    therapists = rows(app, Therapist)
    assert {t.timezone for t in therapists} == {"Europe/Berlin", "America/Denver"}
    assert len({(t.session_minutes, t.buffer_minutes, t.slot_step_minutes)
                for t in therapists}) == 3


def test_demo_is_idempotent(app, runner):
    load(runner)
    first = counts(app)
    assert "nothing added" in load(runner)
    assert counts(app) == first


def test_demo_athletes_and_their_races(app, runner):
    load(runner)
    athletes = {a.email: a for a in rows(app, Athlete)}
    events = rows(app, Event)
    runner_ = athletes[DEMO_LOGINS["athlete"][0]]
    assert (runner_.sport, runner_.timezone) == ("running", "Europe/Berlin")
    marathon = [e for e in events if e.athlete_id == runner_.id]
    assert len(marathon) == 1 and not marathon[0].start_is_date and not marathon[0].end_is_date
    by_id = {a.id: a for a in athletes.values()}
    stage = [e for e in events if e.athlete_id is not None  # not the team's relay
             and by_id[e.athlete_id].sport == "mtb"
             and by_id[e.athlete_id].timezone == "America/Denver"]
    assert stage, "a mountain biker in Denver with a stage race"
    for race in stage:
        assert race.start_is_date and race.end_is_date
        tz = ZoneInfo(race.timezone)
        days = race.end.astimezone(tz).date() - race.start.astimezone(tz).date()
        assert days == timedelta(days=2)  # three days, first to last


@pytest.mark.parametrize("clock", [NOW, datetime(2027, 6, 30, 15, 0, tzinfo=UTC)],
                         ids=["pinned", "later-clock"])
def test_demo_events_are_three_to_five_weeks_ahead_of_the_clock(app, runner, clock):
    app.config["FROZEN_NOW"] = clock.isoformat()
    load(runner)
    for event in rows(app, Event):
        assert clock + timedelta(weeks=3) <= event.start <= clock + timedelta(weeks=6), event.name


def _local_minutes(at: datetime, tz: ZoneInfo) -> tuple[int, int]:
    local = at.astimezone(tz)
    return local.weekday(), local.hour * 60 + local.minute


def test_demo_bookings_obey_the_rules(app, runner):
    load(runner)
    with app.app_context():
        bookings = list(db.session.scalars(select(Booking).where(
            Booking.status == "confirmed").order_by(Booking.start)))
        assert bookings
        for booking in bookings:
            therapist = db.session.get(Therapist, booking.therapist_id)
            event = db.session.get(Event, booking.event_id)
            tz = ZoneInfo(therapist.timezone)
            window = getattr(windows_of(event), booking.kind)
            assert window.start <= booking.start and booking.end <= window.end
            assert booking.end - booking.start == timedelta(minutes=therapist.session_minutes)
            assert booking.block_end == booking.end + timedelta(minutes=therapist.buffer_minutes)
            (day, start), (end_day, end) = (_local_minutes(booking.start, tz),
                                            _local_minutes(booking.end, tz))
            assert any(p.day == day == end_day and p.start_minute <= start and end <= p.end_minute
                       for p in therapist.working_hours), "inside one working period"
            for off in db.session.scalars(select(TimeOff).where(
                    TimeOff.therapist_id == therapist.id)):
                assert booking.end <= off.start or off.end <= booking.start
            own = event_span(timing_of(event))
            assert booking.end <= own.start or own.end <= booking.start
        for key in ("therapist_id", "athlete_id"):
            groups: dict[int, list[Booking]] = {}
            for booking in bookings:
                groups.setdefault(getattr(booking, key), []).append(booking)
            for group in groups.values():
                for before, after in pairwise(group):
                    limit = before.block_end if key == "therapist_id" else before.end
                    assert limit <= after.start, f"overlap by {key}"
        kinds = [(b.athlete_id, b.event_id, b.kind) for b in bookings]
        assert len(kinds) == len(set(kinds))


def test_demo_athlete_can_plan_right_away(app, runner):
    load(runner)
    with app.app_context():
        athlete = db.session.scalar(select(Athlete).where(
            Athlete.email == DEMO_LOGINS["athlete"][0]))
        event = db.session.scalar(select(Event).where(Event.athlete_id == athlete.id))
        found = proposals.propose(event, ("pre", "post"), None, None, 8).found
        assert found["pre"] and found["post"]


def test_demo_twice_adds_nothing_and_every_role_signs_in(app, runner):
    """The demo is idempotent, and each printed sign-in opens that role's home page."""
    load(runner)
    first = counts(app)
    assert "nothing added" in load(runner)
    assert counts(app) == first
    homes = {"athlete": "/season", "coach": "/teams", "therapist": "/week", "admin": "/admin"}
    for role, (email, password) in DEMO_LOGINS.items():
        signed = app.test_client()
        assert sign_in(signed, email, password).status_code == 303
        home = signed.get("/")
        assert home.status_code == 302 and home.location == homes[role]
        assert signed.get(homes[role]).status_code == 200


def test_the_demo_therapist_has_a_flag_to_review_right_away(app, runner, client):
    """A newcomer signed in as the demo therapist reviews a screening without setting one
    up first: the week of Lena's pre session with Ana shows her flag, her note and the
    review form; the coach's board shows her state, never her answers."""
    load(runner)
    with app.app_context():
        lena = db.session.scalar(select(Athlete.id).where(
            Athlete.email == "lena.hoffmann@athletes.example"))
        ana = db.session.scalar(select(Therapist.id).where(
            Therapist.email == DEMO_LOGINS["therapist"][0]))
        start = db.session.scalar(select(func.min(Booking.start)).where(
            Booking.athlete_id == lena, Booking.therapist_id == ana,
            Booking.status == "confirmed"))
    day = start.astimezone(ZoneInfo("Europe/Berlin")).date()
    monday = (day - timedelta(days=day.weekday())).isoformat()
    assert sign_in(client, *DEMO_LOGINS["therapist"]).status_code == 303
    page = client.get(f"/week?start={monday}").get_data(as_text=True)
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "Lena Hoffmann" in words and "Blood thinners" in words
    assert "I take a low-dose aspirin every day." in words
    assert f'name="review-{lena}-decision"' in page
    client.post("/sign-out", data={"csrf_token": csrf(client, "/week")})
    assert sign_in(client, *DEMO_LOGINS["coach"]).status_code == 303
    board = client.get("/teams/1/events/1/board").get_data(as_text=True)
    assert "Lena Hoffmann" in board and "aspirin" not in board
    assert "Blood thinners" not in board
