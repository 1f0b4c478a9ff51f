"""The text of a reminder and of a check-in (services/reminders.py queues them): plain
RFC 5322 messages from the clinic (services/mail_text.plain: quoted-printable where not
ASCII, Auto-Submitted). They say when, where, with whom and the after-care, as the
invitation does; nothing medical and nothing the athlete wrote (no booking notes, no
screening answers): the event's name is said as the invitation says it."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage

from ..core.ical import AFTER_CARE
from ..core.kinds import title
from ..core.zones import load_zone
from ..db.queries.reminders import Due
from .common import clinic_name
from .mail_text import one_line as _clean
from .mail_text import plain, plain_text

CHECK_IN_ADVICE = ("Soreness usually fades in 1–2 days; if it has not, tell your "
                   "therapist.")
TURN_OFF = ("You get these reminders because they are on for your account; you can turn "
            "them off on your Account page.")


def when(start: datetime, end: datetime, zone: str) -> str:
    """'Tuesday 12 May 2027, 09:00-09:45 (Europe/Berlin)'."""
    tz = load_zone(zone)
    start, end = start.astimezone(tz), end.astimezone(tz)
    return f"{start:%A %d %B %Y, %H:%M}-{end:%H:%M} ({zone})"


def _for(due: Due) -> str:
    return _clean(due.event_name) if due.event_name else "a periodic tune-up"


def _hours(notice: timedelta) -> str:
    return f"{notice / timedelta(hours=1):g}"


def reminder(due: Due, location: str, notice: timedelta) -> EmailMessage:
    """The athlete's reminder the day before a session: time (in their zone, and in the
    therapist's where it differs), place, therapist and after-care; `notice`: how long
    before the session the athlete can still change it (the clinic's cancel notice)."""
    return plain(*_reminder(due, location, notice))


def reminder_as_text(due: Due, location: str, notice: timedelta) -> str:
    """`reminder(...).as_string()`, made without an EmailMessage (mail_text.plain_text)."""
    return plain_text(*_reminder(due, location, notice))


def check_in(due: Due) -> EmailMessage:
    """The athlete's check-in two days after a recovery session, with the therapist's
    name and email."""
    return plain(*_check_in(due))


def check_in_as_text(due: Due) -> str:
    """`check_in(due).as_string()`, made without an EmailMessage."""
    return plain_text(*_check_in(due))


def _reminder(due: Due, location: str, notice: timedelta) -> tuple[str, str, str, str]:
    """(to name, to address, subject, text) of a reminder."""
    start = due.start.astimezone(load_zone(due.athlete_timezone))
    lines = [f"Hello {_clean(due.athlete_name)},", "",
             f"A reminder of your dry-needling {title(due.kind)}:", "",
             f"When:  {when(due.start, due.end, due.athlete_timezone)}"]
    if due.therapist_timezone != due.athlete_timezone:
        lines.append(f"       {when(due.start, due.end, due.therapist_timezone)} "
                     f"at the clinic")
    lines += [f"Where: {_clean(location)}",
              f"With:  {_clean(due.therapist_name)} (therapist)",
              f"For:   {_for(due)}", "", AFTER_CARE, "",
              f"You can move or cancel it on the clinic's pages up to {_hours(notice)} "
              "hours before it starts.", "", TURN_OFF, "", "-- ", clinic_name()]
    subject = (f"Reminder: {title(due.kind)}, {start:%a %d %b %Y %H:%M} "
               f"({due.athlete_timezone})")
    return due.athlete_name, due.athlete_email, subject, "\n".join(lines) + "\n"


def _check_in(due: Due) -> tuple[str, str, str, str]:
    """(to name, to address, subject, text) of a check-in."""
    therapist = _clean(due.therapist_name)
    lines = [f"Hello {_clean(due.athlete_name)},", "",
             f"Two days ago you had a dry-needling {title(due.kind)} with {therapist} "
             f"({when(due.start, due.end, due.athlete_timezone)}), for {_for(due)}.", "",
             CHECK_IN_ADVICE, "",
             f"Your therapist: {therapist} <{due.therapist_email}>", "",
             TURN_OFF, "", "-- ", clinic_name()]
    return (due.athlete_name, due.athlete_email, f"How are you after your {title(due.kind)}?",
            "\n".join(lines) + "\n")
