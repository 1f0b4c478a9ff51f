"""The waiting list (waitlist_entry, migration 0019): the lines, one per event and window
kind, in order (created_at, id), and the offers held for the first in line.

An offer is live while `offer_expires` is after now; the booking guard refuses another
athlete's claim on a live offer's time (db/guard.py, rule 'held'), and proposals leave it
out (db/queries/therapists.states_in reads live offers with the bookings). Clearing an
expired offer, writing or deleting one, bumps proposals_version (migration 0020), so
cached proposals follow."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update

from ...extensions import db
from ..models import SentNotice, WaitlistEntry

OFFER_COLUMNS = ("offer_therapist_id", "offer_site_id", "offer_start", "offer_end",
                 "offer_block_end", "offered_at", "offer_expires")
# pre before post ('pre' > 'post'), then the order of joining
LINE_ORDER = (WaitlistEntry.kind.desc(), WaitlistEntry.created_at, WaitlistEntry.id)


def line(event_id: int) -> list[WaitlistEntry]:
    """Both lines of an event (pre, then post), each in order (ix_waitlist_entry_line)."""
    return list(db.session.scalars(select(WaitlistEntry).where(
        WaitlistEntry.event_id == event_id).order_by(*LINE_ORDER)))


def place(event_id: int, athlete_id: int, kind: str) -> WaitlistEntry | None:
    """The athlete's entry in the event's line of `kind`, if any."""
    return db.session.scalars(select(WaitlistEntry).where(
        WaitlistEntry.event_id == event_id, WaitlistEntry.athlete_id == athlete_id,
        WaitlistEntry.kind == kind)).first()


def of_athlete(athlete_id: int) -> list[WaitlistEntry]:
    return list(db.session.scalars(select(WaitlistEntry).where(
        WaitlistEntry.athlete_id == athlete_id).order_by(WaitlistEntry.event_id, *LINE_ORDER)))


def locked(entry_id: int) -> WaitlistEntry | None:
    """The entry as committed now, its row locked to the end of the transaction
    (PostgreSQL: FOR UPDATE, which waits for a writer of it and reads its commit; SQLite:
    the transaction holds the write lock already)."""
    return db.session.scalars(select(WaitlistEntry).where(WaitlistEntry.id == entry_id)
                              .with_for_update()
                              .execution_options(populate_existing=True)).first()


def lines() -> list[tuple[int, str]]:
    """Every (event_id, kind) with someone waiting, in order."""
    return [(e, k) for e, k in db.session.execute(
        select(WaitlistEntry.event_id, WaitlistEntry.kind).distinct()
        .order_by(WaitlistEntry.event_id, WaitlistEntry.kind))]


def everything() -> list[WaitlistEntry]:
    """Every entry, by event and line (the therapists' overview)."""
    return list(db.session.scalars(select(WaitlistEntry).order_by(
        WaitlistEntry.event_id, *LINE_ORDER)))


def leave(event_id: int, athlete_id: int, kind: str) -> int:
    """Remove the athlete from the event's line of `kind` (they booked in that window)."""
    return db.session.execute(delete(WaitlistEntry).where(
        WaitlistEntry.event_id == event_id, WaitlistEntry.athlete_id == athlete_id,
        WaitlistEntry.kind == kind)).rowcount


def clear_expired(now: datetime) -> int:
    """Clear every offer that expired by `now` (the entries keep their place)."""
    return db.session.execute(
        update(WaitlistEntry).where(WaitlistEntry.offer_expires <= now)
        .values(**dict.fromkeys(OFFER_COLUMNS))
        .execution_options(synchronize_session=False)).rowcount


def offered_keys(entry_id: int) -> set[str]:
    """The keys of the offers already made to an entry (sent_notice kind 'offer', key
    '{entry id}:{start}'): a start offered once is never offered to it again."""
    prefix = f"{entry_id}:"
    return set(db.session.scalars(select(SentNotice.key).where(
        SentNotice.kind == "offer", SentNotice.key.startswith(prefix, autoescape=True))))
