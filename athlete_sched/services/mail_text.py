"""The text of an invitation email (services/mail.py sends it): one recipient's RFC 5322
message, multipart/alternative with a text/plain summary and the text/calendar invite."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import quoprimime
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage, MIMEPart
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from flask import current_app

from ..core.ical import AFTER_CARE
from ..core.kinds import title
from ..core.zones import load_zone
from ..db.models import Booking, Event
from .common import clinic_name, stamp


class _Headers(HeaderRegistry):
    """The email package's header registry, keeping what it makes, for the background
    work composes thousands of messages a round: the class of each header name (the
    package makes a new class on every call) and the parsed header of each value seen
    lately (the clinic's From, the MIME headers, this second's Date: the same in every
    message). A parsed header is a str whose parse is never changed afterwards, so one
    serves every message that sets that value."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}
        self._parsed: dict[tuple, BaseHeader] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        found = self._classes.get(key)
        if found is None:
            found = self._classes[key] = super().__getitem__(name)
        return found

    def __call__(self, name: str, value) -> BaseHeader:  # noqa: ANN001 - str or Address
        if isinstance(value, Address):
            key = (name, "address", value.display_name, value.addr_spec)
        elif type(value) is str:
            key = (name, "text", value)
        else:
            return super().__call__(name, value)
        found = self._parsed.get(key)
        if found is None:
            found = super().__call__(name, value)
            if len(self._parsed) >= 256:  # values that never come again (To, Message-ID)
                self._parsed.clear()
            self._parsed[key] = found
        return found


# CRLF, RFC 2047 headers; parts are kept 7-bit below
MAIL_POLICY = SMTP.clone(header_factory=_Headers())


def sender() -> str:
    return current_app.config.get("MAIL_SENDER") or current_app.config["CLINIC_EMAIL"]


@dataclass(frozen=True)
class Party:
    """A recipient, or the person they meet. `role`: "athlete" | "therapist"."""

    name: str
    email: str
    timezone: str
    role: str


def _when(booking: Booking, zone: str) -> str:
    tz = load_zone(zone)
    start, end = booking.start.astimezone(tz), booking.end.astimezone(tz)
    return f"{start:%A %d %B %Y, %H:%M}-{end:%H:%M} ({zone})"


def subject_line(booking: Booking, method: str, to: Party) -> str:
    verb = ("Cancelled" if method == "CANCEL" else "Updated" if booking.sequence else "Booked")
    start = booking.start.astimezone(load_zone(to.timezone))
    return f"{verb}: {title(booking.kind)}, {start:%a %d %b %Y %H:%M} ({to.timezone})"


def summary_text(booking: Booking, method: str, to: Party, other: Party, event: Event | None,
                 clinic: str, location: str) -> str:
    """The plain-text part: what changed, when, where, with whom (+ after-care for the
    athlete). Nothing medical: the booking's notes stay out of email. `location`: the
    invite's LOCATION, said again."""
    what = f"dry-needling {title(booking.kind)}"
    lead = (f"This {what} has been cancelled." if method == "CANCEL"
            else f"This {what} has moved to a new time." if booking.sequence
            else f"This {what} is booked.")
    place_zone = other.timezone if to.role == "athlete" else to.timezone
    lines = [f"Hello {one_line(to.name)},", "", lead, "", f"When:  {_when(booking, to.timezone)}"]
    if place_zone != to.timezone:
        lines.append(f"       {_when(booking, place_zone)} at the clinic")
    lines += [f"Where: {location}",
              f"With:  {one_line(other.name)} ({other.role})",
              f"For:   {one_line(event.name) if event else 'a periodic tune-up'}", ""]
    if to.role == "athlete" and method != "CANCEL":
        lines += [AFTER_CARE, ""]
    lines += ["The calendar invitation in this message updates your calendar app.", "",
              "-- ", clinic]
    return "\n".join(lines) + "\n"


def one_line(text: str) -> str:
    """A name fit for one line (a header's display name, a line of a text): no control
    characters, no runs of spaces."""
    if text.isprintable() and "  " not in text and text[:1] != " " != text[-1:]:
        return text  # already clean (the only printable space is " "): most names
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def _seven_bit(text: str, otherwise: str) -> str:
    return "7bit" if text.isascii() else otherwise


def compose(booking: Booking, to: Party, other: Party, event: Event | None,
            ics: bytes, method: str, location: str) -> EmailMessage:
    """One recipient's message: text/plain summary + text/calendar with `method`."""
    origin = sender()
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = Address(one_line(clinic_name()), addr_spec=origin)
    message["To"] = Address(one_line(to.name), addr_spec=to.email)
    message["Subject"] = subject_line(booking, method, to)
    message["Date"] = format_datetime(stamp())
    message["Message-ID"] = make_msgid(domain=origin.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    text = summary_text(booking, method, to, other, event, clinic_name(), location)
    message.set_content(text, cte=_seven_bit(text, "quoted-printable"))
    calendar, part = ics.decode("utf-8"), MIMEPart(policy=MAIL_POLICY)  # no MIME-Version
    part.set_content(calendar, subtype="calendar", params={"method": method},
                     cte=_seven_bit(calendar, "base64"))
    message.make_alternative()
    message.attach(part)
    return message


def plain(to_name: str, to_email: str, subject: str, text: str) -> EmailMessage:
    """A plain-text message from the clinic (a team summary, a sign-in link)."""
    origin = sender()
    return plain_message(one_line(clinic_name()), origin, one_line(to_name), to_email,
                         one_line(subject), format_datetime(stamp()), _message_id(origin), text)


def plain_text(to_name: str, to_email: str, subject: str, text: str) -> str:
    """`plain(...).as_string()`, the same text, made without an EmailMessage where it can
    (`flat_plain`): the background work composes thousands of these a round."""
    origin = sender()
    return flat_plain(one_line(clinic_name()), origin, one_line(to_name), to_email,
                      one_line(subject), format_datetime(stamp()), _message_id(origin), text)


def _message_id(origin: str) -> str:
    return make_msgid(domain=origin.rpartition("@")[2] or None)


def plain_message(from_name: str, origin: str, to_name: str, to_email: str, subject: str,
                  date: str, message_id: str, text: str) -> EmailMessage:
    """The plain message of these (already cleaned) values, made by the email package."""
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = Address(from_name, addr_spec=origin)
    message["To"] = Address(to_name, addr_spec=to_email)
    message["Subject"] = subject
    message["Date"] = date
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, cte=_seven_bit(text, "quoted-printable"))
    return message


# What flat_plain writes itself: a header value of these characters only is never quoted,
# encoded (RFC 2047) or refolded by the email package when its line fits in 78; an address
# of these never quoted. Anything else goes to the email package (plain_message).
_ATOM = r"[A-Za-z0-9!#$%&'*+/^_`{|}~-]+"
_PHRASE = re.compile(rf"{_ATOM}(?: {_ATOM})*")
_UNSTRUCTURED = re.compile(r"[!-~](?:[ -~]*[!-~])?")
_ADDRESS = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
_MESSAGE_ID = re.compile(r"<[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+>")
_DATE = re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (?:Jan|Feb|Mar|Apr|May|Jun|Jul|"
                   r"Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d [+-]\d{4}")
_NEWLINES = re.compile(r"\r\n|\r|\n")
_TAIL = {"7bit": 'Content-Type: text/plain; charset="utf-8"\r\n'
                 "Content-Transfer-Encoding: 7bit\r\nMIME-Version: 1.0\r\n\r\n",
         "quoted-printable": 'Content-Type: text/plain; charset="utf-8"\r\n'
                             "Content-Transfer-Encoding: quoted-printable\r\n"
                             "MIME-Version: 1.0\r\n\r\n"}
_LINE = 78  # MAIL_POLICY.max_line_length


def _mailbox(name: str, address: str) -> str | None:
    """'Name <address>' as the email package writes it, or None where it would quote,
    encode or fold it."""
    if not _ADDRESS.fullmatch(address) or (name and not _PHRASE.fullmatch(name)):
        return None
    return f"{name} <{address}>" if name else address


def flat_plain(from_name: str, origin: str, to_name: str, to_email: str, subject: str,
               date: str, message_id: str, text: str) -> str:
    """`plain_message(...).as_string()` of the same values, byte for byte, written
    directly where every header is ASCII that the email package would leave as it is on
    one line (tests/test_mail.py compares the two over generated names, addresses,
    subjects and texts); otherwise made by the email package."""
    sender_box, to_box = _mailbox(from_name, origin), _mailbox(to_name, to_email)
    head = None
    if sender_box and to_box and _UNSTRUCTURED.fullmatch(subject) and "=?" not in subject \
            and "  " not in subject and _DATE.fullmatch(date) \
            and _MESSAGE_ID.fullmatch(message_id):
        lines = (f"From: {sender_box}", f"To: {to_box}", f"Subject: {subject}",
                 f"Date: {date}", f"Message-ID: {message_id}")
        if all(len(line) <= _LINE for line in lines):
            head = "\r\n".join(lines) + "\r\nAuto-Submitted: auto-generated\r\n"
    if head is None:
        return plain_message(from_name, origin, to_name, to_email, subject, date, message_id,
                             text).as_string()
    cte = _seven_bit(text, "quoted-printable")
    body = b"\n".join(text.encode("utf-8").splitlines()) + b"\n"
    if cte == "7bit":
        payload = body.decode("ascii")
    else:
        payload = quoprimime.body_encode(body.decode("latin-1"), _LINE)
    return head + _TAIL[cte] + _NEWLINES.sub("\r\n", payload)


def team_summary(to_name: str, to_email: str, team_name: str, event: Event,
                 lines: list[tuple[str, str, Booking]]) -> EmailMessage:
    """The coach's one message after a team booking: who sees whom, when (in the event's
    zone). Plain text only: every athlete and therapist gets their own invitation.
    `lines`: (athlete name, therapist name, booking), in the order to list them."""
    body = [f"Hello {one_line(to_name) or 'coach'},", "",
            f"These sessions are booked for {one_line(team_name)} around {one_line(event.name)}:",
            ""]
    for athlete, therapist, booking in lines:
        body.append(f"- {one_line(athlete)}: {title(booking.kind)}, "
                    f"{_when(booking, event.timezone)}, with {one_line(therapist)}")
    body += ["", "Each athlete and therapist has their own calendar invitation; the team's "
             "calendar feed shows them all.", "", "-- ", clinic_name()]
    return plain(to_name, to_email, f"Booked for {team_name}: {len(lines)} sessions, "
                 f"{event.name}", "\n".join(body) + "\n")
