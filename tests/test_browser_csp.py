"""The pages under their Content-Security-Policy (web/security.py) in a real browser
(Debian's Chromium, Playwright) against the demo clinic: every role's main pages, the
sign-in page and the API docs page (Swagger UI) raise no CSP violation (neither a
`securitypolicyviolation` event nor a console report), their scripts still run (the
athlete's time-zone fill, the coach's copy buttons, Swagger UI's operations), and
another site cannot frame a page."""

from __future__ import annotations

from typing import Any

from browser import *  # noqa: F403
from browser import as_role, expect

pytestmark = browser_marks  # noqa: F405

ROLE_PAGES = {
    None: ["/sign-in", "/forgot-password"],
    "athlete": ["/season", "/screening", "/account"],
    "coach": ["/teams"],
    "therapist": ["/week", "/hours", "/time-off", "/busy-calendar", "/day-changes"],
    "admin": ["/admin", "/admin/therapists", "/admin/athletes", "/admin/teams",
              "/admin/users", "/admin/sites", "/admin/settings"],
}
# Collected in the page before any of its own scripts run.
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' at '
                    + e.sourceFile + ':' + e.lineNumber);
});
"""


def watched(page: Any) -> list[str]:
    """Start collecting the page's CSP reports (events and console messages)."""
    console: list[str] = []
    page.context.add_init_script(WATCH)
    page.on("console", lambda m: console.append(m.text)
            if "Content Security Policy" in m.text or "Content-Security-Policy" in m.text
            else None)
    return console


def violations(page: Any, console: list[str]) -> list[str]:
    return [*page.evaluate("() => window.__csp || []"), *console]


def visit(page: Any, server: str, path: str, console: list[str]) -> None:
    answer = page.goto(server + path)
    assert answer is not None and answer.status == 200, path
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"], path
    expect(page.get_by_role("heading", level=1).first).to_be_visible()
    page.wait_for_load_state("load")
    assert violations(page, console) == [], path


def test_every_roles_main_pages_raise_no_csp_violation(browser, server):
    for role, paths in ROLE_PAGES.items():
        with as_role(browser, server, role) as page:
            console = watched(page)
            for path in paths:
                visit(page, server, path, console)
            if role == "coach":  # each team's page and its event boards
                links = page.locator("main a[href^='/teams/']")
                team_paths = {links.nth(i).get_attribute("href") for i in range(links.count())}
                assert team_paths, "the demo coach has a team"
                for path in sorted(team_paths):
                    visit(page, server, path, console)


def test_scripts_still_run_under_the_policy(browser, server):
    with as_role(browser, server, "athlete") as page:
        console = watched(page)
        visit(page, server, "/season", console)
        zone = page.locator("input[data-browser-zone='fill']")
        if zone.count():  # athlete-zone.js filled in the browser's zone
            assert zone.first.input_value() != ""
    with as_role(browser, server, "admin") as page:
        console = watched(page)
        answer = page.goto(server + "/docs/api")
        assert "img-src 'self' data:" in answer.headers["content-security-policy"]
        operations = page.locator("#swagger-ui .opblock")
        expect(operations.first).to_be_visible(timeout=15000)
        operations.first.locator(".opblock-summary").first.click()  # open one operation
        page.wait_for_timeout(300)
        assert operations.count() > 20
        assert violations(page, console) == []


def test_another_site_cannot_frame_a_page(browser, server):
    with as_role(browser, server, None) as page:
        console: list[str] = []
        page.on("console", lambda m: console.append(m.text))
        page.set_content(f'<iframe id="f" src="{server}/sign-in"></iframe>')
        page.wait_for_timeout(1000)
        frame = page.frame_locator("#f")
        assert frame.locator("input[name='email']").count() == 0
