"""Signing in to the pages, on SQLite and PostgreSQL: passwords (argon2id), sessions and
remember-me cookies, sign-out everywhere, one-time reset and invitation links through a
real SMTP server, API tokens made and revoked on the account page, and the rule that no
page opens without sign-in but sign-in, reset, invitations and the feeds."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from pageutil import DEMO_LOGINS, Page, csrf, sign_in, text
from test_mail import serve
from werkzeug.routing import IntegerConverter

from athlete_sched.extensions import db

PASSWORD = "a long enough password"


@pytest.fixture
def smtp():
    with serve() as server:
        yield server


@pytest.fixture
def app_config(app_config: dict[str, Any], smtp) -> dict[str, Any]:
    return {**app_config, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port,
            "MAIL_TIMEOUT": 5}


@pytest.fixture
def user(make_user) -> str:
    make_user("athlete", "ana@test.example", "Ana", password=PASSWORD)
    return "ana@test.example"


def scalar(app, sql: str, **params: Any) -> Any:
    with app.app_context():
        value = db.session.execute(sa.text(sql), params).scalar()
        db.session.rollback()
    return value


def link_in(mail_text: str) -> str:
    found = re.search(r"http://localhost(/(?:reset-password|invitation)/[\w-]+)", mail_text)
    assert found, mail_text
    return found.group(1)


def post_form(client, url: str, data: dict[str, str], page: str | None = None):
    """Post a form of `page` (default: the page at `url` itself) with its CSRF token."""
    return client.post(url, data={**data, "csrf_token": csrf(client, page or url)})


# --- signing in and out ----------------------------------------------------------------

def test_sign_in_goes_back_where_you_were_and_sign_out_ends_it(app, client, user):
    asked = client.get("/account")
    assert asked.status_code == 302 and asked.location == "/sign-in?next=%2Faccount"
    data = {"email": " ANA@test.example ", "password": PASSWORD,
            "csrf_token": csrf(client, "/sign-in")}
    answer = client.post("/sign-in?next=%2Faccount", data=data)
    assert answer.status_code == 303 and answer.location == "/account"
    assert "ana@test.example" in text(client.get("/account"))
    out = client.post("/sign-out", data={"csrf_token": csrf(client, "/account")})
    assert out.status_code == 303 and out.location == "/sign-in"
    assert client.get("/account").status_code == 302


@pytest.mark.parametrize("email, password", [
    ("ana@test.example", "not the password"), ("nobody@test.example", PASSWORD),
    ("ana@test.example", ""), ("", PASSWORD)], ids=["wrong", "unknown", "empty-pw", "empty"])
def test_a_wrong_sign_in_says_so_and_keeps_the_email(client, user, email, password):
    answer = client.post("/sign-in", data={"email": email, "password": password,
                                           "csrf_token": csrf(client, "/sign-in")})
    assert answer.status_code == 422
    page = Page(answer.get_data(as_text=True))
    assert page.invalid, "the field in error is marked"
    assert "We could not sign you in" in text(answer)
    form = next(f for f in page.forms if "password" in f["fields"])
    assert (form["fields"]["email"] or "") == email.strip() and not form["fields"]["password"]
    assert client.get("/season").status_code == 302


def test_next_never_leaves_the_site(client, user):
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        answer = client.post("/sign-in", query_string={"next": target},
                             data={"email": "ana@test.example", "password": PASSWORD,
                                   "csrf_token": csrf(client, "/sign-in")})
        assert answer.status_code == 303 and answer.location == "/", target
        client.post("/sign-out", data={"csrf_token": csrf(client, "/account")})


def test_passwords_are_stored_as_argon2id_hashes(app, user):
    stored = scalar(app, "SELECT password_hash FROM user_account WHERE email = :e",
                    e="ana@test.example")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_production_hashes_keep_argon2_defaults_and_are_rehashed_on_sign_in(
        app, client, user, cheap_password_hashing):
    """The suite hashes with a cheap argon2id in-process (conftest); the app's own hasher
    keeps argon2-cffi's defaults (RFC 9106's second recommended setting), a hash made with
    them signs in, and sign-in rehashes it to the parameters in force."""
    from argon2 import profiles

    production, default = cheap_password_hashing, profiles.RFC_9106_LOW_MEMORY
    assert (production.type, production.time_cost, production.memory_cost,
            production.parallelism, production.salt_len, production.hash_len) == (
        default.type, default.time_cost, default.memory_cost, default.parallelism,
        default.salt_len, default.hash_len)
    strong = production.hash(PASSWORD)
    with app.app_context():
        db.session.execute(sa.text("UPDATE user_account SET password_hash = :h WHERE email = :e"),
                           {"h": strong, "e": user})
        db.session.commit()
    assert sign_in(client, user, PASSWORD).status_code == 303
    stored = scalar(app, "SELECT password_hash FROM user_account WHERE email = :e", e=user)
    assert stored != strong and stored.startswith("$argon2id$v=19$m=8,t=1,p=1$")


def test_cookies_are_httponly_samesite_lax_and_secure_over_https(app, user):
    for scheme, secure in (("http", False), ("https", True)):
        client = app.test_client()
        token = csrf(client, "/sign-in")
        answer = client.post("/sign-in", base_url=f"{scheme}://localhost",
                             headers={"Referer": f"{scheme}://localhost/sign-in"},
                             data={"email": "ana@test.example", "password": PASSWORD,
                                   "remember": "y", "csrf_token": token})
        assert answer.status_code == 303
        cookies = {c.split("=", 1)[0]: c for c in answer.headers.getlist("Set-Cookie")}
        assert set(cookies) == {"session", "remember_token"}
        for cookie in cookies.values():
            assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
            assert ("Secure" in cookie) is secure, cookie


def test_remember_me_outlives_the_session_until_the_password_changes(app, user):
    client = app.test_client()
    assert sign_in(client, "ana@test.example", PASSWORD, remember=True).status_code == 303
    client.delete_cookie("session")  # the browser closed: only the remember-me cookie is left
    assert client.get("/account").status_code == 200
    other = app.test_client()
    assert sign_in(other, "ana@test.example", PASSWORD).status_code == 303
    changed = post_form(other, "/account/password", {
        "current": PASSWORD, "new": "another long password", "confirm": "another long password"},
        "/account")
    assert changed.status_code == 303
    assert other.get("/account").status_code == 200, "the changing session goes on"
    client.delete_cookie("session")
    assert client.get("/account").status_code == 302, "every other session ended"
    assert sign_in(app.test_client(), "ana@test.example", "another long password"
                   ).status_code == 303


def test_a_wrong_current_password_changes_nothing(app, user):
    client = app.test_client()
    sign_in(client, "ana@test.example", PASSWORD)
    before = scalar(app, "SELECT password_hash FROM user_account")
    answer = post_form(client, "/account/password", {
        "current": "wrong one here", "new": "another long password",
        "confirm": "another long password"}, "/account")
    assert answer.status_code == 422 and "not your current password" in text(answer)
    short = post_form(client, "/account/password", {
        "current": PASSWORD, "new": "short", "confirm": "short"}, "/account")
    assert short.status_code == 422 and "at least 10 characters" in text(short)
    assert scalar(app, "SELECT password_hash FROM user_account") == before


def test_sign_out_everywhere_ends_every_session(app, user):
    first, second = app.test_client(), app.test_client()
    for c in (first, second):
        sign_in(c, "ana@test.example", PASSWORD, remember=True)
    answer = first.post("/account/sign-out-everywhere",
                        data={"csrf_token": csrf(first, "/account")})
    assert answer.status_code == 303
    for c in (first, second):
        assert c.get("/account").status_code == 302


# --- one-time links by email ----------------------------------------------------------------

def test_a_reset_link_works_once_and_sets_the_password(app, client, smtp, user):
    asked = post_form(client, "/forgot-password", {"email": "ana@test.example"})
    assert asked.status_code == 200 and "Check your email" in text(asked)
    [mail] = smtp.take()
    assert mail.rcpt == ["ana@test.example"]
    path = link_in(mail.text)
    assert PASSWORD not in mail.text
    new = {"password": "my new password!", "confirm": "my new password!"}
    assert post_form(client, path, new).status_code == 303
    assert sign_in(app.test_client(), "ana@test.example", "my new password!").status_code == 303
    assert sign_in(app.test_client(), "ana@test.example", PASSWORD).status_code == 422
    again = client.get(path)
    assert again.status_code == 410 and "does not work any more" in text(again)


def test_an_unknown_email_gets_the_same_answer_and_no_mail(client, smtp, user):
    asked = post_form(client, "/forgot-password", {"email": "nobody@test.example"})
    assert asked.status_code == 200 and "Check your email" in text(asked)
    assert smtp.take() == []


def test_a_reset_link_expires(app, client, smtp, user):
    post_form(client, "/forgot-password", {"email": "ana@test.example"})
    path = link_in(smtp.take()[0].text)
    assert client.get(path).status_code == 200
    later = datetime.fromisoformat(app.config["FROZEN_NOW"]) + timedelta(hours=2, seconds=1)
    app.config["FROZEN_NOW"] = later.isoformat()
    assert client.get(path).status_code == 410
    refused = client.post(path, data={"password": "my new password!",
                                      "confirm": "my new password!",
                                      "csrf_token": csrf(client, "/sign-in")})
    assert refused.status_code == 410
    assert sign_in(app.test_client(), "ana@test.example", PASSWORD).status_code == 303


def test_a_bad_new_password_keeps_the_link_usable(client, smtp, user):
    post_form(client, "/forgot-password", {"email": "ana@test.example"})
    path = link_in(smtp.take()[0].text)
    mismatch = post_form(client, path, {"password": "my new password!", "confirm": "other"})
    assert mismatch.status_code == 422 and "not the same" in text(mismatch)
    assert client.get(path).status_code == 200


def test_an_invitation_sets_the_first_password(app, client, smtp):
    from athlete_sched.services import sign_in_links

    with app.test_request_context(base_url="http://localhost"):
        from flask import url_for
        sign_in_links.invite("new@test.example", "coach", "Nia Coach",
                             lambda t: url_for("pages.accept_invitation", token=t,
                                               _external=True))
        db.session.commit()
        from athlete_sched.services import mail
        mail.deliver(mail_ids(app))
    [mail_] = smtp.take()
    assert "invited you" in mail_.text and "as a coach" in mail_.text
    path = link_in(mail_.text)
    assert sign_in(app.test_client(), "new@test.example", "").status_code == 422
    page = client.get(path)
    assert page.status_code == 200 and "Nia Coach" in text(page)
    assert post_form(client, path, {"password": "coach password 1",
                                    "confirm": "coach password 1"}).status_code == 303
    signed = app.test_client()
    assert sign_in(signed, "new@test.example", "coach password 1").status_code == 303
    assert signed.get("/").location == "/teams"
    assert client.get(path).status_code == 410


def mail_ids(app) -> list[int]:
    from athlete_sched.db.models import MailMessage

    return list(db.session.scalars(sa.select(MailMessage.id).where(
        MailMessage.sent_at.is_(None))))


# --- API tokens on the account page -----------------------------------------------------

def test_tokens_are_made_named_shown_once_and_revoked(app, client, user):
    sign_in(client, "ana@test.example", PASSWORD)
    made = client.post(
        "/account/tokens", data={"name": "training platform",
                                 "csrf_token": csrf(client, "/account")}, follow_redirects=True)
    assert made.status_code == 200 and made.request.path == "/account"
    token = re.search(r'id="new-token">([^<]+)<', made.get_data(as_text=True)).group(1)
    api = {"Authorization": f"Bearer {token}"}
    me = client.get("/api/v1/me", headers=api)
    assert me.status_code == 200 and me.get_json()["email"] == "ana@test.example"
    listed = client.get("/account").get_data(as_text=True)
    assert "training platform" in listed and token not in listed, "shown once only"
    [revoke] = re.findall(r'<strong>training platform</strong>.*?action="([^"]+/revoke)"',
                          listed, re.S)
    assert client.post(revoke, data={"csrf_token": csrf(client, "/account")}
                       ).status_code == 303
    assert client.get("/api/v1/me", headers=api).status_code == 401


def test_a_token_needs_a_name_and_nobody_revokes_anothers(app, client, user, make_user):
    sign_in(client, "ana@test.example", PASSWORD)
    nameless = client.post("/account/tokens", data={"name": "  ",
                                                    "csrf_token": csrf(client, "/account")})
    assert nameless.status_code == 422 and "Name the token" in text(nameless)
    other = make_user("coach", "coach@test.example")
    theirs = scalar(app, "SELECT t.id FROM api_token t JOIN user_account u ON u.id = t.user_id"
                    " WHERE u.email = 'coach@test.example'")
    refused = client.post(f"/account/tokens/{theirs}/revoke",
                          data={"csrf_token": csrf(client, "/account")})
    assert refused.status_code == 404
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {other}"}
                      ).status_code == 200


# --- no page without sign-in --------------------------------------------------------------

PUBLIC = {"pages.sign_in", "pages.forgot_password", "pages.reset_password",
          "pages.accept_invitation"}


def page_urls(app) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) of every page route, sample ids filled in."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("pages."):
            continue
        values = {a: (1 if isinstance(rule._converters[a], IntegerConverter) else "x")
                  for a in rule.arguments}
        url = rule.build(values)[1] if rule.arguments else rule.rule
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, url))
    return found


def test_every_page_but_sign_in_reset_and_invitations_needs_sign_in(app, runner):
    app.config["WTF_CSRF_ENABLED"] = False  # no token either: sign-in alone must refuse
    with app.app_context():
        assert runner.invoke(args=["demo"]).exit_code == 0
    anonymous = app.test_client()
    routes = page_urls(app)
    assert {e for e, _, _ in routes} >= PUBLIC | {"pages.season", "pages.account"}
    for endpoint, method, url in routes:
        view = app.view_functions[endpoint]
        if endpoint in PUBLIC:
            assert view.signed_in == (), endpoint
            continue
        assert view.signed_in, f"{endpoint} is not marked @signed_in"
        answer = anonymous.open(url, method=method)
        assert answer.status_code == 302, (endpoint, method, answer.status_code)
        assert answer.location.startswith("/sign-in?next="), endpoint


def test_a_role_cannot_open_another_roles_pages(app, runner):
    with app.app_context():
        assert runner.invoke(args=["demo"]).exit_code == 0
    homes = {"athlete": "/season", "coach": "/teams", "therapist": "/week", "admin": "/admin"}
    # an admin sees every team, and opens any therapist's week (a choice of therapists first)
    allowed = {("coach", "/teams"), ("admin", "/teams"), ("admin", "/week")}
    for role, (email, password) in DEMO_LOGINS.items():
        signed = app.test_client()
        assert sign_in(signed, email, password).status_code == 303
        for other, url in homes.items():
            answer = signed.get(url)
            if other == role or (role, url) in allowed:
                assert answer.status_code == 200, (role, url)
            else:
                assert answer.status_code == 403, (role, url)
                assert "this page is for another role" in text(answer).lower()


def test_a_forged_form_without_the_csrf_token_is_refused(app, client, user):
    sign_in(client, "ana@test.example", PASSWORD)
    before = scalar(app, "SELECT COUNT(*) FROM api_token")
    forged = client.post("/account/tokens", data={"name": "forged"})
    assert forged.status_code == 400 and "did not come from this site" in text(forged)
    assert scalar(app, "SELECT COUNT(*) FROM api_token") == before
