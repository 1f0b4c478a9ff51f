"""What the athlete's season and session pages show and do, beyond services/overview.py:
the season's timeline (events with their windows, sessions, suggestions: the season view
of services/season_view.py), every session of the season (cancelled and past ones too),
and changing a session from its page (another slot of the same window, or cancelling),
under the clinic's cancellation notice (services/bookings.check_change).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..core import season as core_season
from ..core.intervals import Interval
from ..core.kinds import WINDOW_KINDS
from ..core.proposals import Slot
from ..core.screening import NOT_CLEARED
from ..db.models import Athlete, Booking, CalendarFeed, Screening, Site, Therapist
from ..db.queries import MAX_EVENT_DAYS, bookings, events, rows, therapists
from . import bookings as booking_service
from . import calendars, clinic, screening, sites
from .access import Caller
from .common import EventView, event_view, found, now, policy
from .overview import Session, UnknownSlot, own_booking, sessions_of
from .proposals import propose
from .season_view import season_view

TIMELINE = timedelta(weeks=26)  # how far ahead the season's timeline looks
HISTORY = timedelta(days=120)  # how far back the list of sessions goes
TUNE_UP_WEEKS = 3  # the season view's default (the API's)
MOVE_SLOTS = 8  # other slots offered to move a session to


@dataclass(frozen=True)
class SeasonPage:
    """The athlete's season page: races whose recovery window is still open, sessions
    from HISTORY back on (any status), and the timeline's span, events and suggestions."""

    athlete: Athlete
    now: datetime
    events: list[EventView]
    sessions: list[Session]
    span: Interval
    timeline: list[EventView]
    suggestions: list[core_season.Suggestion]
    sites: list[Site] = field(default_factory=list)  # the clinic's, by name


def season_page(caller: Caller) -> SeasonPage:
    """Everything the season page shows, read in a bounded number of queries."""
    athlete = found(Athlete, caller.athlete_id, "athlete")
    at = now()
    recent = events.of_athlete_since(athlete.id, at - timedelta(days=MAX_EVENT_DAYS + 4))
    open_ = [v for v in map(event_view, recent) if v.windows.post.end > at]
    listed = bookings.listed(bookings.Filter(athlete_id=athlete.id, ends_after=at - HISTORY))
    span = Interval(at, at + TIMELINE)
    view = season_view(athlete.id, span, course_sessions=0, tune_up_weeks=TUNE_UP_WEEKS,
                       slots=0)
    return SeasonPage(athlete, at, open_, sessions_of(athlete, listed, known=recent), span,
                      view.events, [s for s, _ in view.suggestions], sites.all_sites())


@dataclass(frozen=True)
class HomeSite:
    """A change of the athlete's own home site (None: none); what PATCH reads."""

    home_site_id: int | None
    model_fields_set = frozenset({"home_site_id"})


def set_home_site(caller: Caller, site_id: int | None) -> Athlete:
    """The athlete picks their own home site (None clears it): sessions before they leave
    for a race and after they are back are there."""
    return clinic.update_athlete_for(caller, found(Athlete, caller.athlete_id, "athlete").id,
                                     HomeSite(site_id))


@dataclass(frozen=True)
class SessionPage:
    """A session's page: the session, the athlete's screening, until when the athlete may
    still change it, the other slots of its window, and the athlete's calendar feed."""

    session: Session
    screening: Screening | None
    now: datetime
    change_until: datetime  # the athlete's last change (the cancellation notice)
    can_change: bool  # by the athlete, now: confirmed, before change_until
    options: list[tuple[Slot, Therapist]]
    feed: CalendarFeed
    location: str  # where the session is, as its invite says (the site's, else the clinic's)
    title: str  # the invite's title
    not_cleared: bool = False  # a therapist recorded "not cleared": no move is offered
    sites: dict[int, Site] = field(default_factory=dict)  # the clinic's, by id


def session_page(caller: Caller, booking_id: int) -> SessionPage:
    """One of the athlete's sessions with what its page offers (the other slots only
    while it can still be moved)."""
    booking = own_booking(caller, booking_id)
    athlete = found(Athlete, booking.athlete_id, "athlete")
    session = sessions_of(athlete, [booking])[0]
    at, until = now(), booking.start - policy().cancel_notice
    can_change = booking.status == "confirmed" and at <= until
    row = screening.screening_of(athlete.id)
    not_cleared = row is not None and row.decision == NOT_CLEARED
    movable = (can_change and not not_cleared and booking.kind in WINDOW_KINDS
               and session.event is not None)
    by_id, where = sites.by_id(), calendars.clinic()
    site = by_id.get(booking.site_id) if booking.site_id is not None else None
    return SessionPage(session, row, at, until, can_change,
                       _options(session, booking) if movable else [],
                       calendars.feed_for(caller, "athlete", athlete.id),
                       calendars.site_location(where.name, site) if site else where.location,
                       calendars.invite_summary(booking.kind, session.event),
                       not_cleared, by_id)


def _options(session: Session, booking: Booking) -> list[tuple[Slot, Therapist]]:
    """The best free slots of the session's window, but its own time."""
    found_ = propose(session.event, (booking.kind,), None, booking.athlete_id, MOVE_SLOTS).found
    slots = [s for s in found_[booking.kind] if s.start != booking.start]
    who = therapists.by_ids(s.therapist_id for s in slots)
    return [(s, who[s.therapist_id]) for s in slots]


def move(caller: Caller, booking_id: int, therapist_id: int, start: datetime) -> Booking:
    """Move one of the athlete's sessions to another slot (`start` aware)."""
    own_booking(caller, booking_id)
    if rows.get(Therapist, therapist_id) is None:
        raise UnknownSlot()
    return booking_service.reschedule_for(caller, booking_id, start, therapist_id).booking


def cancel(caller: Caller, booking_id: int) -> Booking:
    """Cancel one of the athlete's sessions."""
    own_booking(caller, booking_id)
    return booking_service.cancel_for(caller, booking_id).booking


def rotate_feed(caller: Caller, booking_id: int) -> CalendarFeed:
    """A new address for the athlete's feed, asked for from one of their sessions' pages
    (someone else's session: NotFound, and nothing rotates)."""
    own_booking(caller, booking_id)
    return calendars.rotate_feed_for(caller, "athlete", caller.athlete_id or 0)


def my_screening(caller: Caller) -> Screening | None:
    """The athlete's own screening (None: not answered yet)."""
    athlete = found(Athlete, caller.athlete_id, "athlete")
    return screening.screening_of(athlete.id)


def answer_screening(caller: Caller, answers: dict[str, bool | None], note: str) -> Screening:
    """The athlete answers their own screening (a change clears the therapist's decision)."""
    return screening.answer_for(caller, found(Athlete, caller.athlete_id, "athlete").id,
                                answers, note)
