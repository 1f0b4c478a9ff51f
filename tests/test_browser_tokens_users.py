"""Issue 14 in a real browser (Debian's Chromium, Playwright) against the demo clinic: an API
token made with an expiry on the Account page shows its expiry and last use, stops at its
expiry and is revoked; an admin disables a coach on the Users page (the coach's open
session ends and sign-in is refused) and enables them again."""

from __future__ import annotations

import re
from datetime import timedelta

from browser import *  # noqa: F403
from browser import as_role, check_page, expect
from conftest import NOW
from pageutil import DEMO_LOGINS

pytestmark = browser_marks  # noqa: F405


def _me(page, server: str, token: str) -> int:
    return page.request.get(server + "/api/v1/me",
                            headers={"Authorization": f"Bearer {token}"}).status


def test_a_token_with_an_expiry_shows_its_last_use_expires_and_is_revoked(browser, server,
                                                                          app):
    with as_role(browser, server, "coach") as page:
        page.goto(server + "/account")
        page.get_by_label("Token name").fill("club spreadsheet")
        page.get_by_label("Expires").select_option(label="After 7 days")
        page.get_by_role("button", name="Create token").click()
        token = page.locator("#new-token").inner_text().strip()
        row = page.locator("li.token-row", has_text="club spreadsheet")
        expect(row).to_contain_text("expires 11 Jan 2027 00:00 UTC")
        expect(row).to_contain_text("not used yet")
        check_page(page, "account-tokens")
        assert _me(page, server, token) == 200
        page.reload()
        expect(row).to_contain_text("last used 4 Jan 2027 00:00 UTC")
        app.config["FROZEN_NOW"] = (NOW + timedelta(days=7)).isoformat()
        assert _me(page, server, token) == 401
        page.reload()
        expect(row.locator(".tag")).to_have_text("expired")
        expect(row).to_contain_text("expired 11 Jan 2027 00:00 UTC")
        page.get_by_role("button", name="Revoke club spreadsheet").click()
        expect(page.get_by_text("is revoked")).to_be_visible()
        expect(page.locator("li.token-row", has_text="club spreadsheet")).to_have_count(0)


def test_an_admin_disables_a_coach_and_enables_them_again(browser, server):
    email, password = DEMO_LOGINS["coach"]
    with as_role(browser, server, "coach") as coach, \
            as_role(browser, server, "admin") as admin:
        coach.goto(server + "/teams")
        expect(coach.get_by_role("button", name="Sign out")).to_be_visible()
        admin.goto(server + "/admin/users?role=coach")
        admin.get_by_role("button", name=f"Disable {email}").click()
        expect(admin.get_by_text(f"{email} is disabled")).to_be_visible()
        expect(admin.get_by_role("button", name=f"Enable {email}")).to_be_visible()
        check_page(admin, "admin-users-disabled")

        coach.goto(server + "/teams")  # the open session ended at once
        expect(coach).to_have_url(re.compile(r"/sign-in\?next="))
        coach.get_by_label("Email").fill(email)
        coach.get_by_label("Password").fill(password)
        coach.get_by_role("button", name="Sign in").click()
        expect(coach.get_by_text("this account is disabled", exact=False)).to_be_visible()

        admin.get_by_role("button", name=f"Enable {email}").click()
        expect(admin.get_by_text(f"{email} is enabled again")).to_be_visible()
        coach.get_by_label("Password").fill(password)
        coach.get_by_role("button", name="Sign in").click()
        expect(coach.get_by_role("button", name="Sign out")).to_be_visible()
