"""The admin's journey in a real browser (Debian's Chromium, Playwright) against the app
under a real HTTP server: sign in as the demo admin, add a therapist (whose invitation
link, with mail off, is shown to pass on, and works), change a setting and see it take
effect, hand the background jobs to the worker, and open the API docs page, where
Swagger UI (vendored) renders the API's operations without asking another host for
anything. Each admin page gets check_page
(axe + screenshot) and the phone's width check."""

from __future__ import annotations

import re

from browser import *  # noqa: F403
from browser import PHONE, as_role, axe_violations, check_page, expect, shot, sideways_overflow

pytestmark = browser_marks  # noqa: F405

ADMIN_PAGES = [("Clinic", "admin-home"), ("Therapists", "admin-therapists"),
               ("Athletes", "admin-athletes"), ("Teams", "admin-teams"),
               ("Users", "admin-users"), ("Settings", "admin-settings"),
               ("Background work", "admin-jobs")]


def test_every_admin_page_is_accessible_and_fits_a_phone(browser, server):
    with as_role(browser, server, "admin", viewport=PHONE) as page:
        for label, name in ADMIN_PAGES:
            page.goto(server + "/admin")
            page.get_by_role("navigation", name="Main").get_by_role("link", name=label,
                                                                     exact=True).click()
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            check_page(page, name)
            assert sideways_overflow(page) == 0, name


def test_admin_hands_the_jobs_to_the_worker(browser, server):
    """The background work page lists the jobs; "Run the jobs now" runs them (the test
    server's queue runs each where it is asked for) and says so."""
    with as_role(browser, server, "admin", viewport=PHONE) as page:
        page.goto(server + "/admin")
        page.get_by_role("link", name="Background work").first.click()
        expect(page.get_by_role("heading", name="Jobs")).to_be_visible()
        for job in ("reminders", "waitlist", "race-calendars", "mail"):
            expect(page.locator(".jobs")).to_contain_text(job)
        page.get_by_role("button", name="Run the jobs now").click()
        expect(page.get_by_text("Handed to the worker now")).to_be_visible()
        expect(page.locator("#mail-waiting")).to_contain_text("0 messages waiting")
        check_page(page, "admin-jobs-run")
        assert sideways_overflow(page) == 0


def test_admin_adds_a_therapist_who_accepts_the_invitation(browser, server):
    with as_role(browser, server, "admin") as page:
        page.goto(server + "/admin/therapists")
        page.get_by_label("Name").fill("Lena Vogt")
        page.get_by_label("Email").fill("not an email")
        page.get_by_role("button", name="Add and invite").click()
        expect(page.get_by_text("The therapist was not added.")).to_be_visible()
        expect(page.get_by_label("Name")).to_have_value("Lena Vogt")
        check_page(page, "admin-therapists-refused")
        page.get_by_label("Email").fill("lena.vogt@clinic.example")
        page.get_by_label("Time zone").select_option("Europe/Vienna")
        page.get_by_role("button", name="Add and invite").click()
        expect(page.get_by_text("Lena Vogt is added as a therapist.")).to_be_visible()
        item = page.locator("li", has_text="lena.vogt@clinic.example")
        expect(item).to_contain_text("invited")
        link = page.locator("#handover-link").inner_text()
    with as_role(browser, server, None) as page:
        page.goto(link)
        page.get_by_label("New password", exact=True).fill("lena-password-1")
        page.get_by_label("Repeat the new password").fill("lena-password-1")
        page.get_by_role("button", name="Set my password").click()
        page.get_by_label("Email").fill("lena.vogt@clinic.example")
        page.get_by_label("Password").fill("lena-password-1")
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator(".site-header")).to_contain_text("Lena Vogt")
        expect(page.locator(".site-header .tag")).to_have_text("therapist")


def test_a_setting_takes_effect_and_the_api_docs_render(browser, server):
    with as_role(browser, server, "admin") as page:
        page.goto(server + "/admin/settings")
        page.get_by_label("Clinic name").fill("Spree Valley Physio")
        page.get_by_label("Cancellation notice (hours)").fill("5000")
        page.get_by_role("button", name="Save settings").click()
        expect(page.get_by_text("The settings were not saved.")).to_be_visible()
        expect(page.get_by_label("Clinic name")).to_have_value("Spree Valley Physio")
        page.get_by_label("Cancellation notice (hours)").fill("48")
        page.get_by_role("button", name="Save settings").click()
        expect(page.get_by_text("The clinic's settings are saved")).to_be_visible()
        expect(page).to_have_title(re.compile("Spree Valley Physio$"))
        expect(page.locator(".facts")).to_contain_text("48 hours")
    with as_role(browser, server, "athlete") as page:
        expect(page.locator(".site-footer")).to_contain_text("Spree Valley Physio")
        hosts: set[str] = set()
        page.on("request", lambda r: hosts.add(re.sub(r"^\w+://([^/]+).*$", r"\1", r.url)))
        page.get_by_role("link", name="API", exact=True).click()
        expect(page.get_by_role("heading", name="The JSON API")).to_be_visible()
        operations = page.locator("#swagger-ui .opblock")
        expect(operations.first).to_be_visible(timeout=15000)
        assert operations.count() > 20
        expect(page.locator("#swagger-ui")).to_contain_text("/api/v1/bookings")
        assert hosts == {server.split("://")[1]}, hosts
        shot(page, "api-docs")
        # No serious or critical violation, Swagger UI's part included: static/api-docs.css
        # fixes its colour contrast, static/api-docs.js turns deep links off (each would
        # be a link inside the operation's button: nested-interactive) and names its
        # servers <select> (select-name).
        assert axe_violations(page) == []
        # an operation opened: its parameters, responses and schemas as well
        page.locator("#swagger-ui .opblock-summary-control").first.click()
        expect(page.locator("#swagger-ui .opblock-body").first).to_be_visible()
        assert axe_violations(page) == []
