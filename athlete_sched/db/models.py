"""Typed models (SQLAlchemy 2). Instants are UTC (UTCDateTime); local wall-clock values
only where the domain means wall-clock (weekly working hours, in minutes after midnight).

Invariants live in the database too: CHECK constraints here; the PostgreSQL exclusion
constraints and the SQLite overlap triggers are created by the migration. Models hold no
event hooks: what a write sets off (locks, mail) is called by the service that writes
(services/unit_of_work.py, services/mail.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from ..core.kinds import SESSION_KINDS
from ..extensions import db
from .types import UTCDateTime

ROLES = ("admin", "therapist", "coach", "athlete")
SPORTS = ("running", "mtb", "cycling", "triathlon", "other")
# One confirmed session of each of these kinds per athlete and event (a course has several).
ONCE_KINDS_WHERE = "status = 'confirmed' AND kind IN ('pre', 'post')"
STATUSES = ("confirmed", "cancelled")
PRIORITIES = ("A", "B", "C")


def _stamp() -> datetime:
    """When a row changes: the real clock, whole seconds (services.common.stamp)."""
    return datetime.now(UTC).replace(microsecond=0)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class User(db.Model):
    __tablename__ = "user_account"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Therapist(db.Model):
    __tablename__ = "therapist"
    __table_args__ = (
        CheckConstraint("session_minutes BETWEEN 5 AND 480", name="session_minutes"),
        CheckConstraint("buffer_minutes BETWEEN 0 AND 240", name="buffer_minutes"),
        CheckConstraint("slot_step_minutes BETWEEN 1 AND 240", name="slot_step_minutes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    session_minutes: Mapped[int] = mapped_column(Integer, default=45)
    buffer_minutes: Mapped[int] = mapped_column(Integer, default=0)
    slot_step_minutes: Mapped[int] = mapped_column(Integer, default=15)

    working_hours: Mapped[list[WorkingPeriodRow]] = relationship(
        back_populates="therapist", cascade="all, delete-orphan",
        order_by="(WorkingPeriodRow.day, WorkingPeriodRow.start_minute)", lazy="selectin")


class WorkingPeriodRow(db.Model):
    """A weekly working period as stored: minutes after the therapist's local midnight
    (the core's value is core.availability.WorkingPeriod; db/queries/therapists.py maps)."""

    __tablename__ = "working_period"
    __table_args__ = (
        CheckConstraint("day BETWEEN 0 AND 6", name="day"),
        CheckConstraint("start_minute >= 0 AND end_minute <= 1440 AND start_minute < end_minute",
                        name="period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapist.id", ondelete="CASCADE"),
                                              index=True)
    day: Mapped[int] = mapped_column(Integer)  # 0 = Monday
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)

    therapist: Mapped[Therapist] = relationship(back_populates="working_hours")


class _TherapistPeriod:
    """Columns, CHECK and index shared by the periods that block a therapist (same schema
    as migrations 0001/0002: `ck_<table>_period`, `ix_<table>_therapist_end`)."""

    @declared_attr.directive
    def __table_args__(cls) -> tuple:
        return (CheckConstraint('"start" < "end"', name="period"),
                Index(f"ix_{cls.__tablename__}_therapist_end", "therapist_id", "end", "start"))

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapist.id", ondelete="CASCADE"))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)


class TimeOff(_TherapistPeriod, db.Model):
    __tablename__ = "time_off"

    reason: Mapped[str] = mapped_column(String(500), default="")


class BusyInterval(_TherapistPeriod, db.Model):
    """A period blocked by the therapist's own calendar (imported from `calendar_id`)."""

    __tablename__ = "busy_interval"

    source: Mapped[str] = mapped_column(String(32), default="upload")
    calendar_id: Mapped[int | None] = mapped_column(
        ForeignKey("busy_calendar.id", ondelete="CASCADE"), index=True)


CALENDAR_KINDS = ("upload", "url")


class BusyCalendar(db.Model):
    """Where a therapist's busy intervals come from: the uploaded export (one per
    therapist) or a subscribed secret iCal address. Its busy intervals are replaced as one
    unit by each good import; a failed one only records `error` / `error_at`."""

    __tablename__ = "busy_calendar"
    __table_args__ = (
        CheckConstraint(_in("kind", CALENDAR_KINDS), name="kind"),
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
    """The secret token of one owner's iCalendar feed (a therapist, an athlete or a team).
    Rotating replaces the token in place, so the old URL answers 404 at once."""

    __tablename__ = "calendar_feed"
    __table_args__ = (
        CheckConstraint(ONE_FEED_OWNER, name="one_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    therapist_id: Mapped[int | None] = mapped_column(
        ForeignKey("therapist.id", ondelete="CASCADE"), unique=True)
    athlete_id: Mapped[int | None] = mapped_column(
        ForeignKey("athlete.id", ondelete="CASCADE"), unique=True)
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("team.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rotated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Athlete(db.Model):
    __tablename__ = "athlete"
    __table_args__ = (CheckConstraint(_in("sport", SPORTS), name="sport"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    sport: Mapped[str] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64))


class Team(db.Model):
    __tablename__ = "team"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    coach_email: Mapped[str | None] = mapped_column(String(254), index=True)

    members: Mapped[list[TeamMember]] = relationship(
        cascade="all, delete-orphan", order_by="TeamMember.athlete_id", lazy="selectin")


class TeamMember(db.Model):
    __tablename__ = "team_member"

    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"),
                                         primary_key=True)
    athlete_id: Mapped[int] = mapped_column(ForeignKey("athlete.id", ondelete="CASCADE"),
                                            primary_key=True, index=True)


class Event(db.Model):
    """A race or ride. Stored as instants plus the flags that say what the client gave:
    `start_is_date` (all-day) and `end_is_date`; local days come back via `timezone`."""

    __tablename__ = "event"
    __table_args__ = (
        CheckConstraint("(athlete_id IS NULL) <> (team_id IS NULL)", name="one_owner"),
        CheckConstraint(_in("sport", SPORTS), name="sport"),
        CheckConstraint(_in("priority", PRIORITIES), name="priority"),
        CheckConstraint('"end" IS NULL OR "end" >= "start"', name="period"),
        Index("ix_event_athlete_id", "athlete_id", "occupied_end"),
        Index("ix_event_team_id", "team_id", "occupied_end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    athlete_id: Mapped[int | None] = mapped_column(ForeignKey("athlete.id", ondelete="CASCADE"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    sport: Mapped[str] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    start_is_date: Mapped[bool] = mapped_column(Boolean)
    end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_is_date: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[str] = mapped_column(String(1), default="A")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_stamp, onupdate=_stamp)
    # The end of the instants the event occupies (core.windows.event_span): the finish when
    # known, else local 00:00 after the last day. Stored so that SQL can tell whether the
    # athlete is racing at a given time (db/guard.py); services.events keeps it current.
    occupied_end: Mapped[datetime] = mapped_column(UTCDateTime)


class Booking(db.Model):
    """A dry-needling session. `block_end` = end + the therapist's buffer at booking time:
    the therapist's blocked range [start, block_end) never overlaps another confirmed one."""

    __tablename__ = "booking"
    __table_args__ = (
        CheckConstraint('"start" < "end"', name="period"),
        CheckConstraint('"end" <= block_end', name="block"),
        CheckConstraint(_in("kind", SESSION_KINDS), name="kind"),
        CheckConstraint("(kind = 'tune-up') = (event_id IS NULL)", name="tune_up_event"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint("sequence >= 0", name="sequence"),
        UniqueConstraint("uid", name="uq_booking_uid"),
        Index("uq_booking_one_confirmed_per_kind", "athlete_id", "event_id", "kind", unique=True,
              postgresql_where=text(ONCE_KINDS_WHERE), sqlite_where=text(ONCE_KINDS_WHERE)),
        # Holds every column the therapist's window reads need (migration 0008).
        Index("ix_booking_therapist_block_end", "therapist_id", "block_end", "start", "end",
              "status"),
        Index("ix_booking_athlete_end", "athlete_id", "end"),
        Index("ix_booking_event", "event_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    athlete_id: Mapped[int] = mapped_column(ForeignKey("athlete.id", ondelete="CASCADE"))
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapist.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    block_end: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="confirmed")
    uid: Mapped[str] = mapped_column(String(255))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A session that also serves another event of the athlete: this post is that event's
    # pre, or this pre is its post (services/season.py). NULL: this event only.
    shared_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("event.id", ondelete="SET NULL"))


class DataVersion(db.Model):
    """PostgreSQL's commit counter for the per-process caches (db/version.py; kept current
    by the triggers of migration 0004). Unused on SQLite, which has PRAGMA data_version."""

    __tablename__ = "data_version"

    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(BigInteger)


MAIL_METHODS = ("REQUEST", "CANCEL", "SUMMARY")  # SUMMARY: a coach's team summary


class MailMessage(db.Model):
    """An iMIP message to one recipient, written in the same transaction as the change it
    announces (so it is never lost) and sent after the commit; a failed send stays here
    with its error for `flask mail retry`. `message` is the whole RFC 5322 text."""
    __tablename__ = "mail_message"
    __table_args__ = (
        CheckConstraint(_in("method", MAIL_METHODS), name="method"),
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


SCREENING_DECISIONS = ("cleared", "not-cleared")  # core.screening.DECISIONS


class Screening(db.Model):
    """An athlete's answers to the special considerations (core/screening.py: key -> True
    "applies", False, or None "not answered"), their note, and the decision a therapist
    recorded after reviewing them. Changing the answers clears the decision (services/
    screening.py). Nothing here ever goes into a calendar file or an email."""

    __tablename__ = "screening"
    __table_args__ = (
        CheckConstraint(f"decision IS NULL OR {_in('decision', SCREENING_DECISIONS)}",
                        name="decision"),
        CheckConstraint("(decision IS NULL) = (reviewed_at IS NULL)", name="reviewed"),
        CheckConstraint("decision IS NOT NULL OR (reviewed_by_therapist_id IS NULL "
                        "AND review_note IS NULL)", name="review"),
    )

    athlete_id: Mapped[int] = mapped_column(ForeignKey("athlete.id", ondelete="CASCADE"),
                                            primary_key=True, autoincrement=False)
    answers: Mapped[dict] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(2000), default="")
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reviewed_by_therapist_id: Mapped[int | None] = mapped_column(
        ForeignKey("therapist.id", ondelete="SET NULL"), index=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision: Mapped[str | None] = mapped_column(String(16))
    review_note: Mapped[str | None] = mapped_column(String(2000))
