"""The pages that open without signing in besides sign-in (tests/test_browser_accounts.py):
a password reset link and an invitation, as the admin hands them over with mail off, and
the same link once used. In a real browser (Debian's Chromium, Playwright) against the
demo clinic under a real HTTP server, on a 360-px phone: each page passes axe, does not
scroll sideways, keeps what was typed with a clear message on bad input, and works once."""

from __future__ import annotations

from browser import *  # noqa: F403
from browser import PHONE, as_role, check_page, expect, sideways_overflow
from pageutil import DEMO_LOGINS

pytestmark = browser_marks  # noqa: F405


def fits(page, name: str) -> None:
    check_page(page, name)
    assert sideways_overflow(page) == 0, name


def handed_over(page, server: str, button: str) -> str:
    """The link the admin's users page shows once (mail is off in the demo)."""
    page.get_by_role("button", name=button).click()
    expect(page.get_by_text("Mail is off")).to_be_visible()
    return page.locator("#handover-link").inner_text()


def set_password(page, link: str, heading: str, name: str, sign_in_email: str) -> None:
    page.goto(link)
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    fits(page, name)
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("Repeat the new password").fill("not the same")
    page.get_by_role("button").last.click()
    expect(page.get_by_text("Please check the form.")).to_be_visible()
    expect(page.get_by_text("The two passwords are not the same.")).to_be_visible()
    fits(page, name + "-refused")
    page.get_by_label("New password", exact=True).fill("a long new password 1")
    page.get_by_label("Repeat the new password").fill("a long new password 1")
    page.get_by_role("button").last.click()
    expect(page.get_by_label("Email")).to_be_visible()  # the sign-in page
    page.get_by_label("Email").fill(sign_in_email)
    page.get_by_label("Password").fill("a long new password 1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.get_by_role("button", name="Sign out").first.click()
    page.goto(link)  # once only
    expect(page.get_by_role("heading", name="This link does not work any more")).to_be_visible()
    fits(page, name + "-used")


def test_reset_and_invitation_links_pass_axe_fit_a_phone_and_work_once(browser, server):
    coach = DEMO_LOGINS["coach"][0]
    with as_role(browser, server, "admin", viewport=PHONE) as page:
        page.goto(server + "/admin/users")
        reset = handed_over(page, server, f"Send reset link to {coach}")
        page.goto(server + "/admin/users")
        page.get_by_label("Name").fill("Nina Berg")
        page.get_by_label("Email").fill("nina.berg@coaches.example")
        page.get_by_label("Role").last.select_option("coach")
        invitation = handed_over(page, server, "Invite")
    with as_role(browser, server, None, viewport=PHONE) as page:
        set_password(page, reset, "Choose a new password", "reset-password", coach)
        set_password(page, invitation, "Welcome, Nina Berg", "invitation",
                     "nina.berg@coaches.example")
