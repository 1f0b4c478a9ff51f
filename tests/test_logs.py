"""The logs: one JSON object a line with time, level, logger, message and request id; one
access line per request (method, path with credentials redacted, status, duration, bytes,
remote address, user id); the request id taken from a sane X-Request-ID or made, and
echoed; LOG_FORMAT=text for people. Under gunicorn each request is logged once."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from server import ROOT, server_env, stop

TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "LOG_FORMAT": "json"}


def _records(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The JSON records written to stderr so far (the test process may also hold
    Alembic's console handler from migrating the test database: its lines are not JSON)."""
    lines = capsys.readouterr().err.splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def _access(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r["logger"] == "athlete_sched.access"]


def test_a_request_leaves_one_json_access_line_with_its_request_id(client, capsys):
    capsys.readouterr()
    response = client.get("/healthz?verbose=1", headers={"X-Request-ID": "trace-42.a"},
                          buffered=True)
    assert response.headers["X-Request-ID"] == "trace-42.a"
    [line] = _access(_records(capsys))
    assert TIME.fullmatch(line["time"]), line
    assert line["level"] == "INFO"
    assert line["request_id"] == "trace-42.a"
    assert {k: line[k] for k in ("method", "path", "status", "bytes", "remote_addr",
                                 "user_id")} == {
        "method": "GET", "path": "/healthz?verbose=1", "status": 200,
        "bytes": len(response.data), "remote_addr": "127.0.0.1", "user_id": None}
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["message"].startswith("GET /healthz?verbose=1 200 ")


@pytest.mark.parametrize("given", ["", "has spaces", "x" * 129, "quote\"d", "ü-nicode"])
def test_an_insane_request_id_is_replaced(client, capsys, given):
    capsys.readouterr()
    response = client.get("/healthz", headers={"X-Request-ID": given}, buffered=True)
    made = response.headers["X-Request-ID"]
    assert GENERATED.fullmatch(made)
    assert _access(_records(capsys))[0]["request_id"] == made


def test_every_request_gets_its_own_id(client):
    ids = {client.get("/healthz", buffered=True).headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3


def test_records_written_during_a_request_carry_its_id(app, capsys):
    def noisy():
        logging.getLogger("athlete_sched.services.demo").warning("inside %s", "the view")
        return "done"

    app.add_url_rule("/noisy-for-test", view_func=noisy)
    capsys.readouterr()
    app.test_client().get("/noisy-for-test", headers={"X-Request-ID": "r-7"}, buffered=True)
    records = _records(capsys)
    [inside] = [r for r in records if r["logger"] == "athlete_sched.services.demo"]
    assert inside["message"] == "inside the view"
    assert inside["level"] == "WARNING" and inside["request_id"] == "r-7"
    assert TIME.fullmatch(inside["time"])


def test_an_exception_is_one_line_with_its_traceback(app, capsys):
    """(Under a path with a credential in it, as a feed's: not written.)"""
    def broken(token: str):
        raise RuntimeError("kaputt")

    app.add_url_rule("/broken-for-test/<token>.ics", view_func=broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    capsys.readouterr()
    response = app.test_client().get("/broken-for-test/s3cr3t-t0ken.ics", buffered=True)
    assert response.status_code == 500
    err = capsys.readouterr().err
    assert "s3cr3t-t0ken" not in err
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    [error] = [r for r in records if r["level"] == "ERROR"]
    assert "RuntimeError: kaputt" in error["exception"]
    assert error["message"] == "unhandled error on GET /broken-for-test/[redacted].ics"
    assert error["request_id"] == response.headers["X-Request-ID"]
    assert _access(records)[0]["status"] == 500


def test_the_feed_token_never_reaches_the_log(api, make_athlete, client, capsys):
    athlete = make_athlete()
    feed_url = api.get(f"/api/v1/athletes/{athlete['id']}/feed").get_json()["url"]
    path = feed_url.split("://", 1)[1].split("/", 1)[1]
    token = path.removeprefix("feeds/").removesuffix(".ics")
    capsys.readouterr()
    assert client.get(f"/{path}", buffered=True).status_code == 200
    assert client.get(f"/{path}?token={token}", buffered=True).status_code == 200
    assert client.get("/feeds/unknownunknownunknown.ics", buffered=True).status_code == 404
    assert client.get(f"/reset-password/{token}", buffered=True).status_code == 410  # unknown link
    assert client.get(f"/invitation/{token}", buffered=True).status_code == 410  # unknown link
    err = capsys.readouterr().err
    assert token not in err and "unknownunknownunknown" not in err
    paths = [json.loads(line)["path"] for line in err.splitlines()
             if line.startswith("{") and '"athlete_sched.access"' in line]
    assert paths == ["/feeds/[redacted].ics", "/feeds/[redacted].ics?token=[redacted]",
                     "/feeds/[redacted].ics", "/reset-password/[redacted]",
                     "/invitation/[redacted]"]


def test_the_user_id_is_logged_for_a_token_and_for_a_page_session(api, page_as, capsys):
    me = api.get("/api/v1/me").get_json()
    capsys.readouterr()
    api.get("/api/v1/me", buffered=True)
    [line] = _access(_records(capsys))
    assert line["user_id"] == me["id"] and line["user_id"] is not None
    signed = page_as("admin")
    capsys.readouterr()
    assert signed.get("/", buffered=True).status_code in (200, 302, 303)
    [line] = _access(_records(capsys))
    assert isinstance(line["user_id"], int)


@contextlib.contextmanager
def closing(app):
    """The app's database connections closed afterwards (an app of the test's own: the
    fixture's teardown does not know it; a connection left open warns in a later test)."""
    from athlete_sched.extensions import db

    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_text_format_is_one_readable_line(app_config, capsys):
    from athlete_sched import create_app

    app = create_app({**app_config, "LOG_FORMAT": "text"})
    capsys.readouterr()
    with closing(app):
        app.test_client().get("/healthz", headers={"X-Request-ID": "t-1"}, buffered=True)
    err = capsys.readouterr().err
    assert re.search(r"^\S+Z INFO athlete_sched\.access \[t-1\] GET /healthz 200 [\d.]+ ms "
                     r"\d+ B from 127\.0\.0\.1 user -$", err, re.M), err


def test_the_environment_chooses_format_and_level(database, monkeypatch, capsys):
    """LOG_FORMAT and LOG_LEVEL from the environment (as gunicorn's service unit sets
    them): WARNING leaves the access log out, and the format is text as asked."""
    from athlete_sched import create_app

    monkeypatch.setenv("LOG_FORMAT", "text")
    monkeypatch.setenv("LOG_LEVEL", "warning")
    app = create_app({"SQLALCHEMY_DATABASE_URI": database, "TESTING": True})
    assert (app.config["LOG_FORMAT"], app.config["LOG_LEVEL"]) == ("text", "warning")
    capsys.readouterr()
    with closing(app):
        app.test_client().get("/healthz", buffered=True)
    logging.getLogger("athlete_sched.test").warning("still %s", "here")
    err = capsys.readouterr().err
    assert "athlete_sched.access" not in err
    assert re.search(r"^\S+Z WARNING athlete_sched\.test still here$", err, re.M), err


def test_an_unknown_log_format_stops_the_app(app_config):
    from athlete_sched import create_app

    with pytest.raises(ValueError, match="LOG_FORMAT"):
        create_app({**app_config, "LOG_FORMAT": "xml"})


def test_configuring_twice_keeps_one_handler(app_config):
    from athlete_sched import create_app

    create_app(app_config)
    create_app(app_config)
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_athlete_sched", False)]
    assert len(ours) == 1


# --- under gunicorn -------------------------------------------------------------------------

LISTENING = re.compile(r"Listening at: (http://127\.0\.0\.1:\d+)")
LOG_CONFIG = ROOT / "deploy" / "gunicorn-logging.json"


def _serve(database: str, log_file: Path, extra: list[str]) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-m", "gunicorn", "-w", "1", "-b", "127.0.0.1:0",
               "--graceful-timeout", "5", "--no-control-socket", *extra, "wsgi:app"]
    env = server_env(database)
    for name in ("LOG_FORMAT", "GUNICORN_ACCESS_LOG", "GUNICORN_BIND"):
        env.pop(name, None)
    env["FLASK_JOBS_IMMEDIATE"] = "true"  # no job worker here: /healthz's jobs check passes
    with log_file.open("wb") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = LISTENING.search(log_file.read_text(errors="replace"))
        if found:
            try:
                if requests.get(found.group(1) + "/healthz", timeout=2,
                                headers={"X-Request-ID": "probe"}).ok:
                    return proc, found.group(1)
            except requests.RequestException:
                pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)  # polling a child's start-up; nothing to wait on
    stop(proc)
    raise AssertionError(f"gunicorn did not start:\n{log_file.read_text(errors='replace')}")


MODES = {"deploy-config": ["-c", str(ROOT / "deploy" / "gunicorn.conf.py")],
         "log-config-json": ["--log-config-json", str(LOG_CONFIG)],
         "plain": []}


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_under_gunicorn_each_request_is_logged_once(database, tmp_path, mode):
    """`gunicorn -c deploy/gunicorn.conf.py` (as deploy/run starts it) and `gunicorn
    --log-config-json deploy/gunicorn-logging.json`: every line is JSON, gunicorn's own
    access log is off. Plain `gunicorn wsgi:app`: gunicorn's access log is off by default;
    its own lines stay its own text. (The command line's -w and -b win over the file.)"""
    extra = MODES[mode]
    log_file = tmp_path / "server.log"
    proc, base = _serve(database, log_file, extra)
    try:
        sent = [requests.get(f"{base}/healthz", headers={"X-Request-ID": f"g-{i}"}, timeout=10)
                for i in range(3)]
        sent.append(requests.get(f"{base}/feeds/abcdefghijklmnopqrstuvwx.ics", timeout=10))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        stop(proc)
    assert [r.status_code for r in sent] == [200, 200, 200, 404]
    lines = [line for line in log_file.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines if line.startswith("{")]
    access = [r for r in _access(records) if r["request_id"] != "probe"]
    assert sorted(r["request_id"] for r in access if r["path"] == "/healthz") == [
        "g-0", "g-1", "g-2"]
    assert [r["path"] for r in access if r["status"] == 404] == ["/feeds/[redacted].ics"]
    assert len(access) == 4
    assert "abcdefghijklmnopqrstuvwx" not in "\n".join(lines)
    assert not [line for line in lines if '"GET /healthz' in line and "HTTP/1" in line]
    if mode != "plain":
        assert len(records) == len(lines), "\n".join(lines)  # gunicorn's own lines too
        assert any("Listening at" in r["message"] for r in records)
