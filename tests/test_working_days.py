"""One-day changes of working hours through the API, on both backends: listing, setting,
replacing and removing a date's own hours; who may; what is refused; and that every road
that offers or checks a slot reads them (proposals, booking, reschedule, team plan, season
view), a daylight-saving date included.

The race: the Rennsteig Marathon, Sat 2027-05-15 08:00-12:30 Berlin (pre window Wed 12 and
Thu 13 May; post window from 13:30 on Sat 15 to the end of Tue 18 May)."""

from __future__ import annotations

import pytest
from api.helpers import assert_error, book, created  # tests/ is on sys.path (rootdir)

MON_TO_FRI = [{"day": d, "start": "08:00", "end": "12:00"}
              for d in ("mon", "tue", "wed", "thu", "fri")]
SHIFT = {"closed": False, "periods": [{"start": "14:00", "end": "18:00"}]}
CLOSED = {"closed": True}


def url(therapist: dict, day: str | None = None) -> str:
    base = f"/api/v1/therapists/{therapist['id']}/working-days"
    return base if day is None else f"{base}/{day}"


def starts(api, event: dict, kind: str, **query: str) -> list[str]:
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    answer = api.get(f"/api/v1/events/{event['id']}/proposals?kind={kind}&limit=1000{extra}")
    assert answer.status_code == 200, answer.get_json()
    return [slot["start"] for slot in answer.get_json()[kind]]


@pytest.fixture
def therapist(make_therapist) -> dict:
    return make_therapist(working_hours=MON_TO_FRI, session_minutes=45, slot_step_minutes=15)


@pytest.fixture
def race(make_athlete, make_event) -> dict:
    return make_event(make_athlete()["id"])


# --- the resource -----------------------------------------------------------------------------

def test_set_list_replace_and_remove_a_day(api, therapist):
    answer = api.put(url(therapist, "2027-05-15"), SHIFT)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {"therapist_id": therapist["id"], "date": "2027-05-15",
                                 "closed": False,
                                 "periods": [{"start": "14:00", "end": "18:00"}]}
    two = {"periods": [{"start": "13:00", "end": "15:00"}, {"start": "08:00", "end": "11:30"}]}
    assert api.put(url(therapist, "2027-05-20"), two).status_code == 200
    assert api.put(url(therapist, "2027-05-13"), CLOSED).status_code == 200
    items = api.get(url(therapist)).get_json()["items"]
    assert [(d["date"], d["closed"], d["periods"]) for d in items] == [
        ("2027-05-13", True, []),
        ("2027-05-15", False, [{"start": "14:00", "end": "18:00"}]),
        ("2027-05-20", False, [{"start": "08:00", "end": "11:30"},
                               {"start": "13:00", "end": "15:00"}])]
    # Replacing a date keeps one change of it.
    assert api.put(url(therapist, "2027-05-15"), CLOSED).get_json()["closed"] is True
    window = api.get(url(therapist) + "?from=2027-05-14&to=2027-05-15").get_json()
    assert window == {"items": [{"therapist_id": therapist["id"], "date": "2027-05-15",
                                 "closed": True, "periods": []}], "next": None}
    assert api.delete(url(therapist, "2027-05-15")).status_code == 204
    assert_error(api.delete(url(therapist, "2027-05-15")), 404, "not-found", "date")
    assert [d["date"] for d in api.get(url(therapist)).get_json()["items"]] == [
        "2027-05-13", "2027-05-20"]


def test_a_long_list_comes_in_pages(api, therapist):
    for day in ("2027-06-01", "2027-06-02", "2027-06-03"):
        assert api.put(url(therapist, day), CLOSED).status_code == 200
    first = api.get(url(therapist) + "?limit=2").get_json()
    assert [d["date"] for d in first["items"]] == ["2027-06-01", "2027-06-02"]
    rest = api.get(first["next"].split("localhost", 1)[1]).get_json()
    assert [d["date"] for d in rest["items"]] == ["2027-06-03"] and rest["next"] is None


@pytest.mark.parametrize(("day", "body", "field"), [
    ("2027-05-15", {"closed": True, "periods": [{"start": "08:00", "end": "09:00"}]}, "body"),
    ("2027-05-15", {"closed": False}, "body"),
    ("2027-05-15", {}, "body"),
    ("2027-05-15", {"periods": [{"start": "10:00", "end": "09:00"}]}, "periods.0"),
    ("2027-05-15", {"periods": [{"start": "24:00", "end": "25:00"}]}, "periods.0.start"),
    ("2027-05-15", {"periods": [{"start": "08:00", "end": "12:00"},
                                {"start": "11:00", "end": "13:00"}]}, "periods"),
    ("2027-05-15", {"closed": "yes"}, "closed"),
    ("15.05.2027", CLOSED, "date"),
    ("2027-02-30", CLOSED, "date"),
    ("0999-01-01", CLOSED, "date"),
])
def test_bad_days_are_refused_and_nothing_is_kept(api, therapist, day, body, field):
    assert_error(api.put(url(therapist, day), body), 422, field=field)
    assert api.get(url(therapist)).get_json()["items"] == []


def test_the_therapist_and_admins_only(api, therapist, make_therapist, make_user):
    own = api.as_(make_user("therapist", therapist["email"]))
    assert own.put(url(therapist, "2027-05-15"), SHIFT).status_code == 200
    assert own.get(url(therapist)).status_code == 200
    other = make_therapist()
    assert_error(own.put(url(other, "2027-05-15"), SHIFT), 403)
    assert_error(own.get(url(other)), 403)
    for role in ("athlete", "coach"):
        caller = api.as_(make_user(role))
        assert_error(caller.put(url(therapist, "2027-05-16"), SHIFT), 403)
        assert_error(caller.delete(url(therapist, "2027-05-15")), 403)
    assert_error(api.as_("unknown").get(url(therapist)), 401)
    assert_error(api.put(url({"id": 999999}, "2027-05-15"), SHIFT), 404)
    assert [d["date"] for d in api.get(url(therapist)).get_json()["items"]] == ["2027-05-15"]


# --- every road reads them --------------------------------------------------------------------

def test_a_closed_day_has_no_slots_and_refuses_a_booking(api, therapist, race):
    before = starts(api, race, "pre")
    assert any(s.startswith("2027-05-13") for s in before)  # Thu 13 May, 08:00-12:00 Berlin
    assert api.put(url(therapist, "2027-05-13"), CLOSED).status_code == 200
    after = starts(api, race, "pre")
    assert after == [s for s in before if not s.startswith("2027-05-13")] and after
    refused = api.post("/api/v1/bookings", {"event_id": race["id"], "kind": "pre",
                                            "therapist_id": therapist["id"],
                                            "start": "2027-05-13T09:00"})
    assert_error(refused, 422, "outside-working-hours", "start")
    # A session booked on Wednesday cannot be moved onto the closed Thursday either.
    booking = book(api, race["id"], therapist["id"], "pre", "2027-05-12T09:00")
    moved = api.patch(f"/api/v1/bookings/{booking['id']}", {"start": "2027-05-13T09:00"})
    assert_error(moved, 422, "outside-working-hours")
    assert api.delete(url(therapist, "2027-05-13")).status_code == 204
    assert api.patch(f"/api/v1/bookings/{booking['id']}",
                     {"start": "2027-05-13T09:00"}).status_code == 200


def test_a_race_weekend_shift_opens_a_day_with_no_weekly_hours(api, therapist, race):
    """Saturday is no working day of the therapist's week: the shift alone opens it."""
    assert starts(api, race, "post")[0] == "2027-05-17T06:00:00Z"  # Monday 08:00 Berlin
    assert api.put(url(therapist, "2027-05-15"), SHIFT).status_code == 200
    post = starts(api, race, "post")
    saturday = [s for s in post if s.startswith("2027-05-15")]
    # 14:00-18:00 Berlin (UTC+2), 45 minutes on a 15-minute grid: 12:00Z ... 15:15Z.
    assert saturday[0] == "2027-05-15T12:00:00Z" and saturday[-1] == "2027-05-15T15:15:00Z"
    assert len(saturday) == 14 and post[0] == saturday[0]
    assert not any(s.startswith("2027-05-16") for s in post)  # Sunday stays closed
    booked = book(api, race["id"], therapist["id"], "post", "2027-05-15T14:00")
    assert booked["start"] == "2027-05-15T12:00:00Z"


def test_a_shift_on_the_day_clocks_go_forward_keeps_its_wall_clock(api, therapist, make_athlete,
                                                                   make_event):
    """Berlin goes from UTC+1 to UTC+2 at 02:00 on Sun 2027-03-28: a 09:00-12:00 shift
    runs 07:00Z-10:00Z that day, 08:00Z-11:00Z the day before (cut by the post window, which
    opens at the finish + 60 minutes: 10:00 CET)."""
    race = make_event(make_athlete()["id"], start="2027-03-27T08:00", end="2027-03-27T09:00")
    for day in ("2027-03-27", "2027-03-28"):
        body = {"periods": [{"start": "09:00", "end": "12:00"}]}
        assert api.put(url(therapist, day), body).status_code == 200
    post = starts(api, race, "post")
    assert post[0] == "2027-03-27T09:00:00Z"  # Saturday 10:00 CET: the finish + 60 min
    sunday = [s for s in post if s.startswith("2027-03-28")]
    assert sunday[0] == "2027-03-28T07:00:00Z" and sunday[-1] == "2027-03-28T09:15:00Z"


def test_the_team_plan_and_the_season_read_the_changes(api, therapist, make_athlete,
                                                        make_event):
    athlete = make_athlete()
    team = created(api.post("/api/v1/teams", {"name": "Trail Club"}))
    created(api.post(f"/api/v1/teams/{team['id']}/members", {"athlete_id": athlete["id"]}))
    relay = make_event(team_id=team["id"], name="Club Relay")  # Sat 15 May
    for day in ("2027-05-12", "2027-05-13"):  # the whole pre window closed
        assert api.put(url(therapist, day), CLOSED).status_code == 200
    plan = api.post(f"/api/v1/events/{relay['id']}/plan").get_json()
    assert plan["placed"] == 0 and plan["unplaced"] == [athlete["id"]], plan
    season = api.get(f"/api/v1/athletes/{athlete['id']}/season?from=2027-05-01&to=2027-06-01")
    assert season.status_code == 200, season.get_json()
    slots = [slot["start"] for s in season.get_json()["suggestions"] if s["kind"] == "pre"
             for slot in s["slots"]]
    assert not any(s.startswith(("2027-05-12", "2027-05-13")) for s in slots)
    assert api.delete(url(therapist, "2027-05-12")).status_code == 204
    plan = api.post(f"/api/v1/events/{relay['id']}/plan").get_json()
    assert plan["placed"] == 1, plan
    assert plan["assignments"][0]["pre"]["start"].startswith("2027-05-12")


# --- the migration and the database's own rules -----------------------------------------------

@pytest.fixture
def scratch_database(database: str, tmp_path):
    """An empty database on the same backend, for migrating up and down."""
    from conftest import _create_pg_database, _drop_pg_database, backend_of

    if backend_of(database) == "sqlite":
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    url, admin = _create_pg_database()
    try:
        yield url
    finally:
        _drop_pg_database(url, admin)


def test_migration_0011_adds_the_tables_with_their_rules_and_goes_back(scratch_database):
    import sqlalchemy as sa
    from conftest import migrate
    from sqlalchemy.exc import IntegrityError

    migrate(scratch_database, "0010")
    engine = sa.create_engine(scratch_database)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO therapist (id, name, email, timezone, "
                                 "session_minutes, buffer_minutes, slot_step_minutes) VALUES "
                                 "(1, 'Ana', 'ana@m.test', 'Europe/Berlin', 45, 0, 15)"))
        migrate(scratch_database)
        version = "SELECT sum(n) FROM data_version"
        with engine.begin() as conn:
            before = conn.execute(sa.text(version)).scalar_one()
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO working_day (id, therapist_id, day, closed) "
                                 "VALUES (1, 1, '2027-05-15', false)"))
            conn.execute(sa.text("INSERT INTO working_day_period (working_day_id, "
                                 "start_minute, end_minute) VALUES (1, 840, 1080)"))
        with engine.begin() as conn:
            after = conn.execute(sa.text(version)).scalar_one()
        if engine.dialect.name == "postgresql":  # cached proposals must see the change
            assert after > before
        for refused in ("INSERT INTO working_day (therapist_id, day, closed) "
                        "VALUES (1, '2027-05-15', true)",
                        "INSERT INTO working_day_period (working_day_id, start_minute, "
                        "end_minute) VALUES (1, 900, 900)",
                        "INSERT INTO working_day_period (working_day_id, start_minute, "
                        "end_minute) VALUES (1, 900, 1441)"):
            with pytest.raises(IntegrityError), engine.begin() as conn:
                conn.execute(sa.text(refused))
        with engine.begin() as conn:  # deleted with the therapist
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA foreign_keys = ON")
            conn.execute(sa.text("DELETE FROM therapist"))
            assert conn.execute(sa.text("SELECT count(*) FROM working_day_period")
                                ).scalar_one() == 0
        migrate(scratch_database, "0010", down=True)
        assert not {"working_day", "working_day_period"} & set(sa.inspect(engine)
                                                                 .get_table_names())
        migrate(scratch_database)
    finally:
        engine.dispose()
