"""The keyboard alone (issue 12, build point 7: every page usable by keyboard), in a real
browser (Debian's Chromium, Playwright) against the demo clinic under a real HTTP server:
the skip link comes first and jumps to the content, every element Tab reaches on the
athlete's pages shows where the focus is, and the athlete signs in, opens a race, books a
slot and cancels it with Tab, typing and Enter only."""

from __future__ import annotations

import pytest
from browser import *  # noqa: F403
from browser import DESKTOP, expect
from pageutil import DEMO_LOGINS

pytestmark = browser_marks  # noqa: F405

# The focused element, and whether it shows a focus indicator (an outline or the app's
# focus ring, a box shadow). Inside a date or time field, Tab also visits the browser's own
# controls (the calendar button): the field itself then has no :focus, and the browser
# draws that control's focus.
FOCUSED = """() => {
    const e = document.activeElement, s = getComputedStyle(e);
    const shown = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
                  || s.boxShadow !== 'none'
                  || (/^(date|time|datetime-local)$/.test(e.type) && !e.matches(':focus'));
    return {tag: e.tagName.toLowerCase(), name: e.getAttribute('name') || '',
            text: (e.innerText || e.value || '').trim().slice(0, 60),
            href: e.getAttribute('href') || '', shown: shown};
}"""


def tab_to(page, wanted, limit: int = 150) -> dict:
    """Press Tab until `wanted(focused)` holds (or the page's end); every element passed on
    the way must show its focus. Returns the focused element's description."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused["tag"] == "body":  # past the last element: the page's end
            assert wanted(focused), f"Tab never reached the element wanted on {page.url}"
            return focused
        assert focused["shown"], f"no visible focus on {focused} at {page.url}"
        if wanted(focused):
            return focused
    raise AssertionError(f"Tab never reached the element wanted on {page.url}")


def test_the_athlete_books_and_cancels_with_the_keyboard_alone(browser, server):
    email, password = DEMO_LOGINS["athlete"]
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    try:
        page.goto(server + "/sign-in")  # the email field has the focus
        assert page.evaluate(FOCUSED)["name"] == "email"
        page.keyboard.type(email)
        tab_to(page, lambda f: f["name"] == "password")
        page.keyboard.type(password)
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="My season", exact=True)).to_be_visible()
        first = tab_to(page, lambda f: True)
        assert first["text"] == "Skip to content", first
        page.keyboard.press("Enter")
        assert page.url.endswith("#main")

        tab_to(page, lambda f: f["tag"] == "a" and f["text"] == "Havelland Marathon")
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Havelland Marathon", level=1)).to_be_visible()
        book = tab_to(page, lambda f: f["tag"] == "button" and f["text"].startswith("Book"))
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Your pre-race session is booked")).to_be_visible()
        assert book["text"]

        tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Cancel this session")
        page.keyboard.press("Enter")
        expect(page.get_by_text("Your session was cancelled.")).to_be_visible()
        expect(page.get_by_role("heading", name="This pre-race session was cancelled")
               ).to_be_visible()
    finally:
        context.close()


PAGES = {"coach": ["/teams/1", "/teams/1/events/1/board", "/account"],
         "therapist": ["/week", "/hours", "/day-changes", "/time-off", "/busy-calendar"],
         "admin": ["/admin/therapists", "/admin/users", "/admin/settings", "/docs/api"]}


@pytest.mark.parametrize("role", sorted(PAGES))
def test_every_stop_of_the_tab_order_shows_its_focus(browser, server, role):
    """Each role's pages from top to bottom with Tab: every element reached shows where the
    focus is (the API page: up to Swagger UI's own part)."""
    from browser import as_role

    with as_role(browser, server, role) as page:
        for path in PAGES[role]:
            page.goto(server + path)
            first = tab_to(page, lambda f: True)
            assert first["text"] == "Skip to content", (path, first)
            stops = 1
            while stops < 400:
                focused = tab_to(page, lambda f: True)
                if focused["text"] == "Skip to content" or focused["tag"] == "body" or (
                        path == "/docs/api" and focused["text"] == "/api/v1/openapi.json"):
                    break
                stops += 1
            assert 5 < stops < 400, (path, stops)
