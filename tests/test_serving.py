"""Slow clients cannot stall the deployment (issue 14, point 4): the real thing, as the
README deploys it (`deploy/run`: nginx from deploy/nginx.conf in front of gunicorn's
threaded workers from deploy/gunicorn.conf.py), on the test database of each backend.

- 200 slow sockets at once (100 dripping a header line every second, 50 connected and
  silent, 50 dripping a POST body a byte a second) while a client asks `GET /api/v1/me`
  with its bearer token ten times: every answer 200 in under 1 s, and the slow sockets are
  still open at the end (the attack was live the whole time).
- nginx's own answers under /api/ are the contract's JSON: 413 (body over 1 MiB, with a
  Content-Length or chunked), 414
  (request line over 8 KiB), 431 (a header over 8 KiB), 502 (gunicorn down); pages get a
  short HTML page instead.
- Every answer carries nginx's request id, and gunicorn's access log has the same id.
- A demonstration of why: a gunicorn sync worker on the network directly (the old
  README's command, one worker) answers nothing while ten such slow sockets are open.

Skipped (with the reason) where nginx is not installed; `.ci/run` installs it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from server import ROOT, running_server, server_env  # tests/ is on sys.path (rootdir)

pytestmark = pytest.mark.slow
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
RUN = ROOT / "deploy" / "run"
READY = re.compile(r"athlete_sched: serving on (http://\S+?)/? ")
START_TIMEOUT_S = 60.0
SLOW_HEADERS, IDLE, SLOW_BODIES = 100, 50, 50  # 200 slow sockets
DRIP_EVERY_S = 1.0
ASKS = 10
ANSWER_WITHIN_S = 1.0


def nginx_missing() -> str | None:
    if os.access(NGINX, os.X_OK):
        return None
    return (f"nginx is not installed ({NGINX}): the deployment test needs Debian's nginx "
            "(apt-get install nginx-light); .ci/run installs it")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Deployment:
    url: str
    run_dir: Path
    log_file: Path

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # anything left of nginx or gunicorn
    proc.wait(timeout=10)


def _start(env: dict[str, str], run_dir: Path, log_file: Path) -> tuple[subprocess.Popen, str]:
    """deploy/run on a free port: the process and its URL (a port taken meanwhile by
    someone else: nginx cannot listen, deploy/run exits, and the caller tries again)."""
    with log_file.open("w") as log:
        proc = subprocess.Popen([sys.executable, str(RUN), "--port", str(free_port()),
                                 "--run-dir", str(run_dir)], cwd=ROOT, env=env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None:
        found = READY.search(log_file.read_text(errors="replace"))
        if found:
            return proc, found.group(1)
        time.sleep(0.1)  # polling a child's start-up
    _stop(proc)
    return proc, ""


@contextmanager
def deployed(database: str, run_dir: Path) -> Iterator[Deployment]:
    reason = nginx_missing()
    if reason:
        pytest.skip(reason)
    env = server_env(database)
    env.update(GUNICORN_WORKERS="2", GUNICORN_THREADS="4",
               GUNICORN_ACCESS_LOG=str(run_dir / "gunicorn-access.log"),
               ATHLETE_SCHED_INSTANCE=str(run_dir / "instance"))  # the job queue's file
    log_file = run_dir / "deploy-run.log"
    for _ in range(3):
        proc, url = _start(env, run_dir, log_file)
        if url:
            break
    else:
        pytest.fail(f"deploy/run did not start:\n{log_file.read_text(errors='replace')}")
    try:
        yield Deployment(url, run_dir, log_file)
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def deployment(database: str, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[Deployment]:
    with deployed(database, tmp_path_factory.mktemp("deploy")) as running:
        yield running


# --- the slow clients ---------------------------------------------------------------------

class SlowClients:
    """Sockets that send their requests slowly (or not at all), driven by one thread."""

    def __init__(self, url: str) -> None:
        host, port = re.match(r"http://([^:/]+):(\d+)", url).groups()
        self.address = (host, int(port))
        self.header_drippers: list[socket.socket] = []
        self.body_drippers: list[socket.socket] = []
        self.silent: list[socket.socket] = []
        self.dropped = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drip, daemon=True)

    def _connect(self, first: bytes) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=5)
        if first:
            sock.sendall(first)
        return sock

    def open(self, slow_headers: int, idle: int, slow_bodies: int) -> SlowClients:
        host = f"Host: {self.address[0]}\r\n".encode()
        for i in range(slow_headers):  # a request line, then a header line now and then
            self.header_drippers.append(self._connect(b"GET /api/v1/me HTTP/1.1\r\n" + host
                                               + f"X-Slow-{i}: 0\r\n".encode()))
        for _ in range(idle):  # connected, never a byte
            self.silent.append(self._connect(b""))
        for _ in range(slow_bodies):  # whole headers, then the body a byte at a time
            self.body_drippers.append(self._connect(
                b"POST /api/v1/events HTTP/1.1\r\n" + host
                + b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"))
        self._thread.start()
        return self

    def _drip(self) -> None:
        n = 0
        while not self._stop.wait(DRIP_EVERY_S):
            n += 1
            for drippers, data in ((self.header_drippers, f"X-Drip: {n}\r\n".encode()),
                                   (self.body_drippers, b" ")):
                for sock in list(drippers):
                    try:
                        sock.sendall(data)
                    except OSError:
                        drippers.remove(sock)
                        sock.close()
                        self.dropped += 1

    def sockets(self) -> list[socket.socket]:
        return self.header_drippers + self.body_drippers + self.silent

    def still_open(self) -> int:
        """How many of the sockets the server has not closed (a closed one reads EOF)."""
        count = 0
        for sock in self.sockets():
            sock.setblocking(False)
            try:
                count += sock.recv(1, socket.MSG_PEEK) != b""
            except BlockingIOError:
                count += 1  # nothing to read: still open
            except OSError:
                pass
            finally:
                sock.setblocking(True)
        return count

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for sock in self.sockets():
            sock.close()


@contextmanager
def slow_clients(url: str, slow_headers: int = SLOW_HEADERS, idle: int = IDLE,
                 slow_bodies: int = SLOW_BODIES) -> Iterator[SlowClients]:
    clients = SlowClients(url)
    try:
        yield clients.open(slow_headers, idle, slow_bodies)
    finally:
        clients.close()


def timed_me(url: str, token: str, timeout: float = 5.0) -> tuple[int, float]:
    """GET /api/v1/me on a fresh connection: (status, seconds)."""
    started = time.perf_counter()
    response = requests.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {token}"},
                            timeout=timeout)
    return response.status_code, time.perf_counter() - started


# --- through nginx: slow clients do not stall it ------------------------------------------

def test_me_answers_within_a_second_while_200_slow_sockets_are_open(
        deployment: Deployment, admin_token: str) -> None:
    assert timed_me(deployment.url, admin_token)[0] == 200  # warm: every worker, the token
    with slow_clients(deployment.url) as clients:
        time.sleep(2 * DRIP_EVERY_S)  # every slow socket has sent something, and drips
        answers = []
        for _ in range(ASKS):
            answers.append(timed_me(deployment.url, admin_token))
            time.sleep(0.2)
        alive = clients.still_open()
    statuses = [status for status, _ in answers]
    slowest = max(seconds for _, seconds in answers)
    assert statuses == [200] * ASKS, f"{answers}\n{deployment.log()[-3000:]}"
    assert slowest < ANSWER_WITHIN_S, f"slowest /me {slowest:.3f} s: {answers}"
    assert alive >= 0.95 * (SLOW_HEADERS + IDLE + SLOW_BODIES), (
        f"only {alive} slow sockets still open: the attack was not live")


def test_threaded_workers_answer_concurrent_reads_and_writes(deployment: Deployment,
                                                             admin_token: str) -> None:
    """gthread runs requests side by side in one process (the app's caches, its unit of
    work and the database pool are shared by the threads): 24 clients at once, each
    creating an athlete and reading /me, all answered and all written."""
    headers = {"Authorization": f"Bearer {admin_token}"}

    def client(i: int) -> tuple[int, int]:
        with requests.Session() as session:
            session.headers.update(headers)
            created = session.post(f"{deployment.url}/api/v1/athletes", timeout=30, json={
                "name": f"Runner {i}", "email": f"runner-{i}@serving.test",
                "sport": "running", "timezone": "Europe/Berlin"})
            return created.status_code, session.get(f"{deployment.url}/api/v1/me",
                                                    timeout=30).status_code

    with ThreadPoolExecutor(max_workers=24) as pool:
        outcomes = list(pool.map(client, range(24)))
    assert outcomes == [(201, 200)] * 24, f"{outcomes}\n{deployment.log()[-3000:]}"
    listed = requests.get(f"{deployment.url}/api/v1/athletes?limit=100", headers=headers,
                          timeout=10).json()
    emails = {athlete["email"] for athlete in listed["items"]}
    assert {f"runner-{i}@serving.test" for i in range(24)} <= emails


def test_nginx_answers_json_under_api_and_a_page_elsewhere(deployment: Deployment) -> None:
    big_body = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    long_query = "q=" + "a" * 9000
    big_header = {"X-Big": "a" * 9000}
    cases = [
        ("POST", "/api/v1/events", {"data": big_body}, 413, "body-too-large"),
        ("GET", f"/api/v1/me?{long_query}", {}, 414, "request-uri-too-large"),
        ("GET", "/api/v1/me", {"headers": big_header}, 431, "request-header-fields-too-large"),
    ]
    def chunked():  # no Content-Length: nginx counts the chunks and stops at 1 MiB
        yield b"{"
        for _ in range(32):
            yield b" " * 65536
        yield b"}"

    cases.append(("POST", "/api/v1/events", {"data": chunked(),
                                             "headers": {"Content-Type": "application/json"}},
                  413, "body-too-large"))
    for method, path, kwargs, status, code in cases:
        response = requests.request(method, deployment.url + path, timeout=10, **kwargs)
        assert response.status_code == status, (path, response.status_code, response.text)
        assert response.headers["Content-Type"] == "application/json"
        assert response.json()["error"]["code"] == code
        assert set(response.json()["error"]) == {"code", "message", "fields"}
    for path, kwargs, status in (("/season?" + long_query, {}, 414),
                                 ("/season", {"headers": big_header}, 431)):
        response = requests.get(deployment.url + path, timeout=10, **kwargs)
        assert response.status_code == status
        assert response.headers["Content-Type"].startswith("text/html")


def test_the_request_id_reaches_the_apps_access_log(deployment: Deployment,
                                                    admin_token: str) -> None:
    response = requests.get(f"{deployment.url}/api/v1/me", timeout=10,
                            headers={"Authorization": f"Bearer {admin_token}",
                                     "X-Forwarded-For": "203.0.113.9"})
    request_id = response.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    log = deployment.run_dir / "gunicorn-access.log"
    deadline = time.monotonic() + 5
    while request_id not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)  # gunicorn writes the line after the answer
    line = next(line for line in log.read_text().splitlines() if request_id in line)
    # the client's own X-Forwarded-For is kept, nginx appends the address it saw
    assert line.startswith("203.0.113.9, 127.0.0.1 \"GET /api/v1/me HTTP/1.0\" 200") or \
        line.startswith("203.0.113.9, 127.0.0.1 \"GET /api/v1/me HTTP/1.1\" 200"), line


def test_the_app_logs_each_request_once_in_json_with_nginxs_request_id(
        deployment: Deployment, admin_token: str) -> None:
    """gunicorn as deployed (deploy/gunicorn.conf.py) writes no access line of its own
    unless asked (GUNICORN_ACCESS_LOG, set here for the test above): the app's JSON line
    is the one on stderr, once, with nginx's request id and the signed-in user."""
    response = requests.get(f"{deployment.url}/api/v1/me", timeout=10,
                            headers={"Authorization": f"Bearer {admin_token}"})
    request_id = response.headers["X-Request-Id"]
    deadline = time.monotonic() + 5
    while request_id not in deployment.log() and time.monotonic() < deadline:
        time.sleep(0.05)  # the line is written once the answer is sent
    lines = [line for line in deployment.log().splitlines() if request_id in line]
    assert len(lines) == 1, lines
    line = json.loads(lines[0])
    assert (line["logger"], line["method"], line["path"], line["status"]) == (
        "athlete_sched.access", "GET", "/api/v1/me", 200)
    assert line["user_id"] == response.json()["id"]
    gunicorn_lines = [json.loads(line) for line in deployment.log().splitlines()
                      if '"gunicorn.error"' in line]
    assert any("Booting worker" in line["message"] for line in gunicorn_lines)


def test_the_app_sees_the_scheme_and_host_nginx_saw_not_what_the_client_claims(
        deployment: Deployment, make_therapist, admin_token: str) -> None:
    therapist = make_therapist()
    response = requests.get(f"{deployment.url}/api/v1/therapists/{therapist['id']}/feed",
                            timeout=10, headers={"Authorization": f"Bearer {admin_token}",
                                                 "X-Forwarded-Proto": "https",
                                                 "X-Forwarded-Ssl": "on",
                                                 "X-Forwarded-Host": "evil.example"})
    assert response.status_code == 200, response.text
    # plain http on nginx's own port: nginx replaced the client's claims, and gunicorn
    # believes only X-Forwarded-Proto, from nginx
    assert response.json()["url"].startswith(f"{deployment.url}/feeds/"), response.json()


def test_nginx_answers_502_as_json_while_the_app_is_down(tmp_path: Path) -> None:
    reason = nginx_missing()
    if reason:
        pytest.skip(reason)
    port = free_port()
    subprocess.run([sys.executable, str(RUN), "--render-only", "--run-dir", str(tmp_path),
                    "--port", str(port), "--upstream", f"unix:{tmp_path / 'nobody.sock'}"],
                   check=True, capture_output=True)
    nginx = subprocess.Popen([NGINX, "-p", f"{tmp_path}/", "-c", str(tmp_path / "nginx.conf"),
                              "-e", str(tmp_path / "logs" / "error.log")],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/api/v1/me", timeout=5)
                break
            except requests.ConnectionError:
                assert nginx.poll() is None and time.monotonic() < deadline, (
                    (tmp_path / "logs" / "error.log").read_text())
                time.sleep(0.05)
        assert response.status_code == 502
        assert response.json()["error"]["code"] == "bad-gateway"
        page = requests.get(f"http://127.0.0.1:{port}/season", timeout=5)
        assert page.status_code == 502 and page.headers["Content-Type"].startswith("text/html")
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)


# --- the demonstration: gunicorn's sync workers on the network stall ----------------------

def test_demonstration_sync_workers_alone_stall_under_the_same_slow_sockets(
        tmp_path: Path) -> None:
    """Why nginx is there (not a property of the deployment): `gunicorn -w 1 wsgi:app`
    (one sync worker, no proxy) answers nothing while ten slow sockets are open."""
    from conftest import migrate

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    migrate(url)
    with running_server(url, tmp_path, workers=1) as base, slow_clients(base, 10, 0, 0):
        time.sleep(DRIP_EVERY_S)
        with pytest.raises(requests.Timeout):
            requests.get(f"{base}/api/v1/openapi.json", timeout=3)
