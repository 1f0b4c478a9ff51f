"""Reminders and check-ins (services/reminders.py), on both backends, with the clock pinned:
`run(now)` is called at chosen instants and what it queued arrives at a real SMTP server
on loopback (aiosmtpd), parsed with the email package. The reminder comes at 09:00 local
on the day before (across daylight-saving changes), the check-in at 09:00 on the second
day after a recovery session; never for a cancelled session; a moved session's reminder
follows it; an athlete who turned them off gets none; each notice is sent once, however
many rounds and workers (threads, and two real processes on one database) run at once."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from api.helpers import another_worker, book, ok
from test_mail import CLINIC, Mail, SMTPServer, serve

ROOT = Path(__file__).resolve().parents[1]
MIN = timedelta(minutes=1)
SECRET_NOTE = "knee-injection-SECRET-note"
SCREENING_NOTE = "heart-pacemaker-SCREENING-note"


@pytest.fixture
def smtp():
    with serve() as server:
        yield server


@pytest.fixture
def app_config(app_config: dict[str, Any], smtp: SMTPServer) -> dict[str, Any]:
    return {**app_config, **CLINIC, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port,
            "MAIL_TIMEOUT": 5}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def run_at(app, now: datetime) -> int:
    from athlete_sched.services import reminders

    with app.app_context():
        return reminders.run(now)


def notices(app) -> list[tuple[str, str, int | None]]:
    from athlete_sched.db.models import SentNotice
    from athlete_sched.extensions import db

    with app.app_context():
        found = [(n.kind, n.key, n.booking_id) for n in db.session.execute(
            db.select(SentNotice).order_by(SentNotice.id)).scalars()]
        db.session.rollback()
    return found


@pytest.fixture
def clinic(api, make_therapist, make_athlete, smtp):
    """A therapist (Berlin, Mon-Sat 08-18) and an athlete (Berlin); the booking emails the
    setup sends are taken off the server."""
    therapist = make_therapist(name="Ana Ruiz", email="ana@clinic.test")
    athlete = make_athlete(name="Mara Runner", email="mara@athletes.test")
    smtp.take()
    return {"therapist": therapist["id"], "athlete": athlete["id"]}


def tune_up(api, clinic, start: str, **extra: Any) -> dict[str, Any]:
    return book(api, None, clinic["therapist"], "tune-up", start,
                athlete_id=clinic["athlete"], **extra)


# --- the reminder: 09:00 local on the day before ----------------------------------------

@pytest.mark.parametrize(("session", "due"), [
    ("2027-03-27T10:00", "2027-03-26T08:00"),  # Sat before spring forward: CET
    ("2027-03-29T10:00", "2027-03-28T07:00"),  # due on the change day itself: CEST
    ("2027-10-30T10:00", "2027-10-29T07:00"),  # Sat before fall back: CEST
    ("2027-11-01T10:00", "2027-10-31T08:00"),  # due on the change day itself: CET
], ids=["before-spring", "spring-day", "before-autumn", "autumn-day"])
def test_the_reminder_comes_at_9_local_the_day_before_across_dst(app, api, clinic, smtp,
                                                                 session, due):
    tune_up(api, clinic, session)
    smtp.take()
    assert run_at(app, utc(due) - MIN) == 0
    assert smtp.take() == []
    assert run_at(app, utc(due)) == 1
    [mail] = smtp.take()
    assert mail.rcpt == ["mara@athletes.test"]
    local = datetime.fromisoformat(session)
    assert mail.message["Subject"] == (
        f"Reminder: tune-up session, {local:%a %d %b %Y %H:%M} (Europe/Berlin)")
    assert run_at(app, utc(due)) == 0 and run_at(app, utc(due) + 30 * MIN) == 0
    assert smtp.take() == []


def test_the_reminder_says_when_where_who_and_after_care_and_nothing_medical(
        app, api, clinic, smtp):
    assert api.put(f"/api/v1/athletes/{clinic['athlete']}/screening",
                   {"answers": {"blood_thinners": True, "pacemaker": True},
                    "note": SCREENING_NOTE}).status_code == 200
    tune_up(api, clinic, "2027-03-29T10:00", notes=SECRET_NOTE)
    smtp.take()
    assert run_at(app, utc("2027-03-28T07:00")) == 1
    [mail] = smtp.take()
    message = mail.message
    assert message["From"] == "Needle & Pedal Clinic <bookings@clinic.test>"
    assert message["To"] == "Mara Runner <mara@athletes.test>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"] and message["Date"]
    assert message.get_content_type() == "text/plain"  # no calendar part: not an invite
    assert all(byte < 128 for byte in mail.raw)  # 7-bit: the dashes are quoted-printable
    text = message.get_content()
    for line in ("Hello Mara Runner,", "A reminder of your dry-needling tune-up session:",
                 "When:  Monday 29 March 2027, 10:00-10:45 (Europe/Berlin)",
                 "Where: Needle & Pedal Clinic", "With:  Ana Ruiz (therapist)",
                 "For:   a periodic tune-up", "After-care:",
                 "- No strenuous activity for 24–48 hours after the session.",
                 "up to 24 hours before it starts", "Account page"):
        assert line in text, text
    for secret in (SECRET_NOTE, SCREENING_NOTE, "pacemaker", "blood", "thinner"):
        assert secret.lower() not in text.lower() and secret.encode() not in mail.raw


def test_the_reminder_names_the_site_and_the_clinic_time_in_another_zone(
        app, api, make_therapist, make_athlete, smtp):
    site = ok(api.post("/api/v1/sites", {"name": "Tent Denver", "timezone": "America/Denver",
                                          "address": "1 Race Rd"}), 201)
    therapist = make_therapist(timezone="America/Denver", site_id=site["id"])
    athlete = make_athlete(email="far@athletes.test")
    book(api, None, therapist["id"], "tune-up", "2027-05-12T09:00", athlete_id=athlete["id"])
    smtp.take()
    # 09:00 Denver = 17:00 Berlin on Wed 12 May: due Tue 11 May 09:00 Berlin (07:00Z)
    assert run_at(app, utc("2027-05-11T07:00")) == 1
    text = smtp.take()[0].message.get_content()
    assert "When:  Wednesday 12 May 2027, 17:00-17:45 (Europe/Berlin)" in text
    assert "       Wednesday 12 May 2027, 09:00-09:45 (America/Denver) at the clinic" in text
    assert "Where: Needle & Pedal Clinic, Tent Denver, 1 Race Rd" in text


def test_none_for_a_cancelled_session(app, api, clinic, smtp):
    booking = tune_up(api, clinic, "2027-03-29T10:00")
    ok(api.post(f"/api/v1/bookings/{booking['id']}/cancel"))
    smtp.take()
    assert run_at(app, utc("2027-03-28T07:00")) == 0
    assert smtp.take() == [] and notices(app) == []


def test_a_moved_sessions_reminder_follows_it(app, api, clinic, smtp):
    booking = tune_up(api, clinic, "2027-03-29T10:00")
    smtp.take()
    assert run_at(app, utc("2027-03-28T07:00")) == 1  # for Mon 29 Mar
    assert "Mon 29 Mar 2027 10:00" in smtp.take()[0].message["Subject"]
    ok(api.patch(f"/api/v1/bookings/{booking['id']}", {"start": "2027-03-31T11:00"}))
    smtp.take()
    assert run_at(app, utc("2027-03-28T07:05")) == 0  # the new one is due on Tue 30 Mar
    assert run_at(app, utc("2027-03-30T07:00")) == 1
    assert "Wed 31 Mar 2027 11:00" in smtp.take()[0].message["Subject"]
    # moved back to the first time: its reminder was sent, and is not sent again
    ok(api.patch(f"/api/v1/bookings/{booking['id']}", {"start": "2027-03-29T10:00"}))
    smtp.take()
    assert run_at(app, utc("2027-03-28T08:00")) == 0
    assert smtp.take() == []
    assert [(kind, key) for kind, key, _ in notices(app)] == [
        ("reminder", f"booking:{booking['id']}:20270329T080000Z"),
        ("reminder", f"booking:{booking['id']}:20270331T090000Z")]


def test_a_session_moved_before_its_reminder_is_reminded_once_at_its_new_time(
        app, api, clinic, smtp):
    booking = tune_up(api, clinic, "2027-03-29T10:00")
    ok(api.patch(f"/api/v1/bookings/{booking['id']}", {"start": "2027-04-01T10:00"}))
    smtp.take()
    assert run_at(app, utc("2027-03-28T07:00")) == 0
    assert run_at(app, utc("2027-03-31T07:00")) == 1
    assert run_at(app, utc("2027-03-31T12:00")) == 0
    assert len(smtp.take()) == 1


def test_no_reminder_for_a_session_booked_after_its_reminder_time(app, api, clinic, smtp):
    from athlete_sched.db.models import Booking
    from athlete_sched.extensions import db

    booking = tune_up(api, clinic, "2027-03-29T10:00")
    with app.app_context():  # booked (as the clock would say) at 10:00 the day before
        db.session.get(Booking, booking["id"]).updated_at = utc("2027-03-28T08:00")
        db.session.commit()
    assert run_at(app, utc("2027-03-28T08:01")) == 0


def test_no_reminder_once_the_session_has_started(app, api, clinic, smtp):
    tune_up(api, clinic, "2027-03-29T10:00")  # 08:00Z
    assert run_at(app, utc("2027-03-29T08:00")) == 0
    assert run_at(app, utc("2027-03-29T07:59")) == 1  # a late round, still before it


def test_an_athlete_who_turned_them_off_gets_none(app, api, clinic, smtp):
    url = f"/api/v1/athletes/{clinic['athlete']}"
    assert ok(api.get(url))["reminders"] is True
    assert ok(api.patch(url, {"reminders": False}))["reminders"] is False
    tune_up(api, clinic, "2027-03-29T10:00")
    smtp.take()
    assert run_at(app, utc("2027-03-28T07:00")) == 0
    assert ok(api.get(url))["reminders"] is False
    assert ok(api.patch(url, {"reminders": True}))["reminders"] is True
    assert run_at(app, utc("2027-03-28T07:30")) == 1  # on again, before the session


def test_nothing_is_recorded_while_mail_is_off(app, api, clinic, smtp):
    tune_up(api, clinic, "2027-03-29T10:00")
    app.config["MAIL_SERVER"] = None
    assert run_at(app, utc("2027-03-28T07:00")) == 0
    assert notices(app) == []


# --- the check-in: 09:00 local on the second day after a recovery session ---------------

def test_the_check_in_comes_two_days_after_a_recovery_session_only(
        app, api, clinic, make_event, smtp):
    event = make_event(clinic["athlete"])  # Sat 15 May 2027
    book(api, event["id"], clinic["therapist"], "pre", "2027-05-12T09:00")
    post = book(api, event["id"], clinic["therapist"], "post", "2027-05-17T09:00")
    smtp.take()
    assert run_at(app, utc("2027-05-14T07:00")) == 0  # two days after the pre: nothing
    assert run_at(app, utc("2027-05-19T06:59")) == 0
    assert run_at(app, utc("2027-05-19T07:00")) == 1  # Wed 19 May 09:00 Berlin
    [mail] = smtp.take()
    assert mail.rcpt == ["mara@athletes.test"]
    assert mail.message["Subject"] == "How are you after your recovery session?"
    text = mail.message.get_content()
    for line in ("Soreness usually fades in 1–2 days; if it has not, tell your therapist.",
                 "Your therapist: Ana Ruiz <ana@clinic.test>",
                 "Monday 17 May 2027, 09:00-09:45 (Europe/Berlin)", "Rennsteig Marathon"):
        assert line in text, text
    assert run_at(app, utc("2027-05-19T12:00")) == 0
    assert [(k, b) for k, _, b in notices(app)] == [("check-in", post["id"])]


def test_no_stale_check_in_a_day_after_its_time(app, api, clinic, make_event, smtp):
    event = make_event(clinic["athlete"])
    book(api, event["id"], clinic["therapist"], "post", "2027-05-17T09:00")
    assert run_at(app, utc("2027-05-20T07:00")) == 0  # 24 h after its time: dropped
    assert run_at(app, utc("2027-05-20T06:59")) == 1  # a minute before: still sent


def test_a_cancelled_recovery_session_gets_no_check_in(app, api, clinic, make_event, smtp):
    event = make_event(clinic["athlete"])
    post = book(api, event["id"], clinic["therapist"], "post", "2027-05-17T09:00")
    ok(api.post(f"/api/v1/bookings/{post['id']}/cancel"))
    assert run_at(app, utc("2027-05-19T07:00")) == 0


# --- once, however many workers -----------------------------------------------------------

def _fill(url: str, due: int):
    spec = importlib.util.spec_from_file_location("reminder_clinic",
                                                  ROOT / "bench" / "reminder_clinic.py")
    module = sys.modules.setdefault("reminder_clinic", importlib.util.module_from_spec(spec))
    if not hasattr(module, "fill"):
        spec.loader.exec_module(module)
    return module.fill(url, due=due, history=40)


def _each_once(smtp: SMTPServer, app, due: int) -> list[Mail]:
    mails = smtp.take()
    assert len(mails) == due
    assert len({m.rcpt[0] for m in mails}) == due  # one athlete a session: none twice
    assert len(notices(app)) == due
    return mails


def test_two_workers_at_once_send_each_reminder_once(app, app_config, smtp, monkeypatch):
    from athlete_sched.services import reminders

    monkeypatch.setattr(reminders, "BATCH", 7)  # many units each, interleaved
    filled = _fill(app_config["SQLALCHEMY_DATABASE_URI"], 60)
    counts: list[int] = []
    barrier = threading.Barrier(2)

    def worker(flask_app) -> None:
        barrier.wait()
        counts.append(run_at(flask_app, filled.now))

    with another_worker(app_config) as other:
        threads = [threading.Thread(target=worker, args=(a,)) for a in (app, other.application)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    assert sum(counts) == 60, counts
    _each_once(smtp, app, 60)
    assert run_at(app, filled.now) == 0


def test_a_round_another_worker_holds_is_left_to_it_until_its_hold_runs_out(app, app_config,
                                                                            smtp):
    """On a real queue (Redis) a worker runs a round of reminders alone: while another
    holds it, `run` queues nothing and returns at once (that worker is free to send the
    mail the round queues); a hold of a worker that died runs out, and the round runs."""
    import uuid

    from huey import RedisHuey

    from athlete_sched import create_app
    from athlete_sched.services.background import EXTENSION

    filled = _fill(app_config["SQLALCHEMY_DATABASE_URI"], 5)
    name = f"athlete_sched_test_{uuid.uuid4().hex[:10]}"
    worker = create_app({**app_config, "JOBS_URL": "redis://127.0.0.1:6379/0",
                         "JOBS_NAME": name, "JOBS_IMMEDIATE": False})
    jobs = worker.extensions[EXTENSION]
    try:
        assert jobs.hold("reminders", timedelta(minutes=5))  # another worker, in the round
        assert not jobs.hold("reminders", timedelta(minutes=5))
        assert run_at(worker, filled.now) == 0
        assert notices(worker) == [] and smtp.take() == []
        jobs.let_go("reminders")
        assert jobs.hold("reminders", timedelta(0))  # a worker that died: runs out at once
        assert run_at(worker, filled.now) == 5  # taken over, and let go after the round
        assert jobs.hold("reminders", timedelta(minutes=5))
        jobs.let_go("reminders")
        assert len(notices(worker)) == 5
    finally:
        RedisHuey(name, url="redis://127.0.0.1:6379/0").flush()
        with worker.app_context():
            from athlete_sched.extensions import db

            db.engine.dispose()


CHILD = """
import json, sys, time
from datetime import datetime
from athlete_sched import create_app
from athlete_sched.services import reminders
config, now, go = json.loads(sys.argv[1]), datetime.fromisoformat(sys.argv[2]), float(sys.argv[3])
app = create_app(config)
with app.app_context():
    time.sleep(max(0.0, go - time.time()))
    print(reminders.run(now))
"""


def test_two_processes_at_once_send_each_reminder_once(app, app_config, smtp):
    filled = _fill(app_config["SQLALCHEMY_DATABASE_URI"], 450)  # three units of 200 each
    go = time.time() + 8  # both have loaded the app by then
    children = [subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(app_config), filled.now.isoformat(), str(go)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)]
    outputs = [child.communicate(timeout=300) for child in children]
    assert all(child.returncode == 0 for child in children), outputs
    counts = [int(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert sum(counts) == 450, counts
    _each_once(smtp, app, 450)


@pytest.mark.parametrize(("value", "hour"), [(9, 9), ("07", 7), (0, 0), (23, 23)])
def test_the_reminder_hour_comes_from_the_config(app, value, hour):
    from athlete_sched.services import reminders

    app.config["REMINDER_HOUR"] = value
    with app.app_context():
        assert reminders.reminder_hour() == hour


@pytest.mark.parametrize("value", [24, -1, "9.5", True, "nine"])
def test_a_reminder_hour_out_of_range_is_refused(app, value):
    from athlete_sched.services import reminders

    app.config["REMINDER_HOUR"] = value
    with app.app_context(), pytest.raises(ValueError, match="REMINDER_HOUR"):
        reminders.reminder_hour()


def test_another_reminder_hour_moves_both(app, api, clinic, make_event, smtp):
    app.config["REMINDER_HOUR"] = 18
    tune_up(api, clinic, "2027-03-29T10:00")
    event = make_event(clinic["athlete"])
    book(api, event["id"], clinic["therapist"], "post", "2027-05-17T09:00")
    assert run_at(app, utc("2027-03-28T15:59")) == 0
    assert run_at(app, utc("2027-03-28T16:00")) == 1  # Sun 28 Mar 18:00 CEST
    assert run_at(app, utc("2027-05-19T15:59")) == 0
    assert run_at(app, utc("2027-05-19T16:00")) == 1  # Wed 19 May 18:00 CEST
