"""Events (races and rides) and bookings (the sessions booked around them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    select,
    text,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column

from ...core.kinds import SESSION_KINDS
from ...extensions import db
from ..types import UTCDateTime
from .common import ONCE_KINDS_WHERE, PRIORITIES, SPORTS, STATUSES, in_, stamp
from .people import Athlete


class Event(db.Model):
    """A race or ride. Stored as instants plus the flags that say what the client gave:
    `start_is_date` (all-day) and `end_is_date`; local days come back via `timezone`."""

    __tablename__ = "event"
    # row_version is the database's (0017): never fetched back after a write.
    __mapper_args__ = {"eager_defaults": False}  # noqa: RUF012
    __table_args__ = (
        CheckConstraint("(athlete_id IS NULL) <> (team_id IS NULL)", name="one_owner"),
        CheckConstraint(in_("sport", SPORTS), name="sport"),
        CheckConstraint(in_("priority", PRIORITIES), name="priority"),
        CheckConstraint('"end" IS NULL OR "end" >= "start"', name="period"),
        Index("ix_event_athlete_id", "athlete_id", "occupied_end"),
        Index("ix_event_team_id", "team_id", "occupied_end"),
        Index("uq_event_calendar_uid", "athlete_id", "calendar_uid", unique=True,
              postgresql_where=text("calendar_uid IS NOT NULL"),
              sqlite_where=text("calendar_uid IS NOT NULL")),
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
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=stamp, onupdate=stamp)
    # The end of the instants the event occupies (core.windows.event_span): the finish when
    # known, else local 00:00 after the last day. Stored so that SQL can tell whether the
    # athlete is racing at a given time (db/guard.py); services.events keeps it current.
    occupied_end: Mapped[datetime] = mapped_column(UTCDateTime)
    # Where the athlete is around it (core/sites.py): a site near the venue, and the span
    # they are away from home, [travel_depart, travel_return) (both or neither).
    venue_site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), default=None)
    travel_depart: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    travel_return: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The UID of the VEVENT of the athlete's race calendar it came from (0019), and whether
    # that calendar no longer holds it (kept because it has sessions).
    calendar_uid: Mapped[str | None] = mapped_column(String(255), default=None)
    removed_from_calendar: Mapped[bool] = mapped_column(Boolean, default=False,
                                                        server_default=false())
    # A fresh number at every write of the row (migration 0017's triggers): feeds tell by
    # it whether the row changed. Never written by the app. Loaded with the row: a
    # proposals request tells by it whether the event it read is the one its key saw
    # (services/proposals.py; after a write of the row it is expired, not fetched back).
    row_version: Mapped[int] = mapped_column(BigInteger, server_default=FetchedValue(),
                                             server_onupdate=FetchedValue())
    # The home site of a personal event's athlete, read with the event (a correlated
    # primary-key read in the same statement: proposals need it on every request).
    athlete_home_site_id: Mapped[int | None] = column_property(
        select(Athlete.home_site_id).where(Athlete.id == athlete_id).correlate_except(Athlete)
        .scalar_subquery())


class Booking(db.Model):
    """A dry-needling session. `block_end` = end + the therapist's buffer at booking time:
    the therapist's blocked range [start, block_end) never overlaps another confirmed one."""

    __tablename__ = "booking"
    # row_version is the database's (0017): never fetched back after a write.
    __mapper_args__ = {"eager_defaults": False}  # noqa: RUF012
    __table_args__ = (
        CheckConstraint('"start" < "end"', name="period"),
        CheckConstraint('"end" <= block_end', name="block"),
        CheckConstraint(in_("kind", SESSION_KINDS), name="kind"),
        CheckConstraint("(kind = 'tune-up') = (event_id IS NULL)", name="tune_up_event"),
        CheckConstraint(in_("status", STATUSES), name="status"),
        CheckConstraint("sequence >= 0", name="sequence"),
        UniqueConstraint("uid", name="uq_booking_uid"),
        Index("uq_booking_one_confirmed_per_kind", "athlete_id", "event_id", "kind", unique=True,
              postgresql_where=text(ONCE_KINDS_WHERE), sqlite_where=text(ONCE_KINDS_WHERE)),
        # Holds every column the therapist's window reads need (migration 0008).
        Index("ix_booking_therapist_block_end", "therapist_id", "block_end", "start", "end",
              "status"),
        Index("ix_booking_athlete_end", "athlete_id", "end"),
        Index("ix_booking_event", "event_id"),
        # Every therapist's bookings touching a span, in the index alone (migration 0018).
        Index("ix_booking_block_end", "block_end", "start", "row_version"),
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
    # 'outside-window': its race moved and the new windows no longer hold it (services/
    # events.py); cleared by a reschedule, a cancel, or the race moving back. NULL: none.
    flag: Mapped[str | None] = mapped_column(String(16), default=None)
    flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The site of the working period it lies in (NULL: a therapist without a site).
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), default=None)
    # As Event.row_version (migration 0017).
    row_version: Mapped[int] = mapped_column(BigInteger, server_default=FetchedValue(),
                                             server_onupdate=FetchedValue(), deferred=True)
