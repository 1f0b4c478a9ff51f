"""Subscription fetches on a hostile network (services/busy_fetch.py), no database and no
app: a fake resolver (socket.getaddrinfo, the one lookup the fetch makes) and a fake router
(socket.socket.connect: a public address reaches a local server only where a test routes
it, any other public address is refused, and every attempt is recorded), in front of raw
TCP servers on loopback that answer exactly what each test needs: DNS rebinding, private
addresses among a name's answers and behind redirects, servers that drip their headers or
their TLS handshake, and TLS with the certificate checked for the name, not the address.
"""

from __future__ import annotations

import contextlib
import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from athlete_sched.services.busy_fetch import MAX_REDIRECTS, FetchError, Limits, fetch

PUBLIC = "93.184.216.34"  # a global address: the fake router refuses it unless routed
CALENDAR = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nEND:VCALENDAR\r\n"
REAL_GETADDRINFO = socket.getaddrinfo
REAL_CONNECT = socket.socket.connect


class Network:
    """`answers[name]`: one list of addresses per lookup (the last one repeats), recorded
    in `lookups`. `routes[(public ip, port)]`: the loopback port a connection to it reaches.
    `tried`: every (address, port) a socket connected or tried to connect to."""

    def __init__(self) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []
        self.routes: dict[tuple[str, int], int] = {}
        self.tried: list[tuple[str, int]] = []

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002
        with contextlib.suppress(ValueError):
            ipaddress.ip_address(host)
            return REAL_GETADDRINFO(host, port, family, type, proto, flags)
        self.lookups.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        queue = self.answers[host]
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port, 0, 0)) if ":" in a
                else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answer]

    def connect(self, sock: socket.socket, address) -> None:
        host, port = address[0], address[1]
        self.tried.append((host, port))
        if (host, port) in self.routes:
            return REAL_CONNECT(sock, ("127.0.0.1", self.routes[(host, port)]))
        if ipaddress.ip_address(host).is_loopback:
            return REAL_CONNECT(sock, address)
        raise ConnectionRefusedError(111, "Connection refused (test network)")


@pytest.fixture
def network(monkeypatch) -> Network:
    net = Network()
    monkeypatch.setattr(socket, "getaddrinfo", net.getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", lambda sock, address: net.connect(sock, address))
    return net


Answer = Callable[[socket.socket, "Listener"], None]


class Listener:
    """A TCP server on 127.0.0.1: counts connections, keeps each request's head, and lets
    `answer` write whatever it wants (it stops when `stop` is set)."""

    def __init__(self, answer: Answer, tls: ssl.SSLContext | None = None) -> None:
        self.answer, self.tls = answer, tls
        self.accepted, self.requests, self.names = 0, [], []
        self.stop = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        with contextlib.ExitStack() as stack, contextlib.suppress(OSError):
            stack.enter_context(conn)
            if self.tls is not None:
                conn = stack.enter_context(self.tls.wrap_socket(conn, server_side=True))
            if self.answer is not drip_handshake:  # (that one answers a TLS client hello)
                head = b""
                while b"\r\n\r\n" not in head and (chunk := conn.recv(4096)):
                    head += chunk
                self.requests.append(head.decode("latin-1"))
            self.answer(conn, self)

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.fixture
def listen() -> Iterator[Callable[..., Listener]]:
    started: list[Listener] = []

    def start(answer: Answer, tls: ssl.SSLContext | None = None) -> Listener:
        started.append(Listener(answer, tls))
        return started[-1]

    yield start
    for listener in started:
        listener.close()


def ok(body: bytes = CALENDAR) -> Answer:
    def answer(conn: socket.socket, _: Listener) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\nConnection: close\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    return answer


def redirect(location: str) -> Answer:
    def answer(conn: socket.socket, _: Listener) -> None:
        conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n"
                     b"Connection: close\r\n\r\n" % location.encode())
    return answer


def drip(data: bytes, every: float) -> Answer:
    def answer(conn: socket.socket, listener: Listener) -> None:
        for byte in data:
            conn.sendall(bytes([byte]))
            if listener.stop.wait(every):
                return
    return answer


DRIP_HEADERS = drip(b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 200, 1.0)  # 1 byte/s
DRIP_BODY = drip(b"HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n" + b"a" * 200, 0.3)


def drip_handshake(conn: socket.socket, listener: Listener) -> None:
    """A TLS record header (a handshake of 16 KiB to come), then its bytes one at a time."""
    drip(b"\x16\x03\x03\x40\x00" + b"\x00" * 200, 0.3)(conn, listener)


def limits(timeout: float = 5.0, allow_private: bool = False, ca_bundle: str | None = None,
           max_bytes: int = 1 << 20) -> Limits:
    return Limits(timeout, max_bytes, allow_private, ca_bundle)


def refused(url: str, given: Limits, message: str) -> None:
    with pytest.raises(FetchError) as failed:
        fetch(url, None, None, given)
    assert message in str(failed.value)
    assert "example" not in str(failed.value) and "127.0.0.1" not in str(failed.value)


# --- one lookup, and the connection goes where it said --------------------------------------

def test_a_name_rebound_to_loopback_after_the_check_is_never_connected_to(network, listen):
    """The rebinding attack: the first answer is public (the check passes), every later one
    is 127.0.0.1. The fetch connects to the public address it checked and nowhere else."""
    loopback = listen(ok())
    network.answers["calendar.example"] = [[PUBLIC], ["127.0.0.1"]]
    refused(f"http://calendar.example:{loopback.port}/cal.ics", limits(),
            "could not be fetched (ConnectionRefusedError)")
    assert network.lookups == ["calendar.example"]
    assert network.tried == [(PUBLIC, loopback.port)]
    time.sleep(0.2)
    assert loopback.accepted == 0 and loopback.requests == []


def test_the_checked_address_is_fetched_with_the_name_as_host(network, listen):
    """The same rebinding name, routed this time: the body comes from the checked address,
    asked for by name (Host), after one lookup."""
    server = listen(ok())
    network.answers["calendar.example"] = [[PUBLIC], ["127.0.0.1"]]
    network.routes[(PUBLIC, server.port)] = server.port
    body, _ = fetch(f"http://calendar.example:{server.port}/cal.ics?k=1", None, None, limits())
    assert body == CALENDAR
    assert network.lookups == ["calendar.example"] and network.tried == [(PUBLIC, server.port)]
    [request] = server.requests
    assert request.startswith("GET /cal.ics?k=1 HTTP/1.1\r\n")
    assert f"\r\nHost: calendar.example:{server.port}\r\n" in request


def test_an_international_name_is_looked_up_and_sent_as_ascii(network, listen):
    server = listen(ok())
    network.answers["xn--caf-dma.example"] = [[PUBLIC]]
    network.routes[(PUBLIC, server.port)] = server.port
    body, _ = fetch(f"http://café.example:{server.port}/", None, None, limits())
    assert body == CALENDAR and network.lookups == ["xn--caf-dma.example"]
    assert f"Host: xn--caf-dma.example:{server.port}\r\n" in server.requests[0]


def test_a_second_checked_address_is_tried_when_the_first_refuses(network, listen):
    server = listen(ok())
    network.answers["calendar.example"] = [["93.184.216.35", PUBLIC]]
    network.routes[(PUBLIC, server.port)] = server.port
    body, _ = fetch(f"http://calendar.example:{server.port}/", None, None, limits())
    assert body == CALENDAR
    assert network.tried == [("93.184.216.35", server.port), (PUBLIC, server.port)]


@pytest.mark.parametrize("answer", [
    [PUBLIC, "127.0.0.1"],  # one bad address among good ones: all of a name's are checked
    ["127.0.0.1", PUBLIC],
    [PUBLIC, "::1"],  # AAAA
    [PUBLIC, "10.1.2.3"],
    ["169.254.169.254"],  # cloud metadata
    ["100.64.0.1"],  # carrier-grade NAT
    ["0.0.0.0"],
    ["::ffff:127.0.0.1"],  # IPv4-mapped
    ["64:ff9b::7f00:1"],  # NAT64 of 127.0.0.1
    ["2002:a00:1::1"],  # 6to4 of 10.0.0.1
    ["fe80::1"],
])
def test_every_address_of_a_name_must_be_public(network, answer):
    network.answers["calendar.example"] = [answer]
    refused("https://calendar.example/cal.ics", limits(), "the address is not a public one")
    assert network.tried == []


def test_private_literal_addresses_and_unknown_names_are_refused(network):
    for url in ("http://127.0.0.1:9/", "http://[::1]:9/", "http://10.0.0.1/",
                "http://2130706433/", "http://0x7f.1/"):
        with pytest.raises(FetchError) as failed:
            fetch(url, None, None, limits())
        assert str(failed.value) in ("the address is not a public one",
                                     "the host name does not resolve"), url
    refused("http://nowhere.example/", limits(), "the host name does not resolve")
    assert network.tried == []


# --- redirects: each hop resolved, checked and pinned again ---------------------------------

@pytest.mark.parametrize("location", [
    "http://127.0.0.1:{inner}/secret",
    "http://[::1]:{inner}/secret",
    "http://internal.example:{inner}/secret",  # resolves to 10.0.0.8
    "http://rebind.example:{inner}/secret",  # public at first, then loopback: not here
    "http://169.254.169.254/latest/meta-data/",
])
def test_a_redirect_to_a_private_address_is_refused(network, listen, location):
    inner = listen(ok(b"secret"))
    outer = listen(redirect(location.format(inner=inner.port)))
    network.answers |= {"calendar.example": [[PUBLIC]], "internal.example": [["10.0.0.8"]],
                        "rebind.example": [["127.0.0.1"], [PUBLIC]]}
    network.routes[(PUBLIC, outer.port)] = outer.port
    refused(f"http://calendar.example:{outer.port}/cal.ics", limits(),
            "the address is not a public one")
    assert outer.accepted == 1
    assert network.tried == [(PUBLIC, outer.port)]
    time.sleep(0.2)
    assert inner.accepted == 0


def test_a_redirect_is_followed_to_a_public_address_by_name(network, listen):
    final = listen(ok())
    first = listen(redirect(f"http://other.example:{final.port}/moved.ics"))
    network.answers |= {"calendar.example": [[PUBLIC]], "other.example": [["93.184.216.40"]]}
    network.routes |= {(PUBLIC, first.port): first.port,
                       ("93.184.216.40", final.port): final.port}
    body, _ = fetch(f"http://calendar.example:{first.port}/cal.ics", None, None, limits())
    assert body == CALENDAR
    assert network.lookups == ["calendar.example", "other.example"]
    assert f"Host: other.example:{final.port}\r\n" in final.requests[0]


def test_redirects_are_limited_and_stay_on_http(network, listen):
    loop = listen(redirect("/again"))
    network.answers["calendar.example"] = [[PUBLIC]]
    network.routes[(PUBLIC, loop.port)] = loop.port
    refused(f"http://calendar.example:{loop.port}/", limits(),
            f"more than {MAX_REDIRECTS} redirects")
    assert loop.accepted == MAX_REDIRECTS + 1
    away = listen(redirect("file:///etc/passwd"))
    network.routes[(PUBLIC, away.port)] = away.port
    refused(f"http://calendar.example:{away.port}/", limits(), "a redirect left http(s)")


# --- one deadline for everything ------------------------------------------------------------

@pytest.mark.parametrize(("answer", "scheme"), [
    (DRIP_HEADERS, "http"),  # each read is quick, the headers never end
    (DRIP_BODY, "http"),
    (drip_handshake, "https"),  # the TLS handshake, a byte at a time
])
def test_a_dripping_server_fails_the_fetch_at_the_deadline(network, listen, answer, scheme):
    server = listen(answer)
    started = time.monotonic()
    refused(f"{scheme}://127.0.0.1:{server.port}/cal.ics", limits(1.5, allow_private=True),
            "no complete answer within 1.5 s")
    assert 1.4 <= time.monotonic() - started < 1.5 + 0.5
    assert server.accepted == 1


def test_the_deadline_covers_a_resolver_that_does_not_answer(network, monkeypatch):
    answered = threading.Event()

    def silent(*_args, **_kwargs):
        answered.wait(5)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", silent)
    started = time.monotonic()
    refused("http://calendar.example/cal.ics", limits(1.0), "no complete answer within 1 s")
    assert time.monotonic() - started < 1.5
    answered.set()


def test_the_deadline_covers_every_hop(network, listen):
    slow = listen(DRIP_HEADERS)
    first = listen(redirect(f"http://127.0.0.1:{slow.port}/"))
    started = time.monotonic()
    refused(f"http://127.0.0.1:{first.port}/", limits(1.0, allow_private=True),
            "no complete answer within 1 s")
    assert time.monotonic() - started < 1.5


# --- TLS: SNI and the certificate are for the name, the socket goes to the checked address --

def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> Path:
    """A throwaway CA and a certificate for calendar.example signed by it (openssl)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    where = tmp_path_factory.mktemp("tls")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl("req", "-x509", *ec, "-keyout", where / "ca.key", "-out", where / "ca.pem",
             "-days", "2", "-subj", "/CN=athlete_sched test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    _openssl("req", *ec, "-keyout", where / "leaf.key", "-out", where / "leaf.csr",
             "-subj", "/CN=calendar.example")
    (where / "leaf.ext").write_text(
        "subjectAltName=DNS:calendar.example\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        "authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n")
    _openssl("x509", "-req", "-in", where / "leaf.csr", "-CA", where / "ca.pem",
             "-CAkey", where / "ca.key", "-CAcreateserial", "-out", where / "leaf.pem",
             "-days", "2", "-extfile", where / "leaf.ext")
    return where


@pytest.fixture
def tls_server(certificates, listen) -> Listener:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates / "leaf.pem", certificates / "leaf.key")
    names: list[str | None] = []
    context.sni_callback = lambda _sock, name, _ctx: names.append(name)
    server = listen(ok(), tls=context)
    server.names = names
    return server


def test_https_to_the_checked_address_verifies_the_name(network, certificates, tls_server):
    network.answers["calendar.example"] = [["127.0.0.1"], ["10.9.9.9"]]
    given = limits(allow_private=True, ca_bundle=str(certificates / "ca.pem"))
    body, _ = fetch(f"https://calendar.example:{tls_server.port}/cal.ics", None, None, given)
    assert body == CALENDAR
    assert tls_server.names == ["calendar.example"]  # SNI: the name, not 127.0.0.1
    assert f"Host: calendar.example:{tls_server.port}\r\n" in tls_server.requests[0]
    assert network.lookups == ["calendar.example"]


@pytest.mark.parametrize(("name", "ca"), [
    ("other.example", "ca.pem"),  # a certificate for another name
    ("calendar.example", None),  # a CA that certifi's roots do not hold
])
def test_https_with_a_certificate_not_valid_for_the_name_is_refused(network, certificates,
                                                                     tls_server, name, ca):
    network.answers[name] = [["127.0.0.1"]]
    given = limits(allow_private=True, ca_bundle=ca and str(certificates / ca))
    refused(f"https://{name}:{tls_server.port}/cal.ics", given,
            "the server's certificate could not be verified")
    assert tls_server.requests == []
