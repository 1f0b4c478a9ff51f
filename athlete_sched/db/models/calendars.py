"""Calendars in and out: the busy intervals a therapist's own calendars bring in, the
calendars they come from, the tokens of published feeds, the outbox of invitation emails,
and the data version the caches key on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ...extensions import db
from ..types import UTCDateTime
from .common import CALENDAR_KINDS, MAIL_METHODS, in_
from .people import TherapistPeriod


class BusyInterval(TherapistPeriod, db.Model):
    """A period blocked by the therapist's own calendar (imported from `calendar_id`)."""

    __tablename__ = "busy_interval"

    source: Mapped[str] = mapped_column(String(32), default="upload")
    calendar_id: Mapped[int | None] = mapped_column(
        ForeignKey("busy_calendar.id", ondelete="CASCADE"), index=True)


class BusyCalendar(db.Model):
    """Where a therapist's busy intervals come from: the uploaded export (one per
    therapist) or a subscribed secret iCal address. Its busy intervals are replaced as one
    unit by each good import; a failed one only records `error` / `error_at`."""

    __tablename__ = "busy_calendar"
    __table_args__ = (
        CheckConstraint(in_("kind", CALENDAR_KINDS), name="kind"),
        CheckConstraint("(kind = 'url') = (url IS NOT NULL)", name="url"),
        CheckConstraint("interval_minutes BETWEEN 5 AND 10080", name="interval_minutes"),
        Index("uq_busy_calendar_one_upload", "therapist_id", unique=True,
              postgresql_where=text("kind = 'upload'"), sqlite_where=text("kind = 'upload'")),
        Index("ix_busy_calendar_due", "kind", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapist.id", ondelete="CASCADE"),
                                              index=True)
    kind: Mapped[str] = mapped_column(String(8))
    url: Mapped[str | None] = mapped_column(Text)
    interval_minutes: Mapped[int] = mapped_column(Integer, default=60)
    body_hash: Mapped[str | None] = mapped_column(String(64))  # sha256 of the last good body
    etag: Mapped[str | None] = mapped_column(String(512))  # the server's validators
    last_modified: Mapped[str | None] = mapped_column(String(64))
    busy_count: Mapped[int] = mapped_column(Integer, default=0)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last good import
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last attempt
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # next sync (url)
    error: Mapped[str | None] = mapped_column(Text)  # the last attempt's, None if it worked
    error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


ONE_FEED_OWNER = " + ".join(f"CASE WHEN {owner} IS NULL THEN 0 ELSE 1 END"
                           for owner in ("therapist_id", "athlete_id", "team_id")) + " = 1"


class CalendarFeed(db.Model):
    """The secret token of one owner's iCalendar feed (a therapist, an athlete or a team),
    kept only as its SHA-256 (`token_hash`, what a feed URL is looked up by). A token made
    since migration 0016 is derived from `token_seed` with the app's key, so the link can be
    shown again (services/calendars.py); a token hashed by that migration has no seed (its
    link works, but cannot be shown). Rotating replaces both in place, so the old URL
    answers 404 at once."""

    __tablename__ = "calendar_feed"
    __table_args__ = (
        CheckConstraint(ONE_FEED_OWNER, name="one_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_seed: Mapped[str | None] = mapped_column(String(64))
    therapist_id: Mapped[int | None] = mapped_column(
        ForeignKey("therapist.id", ondelete="CASCADE"), unique=True)
    athlete_id: Mapped[int | None] = mapped_column(
        ForeignKey("athlete.id", ondelete="CASCADE"), unique=True)
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("team.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rotated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DataVersion(db.Model):
    """PostgreSQL's commit counter for the per-process caches (db/version.py; kept current
    by the triggers of migration 0004). Unused on SQLite, which has PRAGMA data_version."""

    __tablename__ = "data_version"

    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(BigInteger)


class ScheduleVersion(db.Model):
    """The commit counter of the tables schedules are read from (therapist, working_period,
    working_day, working_day_period), one row, on both backends (migration 0015's
    triggers): the key of the per-process schedules cache (services/schedules.py)."""

    __tablename__ = "schedule_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(BigInteger)


class FeedVersion(db.Model):
    """What feeds show beyond their own rows, one row on both backends (migration 0017):
    `names` grows with every committed change of a name of an athlete, therapist, team or
    event, of a site or of the clinic's settings; `row_clock` is SQLite's row_version
    clock. Part of every feed's fingerprint (services/calendars.py)."""

    __tablename__ = "feed_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    names: Mapped[int] = mapped_column(BigInteger)
    row_clock: Mapped[int] = mapped_column(BigInteger)


class ProposalsVersion(db.Model):
    """The commit counter of what proposals read besides bookings, events, team memberships
    and schedules (time_off, busy_interval, athlete, site, clinic_settings), one row, on
    both backends (migration 0018's triggers): part of the proposals cache's key
    (db/queries/proposal_keys.py)."""

    __tablename__ = "proposals_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(BigInteger)


class MailMessage(db.Model):
    """An iMIP message to one recipient, written in the same transaction as the change it
    announces (so it is never lost) and sent after the commit; a failed send stays here
    with its error for `flask mail retry`. `message` is the whole RFC 5322 text."""
    __tablename__ = "mail_message"
    __table_args__ = (
        CheckConstraint(in_("method", MAIL_METHODS), name="method"),
        Index("ix_mail_message_unsent", "sent_at", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("booking.id", ondelete="SET NULL"), index=True)
    recipient: Mapped[str] = mapped_column(String(254))
    method: Mapped[str] = mapped_column(String(16))
    sequence: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
