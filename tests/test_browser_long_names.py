"""Long names on a 360-px phone, in a real browser (Debian's Chromium, Playwright) against
the demo clinic under a real HTTP server: a race, a token, a team and a site named with
one long word (German makes them) each wrap inside the page instead of widening it; no
page that shows them scrolls sideways."""

from __future__ import annotations

from browser import *  # noqa: F403
from browser import PHONE, as_role, expect, sideways_overflow

pytestmark = browser_marks  # noqa: F405

WORD = "Donaudampfschifffahrtsgesellschaftskapitänsstaffellauf"  # 55 letters, one word


def fits(page, *paths: str, server: str) -> None:
    for path in paths:
        if path:
            page.goto(server + path)
        expect(page.locator("main")).to_contain_text(WORD)
        assert sideways_overflow(page) == 0, page.url


def test_a_long_word_in_a_name_wraps_on_a_phone(browser, server):
    with as_role(browser, server, "athlete", viewport=PHONE) as page:
        page.get_by_label("Race or ride").fill(WORD)
        page.get_by_label("Date", exact=True).fill("2027-03-14")
        page.get_by_label("Time zone").fill("Europe/Berlin")
        page.get_by_role("button", name="Find slots").click()
        expect(page.get_by_role("heading", name=WORD, level=1)).to_be_visible()
        fits(page, "", "/season", server=server)
        page.goto(server + "/account")
        page.get_by_label("Token name").fill(WORD)
        page.get_by_role("button", name="Create token").click()
        fits(page, "", server=server)
    with as_role(browser, server, "coach", viewport=PHONE) as page:
        page.get_by_label("Team name").fill(WORD)
        page.get_by_role("button", name="Create team").click()
        fits(page, "", "/teams", server=server)
    with as_role(browser, server, "admin", viewport=PHONE) as page:
        page.goto(server + "/admin/sites")
        page.get_by_label("Site name").fill(WORD)
        page.get_by_label("Time zone").select_option("Europe/Berlin")
        page.get_by_role("button", name="Add site").click()
        fits(page, "", "/admin/teams", server=server)
