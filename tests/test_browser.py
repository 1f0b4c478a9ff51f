"""The athlete's journey in a real browser (Debian's Chromium driven by Playwright) against
the app served over HTTP, both backends, with and without JavaScript: sign in as the demo
athlete, plan a race, book the best pre-race slot, download the invite and read it back,
move the session, cancel it and find it marked on the season page, answer the screening.
Every page is checked at phone and desktop size (axe, no sideways scroll, screenshot)."""

from __future__ import annotations

import re
from datetime import UTC

import icalendar
import pytest
from browser import *  # noqa: F403
from browser import DESKTOP, PHONE, check_page, expect, shot, sideways_overflow, sign_in
from pageutil import DEMO_LOGINS

pytestmark = browser_marks  # noqa: F405


def check_sizes(page, name: str, javascript: bool) -> None:
    """check_page at phone and desktop size (axe needs JavaScript: without it, the
    screenshot), and neither size scrolls sideways."""
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(viewport)
        if javascript:
            check_page(page, f"athlete-{name}-{size}")
        else:
            shot(page, f"athlete-{name}-{size}-no-js")
        assert sideways_overflow(page) == 0, f"{name} scrolls sideways at {size} size"


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_the_athletes_journey(browser, server, api, javascript):
    context = browser.new_context(java_script_enabled=javascript, viewport=DESKTOP,
                                  timezone_id="America/Denver", accept_downloads=True)
    page = context.new_page()
    try:
        _journey(page, server, api, javascript)
    finally:
        context.close()


def _journey(page, server: str, api, javascript: bool) -> None:
    sign_in(page, server, *DEMO_LOGINS["athlete"])
    expect(page.get_by_role("heading", name="My season")).to_be_visible()
    zone = page.get_by_label("Time zone")
    # The browser's zone with JavaScript; the athlete's own without.
    expect(zone).to_have_value("America/Denver" if javascript else "Europe/Berlin")
    check_sizes(page, "season", javascript)

    page.get_by_label("Race or ride").fill("Spring 10K")
    page.get_by_label("Date", exact=True).fill("2027-03-14")
    page.get_by_label("Start time").fill("10:00")
    page.get_by_label("Finish time").fill("11:00")
    zone.fill("Europe/Berlin")
    page.get_by_label("Sport").select_option("running")
    page.get_by_role("button", name="Find slots").click()

    expect(page).to_have_url(re.compile(r"/events/\d+$"))
    event_id = int(page.url.rsplit("/", 1)[1])
    pre = page.locator("section.window--pre")
    expect(pre).to_contain_text("Thu 11 Mar 2027 through Fri 12 Mar 2027 (Europe/Berlin)")
    expect(page.locator("section.window--post")).to_contain_text(
        "Sun 14 Mar 2027 12:00 through Wed 17 Mar 2027 (Europe/Berlin)")
    expect(pre.locator("h4.slot-day").first).to_contain_text("Thu 11 Mar 2027 (Europe/Berlin)")
    check_sizes(page, "event", javascript)

    proposals = api.get(f"/api/v1/events/{event_id}/proposals?limit=8").get_json()
    best = pre.locator("li.slot--best")
    expect(best).to_have_count(1)
    assert best.locator("input[name=start]").input_value() == proposals["pre"][0]["start"]
    best.get_by_role("button", name=re.compile(r"^Book")).click()

    expect(page).to_have_url(re.compile(r"/bookings/\d+$"))
    booking_id = int(page.url.rsplit("/", 1)[1])
    expect(page.get_by_role("heading", name="Your pre-race session is booked")).to_be_visible()
    expect(page.get_by_text("you can move or cancel this session until")).to_be_visible()
    booking = api.get(f"/api/v1/bookings/{booking_id}").get_json()
    assert booking["start"] == proposals["pre"][0]["start"]
    for name, host in (("Google Calendar", "calendar.google.com"),
                       ("Outlook", "outlook.live.com")):
        assert host in page.get_by_role("link", name=name).get_attribute("href")
    subscribe = page.get_by_role("link", name="Subscribe to all my sessions")
    assert subscribe.get_attribute("href").startswith("webcal://127.0.0.1:")
    check_sizes(page, "booking", javascript)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the invite (.ics)").click()
    invite = icalendar.Calendar.from_ical(download.value.path().read_bytes())
    [vevent] = invite.walk("VEVENT")
    assert str(vevent["UID"]) == booking["uid"]
    assert vevent.decoded("DTSTART").astimezone(UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ") == booking["start"]

    move = page.locator("form[action$='/reschedule']").last
    target = move.locator("input[name=start]").input_value()
    move.get_by_role("button", name=re.compile(r"^Move here")).click()
    expect(page.get_by_text("Your session was moved")).to_be_visible()
    moved = api.get(f"/api/v1/bookings/{booking_id}").get_json()
    assert (moved["start"], moved["sequence"], moved["uid"]) == (target, 1, booking["uid"])

    page.get_by_role("button", name="Cancel this session").click()
    expect(page.get_by_role("heading", name="This pre-race session was cancelled")).to_be_visible()
    assert api.get(f"/api/v1/bookings/{booking_id}").get_json()["status"] == "cancelled"
    check_sizes(page, "booking-cancelled", javascript)

    page.get_by_role("link", name="My season").first.click()
    cancelled = page.locator("li.session--cancelled")
    expect(cancelled).to_contain_text("Pre-race session: Spring 10K")
    expect(cancelled).to_contain_text("Cancelled")
    expect(page.locator(".tl-list")).to_contain_text("Spring 10K")

    page.get_by_role("link", name="Screening").click()
    expect(page.get_by_role("heading", name="Screening before needling")).to_be_visible()
    expect(page.get_by_text("Not answered yet")).to_be_visible()
    check_sizes(page, "screening", javascript)
    page.get_by_role("group", name="Fear of needles").get_by_label("Applies to me").check()
    page.get_by_role("group", name="Diabetes").get_by_label("Does not apply").check()
    page.get_by_role("button", name="Save my answers").click()
    expect(page.get_by_text("Answered: awaiting your therapist's review")).to_be_visible()
    athlete_id = api.get(f"/api/v1/bookings/{booking_id}").get_json()["athlete_id"]
    answers = api.get(f"/api/v1/athletes/{athlete_id}/screening").get_json()["answers"]
    assert (answers["needle_fear"], answers["diabetes"], answers["pacemaker"]) == (
        True, False, None)
