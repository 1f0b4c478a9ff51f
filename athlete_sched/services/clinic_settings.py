"""The clinic's settings, changed by an admin on the pages: the clinic's name (page titles
and footer), the booking notice, the cancellation notice and the recovery gap (the
policy, services/common.py). Saved in the database (one row), so every worker and host
sees a change on its next request; a value left empty falls back to the configuration.

Email is not a setting here: whether mail goes out depends on the SMTP server the
deployment configures (MAIL_SERVER and its credentials, from the environment), which a
switch on a page could only contradict; the settings page shows whether it is on.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from ..core.errors import InvalidValue
from ..db.models.settings import (
    CANCEL_NOTICE_HOURS,
    MAX_CLINIC_NAME,
    NOTICE_MINUTES,
    RECOVERY_GAP_MINUTES,
)
from ..db.queries import rows, settings
from . import mail
from .access import Caller, require_role
from .common import forget_settings, saved_settings, stamp

# setting -> (its config key, its bounds: None for the name)
FIELDS = {
    "clinic_name": ("CLINIC_NAME", None),
    "booking_notice_minutes": ("BOOKING_NOTICE_MINUTES", NOTICE_MINUTES),
    "cancel_notice_hours": ("CANCEL_NOTICE_HOURS", CANCEL_NOTICE_HOURS),
    "recovery_gap_minutes": ("RECOVERY_GAP_MINUTES", RECOVERY_GAP_MINUTES),
}
MAX_NAME = MAX_CLINIC_NAME


@dataclass(frozen=True)
class SettingsView:
    """What the settings page shows: each setting's value in force, whether the clinic
    saved it, its configured default; and whether email is on."""

    values: dict[str, str | int]
    saved: frozenset[str]
    defaults: dict[str, str | int]
    mail_on: bool


def bounds(name: str) -> tuple[int, int] | None:
    return FIELDS[name][1]


def settings_for(caller: Caller) -> SettingsView:
    require_role(caller, ("admin",))
    config, saved = current_app.config, saved_settings()
    defaults = {name: config[key] for name, (key, _) in FIELDS.items()}
    return SettingsView({**defaults, **saved}, frozenset(saved), defaults, mail.enabled())


def _checked(name: str, value: str | int | None) -> str | int | None:
    """The value to store (None: the default), or InvalidValue naming the field."""
    if name == "clinic_name":
        text = " ".join(str(value or "").split())
        if len(text) > MAX_NAME:
            raise InvalidValue(f"the clinic's name has at most {MAX_NAME} characters",
                               field=name)
        return text or None
    if value is None or value == "":
        return None
    low, high = FIELDS[name][1]  # type: ignore[misc]
    if not isinstance(value, int) or not low <= value <= high:
        raise InvalidValue(f"give a whole number from {low} to {high}", field=name)
    return value


def change_settings_for(caller: Caller, values: dict[str, str | int | None]) -> SettingsView:
    """Save the settings (every field; an empty one goes back to the default). They take
    effect from this request on, for every worker."""
    require_role(caller, ("admin",))
    checked = {name: _checked(name, values.get(name)) for name in FIELDS}
    row = settings.row_to_change()
    for name, value in checked.items():
        setattr(row, name, value)
    row.updated_at, row.updated_by = stamp(), caller.email
    rows.flush()
    forget_settings()
    return settings_for(caller)
