"""Team bookings racing each other over shared therapists, against a real multi-worker server.

A gunicorn server with 4 worker processes runs on the test database (SQLite and
PostgreSQL, via the `database` fixture); teams, athletes, therapists and events are made
in-process through the API (conftest's factories, same database). In each round four
coaches' `POST /events/{id}/book-team` requests leave together (one thread and
`requests.Session` each, released by a `threading.Barrier`). What is checked is what a
client and the database can see, nothing inside the app:

- every answer is 201 or 409, never a 500;
- a team is booked all or nothing: a 201's bookings are exactly the event's confirmed
  bookings, a 409 leaves the event without any; a booked member has a pre and a post;
- 409 means a real conflict: with a plan sent back, one of its slots was taken by a team
  that won; without a body ("book a fresh plan"), only a real shortage of capacity, so
  that capacity is ample -> every team is booked, and after a shortage no team that was
  refused (or left members out) could be placed now;
- no overlap: a self-join over the booking table finds no therapist booked twice in a
  blocked range (`[start, block_end)`), no athlete twice at once, and no athlete with two
  confirmed sessions of one kind for one event.

Each round uses its own week (race on a Saturday, pre window Wed + Thu, post window Sat
13:30 to the end of Tue), so the rounds share the therapists but not their free time.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from threading import Barrier
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
import sqlalchemy as sa
from server import Server, serve  # tests/ is on sys.path (rootdir)

pytestmark = pytest.mark.slow
BARRIER_TIMEOUT_S = 30
REQUEST_TIMEOUT_S = 60
TEAMS, MEMBERS = 4, 4
FIRST_RACE = date(2027, 5, 15)  # a Saturday; round r races r weeks later
BUFFER = 10  # minutes every therapist here keeps clear after a session


@pytest.fixture(scope="module")
def server(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`gunicorn -w 4 wsgi:app` on the backend's test database, for this module."""
    yield from serve(database, tmp_path_factory.mktemp("gunicorn-team-race"))


@pytest.fixture
def engine(database: str) -> Iterator[sa.Engine]:
    """A plain engine on the test database, for the self-join only."""
    found = sa.create_engine(database)
    yield found
    found.dispose()


# --- the clinic -----------------------------------------------------------------------------

@dataclass
class Team:
    id: int
    members: list[int]
    event_id: int = 0
    plan: dict[str, Any] = field(default_factory=dict)


def new_team(api, make_athlete, size: int) -> Team:
    team = api.post("/api/v1/teams", {"name": f"Team {uuid.uuid4().hex[:6]}"})
    assert team.status_code == 201, team.get_json()
    members = []
    for _ in range(size):
        athlete = make_athlete()["id"]
        added = api.post(f"/api/v1/teams/{team.get_json()['id']}/members",
                         {"athlete_id": athlete})
        assert added.status_code == 201, added.get_json()
        members.append(athlete)
    return Team(team.get_json()["id"], members)


def race_day(round_: int) -> str:
    return (FIRST_RACE + timedelta(weeks=round_)).isoformat()


def new_round(api, make_athlete, make_event, round_: int, teams: int = TEAMS,
              members: int = MEMBERS) -> list[Team]:
    """Fresh teams, each with its own team event on the round's Saturday (same windows)."""
    found = []
    for i in range(teams):
        team = new_team(api, make_athlete, members)
        day = race_day(round_)
        team.event_id = make_event(team_id=team.id, name=f"Stage race {round_}.{i}",
                                   sport="mtb", start=f"{day}T08:00",
                                   end=f"{day}T12:30")["id"]
        found.append(team)
    return found


# --- racing ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    team: Team
    status: int
    answer: dict[str, Any]

    @property
    def code(self) -> str | None:
        return self.answer.get("error", {}).get("code")


def _book_together(url: str, token: str, team: Team, body: dict[str, Any] | None,
                   barrier: Barrier) -> Outcome:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {token}"
        barrier.wait()
        target = f"{url}/api/v1/events/{team.event_id}/book-team"
        # No body at all (not even `{}`): "book a fresh plan".
        response = (session.post(target, timeout=REQUEST_TIMEOUT_S) if body is None
                    else session.post(target, json=body, timeout=REQUEST_TIMEOUT_S))
    try:
        answer = response.json()
    except ValueError:
        answer = {"raw": response.text[:500]}
    return Outcome(team, response.status_code, answer)


def race(server: Server, token: str, teams: list[Team],
         bodies: list[dict[str, Any] | None]) -> list[Outcome]:
    """Every team's book-team at once, one thread and session each; in team order."""
    barrier = Barrier(len(teams), timeout=BARRIER_TIMEOUT_S)
    with ThreadPoolExecutor(max_workers=len(teams)) as pool:
        futures = [pool.submit(_book_together, server.url, token, team, body, barrier)
                   for team, body in zip(teams, bodies, strict=True)]
        return [f.result() for f in futures]


# --- what is stored -------------------------------------------------------------------------

def event_bookings(api, event_id: int) -> list[dict[str, Any]]:
    """The event's confirmed bookings, through the API (every page)."""
    found, url = [], f"/api/v1/bookings?event_id={event_id}&status=confirmed&limit=1000"
    while url:
        answer = api.get(url)
        assert answer.status_code == 200, answer.get_json()
        page = answer.get_json()
        found += page["items"]
        url = page["next"] and urlunsplit(("", "", *urlsplit(page["next"])[2:]))
    return found


def sessions(bookings: list[dict[str, Any]]) -> list[tuple[int, str, int, str]]:
    return sorted((b["athlete_id"], b["kind"], b["therapist_id"], b["start"]) for b in bookings)


# Pairs of confirmed bookings that must never coexist: one therapist's blocked ranges
# (session + buffer) meeting, one athlete's sessions meeting, or one athlete holding two
# sessions of one kind for one event. Instants compare as timestamptz on PostgreSQL and as
# the same UTC text format on SQLite.
CLASHES_SQL = """
SELECT 'therapist', x.id, y.id FROM booking x, booking y
 WHERE x.therapist_id = y.therapist_id AND x.id < y.id
   AND x.status = 'confirmed' AND y.status = 'confirmed'
   AND x.start < y.block_end AND y.start < x.block_end
UNION ALL
SELECT 'athlete', x.id, y.id FROM booking x, booking y
 WHERE x.athlete_id = y.athlete_id AND x.id < y.id
   AND x.status = 'confirmed' AND y.status = 'confirmed'
   AND x.start < y."end" AND y.start < x."end"
UNION ALL
SELECT 'same kind', MIN(id), MAX(id) FROM booking
 WHERE status = 'confirmed' AND kind IN ('pre', 'post')
 GROUP BY athlete_id, event_id, kind HAVING COUNT(*) > 1
"""


def clashes(engine: sa.Engine) -> list[tuple[str, int, int]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(CLASHES_SQL))]


# --- judging the rounds ---------------------------------------------------------------------

@dataclass
class Tally:
    """Everything a test saw over its rounds, asserted at the end so a failure shows all
    the figures (status counts per round, what went wrong, the server's errors since the
    test began; the server runs for the whole module)."""

    server: Server
    rounds: list[Counter] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    log_start: int = -1

    def __post_init__(self) -> None:
        self.log_start = len(self.server.log())

    def add(self, outcomes: list[Outcome]) -> None:
        self.rounds.append(Counter(o.status for o in outcomes))
        for o in outcomes:
            if o.status not in (201, 409):
                self.problems.append(f"round {len(self.rounds)}: team {o.team.id} answered "
                                     f"{o.status} {str(o.answer)[:200]}")

    def check(self, ok: bool, message: str) -> None:
        if not ok:
            self.problems.append(f"round {len(self.rounds)}: {message}")

    def summary(self) -> str:
        log = self.server.log()[self.log_start:]
        errors = Counter(line.split(":")[0].strip() for line in log.splitlines()
                         if line.startswith(("psycopg.", "sqlalchemy.", "sqlite3.")))
        return (f"statuses over {len(self.rounds)} rounds: {dict(sum(self.rounds, Counter()))}"
                f"; per round: {[dict(c) for c in self.rounds]}; errors in the server log "
                f"(GUNICORN_CMD_ARGS=--capture-output puts the app's there): {dict(errors)}")

    def assert_clean(self) -> None:
        print(self.summary())  # the figures, also when all is well (pytest -rP shows them)
        log = self.server.log()[self.log_start:]
        assert not self.problems, (self.summary() + "\n" + "\n".join(self.problems[:20])
                                   + f"\n--- server log (tail) ---\n{log[-3000:]}")


def check_all_or_nothing(api, tally: Tally, outcomes: list[Outcome]) -> dict[int, list]:
    """A 201's bookings are the event's confirmed bookings and every booked member has a
    pre and a post; a 409 leaves the event without any. The stored bookings per team."""
    stored = {}
    for o in outcomes:
        rows = event_bookings(api, o.team.event_id)
        stored[o.team.id] = rows
        if o.status == 201:
            tally.check(sessions(o.answer.get("bookings", [])) == sessions(rows),
                        f"team {o.team.id}: the 201 answer and the stored bookings differ")
        elif o.status == 409:
            tally.check(rows == [], f"team {o.team.id}: answered 409 with {len(rows)} "
                        "bookings stored")
        kinds = Counter((r["athlete_id"], r["kind"]) for r in rows)
        for athlete in {r["athlete_id"] for r in rows}:
            tally.check(kinds[(athlete, "pre")] == 1 and kinds[(athlete, "post")] == 1,
                        f"team {o.team.id}: athlete {athlete} is half booked ({dict(kinds)})")
    return stored


@pytest.fixture
def pool(make_therapist) -> list[int]:
    """Five therapists shared by every team: Mon-Sat 08-12 and 13-18 Berlin, 45-minute
    sessions on a 15-minute grid, 10 minutes of buffer."""
    return [make_therapist(name=f"Therapist {i}", buffer_minutes=BUFFER)["id"]
            for i in range(5)]


# --- a) fresh plans, ample capacity ---------------------------------------------------------

ROUNDS_FRESH = 8


def test_four_teams_booking_fresh_plans_at_once_are_all_booked(
        api, server, engine, pool, make_athlete, make_event):
    """Four teams of four, one pool of five therapists with room for many more: every
    `book-team` without a body is booked in full, whatever the others do meanwhile (a
    fresh plan that lost a slot to a concurrent booking is planned again)."""
    tally = Tally(server)
    for round_ in range(ROUNDS_FRESH):
        teams = new_round(api, make_athlete, make_event, round_)
        outcomes = race(server, api.token, teams, [None] * len(teams))
        tally.add(outcomes)
        stored = check_all_or_nothing(api, tally, outcomes)
        for o in outcomes:
            tally.check(o.status == 201, f"team {o.team.id}: {o.status} {o.code} although "
                        "capacity is ample")
            tally.check(sorted({r["athlete_id"] for r in stored[o.team.id]}) == o.team.members,
                        f"team {o.team.id}: {len(stored[o.team.id])} bookings stored, "
                        f"not every member's pre and post")
        tally.check(clashes(engine) == [], f"overlapping bookings {clashes(engine)}")
    tally.assert_clean()


# --- b) plans sent back, colliding ----------------------------------------------------------

ROUNDS_SENT = 5


def collides(slot: dict[str, Any], booking: dict[str, Any]) -> bool:
    """Whether a planned slot meets a booking of the same therapist (buffer included)."""
    buffer = timedelta(minutes=BUFFER)
    start, end = (datetime.fromisoformat(slot[k]) for k in ("start", "end"))
    taken_start, taken_end = (datetime.fromisoformat(booking[k]) for k in ("start", "end"))
    return (slot["therapist_id"] == booking["therapist_id"]
            and start < taken_end + buffer and taken_start < end + buffer)


def test_four_teams_sending_colliding_plans_at_once_get_201_or_409(
        api, server, engine, pool, make_athlete, make_event):
    """Each team asks for its plan first, one after the other and before anyone books, so
    the plans want the same best slots of the shared therapists; then all book their plan
    at once. A plan sent back is booked as sent or refused with 409 because one of its
    slots went to a team that won. The assignments' order in a body means nothing, so team
    k sends its plan rotated by k: no way of locking slot by slot in the body's order can
    pass unnoticed."""
    tally = Tally(server)
    for round_ in range(ROUNDS_SENT):
        teams = new_round(api, make_athlete, make_event, round_)
        bodies = []
        for k, team in enumerate(teams):
            answer = api.post(f"/api/v1/events/{team.event_id}/plan")
            assert answer.status_code == 200, answer.get_json()
            team.plan = answer.get_json()
            assert team.plan["placed"] == MEMBERS, team.plan
            assignments = team.plan["assignments"]
            bodies.append({"assignments": assignments[k:] + assignments[:k]})
        outcomes = race(server, api.token, teams, bodies)
        tally.add(outcomes)
        stored = check_all_or_nothing(api, tally, outcomes)
        won = [b for o in outcomes if o.status == 201 for b in stored[o.team.id]]
        for o in outcomes:
            slots = [a[k] for a in o.team.plan["assignments"] for k in ("pre", "post")]
            if o.status == 201:
                tally.check(sessions(stored[o.team.id]) == sorted(
                    (a["athlete_id"], k, a[k]["therapist_id"], a[k]["start"])
                    for a in o.team.plan["assignments"] for k in ("pre", "post")),
                    f"team {o.team.id}: booked something else than its plan")
            elif o.status == 409:
                tally.check(o.code == "slot-taken", f"team {o.team.id}: 409 {o.code}")
                tally.check(any(collides(s, b) for s in slots for b in won),
                            f"team {o.team.id}: 409 but no slot of its plan was taken")
        tally.check(clashes(engine) == [], f"overlapping bookings {clashes(engine)}")
    tally.assert_clean()


# --- c) a real shortage, fresh plans --------------------------------------------------------

ROUNDS_SHORT = 5


def hours(*periods: tuple[str, str, str]) -> list[dict[str, str]]:
    return [{"day": d, "start": s, "end": e} for d, s, e in periods]


def test_four_teams_booking_fresh_plans_in_a_shortage_book_what_there_is(
        api, server, engine, make_therapist, make_athlete, make_event):
    """Two therapists with few hours: three pre and three post sessions a week (60-minute
    sessions on the hour, no buffer), for four teams of two. Fresh plans at once: 201 or
    409, never 500, nobody half booked, and only a real shortage turns anyone away:
    afterwards no team that was refused or left members out could have a member placed."""
    # A: Wed 09-11 (two pre), Mon 09-10 (one post); B: Thu 09-10 (one pre), Tue 09-11
    # (two post): three athletes a week, eight asking.
    make_therapist(name="Scarce A", session_minutes=60, slot_step_minutes=60,
                   working_hours=hours(("wed", "09:00", "11:00"), ("mon", "09:00", "10:00")))
    make_therapist(name="Scarce B", session_minutes=60, slot_step_minutes=60,
                   working_hours=hours(("thu", "09:00", "10:00"), ("tue", "09:00", "11:00")))
    capacity = 3
    tally = Tally(server)
    for round_ in range(ROUNDS_SHORT):
        teams = new_round(api, make_athlete, make_event, round_, members=2)
        outcomes = race(server, api.token, teams, [None] * len(teams))
        tally.add(outcomes)
        stored = check_all_or_nothing(api, tally, outcomes)
        booked = sum(len({r["athlete_id"] for r in rows}) for rows in stored.values())
        tally.check(booked <= capacity, f"{booked} athletes booked, capacity {capacity}")
        for o in outcomes:
            if len({r["athlete_id"] for r in stored[o.team.id]}) < len(o.team.members):
                again = api.post(f"/api/v1/events/{o.team.event_id}/plan").get_json()
                tally.check(again["placed"] == 0,
                            f"team {o.team.id} ({o.status} {o.code}) was left with "
                            f"{again['placed']} member(s) it could still place")
        tally.check(clashes(engine) == [], f"overlapping bookings {clashes(engine)}")
    tally.assert_clean()
