"""Reminders and check-ins by email (domain.md, "Reminders and check-ins"): the background
work "reminders" (services/due_work.py).

`run(now)` does one round:

0. **Alone**: on a real queue, a round another worker is running already is left to it
   (services/background.alone; a hold that runs out after ROUND_HOLD if that worker
   died), so the second worker is free to send the messages the round queues (the mail
   job starts after the round's first unit has committed) rather than composing the same
   messages beside it. Only a saving: what follows keeps two rounds at once correct.
1. **Find** (one short read): the confirmed sessions of athletes who take reminders
   (athlete.reminders) that start near `now` (core/reminders.py: a reminder can be due for
   sessions of the next two days, a check-in for recovery sessions of the last four), by an
   index range (db/queries/reminders.py); which are due is worked out here from each
   athlete's zone (REMINDER_HOUR local time: the day before; the second day after a
   recovery session), and those whose notice is already recorded are dropped.
2. **Queue** them in units of BATCH: for each unit, a re-read of which of its notices
   are recorded meanwhile (by another worker), the messages of the others composed with
   no transaction open (on SQLite the write lock is not held meanwhile), then
   `notices.record_many(kind, keys)` and, for each notice that this recorded, its message
   into the outbox, in one transaction. The key is the booking and the start it
   announces, so a moved session's reminder is due again for its new time (and one sent
   for the old time is never sent again), and a second worker or a second round records
   nothing and queues nothing. A round takes its units in an order of its own (shuffled),
   so that workers running the same round at once mostly take different units. A unit
   that fails is run again one notice per unit, so one bad notice costs only itself (it
   is logged and tried again next round); a database out of reach ends the round.

Never for a cancelled session (only confirmed ones are read). Nothing is recorded or
queued while mail is off (MAIL_SERVER unset): turning mail on later sends what is due
from then on, not a backlog (reminders only before the session, check-ins only within a
day of their time).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from flask import current_app

from ..core import reminders as rules
from ..core.kinds import POST
from ..core.zones import load_zone
from ..db.models import Athlete
from ..db.queries import notices, rows
from ..db.queries import reminders as queries
from ..db.queries.reminders import Due
from . import access, background, calendars, clinic, mail, reminder_text, unit_of_work
from .access import Caller
from .common import policy, stamp

log = logging.getLogger(__name__)

REMINDER, CHECK_IN = "reminder", "check-in"  # sent_notice.kind
BATCH = 200  # notices queued per unit of work
ROUND_HOLD = timedelta(minutes=2)  # a round held by a worker that died is run again after
DEFAULT_HOUR = 9


@dataclass(frozen=True)
class Notice:
    kind: str  # REMINDER or CHECK_IN
    due: Due

    @property
    def key(self) -> str:
        return rules.notice_key(self.due.booking_id, self.due.start)


def reminder_hour() -> int:
    """REMINDER_HOUR: the local hour (0-23) reminders and check-ins go out at."""
    value = current_app.config.get("REMINDER_HOUR", DEFAULT_HOUR)
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or not 0 <= int(text) <= 23:
        raise ValueError(f"REMINDER_HOUR={value!r}: give a whole hour from 0 to 23")
    return int(text)


def run(now: datetime) -> int:
    """One round at `now`: queue every reminder and check-in due and not yet queued;
    how many were queued."""
    if not mail.enabled():
        return 0
    with background.alone("reminders", ROUND_HOLD) as mine:
        if not mine:  # another worker runs this round; this one is free to send its mail
            return 0
        hour = reminder_hour()
        found = unit_of_work.run(lambda: due_notices(now, hour))
        batches = list(_batches(found, BATCH))
        random.shuffle(batches)  # workers running this round at once take different units
        return sum(_queue(batch) for batch in batches)


def due_notices(now: datetime, hour: int) -> list[Notice]:
    """The reminders and check-ins due at `now` and not yet recorded, in booking order (so
    that workers racing for the same notices take their keys in one order)."""
    found = [Notice(REMINDER, due) for due in
             queries.sessions_starting(rules.reminder_starts(now, hour))
             if rules.reminder_is_due(due.start, due.written, load_zone(due.athlete_timezone),
                                      hour, now)]
    found += [Notice(CHECK_IN, due) for due in
              queries.sessions_starting(rules.check_in_starts(now, hour))
              if due.kind == POST
              and rules.check_in_is_due(due.start, load_zone(due.athlete_timezone), hour, now)]
    sent = {(kind, key) for kind in (REMINDER, CHECK_IN)
            for key in queries.already_sent(kind, [n.key for n in found if n.kind == kind])}
    return sorted((n for n in found if (n.kind, n.key) not in sent),
                  key=lambda n: (n.due.booking_id, n.kind))


def _batches(items: list[Notice], size: int) -> Iterator[list[Notice]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _queue(batch: list[Notice]) -> int:
    """Queue the batch in one unit; if that fails, each notice in a unit of its own."""
    try:
        return unit_of_work.run(lambda: _record_and_queue(batch))
    except unit_of_work.DatabaseFault:
        raise
    except Exception:
        if len(batch) == 1:
            log.exception("reminders: %s %s not queued; tried again next round",
                          batch[0].kind, batch[0].key)
            return 0
        log.warning("reminders: a batch of %d failed; queuing them one by one", len(batch))
        return sum(_queue([notice]) for notice in batch)


def _record_and_queue(batch: list[Notice]) -> int:
    """Queue the batch's notices not recorded yet: read what the messages need and which
    were recorded meanwhile (another worker's), compose the messages with no transaction
    open (SQLite's write lock is not held while composing), then record the notices (one
    statement per kind) and queue the message of each that this call recorded (one write
    of the outbox)."""
    where = calendars.clinic().location
    places = calendars.locations(where)
    cancel_notice = policy().cancel_notice  # and the clinic's name: read before composing
    sent = {(kind, key) for kind in (REMINDER, CHECK_IN)
            for key in queries.already_sent(kind, [n.key for n in batch if n.kind == kind])}
    batch = [n for n in batch if (n.kind, n.key) not in sent]
    if not batch:
        return 0
    unit_of_work.release()
    composed = [(n, message_text(n, places.get(n.due.site_id, where), cancel_notice))
                for n in batch]
    at, recorded = stamp(), set()
    for kind in (REMINDER, CHECK_IN):
        keys = [(n.key, n.due.athlete_id, n.due.booking_id) for n in batch if n.kind == kind]
        recorded |= {(kind, key) for key in notices.record_many(kind, keys, at)}
    mail.queue_notices([(n.due.athlete_email, text, n.due.booking_id)
                        for n, text in composed if (n.kind, n.key) in recorded])
    return len(recorded)


def message(notice: Notice, location: str, cancel_notice: timedelta | None = None
            ) -> EmailMessage:
    if notice.kind == REMINDER:
        return reminder_text.reminder(notice.due, location,
                                      cancel_notice or policy().cancel_notice)
    return reminder_text.check_in(notice.due)


def message_text(notice: Notice, location: str, cancel_notice: timedelta) -> str:
    """`message(...).as_string()`, written without an EmailMessage where it can be."""
    if notice.kind == REMINDER:
        return reminder_text.reminder_as_text(notice.due, location, cancel_notice)
    return reminder_text.check_in_as_text(notice.due)


# --- the athlete's choice (pages) ---------------------------------------------------------

def mine(caller: Caller) -> bool | None:
    """Whether the caller's own athlete profile takes reminders; None: not an athlete."""
    if caller.role != "athlete" or caller.athlete_id is None:
        return None
    athlete = rows.get(Athlete, caller.athlete_id)
    return None if athlete is None else athlete.reminders


def set_for(caller: Caller, athlete_id: int, on: bool) -> Athlete:
    """Turn an athlete's reminders and check-ins on or off: the athlete themself or an
    admin (services/clinic.set_reminders)."""
    athlete = access.athlete(caller, athlete_id)
    clinic.set_reminders(caller, athlete, on)
    rows.flush()
    return athlete
