"""The therapist's journey in a real browser (Debian's Chromium, Playwright) against the app
under a real HTTP server with the demo clinic: sign in as the demo therapist, set the
weekly hours with a break, add time off, upload a busy calendar, open the week with a
session the athlete booked and their screening, record the review, and the athlete sees
the decision on their session's page. Every page passes axe and fits a 360-px phone."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from browser import *  # noqa: F403
from browser import PHONE, as_role, check_page, expect, sideways_overflow

from athlete_sched.db.models import Athlete, Event, Therapist
from athlete_sched.extensions import db
from athlete_sched.services import bookings, proposals, screening

pytestmark = browser_marks  # noqa: F405

BUSY_ICS = Path(__file__).parent / "fixtures" / "ics" / "google.ics"
BERLIN = ZoneInfo("Europe/Berlin")


def demo_session(app) -> tuple[int, str]:
    """The demo athlete books a pre-race session with the demo therapist (Ana Ruiz, her best
    slot for the Havelland Marathon) and answers the screening, through the services their
    pages use: (the booking's id, the Monday of its week in Berlin)."""
    with app.app_context():
        athlete = db.session.scalars(sa.select(Athlete).where(
            Athlete.email == "mara.runner@athletes.example")).one()
        ana = db.session.scalars(sa.select(Therapist).where(
            Therapist.email == "ana.ruiz@clinic.example")).one()
        event = db.session.scalars(sa.select(Event).where(
            Event.athlete_id == athlete.id, Event.name == "Havelland Marathon")).one()
        slot = proposals.propose(event, ("pre",), ana.id, None, 1).found["pre"][0]
        booking = bookings.book(event, ana, athlete.id, "pre", slot.start)
        screening.save_answers(athlete.id, {"blood_thinners": True, "pacemaker": False},
                               "I take aspirin")
        db.session.commit()
        found = booking.id, booking.start.astimezone(BERLIN).date()
    day = found[1]
    return found[0], (day - timedelta(days=day.weekday())).isoformat()


def phone_fits(page, name: str) -> None:
    """The page passes axe, and at 360 px wide has no sideways scroll."""
    check_page(page, name)
    page.set_viewport_size(PHONE)
    assert sideways_overflow(page) == 0, name
    check_page(page, name + "-phone")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_the_therapists_week_from_hours_to_the_review(app, browser, server):
    booking_id, monday = demo_session(app)
    with as_role(browser, server, "therapist") as page:
        # the hours: Wednesday 08:00-12:00 and 13:30-18:00, a break between
        page.get_by_role("link", name="Hours").click()
        expect(page.get_by_role("heading", name="Your working hours")).to_be_visible()
        phone_fits(page, "therapist-hours")
        page.get_by_label("Wednesday period 1: from").fill("08:00")
        page.locator("#wed-0-end").fill("12:00")
        page.get_by_label("Wednesday period 2: from").fill("13:30")
        page.locator("#wed-1-end").fill("11:00")  # a typo first: the end before the start
        page.get_by_role("button", name="Save hours").click()
        expect(page.get_by_text("The end must be after the start.")).to_be_visible()
        expect(page.locator("#wed-1-start")).to_have_value("13:30")  # kept as typed
        page.locator("#wed-1-end").fill("18:00")
        page.get_by_role("button", name="Save hours").click()
        expect(page.get_by_text("Your hours are saved.")).to_be_visible()
        expect(page.locator("#wed-1-start")).to_have_value("13:30")

        # time off: three whole days, the last one included
        page.get_by_role("link", name="Time off").click()
        phone_fits(page, "therapist-time-off")
        page.get_by_label("First day", exact=True).fill("2027-08-02")
        page.get_by_label("Last day (included)", exact=True).fill("2027-08-04")
        page.get_by_label("Reason (optional)").fill("Summer holiday")
        page.get_by_role("button", name="Add time off").click()
        expect(page.get_by_text("Mon 2 Aug 2027 – Wed 4 Aug 2027 (whole days)")).to_be_visible()
        phone_fits(page, "therapist-time-off-added")

        # the busy calendar: the export of the therapist's own calendar
        page.get_by_role("link", name="Busy calendar").click()
        phone_fits(page, "therapist-busy")
        page.get_by_label("Calendar file (.ics)").set_input_files(str(BUSY_ICS))
        page.get_by_role("button", name="Upload").click()
        expect(page.get_by_text("Calendar imported: 9 busy times block bookings.")).to_be_visible()
        expect(page.get_by_text("Last synced")).to_be_visible()
        phone_fits(page, "therapist-busy-uploaded")

        # the week with the athlete's session and their screening, then the review
        page.goto(f"{server}/week?start={monday}")
        expect(page.get_by_text("Mara Runner").first).to_be_visible()
        expect(page.get_by_text("Awaiting review").first).to_be_visible()
        expect(page.get_by_text("Blood thinners").first).to_be_visible()
        expect(page.get_by_text("Europe/Berlin").first).to_be_visible()
        phone_fits(page, "therapist-week")
        review = page.locator("article.review", has_text="Mara Runner")
        review.get_by_role("button", name="Record the decision").click()  # no choice yet
        expect(page.get_by_text("Choose “cleared” or “not cleared”.")).to_be_visible()
        review = page.locator("article.review", has_text="Mara Runner")
        review.get_by_label("Cleared for dry needling").check()
        review.get_by_label("Note for the athlete (optional)").fill("Aspirin is fine: "
                                                                   "expect some bruising.")
        review.get_by_role("button", name="Record the decision").click()
        expect(page.get_by_text("Your decision is recorded: Cleared for dry needling.")
               ).to_be_visible()
        expect(page.locator("article.review", has_text="Mara Runner")
               .locator(".state--cleared")).to_be_visible()
        phone_fits(page, "therapist-week-reviewed")
        feed = page.locator("#feed-url").input_value()
        page.get_by_role("button", name="Rotate: make a new address").click()
        expect(page.get_by_text("The feed has a new address.")).to_be_visible()
        assert page.locator("#feed-url").input_value() != feed

    with as_role(browser, server, "athlete") as page:
        page.goto(f"{server}/bookings/{booking_id}")
        expect(page.get_by_text("Cleared for dry needling")).to_be_visible()
        expect(page.get_by_text("Aspirin is fine: expect some bruising.")).to_be_visible()
        check_page(page, "athlete-sees-the-review")


def test_the_week_works_without_javascript(app, browser, server):
    _, monday = demo_session(app)
    with as_role(browser, server, "therapist", javascript=False, viewport=PHONE) as page:
        page.goto(f"{server}/week?start={monday}")
        page.get_by_role("link", name="Next week →").click()
        after = date.fromisoformat(monday) + timedelta(days=7)
        expect(page).to_have_url(f"{server}/week?start={after.isoformat()}")
        page.get_by_role("link", name="← Previous week").click()
        review = page.locator("article.review", has_text="Mara Runner")
        review.get_by_label("Not cleared").check()
        review.get_by_role("button", name="Record the decision").click()
        expect(page.get_by_text("Your decision is recorded: Not cleared.")).to_be_visible()
        assert sideways_overflow(page) == 0
