"""Signing in, out and the account page in a real browser (Debian's Chromium, Playwright)
against the app under a real HTTP server: wrong and right passwords, a forged form without
the CSRF token, API tokens made and revoked, each page accessible and phone-sized."""

from __future__ import annotations

import re

from browser import *  # noqa: F403
from browser import DESKTOP, PHONE, as_role, check_page, expect, sideways_overflow
from pageutil import DEMO_LOGINS

pytestmark = browser_marks  # noqa: F405


def test_sign_in_out_and_the_account_pages(browser, server):
    email, password = DEMO_LOGINS["therapist"]
    with as_role(browser, server, None, viewport=PHONE) as page:
        page.goto(server + "/week")
        expect(page).to_have_url(re.compile(r"/sign-in\?next=%2Fweek$"))
        check_page(page, "sign-in")
        assert sideways_overflow(page) == 0
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill("not my password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("We could not sign you in")).to_be_visible()
        expect(page.get_by_label("Email")).to_have_value(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(server + "/week")
        page.get_by_role("link", name="Account").click()
        expect(page.get_by_role("heading", name="Your account")).to_be_visible()
        check_page(page, "account")
        assert sideways_overflow(page) == 0
        page.get_by_role("button", name="Sign out").first.click()
        expect(page).to_have_url(server + "/sign-in")
        expect(page.get_by_text("You are signed out.")).to_be_visible()
        page.goto(server + "/account")
        expect(page).to_have_url(re.compile(r"/sign-in\?next="))
        page.get_by_role("link", name="Forgot your password?").click()
        check_page(page, "forgot-password")


def test_a_forged_form_is_refused(browser, server):
    with as_role(browser, server, "athlete", viewport=DESKTOP) as page:
        page.goto(server + "/account")
        before = page.locator("ul.list li").count()
        # Same site, but no CSRF token: what a script injected by someone else would send.
        page.evaluate("""() => {
            const f = document.createElement('form');
            f.method = 'post'; f.action = '/account/tokens';
            const i = document.createElement('input');
            i.name = 'name'; i.value = 'forged'; f.appendChild(i);
            document.body.appendChild(f); f.submit();
        }""")
        expect(page.get_by_text("did not come from this site")).to_be_visible()
        # Another site (localhost is not 127.0.0.1) posting to ours: the Lax cookie is not
        # sent, so nobody is signed in, and the missing CSRF token is refused first.
        # The other site's page is its own (our pages' CSP, form-action 'self', would not
        # let even our own sign-in page post elsewhere).
        elsewhere = server.replace("127.0.0.1", "localhost") + "/elsewhere"
        page.route(elsewhere, lambda route: route.fulfill(content_type="text/html", body=f"""
            <!doctype html><form method="post" action="{server}/account/tokens">
            <input name="name" value="forged"><button>go</button></form>"""))
        page.goto(elsewhere)
        page.get_by_role("button", name="go").click()
        expect(page.get_by_text("did not come from this site")).to_be_visible()
        expect(page.get_by_role("button", name="Sign out")).to_have_count(0)  # no cookie sent
        page.goto(server + "/account")
        assert page.locator("ul.list li").count() == before
        assert "forged" not in page.content()


def test_an_api_token_made_on_the_page_opens_the_api_until_revoked(browser, server):
    with as_role(browser, server, "coach") as page:
        page.goto(server + "/account")
        page.get_by_label("Token name").fill("club spreadsheet")
        page.get_by_role("button", name="Create token").click()
        token = page.locator("#new-token").inner_text().strip()
        me = page.request.get(server + "/api/v1/me",
                              headers={"Authorization": f"Bearer {token}"})
        assert me.status == 200 and me.json()["email"] == DEMO_LOGINS["coach"][0]
        page.reload()
        assert token not in page.content(), "a token is shown once"
        page.get_by_role("button", name="Revoke club spreadsheet").click()
        expect(page.get_by_text("is revoked")).to_be_visible()
        again = page.request.get(server + "/api/v1/me",
                                 headers={"Authorization": f"Bearer {token}"})
        assert again.status == 401
