"""A gunicorn worker's resident memory, read from /proc (Linux), for bench/ical_import.py.

`Worker` runs the app as deployed (`gunicorn -c deploy/gunicorn.conf.py wsgi:app`, one
gthread worker) on a given database and reads the worker process's (not the master's)
memory from `/proc/<pid>/status`: VmRSS (resident now) and VmHWM (the high-water mark of
VmRSS since the process started or since the mark was reset by writing "5" to
`/proc/<pid>/clear_refs`). The kernel keeps the mark itself, so a peak between two reads
is never missed. A sampling thread reading VmRSS every few milliseconds runs beside it as
a check on the mark (its maximum can only be lower).

Figures are MiB (2^20 bytes).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time as clock
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def status_kib(pid: int, field: str) -> int:
    """A `kB` field of /proc/<pid>/status (VmRSS, VmHWM, ...)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


class Peak:
    """The largest VmRSS of `pid` seen by a thread sampling every `every` seconds."""

    def __init__(self, pid: int, every: float = 0.002) -> None:
        self.pid, self.every, self.kib = pid, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.kib = max(self.kib, status_kib(self.pid, "VmRSS"))
            self._stop.wait(self.every)

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


class Worker:
    """One gthread gunicorn worker serving the app on `database_url` (a context manager)."""

    def __init__(self, database_url: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by __exit__
        self._env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT),
                     "GUNICORN_WORKERS": "1", "GUNICORN_BIND": f"127.0.0.1:{self.port}",
                     "GUNICORN_LOG_LEVEL": "warning", "GUNICORN_TIMEOUT": "900",
                     **(env or {})}
        self.process: subprocess.Popen | None = None
        self.pid = 0

    def __enter__(self) -> Worker:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT, env=self._env, stdout=subprocess.DEVNULL, stderr=self._log)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def log_tail(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-2000:]

    def request(self, method: str, path: str, headers: dict[str, str],
                body: bytes | None = None, timeout: float = 900.0) -> tuple[int, bytes]:
        """(status, body) of one request to the worker."""
        req = urllib.request.Request(self.base + path, data=body, method=method,
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def wait_ready(self, path: str, headers: dict[str, str], timeout: float = 60.0) -> None:
        """Poll `path` until it answers 200, then find the worker's pid."""
        assert self.process is not None
        deadline = clock.monotonic() + timeout
        while clock.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_tail()}")
            try:
                if self.request("GET", path, headers, timeout=5)[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                clock.sleep(0.05)  # not listening yet: polling is the only signal there is
        else:
            raise RuntimeError(f"{path} did not answer 200 within {timeout} s")
        master = self.process.pid
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if len(children) != 1:
            raise RuntimeError(f"expected one gunicorn worker, found {children}")
        self.pid = int(children[0])

    def warm(self, path: str, headers: dict[str, str], requests: int = 64) -> None:
        """GET `path` `requests` times, 16 at once, so that every thread of the worker
        has served a request (a thread's first request grows the worker by its stack and
        its allocator heap: start-up, not what a later request keeps)."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(lambda _: self.request("GET", path, headers)[0],
                                     range(requests)))
        if any(status != 200 for status in statuses):
            raise RuntimeError(f"warm-up answers: {sorted(set(statuses))}")

    def rss(self) -> float:
        """The worker's resident memory now, MiB."""
        return status_kib(self.pid, "VmRSS") / 1024

    def reset_peak(self) -> None:
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")

    def peak(self) -> float:
        """The worker's VmHWM (since the last reset_peak), MiB."""
        return status_kib(self.pid, "VmHWM") / 1024
