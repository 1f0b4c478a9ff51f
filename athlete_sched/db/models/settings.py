"""The clinic's settings that an admin changes on the pages (services/settings.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ...extensions import db
from ..types import UTCDateTime

# The bounds of each setting (inclusive), for the database's CHECKs and the service's checks.
NOTICE_MINUTES = (0, 10080)  # a booking's notice: up to a week
CANCEL_NOTICE_HOURS = (0, 336)  # an athlete's last change: up to two weeks before
RECOVERY_GAP_MINUTES = (0, 720)  # after a finish, before a same-day recovery session
MAX_CLINIC_NAME = 120


def _between(column: str, bounds: tuple[int, int]) -> CheckConstraint:
    low, high = bounds
    return CheckConstraint(f"{column} IS NULL OR {column} BETWEEN {low} AND {high}",
                           name=column)


class ClinicSettings(db.Model):
    """One row (id 1) at most. A NULL column means "the configuration's default" (config.py:
    CLINIC_NAME, BOOKING_NOTICE_MINUTES, CANCEL_NOTICE_HOURS, RECOVERY_GAP_MINUTES), so a
    clinic that never saved its settings runs on the configuration alone."""

    __tablename__ = "clinic_settings"
    __table_args__ = (
        CheckConstraint("id = 1", name="single"),
        _between("booking_notice_minutes", NOTICE_MINUTES),
        _between("cancel_notice_hours", CANCEL_NOTICE_HOURS),
        _between("recovery_gap_minutes", RECOVERY_GAP_MINUTES),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    clinic_name: Mapped[str | None] = mapped_column(String(MAX_CLINIC_NAME))
    booking_notice_minutes: Mapped[int | None] = mapped_column(Integer)
    cancel_notice_hours: Mapped[int | None] = mapped_column(Integer)
    recovery_gap_minutes: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(254), default="")
