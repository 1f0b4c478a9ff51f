"""The emails of race calendars: a new race needs sessions planned ('new-race', once per
event), and a race without sessions moved to new dates ('race-moved', once per event and
start). Each is recorded in sent_notice in the transaction that queues it
(db/queries/notices.record), so an import run twice, or by two workers, queues it once.

What the message says: the race's sport and dates, its windows and the best slots of
each (services/proposals.propose, the same ranking as the race page), all in the
athlete's zone with the zone named, and a link to the race page. Nothing the athlete or a
calendar wrote goes in (no race name, no description): the page shows those.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context, request

from ..core.intervals import Interval
from ..core.kinds import PRE
from ..core.zones import load_zone
from ..db.models import Athlete, Event, Therapist
from ..db.queries import bookings, notices, rows
from . import mail, proposals
from .common import clinic_name, stamp, timing_of, windows_of
from .mail_text import plain

BEST = 3  # slots per window in the message
KIND_WORDS = {PRE: "Pre-race window", "post": "Recovery window"}


def new_race(event: Event, athlete: Athlete, at: datetime) -> bool:
    """Tell the athlete a new race of their calendar needs sessions (once per event)."""
    if not mail.enabled() or event.occupied_end <= at:
        return False
    if not notices.record("new-race", str(event.id), at, athlete_id=athlete.id,
                          event_id=event.id):
        return False
    mail.queue_notice(athlete.email, plain(
        athlete.name, athlete.email, f"New race in your calendar: {_day(event)}",
        _text(event, athlete, "A new race from your race calendar needs sessions planned")))
    return True


def moved(event: Event) -> bool:
    """Tell the athlete their race moved, when it has no confirmed session (those follow
    the race and are announced by their own invitations); once per new start."""
    athlete = rows.get(Athlete, event.athlete_id) if event.athlete_id else None
    if athlete is None or not mail.enabled():
        return False
    if bookings.listed(bookings.Filter(event_id=event.id, status="confirmed"),
                       by_start=False):
        return False
    key = f"{event.id}@{event.start.isoformat()}"
    if not notices.record("race-moved", key, stamp(),
                          athlete_id=athlete.id, event_id=event.id):
        return False
    mail.queue_notice(athlete.email, plain(
        athlete.name, athlete.email, f"Your race moved: {_day(event)}",
        _text(event, athlete, "A race in your race calendar has new dates")))
    return True


def _day(event: Event) -> str:
    timing = timing_of(event)
    first, last = timing.first_day, timing.last_day
    return f"{first:%a %d %b %Y}" + ("" if last == first else f" to {last:%a %d %b %Y}")


def _when(value: datetime, tz: ZoneInfo) -> str:
    return f"{value.astimezone(tz):%a %d %b %Y %H:%M}"


def _span(interval: Interval, tz: ZoneInfo) -> str:
    return f"{_when(interval.start, tz)} to {_when(interval.end, tz)} ({tz.key})"


def _race_line(event: Event) -> str:
    timing = timing_of(event)
    if isinstance(timing.start, date) and not isinstance(timing.start, datetime):
        return f"your {event.sport} race on {_day(event)} ({event.timezone})"
    start = timing.start.astimezone(timing.tz)
    return f"your {event.sport} race starting {start:%a %d %b %Y %H:%M} ({event.timezone})"


def link(event: Event) -> str:
    """The race page: under PUBLIC_URL, else this request's address (a path alone when
    there is neither)."""
    base = current_app.config.get("PUBLIC_URL") or (
        request.host_url if has_request_context() else "")
    return f"{base.rstrip('/')}/events/{event.id}"


def _text(event: Event, athlete: Athlete, lead: str) -> str:
    tz = load_zone(athlete.timezone)
    windows = windows_of(event)
    found = proposals.propose(event, proposals.kinds_for(event, "both"), None, None,
                              limit=BEST)
    names = {}
    lines = [f"Hello {athlete.name},", "", f"{lead}: {_race_line(event)}.", ""]
    for kind, window in ((PRE, windows.pre), ("post", windows.post)):
        if kind not in found.found:
            continue
        lines += [f"{KIND_WORDS[kind]}: {_span(window, tz)}", "Best free slots:"]
        for slot in found.found[kind]:
            if slot.therapist_id not in names:
                names[slot.therapist_id] = rows.get(Therapist, slot.therapist_id).name
            lines.append(f"  - {_when(slot.start, tz)}-{slot.end.astimezone(tz):%H:%M} "
                         f"({tz.key}) with {names[slot.therapist_id]}")
        if not found.found[kind]:
            reason = found.reasons.get(kind)
            lines.append(f"  none yet{': ' + reason.message if reason else ''}")
        lines.append("")
    lines += ["Book your sessions on the race's page:", link(event), "", "-- ",
              clinic_name()]
    return "\n".join(lines) + "\n"
