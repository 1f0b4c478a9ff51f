"""Request and answer schemas of busy calendars (upload, subscriptions), invites and feed
links."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, RootModel

from ...services.busy import MAX_URL_LENGTH
from .base import Id, In, Instant, Out, dump


class CalendarText(RootModel[str]):
    """An iCalendar file (RFC 5545), e.g. the export of the therapist's calendar app."""

    model_config = ConfigDict(json_schema_extra={"contentMediaType": "text/calendar"})


class BusyCalendarOut(Out):
    busy_intervals: int = Field(description="busy intervals in force from the last good "
                                "import (merged: overlapping or touching time is one)")
    synced_at: Instant | None = Field(description="when the last good import was stored")
    body_sha256: str | None = Field(description="the hash of the body in force")


class SubscriptionIn(In):
    url: Annotated[str, Field(max_length=MAX_URL_LENGTH,
                              description="the calendar's secret iCal address: http(s):// "
                              "or webcal:// (read as https://)")]
    interval_minutes: Annotated[int, Field(ge=5, le=10080)] = 60


class SubscriptionOut(Out):
    id: int
    url: str
    interval_minutes: int
    busy_intervals: int
    last_synced_at: Instant | None = Field(description="the last good import")
    last_checked_at: Instant | None = Field(description="the last attempt, good or not")
    last_error: str | None = Field(description="why the last attempt failed; null if it "
                                   "worked (the last good import stays in force)")
    last_error_at: Instant | None
    next_sync_at: Instant | None
    created_at: Instant


class FeedOut(Out):
    url: str
    webcal: str


class EventInvitesQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    athlete_id: Id | None = None


def upload_json(calendar: Any) -> dict[str, Any]:
    """The therapist's upload calendar (a BusyCalendar row; None: never imported)."""
    if calendar is None:
        return {"busy_intervals": 0, "synced_at": None, "body_sha256": None}
    return dump(BusyCalendarOut, {"busy_intervals": calendar.busy_count,
                                  "synced_at": calendar.synced_at,
                                  "body_sha256": calendar.body_hash})


def subscription_json(calendar: Any) -> dict[str, Any]:
    return dump(SubscriptionOut, {
        "id": calendar.id, "url": calendar.url, "interval_minutes": calendar.interval_minutes,
        "busy_intervals": calendar.busy_count, "last_synced_at": calendar.synced_at,
        "last_checked_at": calendar.checked_at, "last_error": calendar.error,
        "last_error_at": calendar.error_at, "next_sync_at": calendar.due_at,
        "created_at": calendar.created_at})
