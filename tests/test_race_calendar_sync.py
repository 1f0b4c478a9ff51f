"""Race calendar subscriptions and the new-race email, on SQLite and PostgreSQL: the
subscription kept in step by the due work "race-calendars" (`run(now)` called directly,
the clock pinned) against a real HTTP server on loopback (CALENDAR_FETCH_PRIVATE allows
it, as the busy subscription tests do), and the emails delivered to a real SMTP server
(aiosmtpd) exactly once, however often the work runs."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from api.helpers import another_worker, assert_error, created, ok
from conftest import NOW
from pageutil import csrf, post, text
from test_mail import CLINIC, serve
from test_race_calendars import SERIES, SERIES_V2, TRAIL, ics, races_of, upload
from test_subscriptions import CalendarServer, Route, handler_for


@pytest.fixture
def server() -> Iterator[CalendarServer]:
    """A calendar server on 127.0.0.1 (tests/test_subscriptions.py's handler)."""
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
def smtp():
    with serve() as sink:
        yield sink


@pytest.fixture
def app_config(app_config: dict[str, Any], smtp) -> dict[str, Any]:
    return {**app_config, **CLINIC, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port,
            "MAIL_TIMEOUT": 5, "CALENDAR_FETCH_PRIVATE": True, "CALENDAR_FETCH_TIMEOUT": 2.0,
            "PUBLIC_URL": "https://clinic.test"}


def sub_url(athlete_id: int) -> str:
    return f"/api/v1/athletes/{athlete_id}/race-calendar/subscription"


def run(app, at=NOW) -> int:
    """One round of the due work "race-calendars", as a worker runs it."""
    from athlete_sched.services.due_work import schedule

    [work] = [w for w in schedule() if w.name == "race-calendars"]
    with app.app_context():
        return work.run(at)


@pytest.fixture
def mara(make_athlete, make_therapist, smtp) -> dict[str, Any]:
    make_therapist(name="Ana Ruiz", timezone="Europe/Zurich")
    athlete = make_athlete(name="Mara Rider", timezone="Europe/Berlin")
    smtp.take()
    return athlete


@pytest.fixture
def subscribed(api, mara, server):
    server.routes["/races.ics"] = Route(ics(SERIES), etag='"v1"')
    found = created(api.post(sub_url(mara["id"]), {"url": server.url("/races.ics")}))
    assert found["last_synced_at"] is None and found["next_sync_at"] is not None
    return found


def test_the_subscription_is_synced_by_the_due_work(app, api, mara, server, subscribed):
    assert run(app) == 1
    assert len(races_of(app, api, mara["id"])) == 4
    status = ok(api.get(sub_url(mara["id"])))
    assert status["last_synced_at"] is not None and status["last_error"] is None
    assert status["races"] == 5  # in the calendar, not cancelled (the past one too)
    assert status["next_sync_at"] == (NOW + timedelta(minutes=360)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    assert run(app) == 0  # not due again at the same time
    later = NOW + timedelta(hours=7)
    assert run(app, later) == 1  # due: a conditional GET, 304, nothing changes
    assert server.seen[-1][1] == '"v1"'
    server.routes["/races.ics"] = Route(ics(SERIES_V2), etag='"v2"')
    assert run(app, later + timedelta(hours=7)) == 1
    found = races_of(app, api, mara["id"])
    assert TRAIL not in found and len(found) == 3


def test_a_failed_sync_keeps_the_races_and_shows_the_error(app, api, mara, server,
                                                           subscribed):
    run(app)
    before = races_of(app, api, mara["id"])
    server.routes["/races.ics"] = Route(status=500)
    run(app, NOW + timedelta(hours=7))
    assert "HTTP 500" in ok(api.get(sub_url(mara["id"])))["last_error"]
    broken = ics(SERIES_V2).replace(b"UID:abc-2027-01@alpinebikecup.example\r\n", b"")
    server.routes["/races.ics"] = Route(broken, etag='"v3"')
    run(app, NOW + timedelta(hours=14))
    status = ok(api.get(sub_url(mara["id"])))
    assert "has no UID" in status["last_error"]
    assert races_of(app, api, mara["id"]) == before  # the moved race did not move
    server.routes["/races.ics"] = Route(ics(SERIES_V2), etag='"v4"')
    assert ok(api.post(sub_url(mara["id"]) + "/sync")) == {
        "created": 0, "updated": 1, "removed": 1, "unchanged": 2}
    assert ok(api.get(sub_url(mara["id"])))["last_error"] is None


def test_one_race_calendar_per_athlete(app, api, mara, server, subscribed):
    assert_error(upload(api, mara["id"], ics(SERIES)), 409, "race-calendar-subscribed")
    assert_error(api.post(sub_url(mara["id"]), {"url": server.url("/other.ics")}), 409,
                 "race-calendar-subscribed")
    run(app)
    assert api.delete(sub_url(mara["id"])).status_code == 204
    assert_error(api.get(sub_url(mara["id"])), 404)
    assert len(races_of(app, api, mara["id"])) == 4  # the races stay
    assert ok(upload(api, mara["id"], ics(SERIES)))["unchanged"] == 4


def test_bad_subscriptions_are_422(api, mara):
    assert_error(api.post(sub_url(mara["id"]), {"url": "ftp://races.example/x.ics"}), 422)
    assert_error(api.post(sub_url(mara["id"]), {"url": "https://x.example/r.ics",
                                                "interval_minutes": 1}), 422)


# --- the new-race email --------------------------------------------------------------------

def test_each_new_race_is_announced_once_with_its_best_slots(app, api, mara, server, smtp,
                                                             subscribed):
    assert run(app) == 1
    mails = smtp.take()
    assert sorted(m.message["Subject"] for m in mails) == [
        "New race in your calendar: Sat 12 Jun 2027 to Mon 14 Jun 2027",
        "New race in your calendar: Sat 14 Aug 2027",
        "New race in your calendar: Sat 22 May 2027",
        "New race in your calendar: Sat 24 Apr 2027"]
    assert all(m.rcpt == [mara["email"]] for m in mails)
    [gravel] = [m for m in mails if "22 May" in m.message["Subject"]]
    text = gravel.message.get_content()
    event_id = races_of(app, api, mara["id"])["abc-2027-02@alpinebikecup.example"]["id"]
    assert "your cycling race on Sat 22 May 2027 (Europe/Zurich)" in text
    assert ("Pre-race window: Wed 19 May 2027 00:00 to Fri 21 May 2027 00:00 "
            "(Europe/Berlin)") in text
    assert "Recovery window: Sun 23 May 2027 00:00 to Wed 26 May 2027 00:00" in text
    slots = [line for line in text.splitlines() if line.startswith("  - ")]
    assert len(slots) == 6 and all("(Europe/Berlin) with Ana Ruiz" in s for s in slots)
    assert slots[0].startswith("  - Wed 19 May 2027 ") or slots[0].startswith(
        "  - Thu 20 May 2027 ")
    assert f"https://clinic.test/events/{event_id}" in text
    assert "Gravel" not in text and "Chur" not in text  # nothing the calendar wrote

    assert run(app) == 0  # run twice: nothing due
    _force_due(app)
    assert run(app) == 1  # fetched again (304): no new race, no mail
    server.routes["/races.ics"] = Route(ics(SERIES_V2), etag='"v2"')
    _force_due(app)
    assert run(app) == 1
    # the gravel race moved with no session booked: told once of its new dates; nothing
    # for the race gone, nothing for the races that did not move
    [moved] = smtp.take()
    assert moved.message["Subject"] == "Your race moved: Sat 29 May 2027"
    _force_due(app, forget_body=True)  # even parsed and applied again: no mail
    assert run(app) == 1 and smtp.take() == []


def test_an_upload_announces_new_races_only(app, api, mara, smtp, make_therapist):
    assert ok(upload(api, mara["id"], ics(SERIES)))["created"] == 4
    assert len(smtp.take()) == 4  # not the cancelled race, not the 2026 one
    ok(upload(api, mara["id"], ics(SERIES)))
    assert smtp.take() == []


def _force_due(app, forget_body: bool = False) -> None:
    """Make every race calendar subscription due at NOW (and, with `forget_body`, forget
    what was fetched, so that the same body is read and applied again)."""
    from athlete_sched.db.models import RaceCalendar
    from athlete_sched.extensions import db

    with app.app_context():
        values: dict[str, Any] = {"due_at": NOW}
        if forget_body:
            values.update(body_hash=None, etag=None)
        db.session.execute(db.update(RaceCalendar).values(**values))
        db.session.commit()


def test_two_workers_at_once_sync_once_and_mail_once(app, app_config, api, mara, server,
                                                     smtp, subscribed):
    """Two apps on one database (two workers) run the due work at the same moment: one
    claims the subscription, the other finds it taken; each new race is mailed once."""
    done: list[int] = []
    with another_worker(app_config) as other:
        start = threading.Barrier(2)

        def work(worker) -> None:
            start.wait()
            done.append(run(worker))

        threads = [threading.Thread(target=work, args=(a,)) for a in (app, other.application)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert sorted(done) == [0, 1]
    assert len(races_of(app, api, mara["id"])) == 4
    assert len(smtp.take()) == 4
    assert [path for path, _, _ in server.seen] == ["/races.ics"]  # fetched once


# --- the page -------------------------------------------------------------------------------

def test_the_page_subscribes_syncs_shows_the_error_and_unsubscribes(app, api, page_as, mara,
                                                                    server, smtp):
    server.routes["/races.ics"] = Route(ics(SERIES), etag='"v1"')
    signed = page_as("athlete", mara["email"])
    page = "/season/race-calendar"
    assert "Upload a race calendar" in text(signed.get(page))
    answer = post(signed, page + "/subscription",
                  {"url": server.url("/races.ics"), "interval": "360"}, page)
    assert answer.status_code == 303
    shown = text(signed.get(page))
    assert "Your subscription" in shown and "Not synced yet." in shown
    assert "127.0.0.1" in shown and "Upload a race calendar" not in shown
    post(signed, page + "/subscription/sync", {}, page)
    shown = text(signed.get(page))
    assert "Synced: 4 new, 0 changed, 0 removed, 0 unchanged." in shown
    assert "5 races in the calendar" in shown
    server.routes["/races.ics"] = Route(status=404)
    _force_due(app, forget_body=True)
    post(signed, page + "/subscription/sync", {}, page)
    shown = text(signed.get(page))
    assert "The sync failed: the server answered HTTP 404." in shown
    assert "Last error" in shown
    season = text(signed.get("/season"))
    assert season.count("From your race calendar") == 4
    post(signed, page + "/subscription/remove", {}, page)
    assert "Upload a race calendar" in text(signed.get(page))
    assert len(races_of(app, api, mara["id"])) == 4


def test_a_bad_upload_on_the_page_says_so_and_changes_nothing(app, api, page_as, mara):
    signed = page_as("athlete", mara["email"])
    page = "/season/race-calendar"
    answer = signed.post(page + "/upload", data={
        "csrf_token": csrf(signed, page),
        "calendar": (io.BytesIO(b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\n"
                                b"DTSTART;VALUE=DATE:20270501\r\nEND:VEVENT\r\nEND:VCALENDAR"),
                     "races.ics")}, content_type="multipart/form-data")
    assert answer.status_code == 422
    assert "Nothing was imported." in text(answer) and "has no UID" in text(answer)
    assert races_of(app, api, mara["id"]) == {}
