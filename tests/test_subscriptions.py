"""Calendar subscriptions by URL and `flask calendars sync`, against a real HTTP server on
loopback (http.server in a thread): conditional GET (ETag / Last-Modified -> 304), changed
bodies, failures of every kind (HTTP errors, a server that stalls, one that drips, bodies
over the size limit, unparsable and too complex calendars) that keep the last good import
and are shown as "last error" through the API; both backends.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from api.helpers import assert_error, created
from test_busy_api import PATHOLOGICAL, age, check_pre_proposals, spans_of, stored
from test_ical_import import EXPECTED, ics

TIMEOUT = 2.0  # CALENDAR_FETCH_TIMEOUT in these tests


@dataclass
class Route:
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    status: int = 200
    mode: str = "normal"  # normal | stall | drip | drip-headers | stream (no Content-Length)
    location: str | None = None


@dataclass
class CalendarServer:
    """Serves `routes` on 127.0.0.1; `seen` records (path, If-None-Match, If-Modified-Since)
    of every request. Stalling and dripping routes wait on `release` (set at teardown)."""

    routes: dict[str, Route] = field(default_factory=dict)
    seen: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    httpd: ThreadingHTTPServer | None = None

    def url(self, path: str) -> str:
        assert self.httpd is not None
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"


def handler_for(server: CalendarServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            server.seen.append((self.path, self.headers.get("If-None-Match"),
                                self.headers.get("If-Modified-Since")))
            route = server.routes.get(self.path)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._answer(route)  # (the client may have given up: timeout, size limit)

        def _answer(self, route: Route | None) -> None:
            if route is None:
                return self.send_error(404)
            if route.mode == "stall":
                server.release.wait(30)
            if route.mode == "drip-headers":  # a header byte a second, never the end of them
                self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                while not server.release.wait(1.0):
                    self.wfile.write(b"a")
                    self.wfile.flush()
                return None
            if route.location:
                self.send_response(route.status)
                self.send_header("Location", route.location)
                return self.end_headers()
            if route.etag and self.headers.get("If-None-Match") == route.etag:
                self.send_response(304)
                return self.end_headers()
            self.send_response(route.status)
            self.send_header("Content-Type", "text/calendar; charset=utf-8")
            for name, value in (("ETag", route.etag), ("Last-Modified", route.last_modified)):
                if value:
                    self.send_header(name, value)
            if route.mode == "normal":
                self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            if route.mode == "drip":  # a byte now and then: each read is quick, the whole is not
                for byte in route.body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    if server.release.wait(0.25):
                        return None
            else:
                self.wfile.write(route.body)
            return None

    return Handler


@pytest.fixture
def server() -> Iterator[CalendarServer]:
    calendars = CalendarServer()
    calendars.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(calendars))
    calendars.httpd.daemon_threads = True
    thread = threading.Thread(target=calendars.httpd.serve_forever, daemon=True)
    thread.start()
    yield calendars
    calendars.release.set()
    calendars.httpd.shutdown()
    calendars.httpd.server_close()
    thread.join(10)


@pytest.fixture
def app_config(app_config):
    return {**app_config, "CALENDAR_FETCH_PRIVATE": True, "CALENDAR_FETCH_TIMEOUT": TIMEOUT}


def subs_url(therapist_id: int) -> str:
    return f"/api/v1/therapists/{therapist_id}/calendar-subscriptions"


def subscribe(api, therapist_id: int, url: str, **extra) -> dict:
    return created(api.post(subs_url(therapist_id), {"url": url, **extra}))


def sync(runner, *args: str) -> list[str]:
    result = runner.invoke(args=["calendars", "sync", *args])
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def listed(api, therapist_id: int) -> list[dict]:
    answer = api.get(subs_url(therapist_id))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["next"] is None
    return answer.get_json()["items"]


@pytest.fixture
def synced(app, api, runner, server, make_therapist):
    """A therapist subscribed to the Google fixture (ETag and Last-Modified), synced once."""
    server.routes["/google.ics"] = Route(ics("google.ics"), etag='"v1"',
                                         last_modified="Tue, 01 Dec 2026 09:00:00 GMT")
    therapist = make_therapist()
    subscription = subscribe(api, therapist["id"], server.url("/google.ics"))
    lines = sync(runner)
    assert lines == [f"subscription {subscription['id']} (therapist {therapist['id']}, "
                     "127.0.0.1): imported 9 busy intervals", "1 subscription(s) due, 0 failed"]
    return therapist, subscription


# --- the happy path -----------------------------------------------------------------------

def test_a_subscription_syncs_and_the_api_shows_when(app, api, make_athlete, make_event,
                                                     synced):
    therapist, subscription = synced
    assert subscription["last_synced_at"] is None and subscription["next_sync_at"]
    [shown] = listed(api, therapist["id"])
    assert shown["busy_intervals"] == 9 and shown["last_error"] is None
    assert shown["last_synced_at"] and shown["last_error_at"] is None
    assert shown["next_sync_at"] > shown["last_synced_at"]
    rows = stored(app, therapist["id"])
    assert spans_of(rows) == [tuple(i) for i in EXPECTED["google.ics"]]
    assert {source for _, _, _, source, _ in rows} == {"url"}
    day = date(2027, 10, 29)  # the moved "Clinic rounds", Friday before the DST change
    assert check_pre_proposals(api, make_athlete, make_event, therapist, day,
                               spans_of(rows)) > 0


def test_a_second_fetch_is_conditional_and_a_304_changes_nothing(app, api, runner, server,
                                                                 synced):
    import calendar_parses as ical_import

    therapist, subscription = synced
    rows, before = stored(app, therapist["id"]), listed(api, therapist["id"])[0]
    parsed = ical_import.parse_count()
    assert sync(runner)[-1] == "0 subscription(s) due, 0 failed"  # not due for an hour
    assert sync(runner, "--all")[0].endswith("not modified (HTTP 304)")
    assert server.seen[-1] == ("/google.ics", '"v1"', "Tue, 01 Dec 2026 09:00:00 GMT")
    assert len(server.seen) == 2
    after = listed(api, therapist["id"])[0]
    assert after["last_synced_at"] == before["last_synced_at"]
    assert after["next_sync_at"] >= before["next_sync_at"]
    assert stored(app, therapist["id"]) == rows
    assert ical_import.parse_count() == parsed


def test_a_week_old_import_is_fetched_whole_and_expanded_again(app, runner, server, synced):
    import calendar_parses as ical_import

    _, subscription = synced
    age(app, subscription["id"])
    parsed = ical_import.parse_count()
    assert sync(runner, "--all")[0].endswith("imported 9 busy intervals")
    assert server.seen[-1] == ("/google.ics", None, None)  # not conditional
    assert ical_import.parse_count() == parsed + 1


def test_a_changed_calendar_replaces_the_import(app, api, runner, server, synced):
    therapist, _ = synced
    server.routes["/google.ics"] = Route(ics("apple.ics"), etag='"v2"')
    assert sync(runner, "--all")[0].endswith("imported 8 busy intervals")
    assert spans_of(stored(app, therapist["id"])) == [tuple(i) for i in EXPECTED["apple.ics"]]
    assert listed(api, therapist["id"])[0]["busy_intervals"] == 8


def test_the_same_body_without_validators_is_not_parsed_again(app, api, runner, server,
                                                              make_therapist):
    import calendar_parses as ical_import

    server.routes["/plain.ics"] = Route(ics("outlook.ics"))
    therapist = make_therapist()
    subscribe(api, therapist["id"], server.url("/plain.ics"))
    sync(runner)
    rows, parsed = stored(app, therapist["id"]), ical_import.parse_count()
    assert sync(runner, "--all")[0].endswith(": unchanged")
    assert server.seen[-1] == ("/plain.ics", None, None)
    assert ical_import.parse_count() == parsed
    assert stored(app, therapist["id"]) == rows


def test_a_redirect_is_followed(app, api, runner, server, make_therapist):
    server.routes["/old.ics"] = Route(status=301, location="/libical.ics")
    server.routes["/libical.ics"] = Route(ics("libical.ics"))
    therapist = make_therapist()
    subscribe(api, therapist["id"], server.url("/old.ics"))
    assert sync(runner)[0].endswith("imported 7 busy intervals")
    assert [path for path, *_ in server.seen] == ["/old.ics", "/libical.ics"]


# --- failures keep the last good import ---------------------------------------------------

FAILURES = {
    "unparsable": (Route(b"<html>Sign in to see this calendar</html>"), "iCalendar"),
    "too-complex": (Route(PATHOLOGICAL), "too complex"),
    "server-error": (Route(b"oops", status=500), "HTTP 500"),
    "gone": (Route(b"", status=404), "HTTP 404"),
    "stalls": (Route(ics("google.ics"), mode="stall"), f"within {TIMEOUT:g} s"),
    "drips": (Route(ics("google.ics"), mode="drip"), f"within {TIMEOUT:g} s"),
    "drips-headers": (Route(mode="drip-headers"), f"within {TIMEOUT:g} s"),
    "too-large": (Route(ics("google.ics") * 20), "larger than"),
    "too-large-streamed": (Route(ics("google.ics") * 20, mode="stream"), "larger than"),
}


@pytest.mark.parametrize("failure", list(FAILURES))
def test_a_failed_sync_keeps_the_last_good_import_and_shows_the_error(app, api, runner,
                                                                      server, synced, failure):
    app.config["CALENDAR_MAX_BYTES"] = 64 * 1024  # the fixtures are far below it
    therapist, _ = synced
    rows, good = stored(app, therapist["id"]), listed(api, therapist["id"])[0]
    route, message = FAILURES[failure]
    server.routes["/google.ics"] = route
    lines = sync(runner, "--all")
    assert "failed: " in lines[0] and message in lines[0], lines
    assert lines[-1] == "1 subscription(s) due, 1 failed"
    shown = listed(api, therapist["id"])[0]
    assert message in shown["last_error"] and shown["last_error_at"]
    assert "127.0.0.1" not in shown["last_error"]  # never the (secret) address
    assert (shown["last_synced_at"], shown["busy_intervals"]) == (good["last_synced_at"], 9)
    assert stored(app, therapist["id"]) == rows
    server.routes["/google.ics"] = Route(ics("google.ics"), etag='"v1"')
    sync(runner, "--all")
    assert listed(api, therapist["id"])[0]["last_error"] is None


def test_a_server_dripping_headers_holds_the_sync_for_one_deadline(app, api, runner, server,
                                                                   make_therapist):
    """A header byte a second: each read is quick, the whole never comes. The sync gives up
    at CALENDAR_FETCH_TIMEOUT in all and records why (it took 152 s before the deadline
    covered the headers)."""
    server.routes["/slow.ics"] = Route(mode="drip-headers")
    therapist = make_therapist()
    subscribe(api, therapist["id"], server.url("/slow.ics"))
    started = time.monotonic()
    lines = sync(runner)
    assert time.monotonic() - started < TIMEOUT + 1.0
    assert lines[0].endswith(f"failed: no complete answer within {TIMEOUT:g} s"), lines
    [shown] = listed(api, therapist["id"])
    assert shown["last_error"] == f"no complete answer within {TIMEOUT:g} s"
    assert shown["last_error_at"] and shown["last_synced_at"] is None


def test_subscriptions_sync_in_parallel_and_slow_servers_hold_one_deadline(
        app, api, runner, server, make_therapist):
    """8 subscriptions, the first 4 on servers that drip their headers: with 4 workers
    (CALENDAR_SYNC_WORKERS) the sync takes about one deadline, not four, and each outcome
    is recorded on its own subscription."""
    assert app.config["CALENDAR_SYNC_WORKERS"] == 4
    therapists = [make_therapist(), make_therapist()]
    slow, fast = [], []
    for i in range(4):
        server.routes[f"/slow{i}.ics"] = Route(mode="drip-headers")
        server.routes[f"/fast{i}.ics"] = Route(ics("google.ics"))
        slow.append(subscribe(api, therapists[0]["id"], server.url(f"/slow{i}.ics"))["id"])
    for i in range(4):
        fast.append(subscribe(api, therapists[1]["id"], server.url(f"/fast{i}.ics"))["id"])
    started = time.monotonic()
    lines = sync(runner)
    elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT + 1.5, elapsed  # one after another: 4 deadlines, 8 s
    assert lines[-1] == "8 subscription(s) due, 4 failed"
    by_id = {int(line.split()[1]): line for line in lines[:-1]}
    assert sorted(by_id) == sorted(slow + fast)
    assert all(by_id[i].endswith(f"no complete answer within {TIMEOUT:g} s") for i in slow)
    assert all(by_id[i].endswith("imported 9 busy intervals") for i in fast)
    errors = {s["id"]: s["last_error"] for t in therapists for s in listed(api, t["id"])}
    assert {i: errors[i] for i in slow} == dict.fromkeys(slow, f"no complete answer within "
                                                               f"{TIMEOUT:g} s")
    assert {i: errors[i] for i in fast} == dict.fromkeys(fast)
    assert len(stored(app, therapists[1]["id"])) == 4 * 9
    assert stored(app, therapists[0]["id"]) == []


def test_the_sync_may_run_one_at_a_time(app, api, runner, server, make_therapist):
    server.routes["/a.ics"] = Route(ics("google.ics"))
    server.routes["/b.ics"] = Route(ics("outlook.ics"))
    therapist = make_therapist()
    first = subscribe(api, therapist["id"], server.url("/a.ics"))
    second = subscribe(api, therapist["id"], server.url("/b.ics"))
    lines = sync(runner, "--workers", "1")
    assert [int(line.split()[1]) for line in lines[:-1]] == [first["id"], second["id"]]
    assert lines[-1] == "2 subscription(s) due, 0 failed"


def test_private_addresses_are_not_fetched_unless_allowed(app, api, runner, server,
                                                          make_therapist):
    app.config["CALENDAR_FETCH_PRIVATE"] = False
    server.routes["/google.ics"] = Route(ics("google.ics"))
    therapist = make_therapist()
    subscribe(api, therapist["id"], server.url("/google.ics"))
    assert sync(runner)[0].endswith("failed: the address is not a public one")
    assert server.seen == []
    assert stored(app, therapist["id"]) == []


@pytest.fixture
def public_network(app, monkeypatch, server):
    """calendar.example: public for the first lookup, 127.0.0.1 for every later one (DNS
    rebinding); its public address routed to the test server (test_busy_fetch.Network)."""
    from test_busy_fetch import PUBLIC, Network

    app.config["CALENDAR_FETCH_PRIVATE"] = False
    net = Network()
    monkeypatch.setattr(socket, "getaddrinfo", net.getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", lambda sock, to: net.connect(sock, to))
    net.answers["calendar.example"] = [[PUBLIC], ["127.0.0.1"]]
    return net


def public_url(server: CalendarServer, path: str) -> str:
    return server.url(path).replace("127.0.0.1", "calendar.example")


@pytest.mark.parametrize(("routed", "location", "message"), [
    (False, None, "the address could not be fetched"),  # rebinding: never the loopback server
    (True, None, None),  # the checked address, by name
    (True, "http://127.0.0.1:{port}/google.ics", "the address is not a public one"),
    (True, "http://calendar.example:{port}/google.ics", "the address is not a public one"),
])
def test_a_sync_connects_only_to_checked_public_addresses(app, api, runner, server,
                                                          public_network, make_therapist,
                                                          routed, location, message):
    from test_busy_fetch import PUBLIC

    port = server.httpd.server_address[1]
    if routed:
        public_network.routes[(PUBLIC, port)] = port
    server.routes["/google.ics"] = Route(ics("google.ics"))
    server.routes["/moved.ics"] = Route(status=302, location=location and location.format(
        port=port))
    therapist = make_therapist()
    subscribe(api, therapist["id"], public_url(server, "/moved.ics" if location
                                                else "/google.ics"))
    lines = sync(runner)
    assert set(public_network.tried) <= {(PUBLIC, port)}
    [shown] = listed(api, therapist["id"])
    if message is None:
        assert lines[0].endswith("imported 9 busy intervals")
        assert [path for path, *_ in server.seen] == ["/google.ics"]
        assert shown["busy_intervals"] == 9 and shown["last_error"] is None
        return
    assert f"failed: {message}" in lines[0], lines
    assert message in shown["last_error"] and shown["busy_intervals"] == 0
    assert [path for path, *_ in server.seen] == (["/moved.ics"] if routed else [])


# --- managing subscriptions ---------------------------------------------------------------

def test_deleting_a_subscription_removes_its_busy_intervals_only(app, api, runner, server,
                                                                 make_therapist):
    server.routes["/google.ics"] = Route(ics("google.ics"))
    server.routes["/outlook.ics"] = Route(ics("outlook.ics"))
    therapist = make_therapist()
    google = subscribe(api, therapist["id"], server.url("/google.ics"))
    subscribe(api, therapist["id"], server.url("/outlook.ics"), interval_minutes=15)
    api.put(f"/api/v1/therapists/{therapist['id']}/busy-calendar", data=ics("apple.ics"),
            headers={"Content-Type": "text/calendar"})
    assert sync(runner)[-1] == "2 subscription(s) due, 0 failed"
    assert len(stored(app, therapist["id"])) == 9 + 7 + 8
    answer = api.delete(f"{subs_url(therapist['id'])}/{google['id']}")
    assert answer.status_code == 204 and answer.get_data() == b""
    assert sorted(spans_of(stored(app, therapist["id"]))) == sorted(
        tuple(i) for i in EXPECTED["outlook.ics"] + EXPECTED["apple.ics"])
    assert [s["interval_minutes"] for s in listed(api, therapist["id"])] == [15]
    assert_error(api.delete(f"{subs_url(therapist['id'])}/{google['id']}"), 404, "not-found")


@pytest.mark.parametrize(("url", "stored_as"), [
    ("webcal://p12-caldav.icloud.com/published/2/abc",
     "https://p12-caldav.icloud.com/published/2/abc"),
    ("WEBCALS://calendar.example/x.ics", "https://calendar.example/x.ics"),
    ("https://calendar.google.com/calendar/ical/a%40b/private-0f/basic.ics",
     "https://calendar.google.com/calendar/ical/a%40b/private-0f/basic.ics"),
])
def test_calendar_addresses_are_normalised(api, make_therapist, url, stored_as):
    therapist = make_therapist()
    assert subscribe(api, therapist["id"], url)["url"] == stored_as
    assert_error(api.post(subs_url(therapist["id"]), {"url": url}), 409, field="url")


@pytest.mark.parametrize("body", [
    {"url": "ftp://example.com/cal.ics"}, {"url": "file:///etc/passwd"}, {"url": "calendar"},
    {"url": "https://"}, {"url": "https://example.com/a b.ics"},
    {"url": "https://example.com/x.ics", "interval_minutes": 4},
    {"url": "https://example.com/" + "x" * 2100},
])
def test_bad_subscriptions_are_422(app, api, make_therapist, body):
    therapist = make_therapist()
    field_name = "interval_minutes" if "interval_minutes" in body else "url"
    assert_error(api.post(subs_url(therapist["id"]), body), 422, field=field_name)
    assert listed(api, therapist["id"]) == []


def test_only_the_therapist_and_admins_see_the_subscriptions(api, make_therapist, make_user):
    therapist = make_therapist()
    own = api.as_(make_user("therapist", therapist["email"]))
    secret = "https://calendar.example/private-5ecret/basic.ics"
    mine = subscribe(own, therapist["id"], secret)
    assert [s["url"] for s in listed(own, therapist["id"])] == [secret]
    for role in ("therapist", "coach", "athlete"):
        stranger = api.as_(make_user(role))
        for answer in (stranger.get(subs_url(therapist["id"])),
                       stranger.post(subs_url(therapist["id"]), {"url": secret}),
                       stranger.delete(f"{subs_url(therapist['id'])}/{mine['id']}")):
            assert_error(answer, 404, "not-found")
            assert "5ecret" not in answer.get_data(as_text=True)
    assert len(listed(api, therapist["id"])) == 1
