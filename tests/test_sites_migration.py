"""Migration 0014 (sites and travel) keeps every existing proposal, on both backends.

How the comparison is made, and why it is honest: the app's code only runs on the current
schema, so it cannot answer at revision 0013 itself. Instead one clinic is built twice:

1. `before`: a database at head, filled through the real API without any site (therapists
   in Berlin and Denver with weekly hours, athletes, personal races in both zones, a team
   race, bookings). That is the clinic "as before sites existed" (no site, no home, no
   venue: core/sites.py lets a slot be at every site). Its proposals (limit 1000, every
   event, both kinds) and team plan are recorded.
2. `after`: a database migrated to 0013 only, given the very same rows (every column that
   exists at 0013, copied table by table with SQLAlchemy Core), then upgraded to head, so
   0014's data step puts the therapists at sites (one per zone, named after the zone's
   city) and the bookings at their therapist's site.

Then: the sites are "Berlin" and "Denver" with those zones, every therapist is at the site
of its zone, every booking at its therapist's site, and every answer is the recorded one
but for the slots' `site_id` (None before; the therapist's new site after): same times,
therapists, order. Going down to 0013 and up again works and answers the same again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from api.helpers import created
from conftest import NOW, WEEKDAYS_8_TO_18, Api, migrate

SKIP_TABLES = {"alembic_version", "data_version", "schedule_version"}


@pytest.fixture
def scratch(database: str, tmp_path) -> Iterator[Callable[[], str]]:
    """scratch() -> the URL of a new empty database on the backend of `database`."""
    from conftest import _create_pg_database, _drop_pg_database, backend_of

    made: list[tuple[str, Any]] = []
    files = iter(range(1000))

    def make() -> str:
        if backend_of(database) == "sqlite":
            return f"sqlite:///{tmp_path / f'scratch{next(files)}.db'}"
        made.append(_create_pg_database())
        return made[-1][0]

    yield make
    for url, admin in made:
        _drop_pg_database(url, admin)


def app_on(url: str):
    from athlete_sched import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "test",
                       "FROZEN_NOW": NOW.isoformat()})


def admin_api(app) -> Api:
    from athlete_sched.extensions import db
    from athlete_sched.services.accounts import create_user

    with app.app_context():
        _, token = create_user("admin@test.example", "admin")
        db.session.commit()
    return Api(app.test_client(), token)


def build_clinic(api: Api) -> dict[str, Any]:
    """Two Berlin therapists (one with a buffer) and a Denver one, three athletes, races in
    both zones, a team race, and bookings; no site anywhere."""
    def therapist(**fields: Any) -> int:
        body = {"name": "PT", "timezone": "Europe/Berlin", "working_hours": WEEKDAYS_8_TO_18,
                **fields}
        return created(api.post("/api/v1/therapists", body))["id"]

    def athlete(**fields: Any) -> int:
        body = {"name": "Mara", "sport": "running", "timezone": "Europe/Berlin", **fields}
        return created(api.post("/api/v1/athletes", body))["id"]

    def event(**fields: Any) -> int:
        body = {"name": "Rennsteig Marathon", "sport": "running", "timezone": "Europe/Berlin",
                "start": "2027-05-15T08:00", "end": "2027-05-15T12:30", **fields}
        return created(api.post("/api/v1/events", body))["id"]

    berlin = therapist(email="berlin@clinic.test", buffer_minutes=10)
    therapist(email="berlin2@clinic.test", session_minutes=60, slot_step_minutes=30)
    denver = therapist(email="denver@clinic.test", timezone="America/Denver",
                       working_hours=[{"day": d, "start": "07:00", "end": "19:00"}
                                      for d in ("mon", "tue", "wed", "thu", "fri", "sun")])
    mara, jo = athlete(email="mara@a.test"), athlete(email="jo@a.test")
    kim = athlete(email="kim@a.test", timezone="America/Denver")
    events = [event(athlete_id=mara), event(athlete_id=jo),
              event(athlete_id=kim, name="Colorado Trail", timezone="America/Denver",
                    start="2027-06-10T09:00", end="2027-06-13T14:00")]
    team = created(api.post("/api/v1/teams", {"name": "Riders"}))["id"]
    for member in (mara, kim):
        created(api.post(f"/api/v1/teams/{team}/members", {"athlete_id": member}))
    team_event = event(team_id=team, name="Club Relay", start="2027-06-05", end="2027-06-05")
    events.append(team_event)
    for body in ({"event_id": events[0], "kind": "pre", "therapist_id": berlin,
                  "start": "2027-05-12T09:00"},
                 {"event_id": events[1], "kind": "post", "therapist_id": berlin,
                  "start": "2027-05-17T09:00"},
                 {"event_id": events[2], "kind": "pre", "therapist_id": denver,
                  "start": "2027-06-07T08:00"}):
        created(api.post("/api/v1/bookings", body))
    return {"events": events, "team_event": team_event}


def answers(api: Api, clinic: dict[str, Any]) -> dict[str, Any]:
    """Every event's proposals and the team plan, as JSON."""
    found: dict[str, Any] = {}
    for event_id in clinic["events"]:
        response = api.get(f"/api/v1/events/{event_id}/proposals",
                           query_string={"limit": 1000})
        assert response.status_code == 200, response.get_json()
        found[f"proposals {event_id}"] = response.get_json()
    plan = api.post(f"/api/v1/events/{clinic['team_event']}/plan")
    assert plan.status_code == 200, plan.get_json()
    found["plan"] = plan.get_json()
    return found


def without_sites(value: Any, seen: list[Any]) -> Any:
    """`value` without any "site_id" key (each one's value collected in `seen`)."""
    if isinstance(value, dict):
        if "site_id" in value:
            seen.append(value["site_id"])
        return {k: without_sites(v, seen) for k, v in value.items() if k != "site_id"}
    if isinstance(value, list):
        return [without_sites(v, seen) for v in value]
    return value


def copy_rows(source: str, target: str) -> None:
    """Every row of `source` into `target` (at an older revision): the columns the target
    has, table by table in foreign-key order."""
    source_engine, target_engine = sa.create_engine(source), sa.create_engine(target)
    try:
        have, want = sa.MetaData(), sa.MetaData()
        have.reflect(source_engine)
        want.reflect(target_engine)
        with source_engine.connect() as read, target_engine.begin() as write:
            for table in want.sorted_tables:
                if table.name in SKIP_TABLES:
                    continue
                if any(c.name not in have.tables[table.name].c for c in table.columns):
                    continue  # renamed since (calendar_feed.token, 0016): no proposal reads it
                columns = [have.tables[table.name].c[c.name] for c in table.columns]
                rows = [dict(r._mapping) for r in read.execute(sa.select(*columns))]
                if rows:
                    write.execute(table.insert(), rows)
            if target_engine.dialect.name == "postgresql":  # ids go on after the copied
                for table in want.sorted_tables:
                    if "id" in table.c and table.name not in SKIP_TABLES:
                        write.execute(sa.text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"coalesce((SELECT max(id) FROM {table.name}), 0) + 1, false)"))
    finally:
        source_engine.dispose()
        target_engine.dispose()


def replies_on(url: str, token: str, clinic: dict[str, Any]) -> dict[str, Any]:
    from athlete_sched.extensions import db

    app = app_on(url)
    try:
        return answers(Api(app.test_client(), token), clinic)
    finally:
        with app.app_context():
            db.engine.dispose()


def test_the_upgrade_keeps_every_proposal_and_puts_therapists_at_sites(scratch):
    from athlete_sched.extensions import db

    before, after = scratch(), scratch()
    migrate(before)
    app = app_on(before)
    api = admin_api(app)
    clinic = build_clinic(api)
    recorded = answers(api, clinic)
    with app.app_context():
        db.engine.dispose()
    old_sites: list[Any] = []
    expected = without_sites(recorded, old_sites)
    assert set(old_sites) == {None} and len(old_sites) > 50  # no site before, many slots

    migrate(after, "0013")
    copy_rows(before, after)
    migrate(after)
    engine = sa.create_engine(after)
    try:
        with engine.connect() as conn:
            sites = dict(conn.execute(sa.text("SELECT name, timezone FROM site")).all())
            assert sites == {"Berlin": "Europe/Berlin", "Denver": "America/Denver"}
            at = conn.execute(sa.text(
                "SELECT therapist.timezone, site.timezone FROM therapist "
                "JOIN site ON site.id = therapist.site_id")).all()
            assert len(at) == 3 and all(mine == theirs for mine, theirs in at)
            booked = conn.execute(sa.text(
                "SELECT booking.site_id, therapist.site_id FROM booking "
                "JOIN therapist ON therapist.id = booking.therapist_id")).all()
            assert len(booked) == 3 and all(b == t and b is not None for b, t in booked)
            assert conn.execute(sa.text(
                "SELECT count(*) FROM athlete WHERE home_site_id IS NOT NULL")).scalar() == 0
            assert conn.execute(sa.text(
                "SELECT count(*) FROM event WHERE venue_site_id IS NOT NULL OR "
                "travel_depart IS NOT NULL")).scalar() == 0
            therapist_site = dict(conn.execute(sa.text(
                "SELECT id, site_id FROM therapist")).all())
    finally:
        engine.dispose()

    new_sites: list[Any] = []
    upgraded = replies_on(after, api.token, clinic)
    assert without_sites(upgraded, new_sites) == expected
    assert len(new_sites) == len(old_sites) and None not in new_sites
    for reply in upgraded.values():  # each slot at its therapist's new site
        slots = reply.get("pre", []) + reply.get("post", []) + [
            a[k] for a in reply.get("assignments", []) for k in ("pre", "post") if a[k]]
        assert all(s["site_id"] == therapist_site[s["therapist_id"]] for s in slots)

    # Down to 0013 and up again: the same sites, the same answers.
    migrate(after, "0013", down=True)
    engine = sa.create_engine(after)
    try:
        assert "site" not in sa.inspect(engine).get_table_names()
        assert "site_id" not in {c["name"] for c in sa.inspect(engine).get_columns("therapist")}
    finally:
        engine.dispose()
    migrate(after)
    again: list[Any] = []
    assert without_sites(replies_on(after, api.token, clinic), again) == expected
    assert None not in again
