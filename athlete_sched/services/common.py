"""What every service reads: the clock, the clinic's policy, lookups by id, and an event's
windows under the policy."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flask import current_app, g

from ..core.courses import course_window
from ..core.errors import InvalidValue, NotFound
from ..core.intervals import Interval
from ..core.kinds import COURSE, PRE, TUNE_UP
from ..core.windows import EventTiming, Windows, event_windows, local_midnight
from ..db.models import Event
from ..db.queries import athletes, rows, settings
from ..db.queries.events import timing_of
from ..db.queries.rows import MAX_ID
from .cache import cache_for

T = TypeVar("T")

__all__ = ["FIRST_YEAR", "LAST_YEAR", "MAX_ID", "EventView", "Policy", "booking_athlete",
           "clinic_name", "event_view", "forget_settings", "found", "localize", "min_gap",
           "now", "policy", "saved_settings", "settings_as_of", "stamp", "timing_of",
           "window_for", "windows_of"]

# The years an input date may fall in: wide enough for any season, narrow enough that
# every window and local-day computation stays inside what `datetime` can represent.
FIRST_YEAR, LAST_YEAR = 1970, 2999
# How far ahead a tune-up may be booked (as far as imported calendars are expanded).
TUNE_UP_HORIZON = timedelta(days=400)


@dataclass(frozen=True)
class Policy:
    """The clinic's rules of time: the clinic's saved settings where an admin set them
    (services/clinic_settings.py), else the config (RECOVERY_GAP_MINUTES,
    BOOKING_NOTICE_MINUTES, CANCEL_NOTICE_HOURS; MIN_SESSION_GAP_HOURS only there)."""

    recovery_gap: timedelta
    notice: timedelta
    min_gap: timedelta  # between sessions of different events (core/season.py)
    cancel_notice: timedelta = timedelta(hours=24)  # an athlete's last change before a session


SETTINGS = ("clinic_name", "booking_notice_minutes", "cancel_notice_hours",
            "recovery_gap_minutes")


def saved_settings() -> dict[str, Any]:
    """The settings the clinic saved (name -> value; one left out falls back to the
    config), read once per request or command (one primary-key read)."""
    found_ = g.get("clinic_settings")
    if found_ is None:
        row = settings.stored()
        values = {} if row is None else {name: getattr(row, name) for name in SETTINGS}
        found_ = g.clinic_settings = {k: v for k, v in values.items() if v is not None}
    return found_


def settings_as_of(version: Hashable) -> bool:
    """Take this request's saved settings from the per-process cache "settings" when they
    were kept at `version`, else read them (and keep them for it). `version` must be a
    counter that every committed write of the settings moves, read by this request
    before its settings: proposals_version (migration 0018; services/proposals.py). A
    request that read its settings already keeps them: False (they may be older than
    `version`), else True (they are at least as new)."""
    if g.get("clinic_settings") is not None:
        return False
    cache, at = cache_for("settings"), now()
    found_ = cache.get(ROW_KEY, version, at)
    if found_ is None:
        cache.put(ROW_KEY, version, saved_settings(), at)
    else:
        g.clinic_settings = found_
    return True


ROW_KEY = "clinic"  # the one entry of the cache "settings"


def min_gap() -> timedelta:
    """The minimum gap between sessions of different events (MIN_SESSION_GAP_HOURS: the
    config only, never a saved setting, so it needs no read)."""
    return timedelta(hours=current_app.config["MIN_SESSION_GAP_HOURS"])


def forget_settings() -> None:
    """The settings changed: read them again on the next use in this request."""
    g.pop("clinic_settings", None)
    g.pop("policy", None)


def clinic_name() -> str:
    return saved_settings().get("clinic_name") or current_app.config["CLINIC_NAME"]


def policy() -> Policy:
    """The policy, read from the saved settings and the config once per request or
    command."""
    found_ = g.get("policy")
    if found_ is None:
        config, saved = current_app.config, saved_settings()
        found_ = g.policy = Policy(
            recovery_gap=timedelta(minutes=saved.get("recovery_gap_minutes",
                                                     config["RECOVERY_GAP_MINUTES"])),
            notice=timedelta(minutes=saved.get("booking_notice_minutes",
                                               config["BOOKING_NOTICE_MINUTES"])),
            min_gap=min_gap(),
            cancel_notice=timedelta(hours=saved.get("cancel_notice_hours",
                                                    config["CANCEL_NOTICE_HOURS"])))
    return found_


def now() -> datetime:
    """The clock of the shell. FROZEN_NOW (ISO 8601, testing and demos only) pins it."""
    frozen = current_app.config.get("FROZEN_NOW")
    if frozen:
        value = frozen if isinstance(frozen, datetime) else datetime.fromisoformat(frozen)
        return value.astimezone(UTC)
    return datetime.now(UTC)


def stamp() -> datetime:
    """When a record is written: the real clock, whole seconds (FROZEN_NOW pins the clock
    the scheduling rules read, not this; an invite's DTSTAMP must move on every change)."""
    return datetime.now(UTC).replace(microsecond=0)


def localize(value: date | datetime, tz: ZoneInfo) -> datetime:
    """An input instant: aware stays as it is; naive is wall-clock in `tz`; a bare date is
    local midnight. Always returns aware UTC."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=tz)
        return aware.astimezone(UTC)
    return local_midnight(value, tz)


def found(model: type[T], ident: int, entity: str, field: str | None = None) -> T:
    """The row with this id, or NotFound (naming the request field it came from, if any)."""
    row = rows.get(model, ident)
    if row is None:
        raise NotFound(entity, ident, field=field)
    return row


@dataclass(frozen=True)
class EventView:
    """An event with its timing and its windows under the policy, worked out once."""

    event: Event
    timing: EventTiming
    windows: Windows


def event_view(event: Event) -> EventView:
    return EventView(event, timing_of(event), windows_of(event))


@lru_cache(maxsize=8192)
def _windows(timing: EventTiming, recovery_gap: timedelta) -> Windows:
    return event_windows(timing, recovery_gap)


def windows_of(event: Any) -> Windows:
    """The event's pre and post windows under the policy (worked out once per event)."""
    return _windows(timing_of(event), policy().recovery_gap)


def window_for(event: Event | None, kind: str) -> Interval:
    """Where a session of `kind` for the event must lie: its pre or post window; for a
    course session the weeks before the pre window (core/courses.py); a tune-up (no event)
    any time from now on, within TUNE_UP_HORIZON (the season rules place it further)."""
    if kind == TUNE_UP or event is None:
        at = now()
        return Interval(at, at + TUNE_UP_HORIZON)
    if kind == COURSE:
        return course_window(timing_of(event))
    windows = windows_of(event)
    return windows.pre if kind == PRE else windows.post


def booking_athlete(event: Event, athlete_id: int | None) -> int:
    """Who a session of the event is for: the event's athlete, or a named member of the
    event's team."""
    if event.athlete_id is not None:
        if athlete_id not in (None, event.athlete_id):
            raise InvalidValue("this event belongs to another athlete", field="athlete_id")
        return event.athlete_id
    if athlete_id is None:
        raise InvalidValue("a team event needs athlete_id", field="athlete_id")
    if not athletes.is_member(event.team_id, athlete_id):
        raise InvalidValue("the athlete is not a member of the event's team",
                           field="athlete_id")
    return athlete_id
