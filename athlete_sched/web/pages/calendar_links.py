"""Links that put a session into a calendar app: the athlete's feed to subscribe to
(webcal://), and Google Calendar's and Outlook's "new event" pages filled in (times in
UTC). What they carry is what an invite carries: title, time, place, after-care; nothing
from the screening."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import current_app, url_for

from ...core.ical import AFTER_CARE
from ...core.kinds import summary

GOOGLE = "https://calendar.google.com/calendar/render"
OUTLOOK = "https://outlook.live.com/calendar/0/deeplink/compose"


@dataclass(frozen=True)
class CalendarLinks:
    webcal: str
    google: str
    outlook: str


def feed_url(token: str) -> str:
    """The feed's https address (PUBLIC_URL behind a proxy, else this request's host)."""
    base = current_app.config.get("PUBLIC_URL")
    path = url_for("feeds.feed", token=token)
    return base.rstrip("/") + path if base else url_for("feeds.feed", token=token,
                                                        _external=True)


def webcal(url: str) -> str:
    return urlunsplit(("webcal", *urlsplit(url)[1:]))


def _google_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _outlook_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def links(kind: str, start: datetime, end: datetime, location: str,
          feed_token: str) -> CalendarLinks:
    title = summary(kind)
    google = urlencode({"action": "TEMPLATE", "text": title, "details": AFTER_CARE,
                        "location": location,
                        "dates": f"{_google_time(start)}/{_google_time(end)}"})
    outlook = urlencode({"path": "/calendar/action/compose", "rru": "addevent",
                         "subject": title, "body": AFTER_CARE, "location": location,
                         "startdt": _outlook_time(start), "enddt": _outlook_time(end)})
    return CalendarLinks(webcal(feed_url(feed_token)), f"{GOOGLE}?{google}",
                         f"{OUTLOOK}?{outlook}")
