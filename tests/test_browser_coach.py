"""The coach's journey in a real browser (Debian's Chromium, Playwright) against the demo
clinic under a real HTTP server, on a 360-px phone: sign in, open the team, invite a new
athlete (no mail configured: the link to hand over), plan a team event, book the whole
team from its board in one click; then the team's athlete signs in and finds the session
on their own page. Every page: axe-core, no sideways scroll, a screenshot."""

from __future__ import annotations

import re

from browser import *  # noqa: F403
from browser import DESKTOP, PHONE, as_role, check_page, expect, sideways_overflow

pytestmark = browser_marks  # noqa: F405

TEAM = "Havelland Running Club"


def checked(page, name: str) -> None:
    check_page(page, name)
    assert sideways_overflow(page) == 0, name


def test_a_coach_books_the_team_in_a_few_clicks(browser, server):
    with as_role(browser, server, "coach", viewport=PHONE) as page:
        expect(page).to_have_url(server + "/teams")
        expect(page.get_by_role("heading", name="Your teams")).to_be_visible()
        checked(page, "coach-teams")

        page.get_by_role("link", name=TEAM).click()
        expect(page.get_by_role("heading", name=TEAM)).to_be_visible()
        expect(page.get_by_text("Havelland Relay: board")).to_be_visible()  # the demo's
        checked(page, "coach-team")

        invite = page.locator("form[action$='/invitations']")
        invite.get_by_label("Name").fill("Nina Kraus")
        invite.get_by_label("Email").fill("nina.kraus@athletes.example")
        invite.get_by_label("Sport").select_option("triathlon")
        invite.get_by_role("button", name="Invite athlete").click()
        expect(page.get_by_text("give them the invitation link below")).to_be_visible()
        link = page.get_by_label("Link to copy").input_value()
        assert re.search(r"/invitation/[\w-]+$", link), link
        expect(page.get_by_role("button", name="Copy link")).to_be_visible()  # coach.js
        expect(page.locator(".roster").get_by_text("Nina Kraus", exact=True)).to_be_visible()
        checked(page, "coach-team-invited")

        plan = page.locator("form[action$='/events']")
        plan.get_by_label("Event name").fill("Spree Cup")
        plan.get_by_label("Date").fill("2027-02-21")
        plan.get_by_label("Start time").fill("09:30")
        plan.get_by_label("Finish time").fill("12:00")
        plan.get_by_role("button", name="Plan event and open its board").click()
        expect(page).to_have_url(re.compile(r"/teams/\d+/events/\d+/board$"))
        expect(page.get_by_role("heading", name="Spree Cup: the team's board")).to_be_visible()
        expect(page.get_by_text("Sun 21 Feb 2027")).to_be_visible()
        proposed = page.locator(".board__cell--proposed").count()
        assert proposed == 8, "four athletes, a pre-race and a recovery session each"
        checked(page, "coach-board")

        page.get_by_role("button", name=re.compile(r"^Book all")).click()
        expect(page.get_by_text("Booked 8 sessions for 4 athletes")).to_be_visible()
        assert page.locator(".board__cell--booked").count() == 8
        expect(page.get_by_text("Nothing left to book")).to_be_visible()
        checked(page, "coach-board-booked")
        mara = page.locator("tr", has_text="Mara Runner")
        therapists = [w.removeprefix("with ") for w in
                      mara.locator(".board__who").all_inner_texts()]  # pre, recovery

        page.set_viewport_size(DESKTOP)  # the board as a table
        checked(page, "coach-board-booked-desktop")
        page.get_by_role("link", name=TEAM).click()
        page.get_by_role("link", name="Havelland Relay: board").click()
        expect(page.get_by_role("heading", name=re.compile("Havelland Relay"))).to_be_visible()
        checked(page, "coach-board-demo")

    with as_role(browser, server, "athlete", viewport=PHONE) as page:
        page.goto(server + "/season")
        # The sessions the coach booked, in her list of sessions, with the board's therapist.
        for kind, therapist in zip(("Pre-race session", "Recovery session"), therapists,
                                   strict=True):
            session = page.locator("li", has_text=f"{kind}: Spree Cup")
            expect(session).to_have_count(1)
            expect(session).to_contain_text(therapist)


def test_without_javascript_the_coach_books_the_demo_relay(browser, server):
    """The core flow is plain forms: the demo team's relay booked from its board."""
    with as_role(browser, server, "coach", javascript=False, viewport=PHONE) as page:
        page.get_by_role("link", name=TEAM).click()
        expect(page.get_by_role("button", name="Copy address")).to_be_hidden()
        page.get_by_role("link", name="Havelland Relay: board").click()
        assert page.locator(".board__cell--proposed").count() == 6  # three athletes
        page.get_by_role("button", name=re.compile(r"^Book all")).click()
        expect(page.get_by_text("Booked 6 sessions for 3 athletes")).to_be_visible()
        assert page.locator(".board__cell--booked").count() == 6
        assert sideways_overflow(page) == 0
