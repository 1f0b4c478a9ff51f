"""Invitations by email (iMIP, RFC 6047) through a transactional outbox.

- **Queued with the change.** Every booking, reschedule and cancel calls `announce`
  (services/bookings.py: whatever the path: API, pages, event moves, team booking), which
  writes one `MailMessage` per recipient (athlete, therapist) in the same transaction, so
  a rolled-back booking leaves no message. Only with MAIL_SERVER.
- **Sent by a job after the commit**, never inside a request: once the unit has committed,
  a worker is asked to run the job "mail" (services/background.py; the job queue:
  athlete_sched/jobs), which also runs every minute. It claims the due messages in
  batches (one short transaction marks up to MAIL_BATCH of the oldest: attempts + 1 and
  a lease), sends them over one SMTP connection, and records each outcome (sent_at or
  last_error) in a short transaction right after its send. A claim is a lease
  (MAIL_LEASE_SECONDS): two senders never claim one message, a sender that died leaves
  its unsent claims due again once the lease has passed, and a failed message is tried
  again a lease later. A failure never rolls back a booking nor fails a request; `flask
  mail retry` sends every unsent message at once.
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
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from flask import current_app, has_app_context

from ..db.models import Athlete, Booking, Event, MailMessage, Therapist
from ..db.queries import outbox, rows
from . import background, calendars, unit_of_work
from .common import stamp
from .mail_text import Party, compose, sender

log = logging.getLogger(__name__)


def enabled() -> bool:
    return has_app_context() and bool(current_app.config.get("MAIL_SERVER"))


def _queue(messages: list[MailMessage]) -> None:
    """Write the messages in the unit's transaction; once it has committed, a worker is
    asked to send what is due (the request itself never waits for SMTP)."""
    unit_of_work.collected("mail", _send_soon).extend(outbox.add(messages))


def _send_soon(_ids: list[int]) -> None:
    background.soon("mail")


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
        queue_notices([(recipient, message.as_string(), booking_id)])


def queue_notices(notices: list[tuple[str, str, int | None]]) -> None:
    """`queue_notice` for many (recipient, the message's text, booking_id), written
    together; the texts are `EmailMessage.as_string()`, flattened by the caller (before
    its write transaction)."""
    if enabled() and notices:
        at = stamp()
        unit_of_work.collected("mail", _send_soon).extend(outbox.add_many(
            [{"booking_id": booking_id, "recipient": recipient, "method": "NOTICE",
              "sequence": 0, "attempts": 0, "created_at": at, "message": text}
             for recipient, text, booking_id in notices]))


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


def lease() -> timedelta:
    """How long a claim holds (MAIL_LEASE_SECONDS, default six SMTP timeouts): a message
    claimed longer ago than this and still unsent is due again (its sender died)."""
    config = current_app.config
    seconds = config.get("MAIL_LEASE_SECONDS") or 6 * float(config.get("MAIL_TIMEOUT") or 10)
    return timedelta(seconds=float(seconds))


def send_due() -> int:
    """The job "mail" (services/due_work.py): send every due message, in batches of
    MAIL_BATCH over one SMTP connection, until none is due; how many were tried. Due: unsent
    and never tried, or last tried a lease ago (a failure waits one lease before its next
    try; a dead sender's claim runs out). Stops early while the SMTP server is down."""
    if not enabled():
        return 0
    tally, postman, limit = Tally(), Postman(current_app.config), _batch_size()
    try:
        with _sender() as connection:
            while _batch(connection, postman, tally, limit) == limit and not postman.down:
                pass
    finally:
        postman.close()
    return tally.sent + tally.failed


def deliver(ids: Iterable[int]) -> Tally:
    """Send these messages (those unsent and not in a live sender's hands, a failed one at
    once), oldest first, in batches over one SMTP connection."""
    if not enabled():
        return Tally()
    tally, postman, limit = Tally(), Postman(current_app.config), _batch_size()
    wanted = sorted(set(ids))
    try:
        with _sender() as connection:
            for first in range(0, len(wanted), limit):
                chunk = wanted[first:first + limit]
                tally.skipped += len(chunk) - _batch(connection, postman, tally, limit, chunk)
    finally:
        postman.close()
    return tally


@contextmanager
def _sender() -> Iterator[Any]:
    """The sender's own connection: its claim and each outcome are single statements."""
    with unit_of_work.own_connection(single_statements=True) as connection, \
            outbox.sending(connection):
        yield connection


def _batch_size() -> int:
    return max(1, int(current_app.config.get("MAIL_BATCH") or 100))


def _batch(connection, postman: Postman, tally: Tally, limit: int,
           ids: list[int] | None = None) -> int:
    """Claim up to `limit` messages (of `ids`, or the due ones) in one short transaction,
    send each over the postman's connection and record its outcome in a transaction of its
    own right after the send (so a sender killed mid-batch re-sends at most the one message
    in flight). A batch starts no send once half its lease is spent: the rest is given back
    (due again at once), so a live sender never sends on a claim that may have run out.
    How many were claimed."""
    at, started, held = stamp(), time.monotonic(), lease()
    with connection.begin():
        claimed = outbox.claim(connection, at, held, limit, ids)
    outcomes, origin = outbox.Outcomes(connection), sender()
    for done, (message_id, recipient, text) in enumerate(claimed):
        if time.monotonic() - started > held.total_seconds() / 2:
            rest = [message_id for message_id, _, _ in claimed[done:]]
            with connection.begin():
                outbox.release(connection, rest, at)
            tally.skipped += len(rest)
            break
        error = postman.send(origin, recipient, text.encode("utf-8"))
        outcomes.record(message_id, error, stamp())
        tally.sent += error is None
        if error:
            log.warning("mail %s to %s not sent: %s", message_id, recipient, error)
            tally.errors.append(f"{message_id} to {recipient}: {error}")
    return len(claimed)


def _claim(message_id: int, lease: timedelta) -> tuple[str, str] | None:
    """Claim one message on its own (recipient, text), or None if it was sent, is gone, or
    another sender's claim is younger than `lease`."""
    with unit_of_work.separate() as connection:
        found = outbox.claim(connection, stamp(), lease, 1, [message_id])
    return (found[0][1], found[0][2]) if found else None


def _record(message_id: int, error: str | None) -> None:
    with unit_of_work.separate() as connection:
        outbox.record(connection, message_id, error, stamp())


def retry(max_attempts: int | None = None) -> Tally:
    """Send every unsent message (tried fewer than `max_attempts` times), oldest first."""
    with unit_of_work.separate() as connection:  # a short read of its own
        ids = outbox.unsent(connection, max_attempts)
    return deliver(ids)
