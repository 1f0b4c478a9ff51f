"""One role cannot open another's pages, in a real browser (Debian's Chromium, Playwright)
against the demo clinic under a real HTTP server: each demo role signed in through the
form opens the other roles' main pages (and another athlete's session, another
therapist's week) and gets the refusal page, with nothing of the page it asked for; the
refusal page itself is accessible and fits a phone. (Who may use each route, API and
pages, in one table: tests/test_authz_matrix.py.)"""

from __future__ import annotations

import re

from browser import *  # noqa: F403
from browser import PHONE, as_role, check_page, expect, sideways_overflow
from pageutil import DEMO_LOGINS

pytestmark = browser_marks  # noqa: F405

# Each role's own main page and what only it shows (its heading).
MAIN = {"athlete": ("/season", "My season"), "coach": ("/teams", "Your teams"),
        "therapist": ("/week", "Your week"), "admin": ("/admin", "athlete_sched demo clinic")}
# The other roles' main pages each role is refused (an admin opens the coach's and the
# therapist's pages for any team or therapist, not an athlete's season).
REFUSED = {"athlete": ("coach", "therapist", "admin"), "coach": ("athlete", "therapist", "admin"),
           "therapist": ("athlete", "coach", "admin"), "admin": ("athlete",)}


def demo_ids(app) -> tuple[int, int]:
    """A demo session of an athlete other than the demo athlete, and a therapist other
    than the demo therapist."""
    from athlete_sched.db.models import Athlete, Booking, Therapist
    from athlete_sched.extensions import db

    with app.app_context():
        booking = db.session.scalar(
            db.select(Booking.id).join(Athlete, Athlete.id == Booking.athlete_id)
            .where(Athlete.email != DEMO_LOGINS["athlete"][0]).order_by(Booking.id))
        therapist = db.session.scalar(
            db.select(Therapist.id).where(Therapist.email != DEMO_LOGINS["therapist"][0])
            .order_by(Therapist.id))
        db.session.rollback()
    return booking, therapist


def refused(page, server: str, path: str, status: int, heading: str | None = None) -> None:
    answer = page.goto(server + path)
    assert answer is not None and answer.status == status, (path, answer and answer.status)
    expect(page.get_by_role("heading", name="Something is not right")).to_be_visible()
    if heading is not None:  # nothing of the page asked for
        expect(page.get_by_role("heading", name=heading, exact=True)).to_have_count(0)


def test_no_role_opens_another_roles_pages(app, browser, server):
    booking_id, therapist_id = demo_ids(app)
    for role, others in REFUSED.items():
        with as_role(browser, server, role, viewport=PHONE) as page:
            path, heading = MAIN[role]
            page.goto(server + path)
            expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
            for other in others:
                refused(page, server, MAIN[other][0], 403, MAIN[other][1])
                expect(page.get_by_text("This page is for another role")).to_be_visible()
            check_page(page, f"refused-{role}")
            assert sideways_overflow(page) == 0
            # a session's page is its own athlete's alone: another athlete's is not found
            refused(page, server, f"/bookings/{booking_id}",
                    404 if role == "athlete" else 403)
            if role == "therapist":  # another therapist's week and hours: not found
                refused(page, server, f"/week?therapist_id={therapist_id}", 404, "Your week")
                refused(page, server, f"/hours?therapist_id={therapist_id}", 404)


def test_a_slot_across_midnight_fits_a_phone(browser, server):
    """Regression (issue 12: a slot crossing midnight made the phone page 15 px too wide): a
    race in Tokyo, the Berlin therapists' afternoon slots end after midnight there; the
    race page says so with the day and both zones, and does not scroll sideways."""
    with as_role(browser, server, "athlete", viewport=PHONE) as page:
        page.get_by_label("Race or ride").fill("Tokyo Night Run")
        page.get_by_label("Date", exact=True).fill("2027-02-27")
        page.get_by_label("Start time").fill("23:45")
        page.get_by_label("Time zone").fill("Asia/Tokyo")
        page.get_by_role("button", name="Find slots").click()
        pre = page.locator("section.window--pre")
        across = pre.locator("li", has_text=re.compile(r"\d\d:\d\d – Thu 25 Feb 2027 00:"))
        expect(across.first).to_be_visible()
        expect(across.first).to_contain_text("Therapist's time: Wed 24 Feb 2027")
        expect(across.first).to_contain_text("(Europe/Berlin)")
        expect(pre.locator("h4.slot-day").first).to_have_text("Wed 24 Feb 2027 (Asia/Tokyo)")
        check_page(page, "athlete-slot-across-midnight-phone")
        assert sideways_overflow(page) == 0
