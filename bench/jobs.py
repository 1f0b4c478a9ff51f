"""Due reminders sent by two job workers against a plain smtplib loop (issue 15,
"Performance").

    .venv/bin/python bench/jobs.py                          # SQLite, 10,000 reminders
    .venv/bin/python bench/jobs.py --backend postgresql
    .venv/bin/python bench/jobs.py --quick                  # 2,000 reminders, 3 runs

The clinic: per backend, a migrated database filled once by bench/reminder_clinic.py
(`fill`): N confirmed sessions whose reminders are all due at its pinned instant NOW,
plus --history other sessions (100,000; 10,000 with --quick), so that finding the due
ones is a range read in a clinic of a real size. Before each leg the notices and the
outbox are emptied (nothing was reminded yet).

Each run, in turns:

- **baseline**: the N reminder texts, made beforehand (untimed) by `reminders.run(NOW)`
  and read back from the outbox, sent with `smtplib` in a plain loop over one connection
  to the sink;
- **jobs**: two `flask jobs worker` processes (already running, on a Redis queue of their
  own, `--no-periodic`, the clock pinned to NOW by FLASK_FROZEN_NOW, MAIL_SERVER the sink)
  are each handed the tasks "reminders" then "mail": timed from that moment until the sink
  holds N. So the timed part finds the due reminders, records each notice once, composes
  and queues its message and sends it (the worker that holds the round of reminders
  queues them, the other, finding it held, sends what the round's units commit; the
  notices' unique key would keep two rounds at once to one message each).

Besides the wall times, the CPU seconds of the sender (the loop; the two workers) are
shown: on a shared, loaded machine the wall-time ratio moves with the neighbours, the CPU
cost per message much less.

The sink is aiosmtpd in a subprocess of its own (a fresh one per leg), writing the
envelope recipient of each message it accepts to a file: every due session is of an
athlete of its own, so the recipient names the reminder. "None twice" and "none lost"
are counted there against the N recipients of the baseline's texts. Target: jobs <= 1.5x
baseline (median of the runs' ratios), none twice, none lost; exits 1 when missed.
"""

from __future__ import annotations

import argparse
import os
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path

from common import ROOT, backends, fresh_database, median, print_table

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
TARGET = 1.5
WORKERS = 2
DEADLINE_S = 600.0
SINK = r"""
import asyncio, sys
from aiosmtpd.controller import Controller

out = open(sys.argv[2], "a", buffering=1)

class Handler:
    async def handle_DATA(self, server, session, envelope):
        out.write(" ".join(envelope.rcpt_tos) + "\n")
        return "250 OK"

controller = Controller(Handler(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
sys.stdin.read()  # until the bench closes our stdin
controller.stop()
"""


# --- the message source --------------------------------------------------------------------------

def reset(app) -> None:
    """Nothing reminded yet: no notice recorded, the outbox empty. On PostgreSQL the two
    tables are vacuumed too, so that every run starts from the same tables: the last run's
    20,000 deleted rows and its updates' dead versions would otherwise stay in them where
    autovacuum is off (as on these machines), and each run found more garbage than the one
    before (5 runs in turns: 1.12, 1.15, 1.32, 1.68, 1.91x)."""
    import sqlalchemy as sa

    from athlete_sched.db.models import MailMessage, SentNotice
    from athlete_sched.extensions import db

    with app.app_context():
        db.session.execute(sa.delete(MailMessage))
        db.session.execute(sa.delete(SentNotice))
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                auto = conn.execution_options(isolation_level="AUTOCOMMIT")
                for table in (MailMessage.__tablename__, SentNotice.__tablename__):
                    auto.exec_driver_sql(f"VACUUM ANALYZE {table}")


def reminder_texts(app, now: datetime) -> list[tuple[str, str]]:
    """(recipient, text) of the reminders due at `now`, made by the app's own round
    (`reminders.run`, untimed) and read back from the outbox; then reset."""
    from athlete_sched.services import reminders

    reset(app)
    with app.app_context():
        reminders.run(now)
    found = queued(app)
    reset(app)
    return found


def queued(app) -> list[tuple[str, str]]:
    """(recipient, text) of every unsent message, oldest first (the baseline's input)."""
    import sqlalchemy as sa

    from athlete_sched.db.models import MailMessage
    from athlete_sched.extensions import db

    with app.app_context():
        found = db.session.execute(sa.select(MailMessage.recipient, MailMessage.message)
                                   .where(MailMessage.sent_at.is_(None))
                                   .order_by(MailMessage.id)).all()
        db.session.rollback()
    return [(r.recipient, r.message) for r in found]


def unsent(app) -> int:
    import sqlalchemy as sa

    from athlete_sched.db.models import MailMessage
    from athlete_sched.extensions import db

    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(MailMessage)
                                  .where(MailMessage.sent_at.is_(None)))
        db.session.rollback()
    return count


# --- the sink and the workers --------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Sink:
    def __init__(self, folder: Path) -> None:
        self.port, self.file = free_port(), folder / f"sink-{uuid.uuid4().hex[:6]}.txt"
        self.file.touch()
        self.proc = subprocess.Popen([sys.executable, "-c", SINK, str(self.port),
                                      str(self.file)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"

    def arrived(self) -> list[str]:
        return self.file.read_text().split()

    def count(self) -> int:
        return self.file.read_bytes().count(b"\n")

    def stop(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def start_workers(database: str, folder: Path, port: int, name: str, now: datetime
                  ) -> list[subprocess.Popen]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env.update(DATABASE_URL=database, JOBS_URL=REDIS_URL, FLASK_JOBS_NAME=name,
               FLASK_FROZEN_NOW=now.isoformat(),
               MAIL_SERVER="127.0.0.1", MAIL_PORT=str(port), LOG_FORMAT="text",
               LOG_LEVEL="WARNING", ATHLETE_SCHED_INSTANCE=str(folder / "instance"))
    procs = []
    for index in range(WORKERS):
        with (folder / f"worker-{index}.log").open("wb") as log:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker",
                 "--workers", "1", "--no-periodic"], cwd=ROOT, env=env, stdout=log,
                stderr=log, start_new_session=True))
    deadline = time.monotonic() + 60
    while not all(b"jobs worker:" in (folder / f"worker-{i}.log").read_bytes()
                  for i in range(WORKERS)):
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            sys.exit("bench/jobs.py: the workers did not start; see " + str(folder))
        time.sleep(0.1)
    return procs


def stop_workers(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    for proc in procs:
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=20)
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextmanager
def sink(folder: Path):
    found = Sink(folder)
    try:
        yield found
    finally:
        found.stop()


# --- the legs ------------------------------------------------------------------------------------

def baseline(messages: list[tuple[str, str]], folder: Path) -> tuple[float, Counter, float]:
    """(wall seconds, arrivals, the sender's CPU seconds)."""
    with sink(folder) as server:
        began, cpu = time.perf_counter(), time.process_time()
        smtp = smtplib.SMTP("127.0.0.1", server.port, timeout=30)
        for recipient, text in messages:
            smtp.sendmail("bookings@clinic.example", [recipient], text.encode())
        smtp.quit()
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
        return elapsed, Counter(server.arrived()), cpu


def jobs(app, database: str, folder: Path, count: int, now: datetime
         ) -> tuple[float, Counter, int, float]:
    """(wall seconds, arrivals, messages left unsent, the workers' CPU seconds)."""
    from athlete_sched import create_app
    from athlete_sched.services.background import EXTENSION

    reset(app)
    name = f"athlete_sched_bench_{uuid.uuid4().hex[:8]}"
    with sink(folder) as server:
        client = create_app({"SQLALCHEMY_DATABASE_URI": database, "JOBS_URL": REDIS_URL,
                             "JOBS_NAME": name, "JOBS_IMMEDIATE": False})
        queue = client.extensions[EXTENSION]
        workers = start_workers(database, folder, server.port, name, now)
        try:
            time.sleep(1.0)  # let both consumers reach their first dequeue
            began, cpu = time.perf_counter(), sum(cpu_seconds(p.pid) for p in workers)
            with client.app_context():
                for task in ("reminders", "mail"):
                    for _ in range(WORKERS):
                        queue.soon(task)
            deadline = began + DEADLINE_S
            while server.count() < count and time.perf_counter() < deadline:
                time.sleep(0.01)
            elapsed = time.perf_counter() - began
            cpu = sum(cpu_seconds(p.pid) for p in workers) - cpu
            time.sleep(0.5)  # anything sent twice arrives now, not after the count
            arrived = Counter(server.arrived())
        finally:
            stop_workers(workers)
            queue.huey.flush()
    return elapsed, arrived, unsent(app), cpu


def check(arrived: Counter, expected: set[str]) -> tuple[int, int]:
    """(messages lost, messages twice) at the sink."""
    return (len(expected - set(arrived)), sum(1 for times in arrived.values() if times > 1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"),
                        default="sqlite")
    parser.add_argument("--messages", type=int, default=10_000, help="reminders due")
    parser.add_argument("--history", type=int, default=100_000, help="other sessions")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true",
                        help="2,000 reminders, 10,000 other sessions, 3 runs")
    args = parser.parse_args()
    count, history, runs = ((2_000, 10_000, 3) if args.quick
                            else (args.messages, args.history, args.runs))
    from reminder_clinic import fill

    from athlete_sched import create_app

    failed, rows = False, []
    for backend in backends(args.backend):
        with fresh_database(backend) as database, \
                tempfile.TemporaryDirectory(prefix="athlete_sched_bench_jobs_") as tmp:
            folder = Path(tmp)
            clinic = fill(database, due=count, history=history)
            # MAIL_SERVER only turns the queuing on: the texts are sent by the legs
            app = create_app({"SQLALCHEMY_DATABASE_URI": database, "MAIL_SERVER": "127.0.0.1"})
            ratios, plain, queued_s, lost, twice, left = [], [], [], 0, 0, 0
            cpu_plain, cpu_jobs = [], []
            for run in range(runs):
                messages = reminder_texts(app, clinic.now)
                expected = {recipient for recipient, _ in messages}
                assert len(messages) == len(expected) == count, "not every reminder was due"
                base_s, base_arrived, base_cpu = baseline(messages, folder)
                jobs_s, arrived, still, jobs_cpu = jobs(app, database, folder, count,
                                                        clinic.now)
                cpu_plain.append(base_cpu)
                cpu_jobs.append(jobs_cpu)
                run_lost, run_twice = check(arrived, expected)
                assert check(base_arrived, expected) == (0, 0), "the baseline lost mail"
                lost, twice, left = lost + run_lost, twice + run_twice, left + still
                plain.append(base_s)
                queued_s.append(jobs_s)
                ratios.append(jobs_s / base_s)
                print(f"{backend} run {run + 1}: baseline {base_s:.2f} s (CPU {base_cpu:.2f}),"
                      f" jobs {jobs_s:.2f} s (workers' CPU {jobs_cpu:.2f}), ratio "
                      f"{jobs_s / base_s:.2f}, lost {run_lost}, twice {run_twice}", flush=True)
            with app.app_context():
                from athlete_sched.extensions import db

                db.engine.dispose()
        ratio = median(ratios)
        ok = ratio <= TARGET and lost == twice == left == 0
        failed |= not ok
        rows.append((backend, count, history, f"{median(plain):.2f}",
                     f"{median(queued_s):.2f}", f"{ratio:.2f}", f"{median(cpu_plain):.2f}",
                     f"{median(cpu_jobs):.2f}", lost, twice, left, "ok" if ok else "MISSED"))
    print_table(("backend", "reminders", "other sessions", "smtplib loop s", "2 workers s",
                 "ratio (<= 1.5)", "loop CPU s", "workers' CPU s", "lost", "twice", "unsent",
                 "target"), rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
