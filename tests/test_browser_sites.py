"""Sites and travel in a real browser (Debian's Chromium, Playwright) against the demo
clinic served over HTTP, both backends: the admin adds a site (a race tent nobody works
at yet); the demo athlete sets their home site, plans a race in Denver with the site near
the venue and their travel on the race form, and sees the slots at the Denver site named
with its address; a race whose venue site has no therapist says that travel is why a
window has no slot. Every new or changed page gets the axe check and fits a 360-px phone
without scrolling sideways."""

from __future__ import annotations

import re

from browser import *  # noqa: F403
from browser import PHONE, as_role, check_page, expect, sideways_overflow

pytestmark = browser_marks  # noqa: F405

TENT = "Boulder Race Tent"


def fits(page, name: str) -> None:
    """The checks of every page here: axe (and a screenshot), no sideways scroll on a
    phone."""
    check_page(page, f"sites-{name}")
    assert sideways_overflow(page) == 0, f"{name} scrolls sideways on a phone"


def plan_race(page, name: str, day: str, venue: str, depart: str, back: str) -> None:
    """Fill the season page's plan-a-race form for a race in Denver, with travel."""
    page.get_by_label("Race or ride").fill(name)
    page.get_by_label("Date", exact=True).fill(day)
    page.get_by_label("Start time").fill("07:00")
    page.get_by_label("Finish time").fill("09:30")
    page.get_by_label("Time zone").fill("America/Denver")
    page.get_by_label("Site near the venue (optional)").select_option(label=venue)
    page.get_by_label("Leave home (optional)").fill(depart)
    page.get_by_label("Back home (optional)").fill(back)
    page.get_by_role("button", name="Find slots").click()


def test_the_admin_adds_a_site_and_the_site_pages_fit_a_phone(browser, server):
    with as_role(browser, server, "admin", viewport=PHONE) as page:
        page.goto(server + "/admin")
        page.get_by_role("navigation", name="Main").get_by_role(
            "link", name="Sites", exact=True).click()
        expect(page.get_by_role("heading", name="Sites", level=1)).to_be_visible()
        expect(page.locator(".list")).to_contain_text("Berlin Mitte")
        expect(page.locator(".list")).to_contain_text("Denver Clinic")
        fits(page, "admin-sites")

        page.get_by_label("Site name").fill("")
        page.get_by_role("button", name="Add site").click()
        expect(page.get_by_text("The site was not added.")).to_be_visible()
        expect(page.get_by_text("Give the site a name.")).to_be_visible()
        fits(page, "admin-sites-refused")
        page.get_by_label("Site name").fill(TENT)
        page.get_by_label("Time zone").select_option("America/Denver")
        page.get_by_label("Address (optional)").fill("Folsom Field, Boulder")
        page.get_by_role("button", name="Add site").click()
        expect(page.get_by_text(f"The site {TENT} is added.")).to_be_visible()
        expect(page.locator(".list")).to_contain_text("Folsom Field, Boulder")

        page.get_by_role("link", name=f"Change {TENT}").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(TENT)
        fits(page, "admin-site")
        page.get_by_label("Address (optional)").fill("Folsom Field, 2400 Colorado Ave")
        page.get_by_role("button", name="Save site").click()
        expect(page.get_by_text(f"The site {TENT} is saved.")).to_be_visible()
        expect(page.locator(".list")).to_contain_text("2400 Colorado Ave")

        page.goto(server + "/admin/therapists")
        expect(page.locator(".list")).to_contain_text("works at Denver Clinic")
        fits(page, "admin-therapists")


def test_the_athlete_races_away_and_sees_where_each_slot_is(browser, server):
    with as_role(browser, server, "admin") as page:  # a tent near a venue, nobody there
        page.goto(server + "/admin/sites")
        page.get_by_label("Site name").fill(TENT)
        page.get_by_label("Time zone").select_option("America/Denver")
        page.get_by_role("button", name="Add site").click()
        expect(page.get_by_text(f"The site {TENT} is added.")).to_be_visible()

    with as_role(browser, server, "athlete", viewport=PHONE) as page:
        home = page.get_by_role("combobox", name="My home site")
        home.select_option(label="No home site yet")
        page.get_by_role("button", name="Save home site").click()
        expect(page.get_by_text("You have no home site now.")).to_be_visible()
        home.select_option(label="Berlin Mitte (Europe/Berlin)")
        page.get_by_role("button", name="Save home site").click()
        expect(page.get_by_text("Your home site is saved.")).to_be_visible()
        expect(page.get_by_role("region", name="My home site")).to_contain_text(
            "are at Berlin Mitte (Torstraße 140, 10119 Berlin)")
        fits(page, "season")

        # A return before the departure is refused, what was typed kept.
        plan_race(page, "Colorado Trail Run", "2027-02-13", "Denver Clinic (America/Denver)",
                  "2027-02-17T18:00", "2027-02-09T08:00")
        expect(page.get_by_text("You are back home after you leave")).to_be_visible()
        expect(page.get_by_label("Race or ride")).to_have_value("Colorado Trail Run")
        expect(page.get_by_label("Leave home (optional)")).to_have_value("2027-02-17T18:00")
        fits(page, "season-refused")

        page.get_by_label("Leave home (optional)").fill("2027-02-09T08:00")
        page.get_by_label("Back home (optional)").fill("2027-02-17T18:00")
        page.get_by_label("Site near the venue (optional)").select_option(
            label="Denver Clinic (America/Denver)")
        page.get_by_role("button", name="Find slots").click()
        expect(page).to_have_url(re.compile(r"/events/\d+$"))
        expect(page.locator(".page-head")).to_contain_text(
            "Sessions near the venue are at Denver Clinic")
        for kind in ("pre", "post"):
            slots = page.locator(f"section.window--{kind} li.slot")
            expect(slots.first).to_be_visible()
            for i in range(slots.count()):
                expect(slots.nth(i)).to_contain_text(
                    "at Denver Clinic, 1600 Wynkoop St, Denver, CO 80202")
                expect(slots.nth(i)).to_contain_text("with Kelsey Moreno")
        fits(page, "event-away")

        page.goto(server + "/season")
        plan_race(page, "Boulder Stadium Run", "2027-02-20", f"{TENT} (America/Denver)",
                  "2027-02-16T08:00", "2027-02-24T18:00")
        expect(page).to_have_url(re.compile(r"/events/\d+$"))
        expect(page.locator("li.slot")).to_have_count(0)
        expect(page.locator("section.window--pre")).to_contain_text(
            "Your travel leaves no time in the pre-race window at a site where you are")
        expect(page.locator("section.window--post")).to_contain_text(
            "Your travel leaves no time in the recovery window")
        fits(page, "event-travel-reason")


def test_the_therapist_and_coach_pages_name_the_sites_and_fit_a_phone(browser, server):
    with as_role(browser, server, "therapist", viewport=PHONE) as page:
        page.goto(server + "/hours")
        monday = page.locator("#day-mon")
        expect(monday.get_by_label("at", exact=True).first).to_have_value("")
        expect(monday.get_by_label("at", exact=True).first.locator("option").first).to_have_text(
            "My site (Berlin Mitte)")
        fits(page, "therapist-hours")
        page.goto(server + "/week?start=2027-02-01")
        expect(page.locator(".session__site").first).to_contain_text("At Berlin Mitte")
        fits(page, "therapist-week")
    with as_role(browser, server, "coach", viewport=PHONE) as page:
        page.get_by_role("link", name="Havelland Running Club").click()
        expect(page.get_by_label("Site near the venue (optional)")).to_be_visible()
        fits(page, "coach-team")
        page.get_by_role("link", name="Havelland Relay: board").click()
        expect(page.locator("table.board")).to_contain_text("at Berlin Mitte")
        fits(page, "coach-board")
