"""Reminders on and off in a real browser (Debian's Chromium, Playwright) against the demo
clinic under a real HTTP server: the athlete on their Account page, the admin on the
athletes list; each page accessible and phone-sized, and the API says the same."""

from __future__ import annotations

from browser import *  # noqa: F403
from browser import PHONE, as_role, check_page, expect, sideways_overflow
from pageutil import DEMO_LOGINS

pytestmark = browser_marks  # noqa: F405


def reminders_of(app, email: str) -> bool:
    from athlete_sched.db.models import Athlete
    from athlete_sched.extensions import db

    with app.app_context():
        found = db.session.execute(db.select(Athlete.reminders).where(
            Athlete.email == email)).scalar_one()
        db.session.rollback()
    return found


def test_the_athlete_turns_reminders_off_and_on_on_the_account_page(app, browser, server):
    email = DEMO_LOGINS["athlete"][0]
    with as_role(browser, server, "athlete", viewport=PHONE) as page:
        page.get_by_role("link", name="Account").click()
        card = page.locator("#reminders")
        expect(card.get_by_role("heading", name="Reminders by email")).to_be_visible()
        expect(card).to_contain_text("09:00 your time on the day before each session")
        expect(page.locator("#reminders-state")).to_have_text("Reminders are on.")
        check_page(page, "account-reminders-on")
        assert sideways_overflow(page) == 0
        card.get_by_role("button", name="Turn reminders off").click()
        expect(page.get_by_text("Reminders are off: you get no reminder")).to_be_visible()
        expect(page.locator("#reminders-state")).to_have_text("Reminders are off.")
        assert reminders_of(app, email) is False
        check_page(page, "account-reminders-off")
        page.locator("#reminders").get_by_role("button", name="Turn reminders on").click()
        expect(page.locator("#reminders-state")).to_have_text("Reminders are on.")
        assert reminders_of(app, email) is True


def test_other_roles_have_no_reminders_card(browser, server):
    with as_role(browser, server, "coach") as page:
        page.goto(server + "/account")
        expect(page.get_by_role("heading", name="Your account")).to_be_visible()
        expect(page.locator("#reminders")).to_have_count(0)


def test_the_admin_turns_an_athletes_reminders_off_on_the_athletes_list(app, browser,
                                                                        server):
    email = DEMO_LOGINS["athlete"][0]
    with as_role(browser, server, "admin", viewport=PHONE) as page:
        page.goto(server + "/admin/athletes")
        page.get_by_label("Find by name or email").fill(email)
        page.get_by_role("button", name="Search").click()
        row = page.locator("li.list__item", has_text=email)
        expect(row).to_contain_text("reminders on")
        check_page(page, "admin-athletes-reminders")
        assert sideways_overflow(page) == 0
        row.get_by_role("button", name="Reminders off").click()
        expect(page.get_by_text("Reminders for Mara Runner are off.")).to_be_visible()
        expect(page.locator("li.list__item", has_text=email)).to_contain_text("reminders off")
        assert reminders_of(app, email) is False
        # the search is kept: the list still shows only the athlete
        expect(page.get_by_label("Find by name or email")).to_have_value(email)
