"""Heavy calendar imports run under a cap (web/limits.py: HEAVY_IMPORTS_MAX slots per
host, lock files shared by threads and worker processes): when every slot is taken an
upload or a "sync now" answers 503 with Retry-After at once, and the other requests go on.
Measured against a real threaded server: four concurrent 3 MB uploads while a client asks
for /api/v1/me, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from api.helpers import assert_error
from pageutil import csrf

ME_FAST_S = 1.0  # the slowest /me answered while the imports run


def big_calendar(size: int) -> bytes:
    """A real-looking export of at least `size` bytes: half-hour busy blocks, one every
    37 minutes from the pinned now on."""
    start = datetime(2027, 1, 5, 8, tzinfo=UTC)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//athlete_sched tests//big//EN"]
    n, total = 0, 0
    while total < size:
        begins = start + timedelta(minutes=37 * n)
        event = ["BEGIN:VEVENT", f"UID:busy-{n}@test.example", "DTSTAMP:20270101T000000Z",
                 f"DTSTART:{begins:%Y%m%dT%H%M%SZ}",
                 f"DTEND:{begins + timedelta(minutes=30):%Y%m%dT%H%M%SZ}",
                 f"SUMMARY:Busy block number {n} with a longer summary, as exports have",
                 "END:VEVENT"]
        lines += event
        total += sum(len(line) + 2 for line in event)
        n += 1
    return "\r\n".join([*lines, "END:VCALENDAR", ""]).encode()


SMALL = big_calendar(1)


@pytest.fixture
def app_config(app_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    return {**app_config, "HEAVY_IMPORTS_MAX": 1, "HEAVY_IMPORT_WAIT_SECONDS": 0,
            "HEAVY_IMPORT_RETRY_AFTER": 7, "HEAVY_IMPORT_SLOTS_DIR": str(tmp_path / "slots")}


@pytest.fixture
def held_slot(app) -> Iterator[None]:
    """Every import slot taken (as by a long import in another worker)."""
    from athlete_sched.web.limits import import_slot

    with app.test_request_context(), import_slot():
        yield


def upload(api, therapist_id: int, body: bytes):
    return api.put(f"/api/v1/therapists/{therapist_id}/busy-calendar", data=body,
                   headers={"Content-Type": "text/calendar"})


def test_an_upload_while_every_slot_is_taken_is_a_503_with_retry_after(
        app, api, make_therapist, held_slot):
    therapist = make_therapist()
    refused = upload(api, therapist["id"], SMALL)
    assert_error(refused, 503, "imports-busy")
    assert refused.headers["Retry-After"] == "7"
    assert api.get("/api/v1/me").status_code == 200  # nothing else waits


def test_the_page_upload_and_sync_now_while_every_slot_is_taken_answer_a_503_page(
        app, make_therapist, page_as, held_slot):
    therapist = make_therapist()
    page = page_as("therapist", therapist["email"])
    token = csrf(page, "/busy-calendar")
    refused = page.post("/busy-calendar/upload", data={
        "csrf_token": token, "calendar": (io.BytesIO(SMALL), "busy.ics")},
        content_type="multipart/form-data")
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "7"
    assert "busy importing other calendars" in refused.get_data(as_text=True)
    synced = page.post("/busy-calendar/subscriptions/1/sync", data={"csrf_token": token})
    assert synced.status_code == 503


def test_a_freed_slot_takes_the_next_import(app, api, make_therapist):
    therapist = make_therapist()
    assert upload(api, therapist["id"], SMALL).status_code == 200
    assert upload(api, therapist["id"], big_calendar(2000)).status_code == 200


@pytest.fixture
def server(app) -> Iterator[str]:
    """The app over real HTTP, one thread per request (as gunicorn's gthread workers)."""
    from werkzeug.serving import make_server

    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


def test_four_concurrent_3mb_uploads_leave_other_requests_fast(
        app, server, api, make_therapist):
    therapists = [make_therapist() for _ in range(4)]
    body = big_calendar(3 * 1024 * 1024)
    auth = {"Authorization": f"Bearer {api.token}"}
    results: dict[int, requests.Response] = {}
    go = threading.Barrier(5)

    def send(therapist: dict) -> None:
        go.wait()
        results[therapist["id"]] = requests.put(
            f"{server}/api/v1/therapists/{therapist['id']}/busy-calendar", data=body,
            headers={**auth, "Content-Type": "text/calendar"}, timeout=120)

    senders = [threading.Thread(target=send, args=(t,)) for t in therapists]
    for sender in senders:
        sender.start()
    go.wait()
    latencies = []
    with requests.Session() as me:
        while any(sender.is_alive() for sender in senders):
            began = time.perf_counter()
            assert me.get(f"{server}/api/v1/me", headers=auth, timeout=30).status_code == 200
            latencies.append(time.perf_counter() - began)
            time.sleep(0.05)
    for sender in senders:
        sender.join()
    statuses = sorted(r.status_code for r in results.values())
    assert statuses[0] == 200 and set(statuses) <= {200, 503}, statuses
    assert 503 in statuses, "four at once with one slot: the others are refused"
    for refused in (r for r in results.values() if r.status_code == 503):
        assert refused.headers["Retry-After"] == "7"
        assert refused.json()["error"]["code"] == "imports-busy"
    assert len(latencies) >= 5, latencies
    assert max(latencies) < ME_FAST_S, sorted(latencies)[-5:]
