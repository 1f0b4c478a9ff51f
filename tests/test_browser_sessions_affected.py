"""Changes over booked sessions in a real browser (Debian's Chromium, Playwright) against
the app with the demo clinic under a real HTTP server: the demo athlete books a pre-race
session with Ana; Ana takes that weekday out of her hours, sees the session first, and
chooses to cancel it (the athlete told); the athlete sees it cancelled on her season.
Then she books again and her race moves a week (the API, without move_bookings): her
season and session pages warn that the session no longer fits the race's new dates.
The time-off and day-change pages show such sessions first too, and keep them. Every
page is checked (axe, a 360-px phone without sideways scroll, a screenshot)."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from browser import *  # noqa: F403
from browser import PHONE, as_role, check_page, expect, sideways_overflow

pytestmark = browser_marks  # noqa: F405

BERLIN = ZoneInfo("Europe/Berlin")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WARNING = "This session no longer fits Havelland Marathon's new dates: move it or cancel it"


def book_pre(page, server: str, therapist: str = "") -> tuple[str, str]:
    """Book a pre-race session for the marathon from the season; (booking URL, start)."""
    page.goto(server + "/season")
    page.get_by_role("link", name="Havelland Marathon").first.click()
    expect(page.get_by_role("heading", name="Havelland Marathon", level=1)).to_be_visible()
    event_url = page.url
    page.get_by_role("button", name=re.compile(rf"^Book pre.*with {therapist}")).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("is booked")
    start = page.locator(".details time").first.get_attribute("datetime")
    return event_url, start


def checked(page, name: str) -> None:
    check_page(page, name)
    assert sideways_overflow(page) == 0


def test_hours_over_a_session_cancel_it_and_a_race_move_flags_one(browser, server, api):
    with as_role(browser, server, "athlete", viewport=PHONE) as page:
        event_url, start = book_pre(page, server, "Ana Ruiz")
    local = datetime.fromisoformat(start.replace("Z", "+00:00")).astimezone(BERLIN)
    day = DAYS[local.weekday()]

    with as_role(browser, server, "therapist", viewport=PHONE) as page:
        page.goto(server + "/hours")
        for field in page.locator(f'input[name^="{day}-"]').all():
            field.fill("")
        page.get_by_role("button", name="Save hours").click()
        alert = page.locator("#affected")
        expect(alert).to_contain_text(re.compile(r"booked sessions? would fall outside these "
                                                 r"hours"))
        expect(alert).to_contain_text(f"{local:%a} {local.day} {local:%b %Y %H:%M}")
        expect(alert).to_contain_text("Mara Runner")
        checked(page, "affected-hours")
        page.get_by_role("button", name=re.compile(
            r"^Save and cancel (this session|these sessions) \(athletes told\)")).click()
        expect(page.get_by_text("The affected sessions are cancelled")).to_be_visible()
        checked(page, "affected-hours-cancelled")

    with as_role(browser, server, "athlete", viewport=PHONE) as page:
        page.goto(server + "/season")
        cancelled = page.locator(".session--cancelled").first
        expect(cancelled).to_contain_text("Havelland Marathon")
        expect(cancelled).to_contain_text("Cancelled")
        checked(page, "affected-athlete-season")

        _, _ = book_pre(page, server)
        session_url = page.url
        event_id = int(event_url.rstrip("/").rsplit("/", 1)[1])
        moved = api.patch(f"/api/v1/events/{event_id}", {
            "start": "2027-02-21T09:00", "end": "2027-02-21T13:15"})
        assert moved.status_code == 200, moved.get_json()
        assert [b["flag"] for b in moved.get_json()["flagged_bookings"]] == ["outside-window"]

        page.goto(server + "/season")
        expect(page.get_by_text(WARNING)).to_be_visible()
        checked(page, "race-move-flag-season")
        page.goto(session_url)
        expect(page.get_by_role("alert")).to_contain_text(WARNING)
        checked(page, "race-move-flag-session")


LENA_PRE = "2027-02-04"  # the demo's Thu 4 Feb 2027 10:30 pre session of Lena with Ana


def test_time_off_and_a_day_change_show_the_sessions_and_keep_them(browser, server):
    with as_role(browser, server, "therapist", viewport=PHONE) as page:
        page.goto(server + "/time-off")
        page.get_by_label("First day", exact=True).fill(LENA_PRE)
        page.get_by_role("button", name="Add time off").click()
        alert = page.locator("#affected")
        expect(alert).to_contain_text("Thu 4 Feb 2027 10:30")
        expect(alert).to_contain_text("Lena Hoffmann")
        checked(page, "affected-time-off")
        expect(page.get_by_label("First day", exact=True)).to_have_value(LENA_PRE)
        page.get_by_role("button", name=re.compile(r"^Add and keep")).click()
        expect(page.get_by_text("Time off added from Thu 4 Feb 2027")).to_be_visible()

        page.goto(server + "/day-changes")
        page.get_by_label("Date").fill(LENA_PRE)
        page.get_by_label("Closed all day").check()
        page.get_by_role("button", name="Save the day").click()
        alert = page.locator("#affected")
        expect(alert).to_contain_text("would fall outside the hours of that day")
        expect(alert).to_contain_text("Lena Hoffmann")
        checked(page, "affected-day-change")
        page.get_by_role("button", name=re.compile(r"^Save and keep")).click()
        expect(page.get_by_text("Thu 4 Feb 2027: closed instead of your weekly hours."
                                )).to_be_visible()
