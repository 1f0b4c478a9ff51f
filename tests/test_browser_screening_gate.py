"""The screening gate in a real browser (Debian's Chromium, Playwright) against the demo
clinic under a real HTTP server: the therapist records "not cleared" on the week page; the
athlete's race page then says so and offers no Book button; the coach's board lists the
athlete as not placed, with the reason; the therapist clears; the athlete books. Every
page: axe-core, no sideways scroll at 360 px, a screenshot."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from browser import *  # noqa: F403
from browser import PHONE, as_role, check_page, expect, sideways_overflow

from athlete_sched.db.models import Athlete, Event, Team, Therapist
from athlete_sched.extensions import db
from athlete_sched.services import bookings, proposals, screening

pytestmark = browser_marks  # noqa: F405

BERLIN = ZoneInfo("Europe/Berlin")
MESSAGE = "Your therapist has not cleared you for dry needling yet"


def demo_world(app) -> dict[str, object]:
    """The demo athlete's pre-race session with the demo therapist (so the therapist may
    review her) and her answers; the ids and the week the pages need."""
    with app.app_context():
        athlete = db.session.scalars(sa.select(Athlete).where(
            Athlete.email == "mara.runner@athletes.example")).one()
        ana = db.session.scalars(sa.select(Therapist).where(
            Therapist.email == "ana.ruiz@clinic.example")).one()
        race = db.session.scalars(sa.select(Event).where(
            Event.athlete_id == athlete.id, Event.name == "Havelland Marathon")).one()
        relay = db.session.scalars(sa.select(Event).where(Event.name == "Havelland Relay")).one()
        team = db.session.get(Team, relay.team_id)
        slot = proposals.propose(race, ("pre",), ana.id, None, 1).found["pre"][0]
        booking = bookings.book(race, ana, athlete.id, "pre", slot.start)
        screening.save_answers(athlete.id, {"pacemaker": True}, "")
        db.session.commit()
        day = booking.start.astimezone(BERLIN).date()
        return {"race": race.id, "board": f"/teams/{team.id}/events/{relay.id}/board",
                "monday": (day - timedelta(days=day.weekday())).isoformat()}


def fits(page, name: str) -> None:
    """axe passes, and at 360 px the page has no sideways scroll."""
    check_page(page, name)
    page.set_viewport_size(PHONE)
    assert sideways_overflow(page) == 0, name
    page.set_viewport_size({"width": 1280, "height": 900})


def record(browser, server: str, monday: str, choice: str, said: str, name: str) -> None:
    with as_role(browser, server, "therapist") as page:
        page.goto(f"{server}/week?start={monday}")
        review = page.locator("article.review", has_text="Mara Runner")
        review.get_by_label(choice, exact=True).check()
        review.get_by_role("button", name="Record the decision").click()
        expect(page.get_by_text(f"Your decision is recorded: {said}.")).to_be_visible()
        fits(page, name)


def test_not_cleared_blocks_booking_on_every_page_until_cleared(app, browser, server):
    world = demo_world(app)
    race_url = f"{server}/events/{world['race']}"
    record(browser, server, world["monday"], "Not cleared", "Not cleared",
           "gate-therapist-not-cleared")

    with as_role(browser, server, "athlete") as page:
        page.goto(race_url)
        expect(page.get_by_text(MESSAGE)).to_be_visible()
        expect(page.get_by_role("button", name=re.compile(r"^Book"))).to_have_count(0)
        fits(page, "gate-athlete-race-not-cleared")

    with as_role(browser, server, "coach") as page:
        page.goto(server + world["board"])
        unplaced = page.locator("section[aria-labelledby='unplaced-title']")
        expect(unplaced.get_by_text("Mara Runner")).to_be_visible()
        expect(unplaced.get_by_text("Not cleared at the screening review")).to_be_visible()
        fits(page, "gate-coach-board-not-cleared")

    record(browser, server, world["monday"], "Cleared for dry needling",
           "Cleared for dry needling", "gate-therapist-cleared")

    with as_role(browser, server, "athlete") as page:
        page.goto(race_url)
        expect(page.get_by_text(MESSAGE)).to_have_count(0)
        page.get_by_role("button", name=re.compile(r"^Book")).first.click()
        expect(page).to_have_url(re.compile(r"/bookings/\d+$"))
        expect(page.get_by_text("Cleared for dry needling")).to_be_visible()
        fits(page, "gate-athlete-booked")
