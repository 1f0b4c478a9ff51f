"""Confirmed sessions to come that a change of a therapist's hours would strand: new
weekly hours, time off, or a one-day change. ONE implementation for the API and the
therapist's pages (the contract's "Changes and cancellations").

A change over such sessions is refused (SessionsAffected, `409 sessions-affected` with
their booking ids in `affected`) unless the caller chose what happens to them:
`keep` (the change is saved, the sessions stay booked) or `cancel` (the change is saved
and the sessions cancelled, each cancel announced as usual (services/mail.py), and each
athlete sent one plain message listing the best new slots of those windows). All inside
the caller's unit of work: nothing is half done.

"Outside the hours" is judged as bookings are: the weekly periods with the therapist's
one-day changes of those dates (core.checks.session_site)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..core.availability import TherapistSchedule, WorkingPeriod
from ..core.checks import session_site
from ..core.errors import Conflict, InvalidValue
from ..core.intervals import Interval
from ..core.kinds import WINDOW_KINDS
from ..core.working_days import WorkingDay as Day
from ..core.zones import load_zone
from ..db.models import Athlete, Booking, Event, Therapist
from ..db.queries import rows, therapists
from ..db.queries import working_days as days_q
from ..db.queries.therapists import WeekRow
from . import bookings, mail, proposals
from .common import now
from .mail_text import plain

KEEP, CANCEL = "keep", "cancel"
CHOICES = (KEEP, CANCEL)
NEW_SLOTS = 3  # slots offered per cancelled session


class SessionsAffected(Conflict):
    """Confirmed sessions to come that a change of hours or time off would leave outside
    working hours or inside time off."""

    code = "sessions-affected"
    exposed = ("affected",)  # carried in the error body (web/errors.py)

    def __init__(self, sessions: list[WeekRow]) -> None:
        super().__init__(f"{len(sessions)} confirmed session(s) to come are affected by the "
                         "change: repeat it with affected=keep or affected=cancel",
                         affected=[s.id for s in sessions])
        self.sessions = sessions


def checked_choice(choice: str | None) -> str | None:
    if choice not in (None, *CHOICES):
        raise InvalidValue("affected is keep or cancel", field="affected")
    return choice


# --- detection ------------------------------------------------------------------------------

def outside(tz: ZoneInfo, periods: Sequence[WorkingPeriod], sessions: Sequence[WeekRow],
            days: tuple[Day, ...] = (), own_site: int | None = None) -> list[WeekRow]:
    """The sessions not wholly inside one working period (weekly `periods`, local to
    `tz`, with the one-day changes `days` in place of the weekly hours on their dates), or
    inside one at another site than the session's (the therapist is at `own_site` unless a
    period or day names its own; a session without a site fits any)."""
    schedule = TherapistSchedule(0, tz, tuple(periods), working_days=days, site_id=own_site)

    def inside(session: WeekRow) -> bool:
        fits, site = session_site(schedule, Interval(session.start, session.end))
        return fits and (session.site_id is None or site == session.site_id)

    return [s for s in sessions if not inside(s)]


def _to_come(therapist_id: int, since: datetime, before: datetime | None = None
             ) -> list[WeekRow]:
    """Confirmed sessions not started yet (one that has started can no longer be
    cancelled, so no change is refused over it) that end after `since`."""
    at = now()
    return [s for s in therapists.upcoming_confirmed(therapist_id, max(since, at), before)
            if s.start > at]


def _days_near(therapist: Therapist, sessions: Sequence[WeekRow]) -> tuple[Day, ...]:
    if not sessions:
        return ()
    return days_q.near(therapist.id, [Interval(s.start, s.end) for s in sessions])


def _weekly(therapist: Therapist) -> list[WorkingPeriod]:
    return list(therapists.schedule_of(therapist).working_hours)


def for_hours(therapist: Therapist, periods: Sequence[WorkingPeriod]) -> list[WeekRow]:
    """Sessions to come outside the new weekly `periods` (one-day changes still apply)."""
    sessions = _to_come(therapist.id, now())
    return outside(load_zone(therapist.timezone), periods, sessions,
                   _days_near(therapist, sessions), therapist.site_id)


def for_time_off(therapist: Therapist, start: datetime, end: datetime) -> list[WeekRow]:
    """Sessions to come that overlap the time off [start, end)."""
    return _to_come(therapist.id, start, end)


def for_day(therapist: Therapist, day: date, periods: Sequence[tuple[time, time]],
            site_id: int | None = None) -> list[WeekRow]:
    """Sessions to come touching the local `day` that its new periods (none: closed; at
    `site_id`, None: the therapist's own site) no longer hold."""
    tz = load_zone(therapist.timezone)
    first = datetime.combine(day, time(0), tz)
    last = datetime.combine(day + timedelta(days=1), time(0), tz)
    sessions = _to_come(therapist.id, first, last)
    others = tuple(d for d in _days_near(therapist, sessions) if d.day != day)
    changed = tuple(sorted((*others, Day(day, tuple(periods), site_id)), key=lambda d: d.day))
    return outside(tz, _weekly(therapist), sessions, changed, therapist.site_id)


# --- what happens to them -------------------------------------------------------------------

def settle(found: list[WeekRow], choice: str | None) -> list[Booking]:
    """Refuse (no choice), keep, or cancel the affected sessions; the cancelled ones."""
    if not found:
        return []
    if choice is None:
        raise SessionsAffected(found)
    if choice == KEEP:
        return []
    cancelled = [bookings.cancel(rows.get(Booking, s.id)) for s in found]
    rows.flush()
    _tell_athletes(cancelled)
    return cancelled


def _slot_lines(booking: Booking, tz: ZoneInfo) -> list[str]:
    """The best new slots for the cancelled session's window (none for a tune-up or a
    course session: booked by hand)."""
    if booking.event_id is None or booking.kind not in WINDOW_KINDS:
        return ["  Book a new time from your season page."]
    event = rows.get(Event, booking.event_id)
    slots = proposals.propose(event, (booking.kind,), None, booking.athlete_id,
                              NEW_SLOTS).found[booking.kind]
    if not slots:
        return ["  No free time is left in that window: ask your therapist."]
    return ["  Free now: " + "; ".join(
        f"{s.start.astimezone(tz):%a %d %b %Y %H:%M} {tz.key}" for s in slots)]


def _tell_athletes(cancelled: list[Booking]) -> None:
    """One plain message per athlete: their sessions cancelled, with new slots each."""
    if not mail.enabled():
        return
    by_athlete: dict[int, list[Booking]] = {}
    for booking in cancelled:
        by_athlete.setdefault(booking.athlete_id, []).append(booking)
    for athlete_id, theirs in by_athlete.items():
        athlete = rows.get(Athlete, athlete_id)
        tz = load_zone(athlete.timezone)
        lines = ["Your therapist changed their working hours, so these sessions are "
                 "cancelled (a cancellation for your calendar follows separately):", ""]
        for b in theirs:
            lines.append(f"- {b.kind} session {b.start.astimezone(tz):%a %d %b %Y %H:%M} "
                         f"{tz.key}")
            lines.extend(_slot_lines(b, tz))
        lines += ["", "Book one of these, or another time, in the app."]
        mail.queue_summary(athlete.email, plain(
            athlete.name, athlete.email, "Sessions cancelled: new times to book",
            "\n".join(lines)))
