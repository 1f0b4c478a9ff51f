"""Invitations by email (iMIP, RFC 6047) through a transactional outbox.

- **Queued with the change.** Every booking, reschedule and cancel calls `announce`
  (services/bookings.py: whatever the path: API, pages, event moves, team booking), which
  writes one `MailMessage` per recipient (athlete, therapist) in the same transaction, so
  a rolled-back booking leaves no message. Only with MAIL_SERVER.
- **Sent after the commit**, outside the transaction (the unit of work runs `deliver`
  once the unit has committed, for every message it wrote): each message is claimed
  (attempts + 1) in a short transaction, sent with smtplib, and its outcome (sent_at or
  last_error) recorded in another. A failure is logged and left for `flask mail retry`;
  it never rolls back a booking nor fails a request. A claim is a lease of a few SMTP
  timeouts, so a live send and a retry never send one message twice, and a sender that
  died is retried later.
- **The message** is stored whole: RFC 5322, CRLF, 7-bit (non-ASCII parts quoted-printable
  or base64, headers RFC 2047), so a retry sends the same bytes, METHOD and SEQUENCE. It is
  multipart/alternative: a text/plain summary and `text/calendar; charset=utf-8;
  method=REQUEST|CANCEL` matching the METHOD inside. No second copy as an .ics attachment
  (multipart/mixed): some Outlook versions then show a plain attachment instead of the
  meeting request; the alternative alone is RFC 6047's example and what clients send.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage

from flask import current_app, has_app_context

from ..db.models import Athlete, Booking, Event, MailMessage, Therapist
from ..db.queries import outbox, rows
from . import calendars, unit_of_work
from .common import stamp
from .mail_text import Party, compose, sender

log = logging.getLogger(__name__)


def enabled() -> bool:
    return has_app_context() and bool(current_app.config.get("MAIL_SERVER"))


def _queue(messages: list[MailMessage]) -> None:
    """Write the messages in the unit's transaction; they leave after its commit."""
    unit_of_work.collected("mail", deliver).extend(outbox.add(messages))


def announce(booking: Booking) -> None:
    """Queue one message per recipient announcing the booking's current state (a new
    booking, a move, a cancel). A message that cannot be built is logged: it must not
    cost the booking."""
    if not enabled():
        return
    try:
        messages = _messages(booking)
    except Exception:  # noqa: BLE001
        log.exception("mail: no invitation queued for booking %s", booking.id)
        return
    _queue(messages)


def _messages(booking: Booking) -> list[MailMessage]:
    athlete = rows.get(Athlete, booking.athlete_id)
    therapist = rows.get(Therapist, booking.therapist_id)
    event = rows.get(Event, booking.event_id) if booking.event_id else None  # tune-up
    ics, method = calendars.invite_ics(booking), calendars.invite_method(booking)
    people = (Party(athlete.name, athlete.email, athlete.timezone, "athlete"),
              Party(therapist.name, therapist.email, therapist.timezone, "therapist"))
    location = calendars.clinic().location
    return [MailMessage(booking_id=booking.id, recipient=to.email, method=method,
                        sequence=booking.sequence, attempts=0, created_at=stamp(),
                        message=compose(booking, to, other, event, ics, method,
                                        location).as_string())
            for to, other in (people, people[::-1])]


def queue_summary(recipient: str, message: EmailMessage) -> None:
    """Queue a plain message that announces no single booking (a coach's team summary)."""
    if enabled():
        _queue([MailMessage(booking_id=None, recipient=recipient, method="SUMMARY",
                            sequence=0, attempts=0, created_at=stamp(),
                            message=message.as_string())])


def queue_notice(recipient: str, message: EmailMessage, booking_id: int | None = None) -> None:
    """Queue a plain message of the background work (a reminder, a check-in, a waiting-list
    offer, a new race): method NOTICE, no calendar part; sent like every other message."""
    if enabled():
        _queue([MailMessage(booking_id=booking_id, recipient=recipient, method="NOTICE",
                            sequence=0, attempts=0, created_at=stamp(),
                            message=message.as_string())])


# --- sending ------------------------------------------------------------------------------

@dataclass
class Tally:
    sent: int = 0
    skipped: int = 0  # sent meanwhile, gone, or claimed by another sender
    errors: list[str] = field(default_factory=list)  # one per failed message

    @property
    def failed(self) -> int:
        return len(self.errors)


class Postman:
    """One SMTP connection for a batch, opened on first use. A failure to connect is
    remembered, so a server that is down costs one timeout per batch, not per message."""

    def __init__(self, config) -> None:
        self.config, self.smtp, self.down = config, None, None
        self.timeout = float(config.get("MAIL_TIMEOUT") or 10)

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        host, port, timeout = c["MAIL_SERVER"], int(c.get("MAIL_PORT") or 25), self.timeout
        if c.get("MAIL_USE_SSL"):
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        try:
            if c.get("MAIL_USE_TLS") and not c.get("MAIL_USE_SSL"):
                smtp.starttls(context=ssl.create_default_context())
            if c.get("MAIL_USERNAME"):
                smtp.login(c["MAIL_USERNAME"], c.get("MAIL_PASSWORD") or "")
        except BaseException:
            smtp.close()  # a refused STARTTLS or login must not leak the socket
            raise
        return smtp

    def send(self, origin: str, recipient: str, data: bytes) -> str | None:
        """Send one message; None if it was accepted, else the error."""
        if self.down:
            return self.down
        try:
            if self.smtp is None:
                self.smtp = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            self.down = f"no SMTP session with {self.config['MAIL_SERVER']}: {exc!r}"
            return self.down
        try:
            self.smtp.sendmail(origin, [recipient], data)
        except (OSError, smtplib.SMTPException) as exc:
            self.close()  # the next message starts on a fresh connection
            return f"{type(exc).__name__}: {exc}"
        return None

    def close(self) -> None:
        smtp, self.smtp = self.smtp, None
        try:
            if smtp is not None:
                smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _claim(message_id: int, lease: timedelta) -> tuple[str, str] | None:
    """Take the message for sending (its own short transaction): (recipient, text), or None
    if it was sent, is gone, or another sender's claim is younger than `lease`."""
    with unit_of_work.separate() as connection:
        return outbox.claim(connection, message_id, lease, stamp())


def _record(message_id: int, error: str | None) -> None:
    with unit_of_work.separate() as connection:
        outbox.record(connection, message_id, error, stamp())


def deliver(ids: Iterable[int]) -> Tally:
    """Send these messages, each claimed, sent and recorded on its own (oldest first)."""
    if not enabled():
        return Tally()
    tally, postman = Tally(), Postman(current_app.config)
    lease = timedelta(seconds=6 * postman.timeout)
    try:
        for message_id in sorted(ids):
            claimed = _claim(message_id, lease)
            if claimed is None:
                tally.skipped += 1
                continue
            recipient, text = claimed
            error = postman.send(sender(), recipient, text.encode("utf-8"))
            _record(message_id, error)
            tally.sent += error is None
            if error:
                log.warning("mail %s to %s not sent: %s", message_id, recipient, error)
                tally.errors.append(f"{message_id} to {recipient}: {error}")
    finally:
        postman.close()
    return tally


def retry(max_attempts: int | None = None) -> Tally:
    """Send every unsent message (tried fewer than `max_attempts` times), oldest first."""
    with unit_of_work.separate() as connection:  # a short read of its own
        ids = outbox.unsent(connection, max_attempts)
    return deliver(ids)
