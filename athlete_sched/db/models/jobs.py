"""What the background work keeps (issue 15): the waiting list with its offers, the
notices already queued (reminders, check-ins, offers, new races), and the race calendars
athletes import or subscribe to. The tables come from migration 0019."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ...core.kinds import WINDOW_KINDS
from ...extensions import db
from ..types import UTCDateTime
from .common import CALENDAR_KINDS, in_


class WaitlistEntry(db.Model):
    """An athlete waiting for a slot in one window (`kind`: pre or post) of an event. The
    line is (created_at, id). While `offer_expires` is set, the slot [offer_start,
    offer_end) with the therapist (blocked to `offer_block_end`, the buffer included) is
    held for this athlete: only they can book it until then."""

    __tablename__ = "waitlist_entry"
    __table_args__ = (
        CheckConstraint(in_("kind", WINDOW_KINDS), name="kind"),
        CheckConstraint("(offer_start IS NULL) = (offer_expires IS NULL)", name="offer"),
        CheckConstraint("offer_start IS NULL OR (offer_start < offer_end "
                        "AND offer_end <= offer_block_end)", name="offer_period"),
        UniqueConstraint("event_id", "athlete_id", "kind", name="uq_waitlist_entry_place"),
        Index("ix_waitlist_entry_line", "event_id", "kind", "created_at", "id"),
        Index("ix_waitlist_entry_offer", "offer_therapist_id", "offer_block_end"),
        Index("ix_waitlist_entry_athlete", "athlete_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    athlete_id: Mapped[int] = mapped_column(ForeignKey("athlete.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    offer_therapist_id: Mapped[int | None] = mapped_column(
        ForeignKey("therapist.id", ondelete="SET NULL"), default=None)
    offer_site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), default=None)
    offer_start: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    offer_end: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    offer_block_end: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    offer_expires: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    offers_made: Mapped[int] = mapped_column(Integer, default=0)


class SentNotice(db.Model):
    """A notice queued once (in the transaction that queued its mail): `kind` is what it
    is ('reminder', 'check-in', 'offer', 'new-race', ...) and `key` what it was about, e.g.
    a booking and the start it announced, so that a moved session gets a new reminder and
    two workers never queue one twice (the unique key refuses the second)."""

    __tablename__ = "sent_notice"
    __table_args__ = (
        UniqueConstraint("kind", "key", name="uq_sent_notice_kind_key"),
        Index("ix_sent_notice_booking", "booking_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(200))
    athlete_id: Mapped[int | None] = mapped_column(
        ForeignKey("athlete.id", ondelete="CASCADE"), default=None)
    booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("booking.id", ondelete="CASCADE"), default=None)
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("event.id", ondelete="CASCADE"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RaceCalendar(db.Model):
    """Where an athlete's races come from: the uploaded export (one per athlete) or a
    subscribed iCal address, kept in step on every sync as busy calendars are."""

    __tablename__ = "race_calendar"
    __table_args__ = (
        CheckConstraint(in_("kind", CALENDAR_KINDS), name="kind"),
        CheckConstraint("(kind = 'url') = (url IS NOT NULL)", name="url"),
        CheckConstraint("interval_minutes BETWEEN 5 AND 10080", name="interval_minutes"),
        Index("uq_race_calendar_one_upload", "athlete_id", unique=True,
              postgresql_where=text("kind = 'upload'"), sqlite_where=text("kind = 'upload'")),
        Index("ix_race_calendar_due", "kind", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    athlete_id: Mapped[int] = mapped_column(ForeignKey("athlete.id", ondelete="CASCADE"),
                                            index=True)
    kind: Mapped[str] = mapped_column(String(8))
    url: Mapped[str | None] = mapped_column(Text)
    interval_minutes: Mapped[int] = mapped_column(Integer, default=360)
    body_hash: Mapped[str | None] = mapped_column(String(64))  # sha256 of the last good body
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(64))
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last good import
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last attempt
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # next sync (url)
    error: Mapped[str | None] = mapped_column(Text)
    error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
