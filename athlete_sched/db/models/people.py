"""The clinic's people and their schedules: users (passwords, API tokens, one-time
links), therapists with their weekly working
periods and time off, athletes, teams, and the athletes' screening."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    String,
    true,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from ...extensions import db
from ..types import UTCDateTime
from .common import LINK_PURPOSES, ROLES, SCREENING_DECISIONS, SPORTS, in_


class User(db.Model):
    """Someone who signs in: with a password on the pages (argon2id hash; None until they
    set one through an invitation or a reset link), with bearer tokens on the API.
    `login_version` is part of the signed-in session's id: raising it (a new password,
    "sign out everywhere") ends every session and remember-me cookie issued before."""

    __tablename__ = "user_account"
    __table_args__ = (CheckConstraint(in_("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    login_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set: disabled by an admin (no sign-in, no session, no token works) until re-enabled.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(db.Model):
    """A named bearer token of a user, stored only as its SHA-256 hash (the token is 256
    random bits). Revoking deletes the row; from `expires_at` on (None: never) it answers
    401 like an unknown one. `last_used_at` is written at most once a minute."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"),
                                         index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SignInLink(db.Model):
    """A one-time link emailed to a user: `reset` (forgotten password) or `invite` (a new
    account sets its password). Stored as the token's hash; single use (`used_at`) and
    expiring (`expires_at`)."""

    __tablename__ = "sign_in_link"
    __table_args__ = (CheckConstraint(in_("purpose", LINK_PURPOSES), name="purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"),
                                         index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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
    # Where the therapist works (NULL only in a clinic without sites; migration 0014).
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), index=True,
                                                default=None)

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
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), default=None)  # NULL:
    # the therapist's own site

    therapist: Mapped[Therapist] = relationship(back_populates="working_hours")


class TherapistPeriod:
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


class TimeOff(TherapistPeriod, db.Model):
    __tablename__ = "time_off"

    reason: Mapped[str] = mapped_column(String(500), default="")


class Athlete(db.Model):
    __tablename__ = "athlete"
    __table_args__ = (CheckConstraint(in_("sport", SPORTS), name="sport"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    sport: Mapped[str] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64))
    home_site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), default=None)
    # Reminders the day before a session and check-ins after a recovery session (0019).
    reminders: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class Team(db.Model):
    __tablename__ = "team"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    coach_email: Mapped[str | None] = mapped_column(String(254), index=True)

    members: Mapped[list[TeamMember]] = relationship(
        cascade="all, delete-orphan", order_by="TeamMember.athlete_id", lazy="selectin")


class TeamMember(db.Model):
    __tablename__ = "team_member"
    # row_version is the database's (0017): never fetched back after a write.
    __mapper_args__ = {"eager_defaults": False}  # noqa: RUF012

    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"),
                                         primary_key=True)
    athlete_id: Mapped[int] = mapped_column(ForeignKey("athlete.id", ondelete="CASCADE"),
                                            primary_key=True, index=True)
    # As Event.row_version (migration 0017): an athlete's feed shows their teams' events.
    row_version: Mapped[int] = mapped_column(BigInteger, server_default=FetchedValue(),
                                             server_onupdate=FetchedValue(), deferred=True)


class Screening(db.Model):
    """An athlete's answers to the special considerations (core/screening.py: key -> True
    "applies", False, or None "not answered"), their note, and the decision a therapist
    recorded after reviewing them. Changing the answers clears the decision (services/
    screening.py). Nothing here ever goes into a calendar file or an email."""

    __tablename__ = "screening"
    __table_args__ = (
        CheckConstraint(f"decision IS NULL OR {in_('decision', SCREENING_DECISIONS)}",
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
