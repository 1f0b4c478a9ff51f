"""Security headers (web/security.py) on every kind of answer, on both backends: a CSP
without inline script or style and with frame-ancestors 'none' on pages (the API docs
page alone may load data: images, for Swagger UI's icons), `default-src 'none'` on
JSON, calendars and feeds; nosniff, Referrer-Policy same-origin; HSTS only over HTTPS
(also behind a trusted proxy, never on a forged X-Forwarded-Proto); no-store on pages
and API answers, the feeds keeping their own revalidated caching, static files cacheable.
The templates themselves hold no inline script, style or event handler, so the CSP
cannot break them (the browser check: tests/test_browser_csp.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from api.helpers import created
from conftest import NOW, PASSWORD
from pageutil import csrf

from athlete_sched.web.security import DATA_CSP, DOCS_CSP, PAGE_CSP

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
COMMON = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
          "Referrer-Policy": "same-origin", "Cross-Origin-Opener-Policy": "same-origin"}


def directives(csp: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in csp.split(";"))


def assert_common(response) -> None:
    for name, value in COMMON.items():
        assert response.headers.get(name) == value, (name, dict(response.headers))
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP here


def test_the_page_policy_allows_nothing_inline_and_no_framing():
    page = directives(PAGE_CSP)
    assert page["script-src"] == "'self'" and page["style-src"] == "'self'"
    assert page["frame-ancestors"] == "'none'" and page["object-src"] == "'none'"
    assert "unsafe" not in PAGE_CSP and "data:" not in PAGE_CSP
    docs = directives(DOCS_CSP)
    assert {k: v for k, v in docs.items() if k != "img-src"} == {
        k: v for k, v in page.items() if k != "img-src"}
    assert docs["img-src"] == "'self' data:" and "unsafe" not in DOCS_CSP
    assert directives(DATA_CSP)["default-src"] == "'none'"


def test_no_template_has_inline_script_style_or_handler():
    found = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for pattern in (r"<script(?![^>]*\bsrc=)[^>]*>", r"<style\b", r"\sstyle\s*=",
                        r"\son[a-z]+\s*=", r"javascript:"):
            found += [(path.name, m.group(0)) for m in re.finditer(pattern, text, re.I)]
    assert found == []


def test_public_page_headers(client):
    answer = client.get("/sign-in")
    assert answer.status_code == 200
    assert_common(answer)
    assert answer.headers["Content-Security-Policy"] == PAGE_CSP
    assert answer.headers["Cache-Control"] == "no-store"


def test_signed_in_pages_are_never_stored(page_as, make_athlete):
    athlete = make_athlete(email="mara@athletes.test")
    pages = page_as("athlete", athlete["email"])
    for path in ("/", "/season", "/screening", "/account", "/docs/api"):
        answer = pages.get(path)
        assert answer.status_code == (302 if path == "/" else 200), path  # /: to /season
        assert_common(answer)
        assert answer.headers["Cache-Control"] == "no-store", path
        expected = DOCS_CSP if path == "/docs/api" else PAGE_CSP
        assert answer.headers["Content-Security-Policy"] == expected, path


def test_api_answers_and_errors_are_never_stored(api, client):
    for answer in (api.get("/api/v1/me"), api.get("/api/v1/therapists"),
                   client.get("/api/v1/me"), api.get("/api/v1/therapists/999999"),
                   client.get("/api/v1/openapi.json")):
        assert answer.mimetype == "application/json"
        assert_common(answer)
        assert answer.headers["Content-Security-Policy"] == DATA_CSP
        assert answer.headers["Cache-Control"] == "no-store"


def test_feeds_keep_their_revalidated_caching(api, client, make_therapist):
    therapist = make_therapist()
    url = api.get(f"/api/v1/therapists/{therapist['id']}/feed").get_json()["url"]
    path = url.split("://", 1)[1].split("/", 1)[1]
    answer = client.get("/" + path)
    assert answer.status_code == 200 and answer.mimetype == "text/calendar"
    assert answer.headers["Cache-Control"] == "private, no-cache" and answer.headers["ETag"]
    assert answer.headers["Content-Security-Policy"] == DATA_CSP
    assert_common(answer)
    again = client.get("/" + path, headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers["Cache-Control"] == "private, no-cache"
    unknown = client.get("/feeds/" + "x" * 32 + ".ics")
    assert unknown.status_code == 404 and unknown.headers["Cache-Control"] == "no-store"


def test_static_files_may_be_cached(client):
    answer = client.get("/static/app.css")
    assert answer.status_code == 200
    assert "no-store" not in answer.headers.get("Cache-Control", "")
    assert_common(answer)
    answer.close()


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/sign-in").headers
    secure = client.get("/sign-in", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    api_answer = client.get("/api/v1/me", base_url="https://localhost")
    assert api_answer.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_hsts_can_be_turned_off(app, client):
    app.config["HSTS_SECONDS"] = 0
    assert "Strict-Transport-Security" not in client.get(
        "/sign-in", base_url="https://localhost").headers


def _sign_in_behind_proxy(app, forwarded: dict[str, str]):
    from athlete_sched.extensions import db
    from athlete_sched.services.accounts import create_user

    with app.app_context():
        create_user("proxied@test.example", "athlete", "", PASSWORD)
        db.session.commit()
    client = app.test_client()
    token = csrf(client, "/sign-in")
    return client.post("/sign-in", headers={**forwarded, "Referer": "https://book.test/sign-in"},
                       data={"email": "proxied@test.example", "password": PASSWORD,
                             "remember": "y", "csrf_token": token})


FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "book.test",
             "X-Forwarded-For": "203.0.113.9"}


@pytest.mark.parametrize("app_config", [1], indirect=True)
def test_behind_a_trusted_proxy_https_is_seen(app):
    answer = _sign_in_behind_proxy(app, FORWARDED)
    assert answer.status_code == 303, answer.get_data(as_text=True)[:300]
    assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"
    cookies = answer.headers.getlist("Set-Cookie")
    assert len(cookies) == 2 and all("; Secure" in c for c in cookies), cookies
    assert all("HttpOnly" in c and "SameSite=Lax" in c for c in cookies), cookies


def test_a_forged_forwarded_proto_is_ignored_without_trusted_proxies(app, client):
    answer = client.get("/sign-in", headers=FORWARDED)
    assert "Strict-Transport-Security" not in answer.headers
    assert all("Secure" not in c for c in answer.headers.getlist("Set-Cookie"))


@pytest.fixture
def app_config(request, database, tmp_path):
    """The conftest's config; parametrized indirectly with a TRUSTED_PROXIES count."""
    config = {"SQLALCHEMY_DATABASE_URI": database, "TESTING": True, "SECRET_KEY": "test",
              "FROZEN_NOW": NOW.isoformat()}
    if getattr(request, "param", None):
        config["TRUSTED_PROXIES"] = request.param
    return config


def test_created_objects_answer_without_caching(api):
    answer = api.post("/api/v1/teams", {"name": "Riders"})
    created(answer)
    assert answer.headers["Cache-Control"] == "no-store"
