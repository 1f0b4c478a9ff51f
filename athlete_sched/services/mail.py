"""Invitations by email (iMIP, RFC 6047) through a transactional outbox.

- **Queued with the change.** Session events watch each flush: a new booking, or one whose
  SEQUENCE rose (reschedule, cancel), gets one `MailMessage` per recipient (athlete,
  therapist) in the same transaction, so every path (API, pages, event moves, team booking)
  is covered untouched and a rolled-back booking leaves no message. Only with MAIL_SERVER.
- **Sent after the commit**, outside the transaction: each message is claimed (attempts
  + 1) in a short transaction, sent with smtplib, and its outcome (sent_at or last_error)
  recorded in another. A failure is logged and left for `flask mail retry`; it never rolls
  back a booking nor fails a request. A claim is a lease of a few SMTP timeouts, so a live
  send and a retry never send one message twice, and a sender that died is retried later.
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

from flask import current_app, has_app_context
from sqlalchemy import and_, event, inspect, or_, select, update
from sqlalchemy.orm import Session, SessionTransaction

from ..db.models import Athlete, Booking, Event, MailMessage, Therapist
from ..extensions import db
from .common import stamp
from .mail_text import Party, compose, sender

log = logging.getLogger(__name__)

_OUTBOX = "athlete_sched.mail.outbox"  # session.info: ids of messages written, to send
_ANNOUNCE = "athlete_sched.mail.announce"  # session.info: bookings the last flush changed


def enabled() -> bool:
    return has_app_context() and bool(current_app.config.get("MAIL_SERVER"))


def queue(session: Session, booking: Booking) -> list[MailMessage]:
    """Add one message per recipient announcing the booking's current state."""
    from .calendars import invite_ics, invite_method  # H1's invite, imported when needed

    athlete = session.get(Athlete, booking.athlete_id)
    therapist = session.get(Therapist, booking.therapist_id)
    event = session.get(Event, booking.event_id) if booking.event_id else None  # tune-up
    ics, method = invite_ics(booking), invite_method(booking)
    people = (Party(athlete.name, athlete.email, athlete.timezone, "athlete"),
              Party(therapist.name, therapist.email, therapist.timezone, "therapist"))
    queued = [MailMessage(booking_id=booking.id, recipient=to.email, method=method,
                          sequence=booking.sequence, attempts=0, created_at=stamp(),
                          message=compose(booking, to, other, event, ics, method).as_string())
              for to, other in (people, people[::-1])]
    session.add_all(queued)
    return queued


# --- the hooks: queue with the change, send after the commit --------------------------------

def _sequence_rose(booking: Booking) -> bool:
    return inspect(booking).attrs.sequence.history.has_changes()


def _after_flush(session: Session, _context: object) -> None:
    """Note the messages just written (to send) and the bookings just changed (to announce:
    queued in after_flush_postexec, since a flush must not add rows to itself)."""
    if not enabled():
        return
    session.info.setdefault(_OUTBOX, set()).update(
        m.id for m in session.new if isinstance(m, MailMessage))
    changed = [b for b in session.new if isinstance(b, Booking)]
    changed += [b for b in session.dirty if isinstance(b, Booking) and _sequence_rose(b)]
    session.info.setdefault(_ANNOUNCE, []).extend(changed)


def _after_flush_postexec(session: Session, _context: object) -> None:
    for booking in session.info.pop(_ANNOUNCE, ()):
        try:
            queue(session, booking)
        except Exception:  # noqa: BLE001 - a message that cannot be built must not cost the booking
            log.exception("mail: no invitation queued for booking %s", booking.id)


def _after_commit(session: Session) -> None:
    """After the real commit (not a savepoint's), send what this transaction queued. Never
    raises: the booking is committed and the caller's answer must not turn into an error."""
    if session.in_nested_transaction():
        return
    ids = session.info.pop(_OUTBOX, None)
    if not ids or not enabled():
        return
    try:
        deliver(sorted(ids))
    except Exception:  # noqa: BLE001 - a bug or a database outage here must not fail the caller
        log.exception("mail: sending after commit failed; `flask mail retry` will resend")


def _after_soft_rollback(session: Session, previous: SessionTransaction) -> None:
    """The whole transaction rolled back: forget its messages. (A savepoint's rollback
    keeps the list: ids it undid are found gone and skipped when sending.)"""
    if previous.parent is None:
        session.info.pop(_OUTBOX, None)
        session.info.pop(_ANNOUNCE, None)


HOOKS = {"after_flush": _after_flush, "after_flush_postexec": _after_flush_postexec,
         "after_commit": _after_commit, "after_soft_rollback": _after_soft_rollback}


def install() -> None:
    """Listen on the app session (`db.session`); idempotent, as create_app runs per app."""
    for name, hook in HOOKS.items():
        if not event.contains(db.session, name, hook):
            event.listen(db.session, name, hook)


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
    at = stamp()
    table = MailMessage.__table__
    free = or_(table.c.last_error.is_not(None), table.c.last_attempt_at.is_(None),
               table.c.last_attempt_at <= at - lease)
    with db.engine.begin() as connection:
        claimed = connection.execute(
            update(table).where(and_(table.c.id == message_id, table.c.sent_at.is_(None), free))
            .values(attempts=table.c.attempts + 1, last_attempt_at=at, last_error=None))
        if claimed.rowcount != 1:
            return None
        row = connection.execute(select(table.c.recipient, table.c.message)
                                 .where(table.c.id == message_id)).one()
    return row.recipient, row.message


def _record(message_id: int, error: str | None) -> None:
    values: dict[str, object] = {"last_error": error[:2000]} if error else {"sent_at": stamp()}
    with db.engine.begin() as connection:
        connection.execute(update(MailMessage.__table__)
                           .where(MailMessage.__table__.c.id == message_id).values(**values))


def deliver(ids: Iterable[int]) -> Tally:
    """Send these messages, each claimed, sent and recorded on its own (oldest first)."""
    tally, postman = Tally(), Postman(current_app.config)
    lease = timedelta(seconds=6 * postman.timeout)
    try:
        for message_id in ids:
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
    table = MailMessage.__table__
    query = select(table.c.id).where(table.c.sent_at.is_(None)).order_by(table.c.id)
    if max_attempts is not None:
        query = query.where(table.c.attempts < max_attempts)
    with db.engine.begin() as connection:  # a short read of its own
        ids = list(connection.scalars(query))
    return deliver(ids)

