"""The coach's board of a team event: every member × pre and post, with the session booked
or the one the plan proposes (services/team.py), why an athlete stays unplaced, and
"book all" (the team booking, all or nothing).

Read in a bounded number of statements whatever the roster's size: the plan's own reads,
then the members, their booked sessions, the therapists named, the screening states and
(where a session is at a site) the clinic's sites, one statement each. Of the screening
only the state, never an answer or a note.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..core.errors import NobodyPlaced, NotFound
from ..core.kinds import POST, PRE
from ..core.proposals import Slot
from ..core.team_plan import TeamPlan
from ..db.models import Athlete, Booking, Event, Site, Team, Therapist
from ..db.queries import athletes, bookings, therapists
from . import access, sites
from . import team as team_booking
from .access import Caller, require_role
from .common import EventView, event_view, found
from .roster import COACHES, screening_states


@dataclass(frozen=True)
class Cell:
    """One session of an athlete: booked (a booking) or proposed (a slot), or neither."""

    kind: str
    therapist: Therapist | None = None
    slot: Slot | None = None
    booking: Booking | None = None


@dataclass(frozen=True)
class Row:
    athlete: Athlete
    screening: str
    pre: Cell
    post: Cell
    reason: str | None  # why the plan leaves the athlete out (None: placed or booked)

    cells = property(lambda self: (self.pre, self.post))


@dataclass(frozen=True)
class Board:
    team: Team
    view: EventView
    rows: list[Row]
    sites: dict[int, Site] = field(default_factory=dict)  # the clinic's, by id

    @property
    def proposed(self) -> int:
        """How many athletes "book all" would book."""
        return sum(1 for r in self.rows if r.pre.slot is not None)

    @property
    def unplaced(self) -> list[Row]:
        return [r for r in self.rows if r.reason not in (None, team_booking.ALREADY_BOOKED)]


def board_event(caller: Caller, team_id: int, event_id: int) -> tuple[Team, Event]:
    """The team and its event, if the caller coaches the team (an admin: any team);
    NotFound for another's team or for an event of another team."""
    require_role(caller, COACHES)
    team = access.coached_team(caller, team_id)
    event = found(Event, event_id, "event")
    if event.team_id != team.id:
        raise NotFound("event", event_id)
    return team, event


def board_for(caller: Caller, team_id: int, event_id: int) -> Board:
    """The board: the fresh plan beside the sessions already booked."""
    team, event = board_event(caller, team_id, event_id)
    plan = team_booking.plan(event)
    booked = bookings.listed(bookings.Filter(event_id=event.id, status="confirmed"))
    members = athletes.members(team_id)
    slots = [s for a in plan.assignments for s in (a.pre, a.post) if s is not None]
    staff = therapists.by_ids([s.therapist_id for s in slots]
                              + [b.therapist_id for b in booked])
    cell = _cells(plan, booked, staff)
    states = screening_states(a.id for a in members)
    rows = [Row(a, states[a.id], cell(a.id, PRE), cell(a.id, POST), plan.unplaced.get(a.id))
            for a in members]
    named = {s.site_id for s in slots} | {b.site_id for b in booked}
    return Board(team, event_view(event), rows,
                 sites.by_id() if named - {None} else {})  # a clinic without sites: no read


def _cells(plan: TeamPlan, booked: list[Booking], staff: dict[int, Therapist]
           ) -> Callable[[int, str], Cell]:
    """An athlete's cell of a kind: their booked session, else the plan's slot."""
    held = {(b.athlete_id, b.kind): b for b in booked}
    planned = {a.athlete_id: a for a in plan.assignments}

    def cell(athlete_id: int, kind: str) -> Cell:
        if (athlete_id, kind) in held:
            booking = held[athlete_id, kind]
            return Cell(kind, staff.get(booking.therapist_id), booking=booking)
        assignment = planned.get(athlete_id)
        slot = None if assignment is None else getattr(assignment, kind)
        return Cell(kind, slot and staff.get(slot.therapist_id), slot=slot)

    return cell


def book_all(caller: Caller, team_id: int, event_id: int) -> list[Booking]:
    """Book a fresh plan for every member not booked yet, all or nothing (nothing when
    the plan places nobody: the board shows why)."""
    try:
        return team_booking.book_team(board_event(caller, team_id, event_id)[1], None)
    except NobodyPlaced:
        return []
