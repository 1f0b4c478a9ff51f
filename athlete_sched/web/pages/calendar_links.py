"""Links that put a session into a calendar app: the athlete's feed to subscribe to
(webcal://), and Google Calendar's and Outlook's "new event" pages filled in (times in
UTC). What they carry is what the session's invite carries: its title, time, place (the
site's name and address) and the after-care; nothing from the screening."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from ...core.ical import AFTER_CARE
from ..feeds import links_of

GOOGLE = "https://calendar.google.com/calendar/render"
OUTLOOK = "https://outlook.live.com/calendar/0/deeplink/compose"


@dataclass(frozen=True)
class CalendarLinks:
    webcal: str | None  # None: the feed's address cannot be shown (make a new one)
    google: str
    outlook: str


def _google_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _outlook_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def links(title: str, start: datetime, end: datetime, location: str,
          feed: Any) -> CalendarLinks:
    google = urlencode({"action": "TEMPLATE", "text": title, "details": AFTER_CARE,
                        "location": location,
                        "dates": f"{_google_time(start)}/{_google_time(end)}"})
    outlook = urlencode({"path": "/calendar/action/compose", "rru": "addevent",
                         "subject": title, "body": AFTER_CARE, "location": location,
                         "startdt": _outlook_time(start), "enddt": _outlook_time(end)})
    feed_links = links_of(feed)
    return CalendarLinks(feed_links and feed_links["webcal"], f"{GOOGLE}?{google}",
                         f"{OUTLOOK}?{outlook}")
