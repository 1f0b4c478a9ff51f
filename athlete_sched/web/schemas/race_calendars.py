"""Request and answer schemas of race calendars (upload, subscription)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from ...services.busy import MAX_URL_LENGTH
from .base import In, Instant, Out, dump


class RaceImportOut(Out):
    created: int = Field(description="races new to the athlete (each an event)")
    updated: int = Field(description="races whose dates or name changed (sessions follow "
                         "a move), or that came back to the calendar")
    removed: int = Field(description="races gone from the calendar or cancelled: deleted "
                         "when no session was booked, else kept with "
                         "removed_from_calendar")
    unchanged: int


class RaceSubscriptionIn(In):
    url: Annotated[str, Field(max_length=MAX_URL_LENGTH,
                              description="the race calendar's iCal address: http(s):// "
                              "or webcal:// (read as https://)")]
    interval_minutes: Annotated[int, Field(ge=5, le=10080)] = 360


class RaceSubscriptionOut(Out):
    url: str
    interval_minutes: int
    races: int = Field(description="races in the calendar at the last good sync")
    last_synced_at: Instant | None = Field(description="the last good sync")
    last_checked_at: Instant | None = Field(description="the last attempt, good or not")
    last_error: str | None = Field(description="why the last attempt failed; null if it "
                                   "worked (the races stay as the last good sync left them)")
    last_error_at: Instant | None
    next_sync_at: Instant | None
    created_at: Instant


def import_json(counts: Any) -> dict[str, Any]:
    return dump(RaceImportOut, counts.as_dict())


def subscription_json(calendar: Any) -> dict[str, Any]:
    return dump(RaceSubscriptionOut, {
        "url": calendar.url, "interval_minutes": calendar.interval_minutes,
        "races": calendar.event_count, "last_synced_at": calendar.synced_at,
        "last_checked_at": calendar.checked_at, "last_error": calendar.error,
        "last_error_at": calendar.error_at, "next_sync_at": calendar.due_at,
        "created_at": calendar.created_at})
