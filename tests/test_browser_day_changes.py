"""A race-weekend shift in a real browser (Debian's Chromium, Playwright) against the app
with the demo clinic under a real HTTP server: the demo therapist opens the day-changes
page, types a bad day (the form comes back with what was typed), adds a shift on the
Sunday of the Havelland Marathon (a day nobody works), and the demo athlete then sees a
recovery slot with her on race day; the therapist removes the shift and the slot is gone.
Every page is checked (axe, a 360-px phone without sideways scroll, a screenshot).

The services' clock is pinned (tests/conftest.py NOW, Mon 2027-01-04), so the demo's
marathon is on Sun 2027-02-07, 09:00-13:15 Berlin: its recovery window opens at 14:15."""

from __future__ import annotations

import re

from browser import *  # noqa: F403
from browser import PHONE, as_role, check_page, expect, sideways_overflow

pytestmark = browser_marks  # noqa: F405

RACE_DAY = "2027-02-07"
FIRST_SLOT = "2027-02-07T13:15:00Z"  # 14:15 Berlin: the shift's grid from 14:00, 15 min


def race_day_slot(page, server: str):
    """Mara's marathon page, opened from her season; the race-day slot's Book form."""
    page.goto(server + "/season")
    page.get_by_role("link", name="Havelland Marathon").first.click()
    expect(page.get_by_role("heading", name="Havelland Marathon", level=1)).to_be_visible()
    return page.locator(f'form:has(input[name="start"][value="{FIRST_SLOT}"])')


def test_a_race_day_shift_gives_the_athlete_a_slot_that_day(browser, server):
    with as_role(browser, server, "therapist", viewport=PHONE) as page:
        page.get_by_role("link", name="Day changes").click()
        expect(page.get_by_role("heading", name="Day changes", level=1)).to_be_visible()
        check_page(page, "day-changes")
        assert sideways_overflow(page) == 0
        page.get_by_label("Date").fill(RACE_DAY)
        page.get_by_label("From, period 1").fill("18:00")
        page.get_by_label("To, period 1").fill("14:00")
        page.get_by_role("button", name="Save the day").click()
        expect(page.get_by_text("The end must be after the start.")).to_be_visible()
        expect(page.get_by_label("Date")).to_have_value(RACE_DAY)
        expect(page.get_by_label("From, period 1")).to_have_value("18:00")
        check_page(page, "day-changes-invalid")
        assert sideways_overflow(page) == 0
        page.get_by_label("From, period 1").fill("14:00")
        page.get_by_label("To, period 1").fill("18:00")
        page.get_by_role("button", name="Save the day").click()
        expect(page.get_by_text("Sun 7 Feb 2027: 14:00–18:00 instead of your weekly hours."
                                )).to_be_visible()
        change = page.locator(".day-change").filter(has_text="Sun 7 Feb 2027")
        expect(change).to_contain_text("14:00–18:00 (Europe/Berlin)")
        expect(change).to_contain_text("Weekly hours that day: none")
        check_page(page, "day-changes-added")
        assert sideways_overflow(page) == 0

    with as_role(browser, server, "athlete", viewport=PHONE) as page:
        slot = race_day_slot(page, server)
        expect(slot).to_have_count(1)
        expect(slot).to_contain_text("14:15–15:00")
        expect(slot).to_contain_text("with Ana Ruiz")
        expect(slot.get_by_role("button")).to_have_accessible_name(
            re.compile(r"Sun 7 Feb 2027 14:15–15:00"))
        check_page(page, "day-changes-athlete-race")
        assert sideways_overflow(page) == 0

    with as_role(browser, server, "therapist") as page:
        page.goto(server + "/day-changes")
        page.get_by_role("button", name="Remove the change of Sun 7 Feb 2027").click()
        expect(page.get_by_text("Sun 7 Feb 2027: your weekly hours again.")).to_be_visible()

    with as_role(browser, server, "athlete") as page:
        expect(race_day_slot(page, server)).to_have_count(0)
