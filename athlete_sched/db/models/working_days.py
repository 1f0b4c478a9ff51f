"""One-day changes of a therapist's working hours (the core's value is
core.working_days.WorkingDay; db/queries/working_days.py maps): a local date with its own
working periods, or closed, in place of that weekday's weekly periods."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...extensions import db


class WorkingDay(db.Model):
    """A therapist's own hours on one local date (`day`, in the therapist's zone): the
    periods below, or none when `closed`. One row per therapist and date."""

    __tablename__ = "working_day"
    __table_args__ = (UniqueConstraint("therapist_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapist.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where the day's periods are (a race-weekend tent); NULL: the therapist's own site.
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), default=None)

    periods: Mapped[list[WorkingDayPeriod]] = relationship(
        back_populates="working_day", cascade="all, delete-orphan",
        order_by="WorkingDayPeriod.start_minute", lazy="selectin")


class WorkingDayPeriod(db.Model):
    """A working period of a working day: minutes after the therapist's local midnight,
    as the weekly periods are stored."""

    __tablename__ = "working_day_period"
    __table_args__ = (
        CheckConstraint("start_minute >= 0 AND end_minute <= 1440 AND start_minute < end_minute",
                        name="period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    working_day_id: Mapped[int] = mapped_column(
        ForeignKey("working_day.id", ondelete="CASCADE"), index=True)
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)

    working_day: Mapped[WorkingDay] = relationship(back_populates="periods")
