"""`GET /feeds/<token>.ics`: a calendar feed, outside /api/v1 on its own blueprint. The
secret token is the credential (no bearer token); calendar apps poll it, so it answers
from a cache (services/feed_bodies.py) with a strong ETag (If-None-Match -> 304) and
Last-Modified, and an unknown or rotated token is a plain-text 404. If-Modified-Since
alone is not honoured: a feed can lose rows (a member leaves a team) without any newer
timestamp, so only the ETag proves that a copy is current.

Limits (web/limits.py): each feed token answers RATELIMIT_FEED fetches, and an address
whose wrong tokens used up RATELIMIT_BAD_FEED_TOKEN gets 429 before its token is looked
at; both answer plain text with Retry-After.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from flask import Blueprint, current_app, request, url_for
from werkzeug.http import http_date, unquote_etag

from ..services import calendars, feed_bodies
from . import limits

bp = Blueprint("feeds", __name__)
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
FEED_CACHE_CONTROL = "private, no-cache"  # may be kept, but revalidated (ETag) every time


def feed_links(token: str) -> dict[str, str]:
    """A feed's addresses: `url` (https; PUBLIC_URL behind a proxy, else this request's
    host) and its `webcal` twin, which calendar apps open as a subscription."""
    base = current_app.config.get("PUBLIC_URL")
    url = (base.rstrip("/") + url_for("feeds.feed", token=token) if base
           else url_for("feeds.feed", token=token, _external=True))
    return {"url": url, "webcal": "webcal://" + url.split("://", 1)[1]}


def links_of(feed: Any) -> dict[str, str] | None:
    """The addresses of a feed (a CalendarFeed a service handed over); None when its token
    cannot be shown (hashed by migration 0016: the link works, rotate for one to show)."""
    token = calendars.token_of(feed)
    return None if token is None else feed_links(token)


def _no_feed():
    response = current_app.response_class("no feed at this address (unknown or rotated "
                                          "token)\n", status=404, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


def _too_many(refused: limits.TooManyRequests):
    response = current_app.response_class(refused.message + "\n", status=429,
                                          mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response  # Retry-After: added by web/limits.py


def _token_key(token: str) -> str:
    """The token as the limit's key: a digest, so the secret itself is never stored there."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


@bp.get("/feeds/<token>.ics")
def feed(token: str):
    """The feed's iCalendar text; 304 when If-None-Match holds its ETag."""
    try:
        limits.check("RATELIMIT_BAD_FEED_TOKEN", limits.address())
        found = feed_bodies.published_feed(token) if TOKEN_RE.fullmatch(token) else None
        if found is None:
            limits.failed("RATELIMIT_BAD_FEED_TOKEN", limits.address())
            return _no_feed()
        limits.take("RATELIMIT_FEED", _token_key(token))
    except limits.TooManyRequests as refused:
        return _too_many(refused)
    headers = {"ETag": found.etag, "Last-Modified": http_date(found.last_modified),
               "Cache-Control": FEED_CACHE_CONTROL}
    if request.if_none_match.contains_weak(unquote_etag(found.etag)[0]):
        response = current_app.response_class(status=304, headers=headers)
        del response.headers["Content-Type"]
        return response
    return current_app.response_class(found.body, mimetype="text/calendar", headers=headers)
