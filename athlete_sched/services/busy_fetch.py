"""Fetching a subscribed calendar: one conditional GET with a total deadline, a size cap
counted while reading, and (unless allowed) only public addresses, redirects included, so
that a therapist's URL cannot make the server read from its own network. No database, no
app: services/busy.py passes the configured limits. Error messages never hold the URL (it
is the therapist's secret).
"""

from __future__ import annotations

import ipaddress
import socket
import time
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:
    import requests

# requests (and urllib3 under it) is imported by the first fetch, not with the module: it
# is about 50 ms of every web worker's start (bench/coldstart.py), and only the calendar
# sync and a subscription's first fetch use it.

MAX_REDIRECTS = 5


class FetchError(Exception):
    """A fetch that failed; the message is for the therapist and never holds the URL."""


class Limits(NamedTuple):
    """CALENDAR_FETCH_TIMEOUT (seconds in all), CALENDAR_MAX_BYTES (after any gzip) and
    CALENDAR_FETCH_PRIVATE (whether private and loopback addresses may be fetched)."""

    timeout: float
    max_bytes: int
    allow_private: bool


def fetch(url: str, etag: str | None, last_modified: str | None,
          limits: Limits) -> tuple[bytes | None, tuple[str | None, str | None]]:
    """GET `url` conditionally: (the body, None for a 304; the ETag and Last-Modified to
    keep). Redirects are followed, each checked like the first address."""
    headers = {"Accept": "text/calendar, */*;q=0.1", "User-Agent": "athlete_sched calendar sync"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    import requests

    deadline = time.monotonic() + limits.timeout
    try:
        with requests.Session() as session, _follow(session, url, headers, limits) as got:
            validators = (_header(got, "ETag", 512), _header(got, "Last-Modified", 64))
            if got.status_code == 304:
                return None, (validators[0] or etag, validators[1] or last_modified)
            if got.status_code != 200:
                raise FetchError(f"the server answered HTTP {got.status_code}")
            return _read(got, limits, deadline), validators
    except requests.Timeout:
        raise FetchError(f"no answer within {limits.timeout:g} s") from None
    except requests.RequestException as exc:
        raise FetchError(f"the address could not be fetched ({type(exc).__name__})") from None


def _follow(session: requests.Session, url: str, headers: dict[str, str],
            limits: Limits) -> requests.Response:
    for _ in range(MAX_REDIRECTS + 1):
        _check_address(url, limits.allow_private)
        got = session.get(url, headers=headers, timeout=limits.timeout, stream=True,
                          allow_redirects=False)
        if not got.is_redirect:
            return got
        got.close()
        url = urljoin(url, got.headers["Location"])
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


def _check_address(url: str, allow_private: bool) -> None:
    """Refuse a scheme other than http(s) and, unless allowed, a non-public address (the
    server must not be made to fetch from its own network)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError("a redirect left http(s)")
    if allow_private:
        return
    try:
        found = socket.getaddrinfo(parts.hostname, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise FetchError("the host name does not resolve") from None
    if any(not ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_global for info in found):
        raise FetchError("the address is not a public one")


def _header(got: requests.Response, name: str, longest: int) -> str | None:
    value = got.headers.get(name)
    return value if value is not None and len(value) <= longest else None


def _read(got: requests.Response, limits: Limits, deadline: float) -> bytes:
    """The body, read as it arrives (read1: a server that drips a byte at a time still
    meets the deadline), decompressed, and refused once over `limit`."""
    from urllib3.exceptions import HTTPError as TransportError
    from urllib3.exceptions import ReadTimeoutError

    limit, timeout = limits.max_bytes, limits.timeout
    declared = got.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FetchError(f"the calendar is larger than {limit} bytes")
    body = bytearray()
    try:
        while chunk := got.raw.read1(64 * 1024, decode_content=True):
            body += chunk
            if len(body) > limit:
                raise FetchError(f"the calendar is larger than {limit} bytes")
            if time.monotonic() > deadline:
                raise FetchError(f"no complete answer within {timeout:g} s")
    except ReadTimeoutError:
        raise FetchError(f"no answer within {timeout:g} s") from None
    except TransportError as exc:
        raise FetchError(f"the address could not be fetched ({type(exc).__name__})") from None
    return bytes(body)
