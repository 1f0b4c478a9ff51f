"""Fetching a subscribed calendar: one conditional GET with a total deadline, a size cap
counted while reading, and (unless allowed) only public addresses, redirects included, so
that a therapist's URL cannot make the server read from its own network. No database, no
app: services/busy.py passes the configured limits. Error messages never hold the URL (it
is the therapist's secret).

Three guarantees, each against an attack seen in practice:

- **The address checked is the address connected to.** Each hop's host name is resolved
  once (`socket.getaddrinfo`, every A and AAAA answer); unless private addresses are
  allowed, all of them must be public. The connection then goes to those checked
  addresses and nowhere else: `_PinnedHTTP(S)Connection` opens its socket to the checked
  socket address itself, so no second lookup happens that a DNS-rebinding server could
  answer with 127.0.0.1. The connection keeps the host *name* as its host, so the `Host`
  header, TLS SNI and the certificate check (against certifi's roots, or
  CALENDAR_FETCH_CA_BUNDLE) are all for the name, as without pinning.
- **Redirects are hops like the first.** At most MAX_REDIRECTS, each Location resolved,
  checked and pinned again; only http(s).
- **One deadline for everything.** `Limits.timeout` seconds from the start of the fetch
  cover every hop's name lookup, connect, TLS handshake, headers and body. Socket
  timeouts only bound a single read (a server sending a byte a second never trips them),
  so a watchdog timer shuts the fetch's sockets down when the deadline passes; the
  blocked read returns and the fetch fails with "no complete answer within N s".
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from functools import cache
from http.client import HTTPException
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:
    from urllib3.response import BaseHTTPResponse

# urllib3 is imported by the first fetch, not with the module: it is about 50 ms of every
# web worker's start (bench/coldstart.py), and only the calendar sync and a subscription's
# first fetch use it.

MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
CHUNK = 64 * 1024


class FetchError(Exception):
    """A fetch that failed; the message is for the therapist and never holds the URL."""


class Limits(NamedTuple):
    """CALENDAR_FETCH_TIMEOUT (seconds in all: every hop, headers and body),
    CALENDAR_MAX_BYTES (after any gzip), CALENDAR_FETCH_PRIVATE (whether private and
    loopback addresses may be fetched) and CALENDAR_FETCH_CA_BUNDLE (a file of trusted
    roots for https; None: certifi's)."""

    timeout: float
    max_bytes: int
    allow_private: bool
    ca_bundle: str | None = None


class Target(NamedTuple):
    """One hop: where to connect (the checked socket addresses) and what to ask for."""

    https: bool
    host: str
    port: int
    path: str
    addresses: list[tuple[int, tuple[Any, ...]]]  # (family, sockaddr), all checked


def fetch(url: str, etag: str | None, last_modified: str | None,
          limits: Limits) -> tuple[bytes | None, tuple[str | None, str | None]]:
    """GET `url` conditionally: (the body, None for a 304; the ETag and Last-Modified to
    keep). Redirects are followed, each checked like the first address. Raises
    FetchError, at the latest `limits.timeout` seconds (and a little) after the call."""
    headers = {"Accept": "text/calendar, */*;q=0.1", "Accept-Encoding": "gzip, deflate",
               "User-Agent": "athlete_sched calendar sync"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    with Deadline(limits.timeout) as deadline:
        for _ in range(MAX_REDIRECTS + 1):
            target = resolve(url, limits.allow_private, deadline)
            with _exchange(target, headers, limits, deadline) as got:
                location = got.headers.get("Location")
                if got.status in REDIRECTS and location:
                    url = urljoin(url, location)
                    continue
                validators = (_header(got, "ETag", 512), _header(got, "Last-Modified", 64))
                if got.status == 304:
                    return None, (validators[0] or etag, validators[1] or last_modified)
                if got.status != 200:
                    raise FetchError(f"the server answered HTTP {got.status}")
                return _read(got, limits.max_bytes, deadline), validators
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


def resolve(url: str, allow_private: bool, deadline: Deadline) -> Target:
    """The hop to `url`: its host name resolved once, every address it has (A and AAAA)
    checked. Raises FetchError for a scheme other than http(s), a name that does not
    resolve, or (unless `allow_private`) any address that is not a public one."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError("a redirect left http(s)")
    https = parts.scheme == "https"
    try:
        port = parts.port or (443 if https else 80)
    except ValueError:
        raise FetchError("the address has a bad port") from None
    try:
        host = parts.hostname.encode("idna").decode("ascii")  # as it goes in Host and SNI
    except UnicodeError:
        raise FetchError("the host name does not resolve") from None
    found = _lookup(host, port, deadline)
    addresses = [(family, sockaddr) for family, _, _, _, sockaddr in found
                 if family in (socket.AF_INET, socket.AF_INET6)]
    if not addresses:
        raise FetchError("the host name does not resolve")
    if not allow_private and not all(_public(sockaddr[0]) for _, sockaddr in addresses):
        raise FetchError("the address is not a public one")
    path = parts.path or "/"
    return Target(https, host, port, f"{path}?{parts.query}" if parts.query else path,
                  addresses)


def _lookup(host: str, port: int, deadline: Deadline) -> list[tuple[Any, ...]]:
    """getaddrinfo within the deadline: the lookup runs on a thread of its own (it cannot
    be interrupted; a resolver that does not answer is left to give up on its own)."""
    answer: list[Any] = []

    def look_up() -> None:
        try:
            answer.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError):
            answer.append(None)

    looking = threading.Thread(target=look_up, name="calendar-lookup", daemon=True)
    looking.start()
    looking.join(deadline.left())
    if not answer:
        raise deadline.error()
    if answer[0] is None:
        raise FetchError("the host name does not resolve")
    return answer[0]


NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _public(address: str) -> bool:
    """Whether `address` is a global one, and so is any IPv4 address it carries (IPv4-mapped,
    6to4, NAT64: 64:ff9b::7f00:1 is 127.0.0.1 behind the translator)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if not ip.is_global:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour or (
            ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in NAT64 else None)
        return inner is None or inner.is_global
    return True


class Deadline:
    """A fetch's total time: `left()` is what remains (FetchError once none does), and a
    watchdog shuts down every socket handed to `watch` when the time is up, so that a
    read blocked on a slow server returns. A context manager: the watchdog stops at exit."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._timer.cancel()

    def error(self) -> FetchError:
        return FetchError(f"no complete answer within {self.seconds:g} s")

    def left(self) -> float:
        left = self.end - time.monotonic()
        if self.expired or left <= 0:
            raise self.error()
        return left

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _cut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _cut(sock)


def _cut(sock: socket.socket) -> None:
    """End the connection under a blocked read: shutdown on the plain socket (on a TLS
    socket too, whose own shutdown would unwrap it under the reading thread's feet)."""
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


@contextlib.contextmanager
def _exchange(target: Target, headers: dict[str, str], limits: Limits,
              deadline: Deadline) -> Iterator[BaseHTTPResponse]:
    """Send the GET to one of the target's checked addresses; yield the response (headers
    read, body not), mapping every transport failure to a FetchError."""
    from urllib3.exceptions import HTTPError as TransportError

    connection = None
    try:
        connection = _connect(target, limits, deadline)
        connection.request("GET", target.path, headers=headers, preload_content=False,
                           decode_content=True)
        got = connection.getresponse()
        try:
            yield got
        finally:
            got.close()  # (its file on the socket too: the socket really closes below)
    except FetchError:
        raise
    except ssl.SSLCertVerificationError:
        if deadline.expired:
            raise deadline.error() from None
        raise FetchError("the server's certificate could not be verified") from None
    except (OSError, HTTPException, TransportError, ValueError) as exc:
        if deadline.expired or isinstance(exc, TimeoutError):
            raise deadline.error() from None
        raise FetchError(f"the address could not be fetched ({type(exc).__name__})") from None
    finally:
        if connection is not None:
            connection.close()


def _connect(target: Target, limits: Limits, deadline: Deadline) -> Any:
    """A connection to the first of the target's checked addresses that answers."""
    failure: OSError | None = None
    for family, sockaddr in target.addresses:
        connection = _connection_class(target.https)(
            target, family, sockaddr, deadline, limits.ca_bundle)
        try:
            connection.connect()
            return connection
        except ssl.SSLError:
            connection.close()
            raise
        except OSError as exc:
            connection.close()
            failure = exc
    assert failure is not None
    raise failure


@cache
def _connection_class(https: bool) -> type:
    """urllib3's HTTP(S)Connection whose socket goes to a checked address (`_new_conn` is
    the hook urllib3's own SOCKS connection overrides): the host stays the name, for the
    Host header, SNI and the certificate's check."""
    import certifi
    from urllib3.connection import HTTPConnection, HTTPSConnection

    base = HTTPSConnection if https else HTTPConnection

    class Pinned(base):  # type: ignore[misc, valid-type]
        def __init__(self, target: Target, family: int, sockaddr: tuple[Any, ...],
                     deadline: Deadline, ca_bundle: str | None) -> None:
            left = deadline.left()
            extra: dict[str, Any] = {}
            if https:
                extra = {"cert_reqs": "CERT_REQUIRED",
                         "ca_certs": ca_bundle or certifi.where()}
            super().__init__(target.host, target.port, timeout=left, **extra)
            self._pinned, self._deadline = (family, sockaddr), deadline

        def _new_conn(self) -> socket.socket:
            family, sockaddr = self._pinned
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                self._deadline.watch(sock)
                sock.settimeout(self._deadline.left())
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.connect(sockaddr)
            except BaseException:
                sock.close()
                raise
            return sock

    Pinned.__name__ = Pinned.__qualname__ = f"_Pinned{base.__name__}"
    return Pinned


def _header(got: BaseHTTPResponse, name: str, longest: int) -> str | None:
    value = got.headers.get(name)
    return value if value is not None and len(value) <= longest else None


def _read(got: BaseHTTPResponse, limit: int, deadline: Deadline) -> bytes:
    """The body, read as it arrives (read1: what is there, not a fixed amount),
    decompressed, and refused once over `limit`; the deadline's watchdog ends a read that
    would outlast it."""
    declared = got.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FetchError(f"the calendar is larger than {limit} bytes")
    body = bytearray()
    while chunk := got.read1(CHUNK, decode_content=True):
        body += chunk
        if len(body) > limit:
            raise FetchError(f"the calendar is larger than {limit} bytes")
        deadline.left()
    if deadline.expired:  # the watchdog cut the connection: what came is not the whole
        raise deadline.error()
    return bytes(body)
