"""The clinic's settings: the one row, read and written."""

from __future__ import annotations

from ...extensions import db
from ..models import ClinicSettings

ROW_ID = 1


def stored() -> ClinicSettings | None:
    """The saved settings, or None if the clinic never saved any (one primary-key read)."""
    return db.session.get(ClinicSettings, ROW_ID)


def row_to_change() -> ClinicSettings:
    """The settings row to change, made (unsaved values NULL) if there is none yet."""
    row = db.session.get(ClinicSettings, ROW_ID)
    if row is None:
        row = ClinicSettings(id=ROW_ID)
        db.session.add(row)
    return row
