"""A real multi-worker server for tests: `gunicorn -w 4 wsgi:app` on a free local port.

`running_server(database_url)` starts gunicorn with several sync worker processes sharing
one database (the deployment itself, nginx in front of threaded workers, is started by
tests/test_serving.py through deploy/run), waits until every
worker has loaded the app and the server answers, yields the base URL, and always stops
it: SIGTERM to the master, then SIGKILL to its whole process group if it lingers.

The port is chosen by the kernel (`-b 127.0.0.1:0`) and read back from gunicorn's log,
so two servers started at the same time can never collide on a port.
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
FROZEN_NOW = "2027-01-04T00:00:00+00:00"
WORKERS = 4
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
READY_MARK = "athlete_sched worker ready"
LISTENING = re.compile(r"Listening at: (http://127\.0\.0\.1:\d+)")

# A gunicorn config file may hold server hooks, which the command line cannot. This one
# logs a line once a worker has imported the app, so the start-up wait can count workers,
# and turns off the control socket of gunicorn >= 25.1 (one fixed path per user, which
# servers running side by side would share; older versions ignore the unknown setting).
# It also takes the request limits production runs with (athlete_sched/web/gunicorn_limits.py:
# gunicorn's own above the app's, so that the app answers 414/431 itself, as JSON under /api/).
_HOOKS = f"""
from athlete_sched.web.gunicorn_limits import *  # noqa: F403

control_socket_disable = True


def post_worker_init(worker):
    worker.log.info("{READY_MARK} (pid %s)", worker.pid)
"""


class ServerError(RuntimeError):
    """The server did not start (or stop) in time; the message carries its log."""


def gunicorn_missing() -> str | None:
    """None if gunicorn is importable, else why the multi-worker tests cannot run."""
    if importlib.util.find_spec("gunicorn") is None:
        return f"gunicorn is not installed in {sys.executable}; install the project first"
    return None


def server_env(database_url: str) -> dict[str, str]:
    """The environment of the server: the test database and the pinned clock."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env.update(DATABASE_URL=database_url, FLASK_FROZEN_NOW=FROZEN_NOW,
               SECRET_KEY="test-" + "k" * 40, PYTHONUNBUFFERED="1")
    env["FLASK_RATELIMIT_ENABLED"] = "false"  # load tests: no abuse limits (test_limits.py: on)
    return env


def _command(config_file: Path, log_file: Path, workers: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "-c", str(config_file), "-w", str(workers),
            "-b", "127.0.0.1:0", "--graceful-timeout", "5", "--timeout", "60",
            "--error-logfile", str(log_file), "--log-level", "info", "wsgi:app"]


def _read(log_file: Path) -> str:
    return log_file.read_text(errors="replace") if log_file.exists() else ""


def _answers(base_url: str) -> bool:
    try:
        return requests.get(f"{base_url}/api/v1/openapi.json", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def wait_ready(proc: subprocess.Popen, log_file: Path, workers: int,
               timeout: float = START_TIMEOUT_S) -> str:
    """The base URL once every worker has loaded the app and the server answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerError(f"gunicorn exited with {proc.returncode}:\n{_read(log_file)}")
        log = _read(log_file)
        found = LISTENING.search(log)
        if found and log.count(READY_MARK) >= workers and _answers(found.group(1)):
            return found.group(1)
        time.sleep(0.05)  # polling a child process's start-up; there is nothing to wait on
    raise ServerError(f"gunicorn not ready after {timeout:.0f} s:\n{_read(log_file)}")


def stop(proc: subprocess.Popen, timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM to the master (graceful), then SIGKILL to its process group; always reaps."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
    # Workers left behind by a master that died or hung: the group is this server's alone.
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=timeout)


@contextmanager
def running_server(database_url: str, tmp_dir: Path, workers: int = WORKERS,
                   env: dict[str, str] | None = None) -> Iterator[str]:
    """Run `gunicorn -w <workers> wsgi:app` on `database_url` (`env`: more environment
    variables for it); yield its base URL."""
    reason = gunicorn_missing()
    if reason:
        pytest.skip(reason)
    config_file, log_file = tmp_dir / "gunicorn_hooks.py", tmp_dir / "gunicorn.log"
    config_file.write_text(_HOOKS)
    proc = subprocess.Popen(_command(config_file, log_file, workers), cwd=ROOT,
                            env={**server_env(database_url), **(env or {})},
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        yield wait_ready(proc, log_file, workers)
    finally:
        stop(proc)


def server_log(tmp_dir: Path) -> str:
    """The gunicorn log of a server started in `tmp_dir` (for failure messages)."""
    return _read(tmp_dir / "gunicorn.log")


@dataclass(frozen=True)
class Server:
    """A running server: its base URL, and where its log is."""

    url: str
    log_dir: Path

    def log(self) -> str:
        return server_log(self.log_dir)


def serve(database_url: str, log_dir: Path) -> Iterator[Server]:
    """`gunicorn -w 4 wsgi:app` on the database until the generator is closed: the body of a
    module-scoped `server` fixture (`yield from serve(...)`)."""
    with running_server(database_url, log_dir) as url:
        yield Server(url, log_dir)
