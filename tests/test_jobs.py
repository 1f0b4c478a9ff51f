"""The job queue (athlete_sched/jobs) and the job "mail": `flask jobs run-due`, real
`flask jobs worker` processes on Redis and on the default SQLite queue, a worker killed
mid-batch, and the health check's heartbeat. The SMTP server is a real one on loopback
(aiosmtpd); each message carries its outbox number in its Subject, so the sink counts
arrivals per message."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from api.helpers import book
from server import ROOT, server_env
from test_mail import free_port

REDIS_URL = "redis://127.0.0.1:6379/0"
SUBJECT = re.compile(rb"Subject: outbox test (\d+)")
DEADLINE_S = 60.0


# --- a counting (and, on request, stalling) SMTP sink ------------------------------------------

class Sink:
    """An aiosmtpd handler noting the test number (or else the recipient) of every message
    whose data it took.
    With `stall_after=k`, the (k+1)th message is noted, then its answer is held back until
    `release` is set: its sender waits mid-send, a message in flight."""

    def __init__(self, stall_after: int | None = None) -> None:
        self.arrived: list[int] = []
        self.stall_after, self.stalled, self.release = stall_after, threading.Event(), \
            threading.Event()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd API
        found = SUBJECT.search(envelope.original_content)  # else a real invitation
        self.arrived.append(int(found.group(1)) if found else envelope.rcpt_tos[0])
        if self.stall_after is not None and len(self.arrived) == self.stall_after + 1:
            self.stalled.set()
            while not self.release.is_set():
                await asyncio.sleep(0.02)
        return "250 Message accepted"

    def wait_for(self, count: int, timeout: float = DEADLINE_S) -> None:
        deadline = time.monotonic() + timeout
        while len(set(self.arrived)) < count and time.monotonic() < deadline:
            time.sleep(0.05)


@contextmanager
def sink(stall_after: int | None = None) -> Iterator[tuple[Sink, int]]:
    handler, port = Sink(stall_after), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        handler.release.set()
        controller.stop()


# --- messages, queues and workers ----------------------------------------------------------------

def queue_messages(app, count: int) -> list[int]:
    """`count` plain messages in the outbox, as a change would queue them; their ids. Test
    number i is in the Subject of message i (1-based)."""
    import sqlalchemy as sa

    from athlete_sched.db.models import MailMessage
    from athlete_sched.extensions import db

    at = datetime.now(UTC).replace(microsecond=0)
    rows = [{"booking_id": None, "recipient": f"athlete{i}@example.test", "method": "SUMMARY",
             "sequence": 0, "attempts": 0, "created_at": at,
             "message": (f"From: clinic@example.test\r\nTo: athlete{i}@example.test\r\n"
                         f"Subject: outbox test {i}\r\n\r\nHello {i}\r\n")}
            for i in range(1, count + 1)]
    with app.app_context():
        db.session.execute(sa.insert(MailMessage), rows)
        db.session.commit()
        ids = list(db.session.scalars(sa.select(MailMessage.id).order_by(MailMessage.id)))
        db.session.rollback()
    return ids


def outbox(app) -> list[Any]:
    from test_mail import rows

    return rows(app)


@pytest.fixture
def queue_name() -> Iterator[str]:
    """A Huey queue name of this test's own on the shared Redis; its keys removed after."""
    from huey import RedisHuey

    name = f"athlete_sched_test_{uuid.uuid4().hex[:10]}"
    yield name
    RedisHuey(name, url=REDIS_URL).flush()


def worker_env(database_url: str, tmp_path: Path, port: int, **more: str) -> dict[str, str]:
    env = server_env(database_url)
    env.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=str(port), MAIL_TIMEOUT="10",
               ATHLETE_SCHED_INSTANCE=str(tmp_path / "instance"), LOG_FORMAT="text",
               LOG_LEVEL="WARNING", FLASK_CLINIC_EMAIL="clinic@example.test", **more)
    return env


def start_worker(env: dict[str, str], tmp_path: Path, tag: str) -> subprocess.Popen:
    with (tmp_path / f"worker-{tag}.log").open("wb") as log:  # the child keeps its copy
        return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "jobs",
                                 "worker", "--workers", "1"], cwd=ROOT, env=env, stdout=log,
                                stderr=log, start_new_session=True)


def stop_worker(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # Huey: finish the running task, then exit
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=15)
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def client_app(database_url: str, tmp_path: Path, port: int, **config: Any):
    """An app in this process on the same database and queue as the workers (it enqueues)."""
    from athlete_sched import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test",
                       "TESTING": True, "JOBS_IMMEDIATE": False, "MAIL_SERVER": "127.0.0.1",
                       "MAIL_PORT": port, **config})


def jobs_of(app):
    from athlete_sched.services.background import EXTENSION

    return app.extensions[EXTENSION]


# --- run-due ---------------------------------------------------------------------------------

def test_run_due_sends_every_queued_message_exactly_once(app, runner):
    with sink() as (handler, port):
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_BATCH=7)
        queue_messages(app, 30)
        first = runner.invoke(args=["jobs", "run-due"])
        assert first.exit_code == 0, first.output
        assert first.output.splitlines() == [
            "calendars: 0", "race-calendars: 0", "reminders: 0", "waitlist: 0", "mail: 30"]
        again = runner.invoke(args=["jobs", "run-due"])
        assert again.exit_code == 0 and "mail: 0" in again.output.splitlines()
    assert sorted(handler.arrived) == list(range(1, 31))  # each once, over batches of 7
    assert all(r.sent_at is not None and r.attempts == 1 for r in outbox(app))


def test_run_due_reports_a_failing_job_runs_the_others_and_exits_1(app, runner, monkeypatch):
    from athlete_sched.services import due_work

    real = due_work.schedule

    def broken(_now):
        raise RuntimeError("the calendar server exploded")

    monkeypatch.setattr(due_work, "schedule", lambda: [
        due_work.DueWork("broken", timedelta(minutes=1), broken), *real()])
    result = runner.invoke(args=["jobs", "run-due"])
    assert result.exit_code == 1
    assert "broken: failed: RuntimeError: the calendar server exploded" in result.output
    assert "calendars: 0" in result.output and "mail: 0" in result.output


def test_a_booking_request_never_sends_it_enqueues_and_the_job_sends(
        app, api, runner, queue_name, make_therapist, make_athlete, make_event):
    """With a real queue the request only writes the outbox and enqueues "mail" after its
    commit; a worker (here run-due) sends."""
    app.config.update(JOBS_IMMEDIATE=False, JOBS_URL=REDIS_URL, JOBS_NAME=queue_name)
    with sink() as (handler, port):
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
        athlete, therapist = make_athlete(), make_therapist()
        book(api, make_event(athlete["id"])["id"], therapist["id"], "pre", "2027-05-12T09:00")
        assert [r.sent_at for r in outbox(app)] == [None, None] and handler.arrived == []
        assert jobs_of(app).huey.pending_count() == 1  # the task "due" for "mail"
        result = runner.invoke(args=["jobs", "run-due"])
        assert "mail: 2" in result.output.splitlines()
    assert sorted(handler.arrived) == sorted([athlete["email"], therapist["email"]])
    assert all(r.sent_at is not None and r.attempts == 1 for r in outbox(app))


# --- real workers ----------------------------------------------------------------------------

@pytest.mark.slow
def test_two_workers_on_redis_send_every_message_exactly_once(app, database, tmp_path,
                                                              queue_name):
    count = 400
    queue_messages(app, count)
    with sink() as (handler, port):
        env = worker_env(database, tmp_path, port, JOBS_URL=REDIS_URL,
                         FLASK_JOBS_NAME=queue_name, FLASK_MAIL_BATCH="25")
        workers = [start_worker(env, tmp_path, tag) for tag in "ab"]
        try:
            client = client_app(database, tmp_path, port, JOBS_URL=REDIS_URL,
                                JOBS_NAME=queue_name)
            with client.app_context():
                for _ in range(4):  # several rounds at once, as after several bookings
                    jobs_of(client).soon("mail")
            handler.wait_for(count)
        finally:
            for proc in workers:
                stop_worker(proc)
    counts = Counter(handler.arrived)
    assert set(counts) == set(range(1, count + 1))
    assert [n for n, times in counts.items() if times > 1] == []
    assert all(r.sent_at is not None and r.attempts == 1 for r in outbox(app))


@pytest.mark.slow
def test_a_worker_killed_mid_batch_loses_nothing_and_repeats_at_most_the_one_in_flight(
        app, database, tmp_path, queue_name):
    """Worker A is SIGKILLed while the sink holds back its answer to one message (the one in
    flight: its data reached the server, its outcome never reached the database). What the
    design guarantees: nothing is lost: the other messages of A's claimed batch are due
    again once the lease has passed, and worker B sends them and the rest; and nothing is
    sent twice except that one message, whose send A could not record (an SMTP server
    that took its data may deliver it: at least once for the message in flight, exactly
    once for every other)."""
    count, lease = 60, 3
    queue_messages(app, count)
    with sink(stall_after=15) as (handler, port):
        env = worker_env(database, tmp_path, port, JOBS_URL=REDIS_URL,
                         FLASK_JOBS_NAME=queue_name, FLASK_MAIL_BATCH="10",
                         FLASK_MAIL_LEASE_SECONDS=str(lease))
        client = client_app(database, tmp_path, port, JOBS_URL=REDIS_URL, JOBS_NAME=queue_name)
        first = start_worker(env, tmp_path, "a")
        second = None
        try:
            with client.app_context():
                jobs_of(client).soon("mail")
            assert handler.stalled.wait(DEADLINE_S), "worker A never reached the stall"
            in_flight = handler.arrived[-1]
            first.kill()  # SIGKILL: no cleanup, no record of the message in flight
            first.wait(timeout=10)
            killed_at = time.monotonic()
            handler.release.set()
            second = start_worker(env, tmp_path, "b")
            deadline = time.monotonic() + DEADLINE_S
            while len(set(handler.arrived)) < count and time.monotonic() < deadline:
                with client.app_context():
                    jobs_of(client).soon("mail")
                time.sleep(0.5)
            finished_at = time.monotonic()
        finally:
            for proc in (first, second):
                if proc is not None:
                    stop_worker(proc)
    counts = Counter(handler.arrived)
    assert set(counts) == set(range(1, count + 1)), "a message was lost"
    twice = [n for n, times in counts.items() if times > 1]
    assert twice in ([], [in_flight]) and counts[in_flight] <= 2
    assert finished_at - killed_at >= lease - 1  # A's claimed batch waited for its lease
    assert all(r.sent_at is not None for r in outbox(app))


@pytest.mark.slow
def test_the_default_queue_is_sqlite_in_the_instance_folder_and_a_worker_runs_it(
        app, database, tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    monkeypatch.setenv("ATHLETE_SCHED_INSTANCE", str(instance))
    queue_messages(app, 5)
    with sink() as (handler, port):
        client = client_app(database, tmp_path, port)
        assert client.instance_path == str(instance)
        with client.app_context():
            jobs_of(client).soon("mail")  # written to the queue's file; no worker yet
        assert (instance / "jobs.db").is_file()
        assert jobs_of(client).huey.pending_count() == 1
        worker = start_worker(worker_env(database, tmp_path, port), tmp_path, "sqlite")
        try:
            handler.wait_for(5)
        finally:
            stop_worker(worker)
        with client.app_context():
            assert jobs_of(client).last_round() is not None  # the worker's heartbeat
    assert sorted(handler.arrived) == [1, 2, 3, 4, 5]


# --- the heartbeat -----------------------------------------------------------------------------

def test_healthz_fails_when_no_job_round_finished_lately(app, client, runner, queue_name):
    app.config.update(JOBS_IMMEDIATE=False, JOBS_URL=REDIS_URL, JOBS_NAME=queue_name,
                      HEALTH_JOBS_STUCK_MINUTES=10)
    never = client.get("/healthz").get_json()["checks"]["jobs"]
    assert never["status"] == "fail" and never["last_round_minutes"] is None
    assert runner.invoke(args=["jobs", "run-due"]).exit_code == 0
    fresh = client.get("/healthz")
    assert fresh.status_code == 200, fresh.get_json()
    assert fresh.get_json()["checks"]["jobs"] == {"status": "ok", "last_round_minutes": 0,
                                                   "limit_minutes": 10}
    from athlete_sched.jobs.queue import HEARTBEAT

    old = (datetime.now(UTC) - timedelta(minutes=25)).replace(microsecond=0)
    jobs_of(app).huey.put(HEARTBEAT, old.isoformat())
    stuck = client.get("/healthz")
    assert stuck.status_code == 503
    assert stuck.get_json()["checks"]["jobs"]["last_round_minutes"] == 25
