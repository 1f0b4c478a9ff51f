"""Race calendars in a real browser (Debian's Chromium, Playwright) against the app with
the demo clinic under a real HTTP server: the demo athlete follows the season page's link
to the race calendar page and uploads a race series' calendar (our fixture); the races
appear on the season page, marked as coming from the calendar. She books a pre-race
session for one race and a recovery session for another, then uploads the series' second
version: the first race moved a week and her session followed it into the new window;
the second race left the calendar and is kept, marked, because it has a session. Every
page is checked (axe, a 360-px phone without sideways scroll, a screenshot)."""

from __future__ import annotations

import re
from pathlib import Path

from browser import *  # noqa: F403
from browser import PHONE, as_role, check_page, expect, sideways_overflow

pytestmark = browser_marks  # noqa: F405

FIXTURES = Path(__file__).parent / "fixtures" / "race_calendars"
GRAVEL = "Alpine Bike Cup #2 - Gravel Classic Chur"
TRAIL = "Alpine Bike Cup #5 - Trail Run Arosa"


def checked(page, name: str) -> None:
    check_page(page, name)
    assert sideways_overflow(page) == 0


def upload(page, server: str, name: str) -> None:
    page.goto(server + "/season/race-calendar")
    page.get_by_label("Race calendar file (.ics)").set_input_files(str(FIXTURES / name))
    page.get_by_role("button", name="Import races").click()


def book(page, server: str, race: str, kind: str) -> tuple[str, str]:
    """Book the first slot of `kind` ("pre" or "recovery") for the race from the season;
    (the session page's URL, its start)."""
    page.goto(server + "/season")
    page.get_by_role("link", name=race).first.click()
    expect(page.get_by_role("heading", name=race, level=1)).to_be_visible()
    page.get_by_role("button", name=re.compile(rf"^Book {kind}")).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("is booked")
    return page.url, page.locator(".details time").first.get_attribute("datetime")


def test_races_come_from_the_calendar_and_sessions_follow_a_moved_race(browser, server):
    with as_role(browser, server, "athlete", viewport=PHONE) as page:
        page.goto(server + "/season")
        page.get_by_role("link", name="Import your races from a race calendar").click()
        expect(page.get_by_role("heading", name="Your race calendar", level=1)).to_be_visible()
        checked(page, "race-calendar-empty")

        upload(page, server, "alpine_bike_cup_2027.ics")
        expect(page.get_by_text("Race calendar imported: 4 new, 0 changed, 0 removed, "
                                "0 unchanged.")).to_be_visible()
        expect(page.get_by_text(re.compile(r"Last synced .*: 5 races in the calendar"))) \
            .to_be_visible()
        checked(page, "race-calendar-imported")

        page.goto(server + "/season")
        races = page.locator("#events-title + .list")
        for race in ("Lenzerheide XCO", "Gravel Classic Chur", "Engadin Stage Race",
                     "Trail Run Arosa"):
            expect(races).to_contain_text(race)
        expect(races).not_to_contain_text("Davos Night Sprint")  # cancelled
        expect(races.get_by_text("From your race calendar")).to_have_count(4)
        checked(page, "race-calendar-season")

        session_url, before = book(page, server, GRAVEL, "pre")
        assert "2027-05-18T22:00:00Z" <= before < "2027-05-20T22:00:00Z"  # Wed 19, Thu 20
        book(page, server, TRAIL, "recovery")

        upload(page, server, "alpine_bike_cup_2027_v2.ics")
        expect(page.get_by_text("Race calendar imported: 0 new, 1 changed, 1 removed, "
                                "2 unchanged.")).to_be_visible()

        page.goto(session_url)  # the same session, in the moved race's new window
        after = page.locator(".details time").first.get_attribute("datetime")
        assert "2027-05-25T22:00:00Z" <= after < "2027-05-27T22:00:00Z", after
        checked(page, "race-calendar-session-moved")

        page.goto(server + "/season")
        races = page.locator("#events-title + .list")
        expect(races).to_contain_text("Gravel Classic Chur (new date)")
        kept = races.locator("li", has_text="Trail Run Arosa")
        expect(kept).to_contain_text("No longer in your race calendar")
        checked(page, "race-calendar-season-removed")
