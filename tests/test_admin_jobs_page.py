"""The admin's page of the background work (/admin/jobs; services/jobs_status.py), on
SQLite and PostgreSQL: the jobs of the schedule, the mail waiting and the sends that
failed (who to, the error; never the message's text), and "Run the jobs now", which hands
every job to the worker (here the test queue runs each where it is asked for): waiting
mail reaches the sink at once. Only admins open it or use it."""

from __future__ import annotations

import socket

from pageutil import post, text
from test_jobs import queue_messages, sink

from athlete_sched.services import due_work


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_page_lists_every_job_and_the_mail_waiting(app, page_as):
    admin = page_as("admin", "boss@clinic.test")
    queue_messages(app, 3)
    page = admin.get("/admin/jobs")
    assert page.status_code == 200
    shown = text(page)
    with app.app_context():
        names = [work.name for work in due_work.schedule()]
    assert names and all(f"{name} : every" in shown for name in names)
    assert "3 messages waiting to be sent, 0 of them after a failed try" in shown
    assert "Jobs run where they are asked for" in shown  # the test queue is inline
    assert "Background work" in text(admin.get("/admin"))


def test_run_now_sends_the_waiting_mail(app, page_as):
    admin = page_as("admin", "boss@clinic.test")
    ids = queue_messages(app, 4)
    with sink() as (handler, port):
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
        done = post(admin, "/admin/jobs/run", {}, page="/admin/jobs")
        assert done.status_code == 303
        page = admin.get(done.headers["Location"])
        assert "Handed to the worker now: calendars" in text(page)
    assert sorted(handler.arrived) == list(range(1, len(ids) + 1))
    assert "0 messages waiting to be sent" in text(page)


def test_failed_sends_show_who_to_and_why_but_not_the_message(app, page_as):
    admin = page_as("admin", "boss@clinic.test")
    queue_messages(app, 2)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=closed_port(), MAIL_TIMEOUT=0.5)
    assert post(admin, "/admin/jobs/run", {}, page="/admin/jobs").status_code == 303
    shown = text(admin.get("/admin/jobs"))
    assert "2 messages waiting to be sent, 2 of them after a failed try" in shown
    assert "athlete1@example.test" in shown and "athlete2@example.test" in shown
    assert "no SMTP session with 127.0.0.1" in shown
    assert "Hello 1" not in shown and "outbox test" not in shown  # the text stays out


def test_other_roles_are_refused(app, page_as):
    for role in ("athlete", "coach", "therapist"):
        client = page_as(role)
        assert client.get("/admin/jobs").status_code == 403
        token_page = client.get("/account")
        assert token_page.status_code == 200
        assert post(client, "/admin/jobs/run", {}, page="/account").status_code == 403
