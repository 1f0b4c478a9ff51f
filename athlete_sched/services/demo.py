"""The demo clinic: `flask --app wsgi demo`.

Two sites (Berlin Mitte, Denver Clinic), three therapists in two time zones, five athletes
with their home sites and races and rides three to six weeks ahead of the services' clock
(so the demo never goes stale; one Berlin athlete races in Denver and travels there), a
coach's team with a team event (nothing booked: the coach's board books it), some time off
and some sessions already booked, and one sign-in per role (LOGINS, printed as the
contract says: `sign in as <role>: <email> <password>`). Idempotent: sites are found by
name, therapists, athletes and users by email, the team by name and coach, events by
(athlete or team, name), time off by (therapist, reason), bookings by (athlete, event,
kind), the screening by its athlete; a second run adds nothing (it gives a home site to a
demo athlete without one).
Everything goes through the services the API uses (bookings through `proposals.propose`
and `bookings.book`, so they obey every rule). Adds and flushes only; the CLI command
runs it as one unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace

from ..core import screening as core_screening
from ..core.kinds import POST, PRE
from ..core.zones import load_zone
from ..db.models import Athlete, Event, Team, Therapist
from ..db.queries import athletes, bookings, events, therapists, users
from ..db.queries import sites as stored_sites
from . import accounts, clinic, proposals, screening, sites
from .bookings import book
from .clinic import DAY_NUMBERS
from .common import now
from .events import create_event

BERLIN, DENVER = "Europe/Berlin", "America/Denver"
BERLIN_SITE, DENVER_SITE = "Berlin Mitte", "Denver Clinic"
SITES = (
    {"name": BERLIN_SITE, "timezone": BERLIN, "address": "Torstraße 140, 10119 Berlin"},
    {"name": DENVER_SITE, "timezone": DENVER, "address": "1600 Wynkoop St, Denver, CO 80202"},
)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def _hours(days: tuple[str, ...], *periods: tuple[str, str]) -> list[SimpleNamespace]:
    """Weekly periods as the services take them: day name, start and end in minutes."""
    def minutes(clock: str) -> int:
        hours, mins = clock.split(":")
        return int(hours) * 60 + int(mins)

    return [SimpleNamespace(day=d, start=minutes(a), end=minutes(b))
            for d in days if d in DAY_NUMBERS for a, b in periods]


THERAPISTS = (
    {"name": "Ana Ruiz", "email": "ana.ruiz@clinic.example", "timezone": BERLIN,
     "site": BERLIN_SITE,
     "session_minutes": 45, "buffer_minutes": 10, "slot_step_minutes": 15,
     "working_hours": _hours(WEEKDAYS, ("08:00", "12:00"), ("13:00", "18:00"))
     + _hours(("sat",), ("09:00", "13:00"))},
    {"name": "Jonas Weber", "email": "jonas.weber@clinic.example", "timezone": BERLIN,
     "site": BERLIN_SITE,
     "session_minutes": 60, "buffer_minutes": 15, "slot_step_minutes": 30,
     "working_hours": _hours(("mon", "wed", "fri"), ("07:30", "12:30"), ("14:00", "17:30"))
     + _hours(("tue", "thu"), ("11:00", "14:00"), ("15:00", "20:00"))
     + _hours(("sat",), ("08:00", "12:00"))},
    {"name": "Kelsey Moreno", "email": "kelsey.moreno@clinic.example", "timezone": DENVER,
     "site": DENVER_SITE,
     "session_minutes": 50, "buffer_minutes": 10, "slot_step_minutes": 20,
     "working_hours": _hours(("mon", "tue", "wed", "thu"), ("07:00", "11:30"),
                             ("12:30", "16:30"))
     + _hours(("fri",), ("07:00", "13:00")) + _hours(("sat",), ("08:00", "12:00"))},
)


@dataclass(frozen=True)
class DemoEvent:
    """A race or ride of one athlete (or the team's: TEAM_EVENT), in days after an anchor
    day, with its bookings: (kind, therapist email) pairs, each booked in the best slot
    that therapist has."""

    athlete_email: str
    name: str
    sport: str
    timezone: str
    anchor: str  # "marathon" (a Sunday) or "stage" (a Friday)
    offset_days: int
    start: time | None = None
    finish: time | None = None
    days: int = 1
    bookings: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    venue: str | None = None  # the name of a site near the venue
    travel: tuple[int, int] | None = None  # leave home days before, back days after


DEMO_ATHLETE = "mara.runner@athletes.example"
COACH_EMAIL = "carla.brandt@coaches.example"
TEAM = ("Havelland Running Club", (DEMO_ATHLETE, "lena.hoffmann@athletes.example",
                                   "tom.becker@athletes.example"))
TEAM_EVENT = DemoEvent("", "Havelland Relay", "running", BERLIN, "marathon", 7,
                       time(10, 0), time(12, 30))
# One sign-in per role: (role, email, name, password). Demo passwords, printed by `demo`.
LOGINS = (
    ("athlete", DEMO_ATHLETE, "Mara Runner", "athlete-demo-2027"),
    ("coach", COACH_EMAIL, "Carla Brandt", "coach-demo-2027"),
    ("therapist", "ana.ruiz@clinic.example", "Ana Ruiz", "therapist-demo-2027"),
    ("admin", "admin@clinic.example", "Clinic admin", "admin-demo-2027"),
)


def demo_email() -> str:
    """The demo athlete's email (the athlete's demo sign-in)."""
    return DEMO_ATHLETE


def _athletes() -> tuple[dict[str, str], ...]:
    return (
        {"name": "Mara Runner", "email": demo_email(),
         "sport": "running", "timezone": BERLIN, "home": BERLIN_SITE},
        {"name": "Diego Alvarez", "email": "diego.alvarez@athletes.example", "sport": "mtb",
         "timezone": DENVER, "home": DENVER_SITE},
        {"name": "Lena Hoffmann", "email": "lena.hoffmann@athletes.example",
         "sport": "running", "timezone": BERLIN, "home": BERLIN_SITE},
        {"name": "Tom Becker", "email": "tom.becker@athletes.example", "sport": "triathlon",
         "timezone": BERLIN, "home": BERLIN_SITE},
        {"name": "Sam Carter", "email": "sam.carter@athletes.example", "sport": "mtb",
         "timezone": DENVER, "home": DENVER_SITE},
    )


def _events() -> tuple[DemoEvent, ...]:
    ana, jonas, kelsey = (t["email"] for t in THERAPISTS)
    return (
        DemoEvent(demo_email(), "Havelland Marathon", "running",
                  BERLIN, "marathon", 0, time(9, 0), time(13, 15)),
        DemoEvent("lena.hoffmann@athletes.example", "Havelland Half Marathon", "running",
                  BERLIN, "marathon", 0, time(10, 30), time(12, 30),
                  bookings=((PRE, ana), (POST, jonas))),
        DemoEvent("tom.becker@athletes.example", "Müggelsee Triathlon", "triathlon", BERLIN,
                  "marathon", -8, time(7, 30), time(13, 0),
                  bookings=((PRE, jonas), (POST, ana))),
        DemoEvent("diego.alvarez@athletes.example", "San Juan Stage Race", "mtb", DENVER,
                  "stage", 0, days=3, bookings=((PRE, kelsey),)),
        DemoEvent("sam.carter@athletes.example", "San Juan Stage Race", "mtb", DENVER,
                  "stage", 0, days=3, bookings=((PRE, kelsey), (POST, kelsey))),
        # A Berlin athlete racing in Denver: away from home from three days before until
        # two days after, so sessions then are at the Denver site (core/sites.py).
        DemoEvent("tom.becker@athletes.example", "Rocky Mountain Half", "running", DENVER,
                  "marathon", -1, time(7, 0), time(9, 30), bookings=((POST, kelsey),),
                  venue=DENVER_SITE, travel=(3, 2)),
    )


def _next_weekday(day: date, weekday: int) -> date:
    """`day` itself if it falls on `weekday` (0 = Monday), else the next such day."""
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def anchors(today: date) -> dict[str, date]:
    """The demo's anchor days: a Sunday about four weeks ahead (the marathon weekend) and
    a Friday about five weeks ahead (the first day of the stage race)."""
    return {"marathon": _next_weekday(today + timedelta(days=28), 6),
            "stage": _next_weekday(today + timedelta(days=35), 4)}


@dataclass
class Added:
    """What one run added, by kind of row."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("sites", "therapists", "athletes", "teams", "users", "events", "time off",
         "bookings", "screenings"), 0))

    def add(self, what: str) -> None:
        self.counts[what] += 1


def _sites(added: Added) -> dict[str, int]:
    """The demo's sites by name (before the therapists: each works at one)."""
    found = {}
    for spec in SITES:
        site = stored_sites.by_name(spec["name"])
        if site is None:
            site = sites.create_site(SimpleNamespace(**spec))
            added.add("sites")
        found[spec["name"]] = site.id
    return found


def _therapists(places: dict[str, int], added: Added) -> dict[str, Therapist]:
    found = {}
    for spec in THERAPISTS:
        therapist = therapists.by_email(spec["email"])
        if therapist is None:
            therapist = clinic.create_therapist(SimpleNamespace(
                **spec, site_id=places[spec["site"]]))
            added.add("therapists")
        found[spec["email"]] = therapist
    return found


def _athlete_rows(places: dict[str, int], added: Added) -> dict[str, Athlete]:
    found = {}
    for spec in _athletes():
        home = places[spec["home"]]
        athlete = athletes.by_email(spec["email"])
        if athlete is None:
            athlete = clinic.create_athlete(SimpleNamespace(**spec, home_site_id=home))
            added.add("athletes")
        elif athlete.home_site_id is None:  # loaded before sites existed
            athlete.home_site_id = sites.checked(home)
        found[spec["email"]] = athlete
    return found


def _time_off(staff: dict[str, Therapist], days: dict[str, date], added: Added) -> None:
    """A morning at the dentist, a day as team physio at the triathlon, a course."""
    ana, jonas, kelsey = (staff[t["email"]] for t in THERAPISTS)
    marathon, stage = days["marathon"], days["stage"]
    plan = (
        (ana, marathon + timedelta(days=1), time(8, 0), time(10, 0), "Dentist"),
        (jonas, marathon - timedelta(days=8), time(7, 0), time(14, 0),
         "Team physio at the Müggelsee Triathlon"),
        (kelsey, stage - timedelta(days=3), time(7, 0), time(11, 30),
         "Continuing education: dry needling level 2"),
    )
    for therapist, day, start, end, reason in plan:
        if therapists.time_off_with_reason(therapist.id, reason) is None:
            clinic.add_time_off(therapist, datetime.combine(day, start),
                                datetime.combine(day, end), reason)
            added.add("time off")


def _event_body(spec: DemoEvent, day: date, places: dict[str, int] | None = None
                ) -> SimpleNamespace:
    """The event as the services take it: local dates or naive local date-times; its
    venue site and travel (leaving at 08:00, back at 18:00 local), where it has them."""
    last = day + timedelta(days=spec.days - 1)
    start = datetime.combine(day, spec.start) if spec.start else day
    end = datetime.combine(last, spec.finish) if spec.finish else last
    travel = None if spec.travel is None else SimpleNamespace(
        depart=datetime.combine(day - timedelta(days=spec.travel[0]), time(8, 0)),
        return_=datetime.combine(last + timedelta(days=spec.travel[1]), time(18, 0)))
    return SimpleNamespace(name=spec.name, sport=spec.sport, priority="A",
                           timezone=spec.timezone, start=start, end=end, travel=travel,
                           venue_site_id=(places or {}).get(spec.venue or ""))


def _event(spec: DemoEvent, athlete: Athlete, days: dict[str, date],
           places: dict[str, int], added: Added) -> Event:
    event = events.named(athlete.id, spec.name)
    if event is None:
        day = days[spec.anchor] + timedelta(days=spec.offset_days)
        event = create_event(_event_body(spec, day, places), athlete)
        added.add("events")
    return event


def _book(event: Event, athlete: Athlete, kind: str, therapist: Therapist,
          added: Added) -> None:
    """Book the therapist's best proposed slot, unless this session is booked already."""
    if bookings.confirmed(athlete.id, event.id, kind) is not None:
        return
    found = proposals.propose(event, (kind,), therapist.id, None, 1).found
    if found[kind]:
        book(event, therapist, athlete.id, kind, found[kind][0].start)
        added.add("bookings")


def _team(people: dict[str, Athlete], added: Added) -> Team:
    name, members = TEAM
    team = athletes.team_named(name, COACH_EMAIL)
    if team is None:
        team = clinic.create_team(name, COACH_EMAIL)
        added.add("teams")
    for email in members:
        if not athletes.is_member(team.id, people[email].id):
            clinic.add_member(team, people[email])
    return team


def _team_event(team: Team, days: dict[str, date], added: Added) -> None:
    """The team's relay a week after the marathon, nothing booked yet: the coach's board
    shows the plan, and "Book all" books it."""
    spec = TEAM_EVENT
    if events.team_event_named(team.id, spec.name) is None:
        day = days[spec.anchor] + timedelta(days=spec.offset_days)
        create_event(_event_body(spec, day), team)
        added.add("events")


# Lena has answered the screening (blood thinners apply), not reviewed yet: the demo
# therapist's week shows the flag and the review form from the start (her pre session
# with Ana), and the coach's board her state.
SCREENING = ("lena.hoffmann@athletes.example", "blood_thinners",
             "I take a low-dose aspirin every day.")


def _screening(people: dict[str, Athlete], added: Added) -> None:
    email, applies, note = SCREENING
    athlete = people[email]
    if screening.screening_of(athlete.id) is None:
        screening.save_answers(athlete.id, {k: k == applies for k in core_screening.KEYS},
                               note)
        added.add("screenings")


def _logins(added: Added) -> None:
    """One user per role with the demo password (set again if someone changed it)."""
    for role, email, name, password in LOGINS:
        if users.by_email(email) is None:
            accounts.create_user(email, role, name, password)
            added.add("users")
            continue
        try:
            accounts.sign_in(email, password)
        except accounts.SignInFailed:
            accounts.set_password(email, password)


def _summary(added: Added) -> str:
    parts = [f"{n} {what}" for what, n in added.counts.items() if n]
    head = "demo clinic loaded: added " + ", ".join(parts) if parts else (
        "demo clinic already loaded: nothing added")
    lines = [head, "open the app and sign in as any of these (demo passwords):"]
    lines += [f"sign in as {role}: {email} {password}" for role, email, _, password in LOGINS]
    return "\n".join(lines)


def load_demo() -> str:
    """Load (or complete) the demo clinic; return a summary. Never commits."""
    today = now().astimezone(load_zone(BERLIN)).date()
    days, added = anchors(today), Added()
    places = _sites(added)
    staff = _therapists(places, added)
    people = _athlete_rows(places, added)
    _team_event(_team(people, added), days, added)
    _logins(added)
    _screening(people, added)
    _time_off(staff, days, added)
    for spec in _events():
        athlete = people[spec.athlete_email]
        event = _event(spec, athlete, days, places, added)
        for kind, therapist_email in spec.bookings:
            _book(event, athlete, kind, staff[therapist_email], added)
    return _summary(added)
