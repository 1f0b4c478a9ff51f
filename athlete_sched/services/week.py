"""The therapist's week: their sessions of one week by day in their own zone, each
athlete's screening (flags and review), and their calendar feed. A therapist sees only
their own week; an admin any therapist's.

The page reads a bounded number of statements whatever the number of sessions: the
therapist, the feed, the week's bookings with the athletes' and events' names (one
query), the screening of every athlete in it (one query), and where the clinic has
several sites, the sites and the site of each session (two queries).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ..core import screening as core
from ..core.errors import Forbidden, InvalidValue
from ..core.intervals import Interval
from ..core.windows import local_midnight
from ..core.zones import load_zone
from ..db.models import CalendarFeed, Screening, Site, Therapist
from ..db.queries import screening as stored
from ..db.queries import sites as stored_sites
from ..db.queries import therapists
from ..db.queries.therapists import WeekRow
from . import access, calendars
from .access import Caller
from .common import now

NOT_ANSWERED, AWAITING_REVIEW = "not-answered", "awaiting-review"
STATE_LABELS = {NOT_ANSWERED: "Not answered", AWAITING_REVIEW: "Awaiting review",
                core.CLEARED: "Cleared", core.NOT_CLEARED: "Not cleared"}


@dataclass(frozen=True)
class ScreeningState:
    """What the therapist reads of one athlete's screening."""

    state: str  # NOT_ANSWERED, AWAITING_REVIEW, core.CLEARED or core.NOT_CLEARED
    flagged: list[str] = field(default_factory=list)  # labels of the answers that apply
    note: str = ""  # the athlete's
    answered_at: datetime | None = None
    review_note: str = ""
    reviewed_at: datetime | None = None

    label = property(lambda self: STATE_LABELS[self.state])
    answered = property(lambda self: self.state != NOT_ANSWERED)


def screening_state(row: Screening | None) -> ScreeningState:
    """The state of a screening row (None: not answered)."""
    if row is None:
        return ScreeningState(NOT_ANSWERED)
    return ScreeningState(row.decision or AWAITING_REVIEW,
                          core.labels(core.flagged(row.answers)), row.note or "",
                          row.answered_at, row.review_note or "", row.reviewed_at)


@dataclass(frozen=True)
class Week:
    therapist: Therapist
    tz: ZoneInfo
    monday: date
    days: list[tuple[date, list[WeekRow]]]
    screening: dict[int, ScreeningState]  # athlete id -> state
    reviewable: frozenset[int]  # athletes the caller may record a decision for
    feed: CalendarFeed

    names: dict[int, str]  # athlete id -> name
    later: datetime | None = None  # a week with no session: when the next one starts
    sites: dict[int, Site] = field(default_factory=dict)  # booking id -> its site, where
    # the clinic has several (with one, every session is there: nothing to say)

    sunday = property(lambda self: self.monday + timedelta(days=6))
    previous = property(lambda self: self.monday - timedelta(days=7))
    next = property(lambda self: self.monday + timedelta(days=7))
    count = property(lambda self: sum(
        1 for _, rows in self.days for r in rows if r.status == "confirmed"))


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def therapist_id_of(caller: Caller, therapist_id: int | None) -> int:
    """The therapist a page is about: the one asked for, else the caller themself."""
    if therapist_id is not None:
        return therapist_id
    if caller.therapist_id is None:
        if caller.role == "admin":
            raise InvalidValue("choose a therapist", field="therapist_id")
        raise Forbidden("this account has no therapist profile: ask the clinic to add "
                        "you as a therapist with this email address")
    return caller.therapist_id


def week_for(caller: Caller, therapist_id: int | None, start: date | None) -> Week:
    """The week that holds `start` (default: this week in the therapist's zone) of the
    caller's own schedule, or of any therapist's for an admin."""
    therapist = access.own_therapist(caller, therapist_id_of(caller, therapist_id))
    feed = calendars.feed_of(therapist)  # first: it may restart the unit as a writer
    tz = load_zone(therapist.timezone)
    monday = monday_of(start or now().astimezone(tz).date())
    span = Interval(local_midnight(monday, tz), local_midnight(monday + timedelta(days=7), tz))
    found = therapists.week_rows(therapist.id, span)
    rows_by_day: dict[date, list[WeekRow]] = {monday + timedelta(days=i): [] for i in range(7)}
    for row in found:
        rows_by_day[row.start.astimezone(tz).date()].append(row)
    athlete_ids = {row.athlete_id for row in found}
    answers = stored.of_athletes(athlete_ids)
    confirmed = {row.athlete_id for row in found if row.status == "confirmed"}
    reviewable = athlete_ids if caller.role == "admin" else confirmed
    later = None if confirmed else therapists.next_confirmed_start(therapist.id, span.end)
    return Week(therapist, tz, monday, list(rows_by_day.items()),
                {a: screening_state(answers.get(a)) for a in athlete_ids},
                frozenset(a for a in reviewable if a in answers), feed,
                {row.athlete_id: row.athlete for row in found}, later, _sites_of(found))


def _sites_of(found: list[WeekRow]) -> dict[int, Site]:
    """Each session's site (the week's rows carry it), where the clinic has several sites
    (one query)."""
    known = {s.id: s for s in stored_sites.all_sites()}
    if len(known) < 2:
        return {}
    return {row.id: known[row.site_id] for row in found if row.site_id in known}


def rotate_feed_for(caller: Caller, therapist_id: int | None) -> CalendarFeed:
    """A new feed address for the therapist: the old one stops working at once."""
    return calendars.rotate_feed_for(caller, "therapist", therapist_id_of(caller, therapist_id))
