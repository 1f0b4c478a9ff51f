"""A real browser (Debian's Chromium driven by Playwright) against the app served over HTTP
on the test database, both backends: plan a race like a person, see the windows and the
slots the API proposes, book one, read the confirmation. With and without JavaScript."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOT = Path("/tmp/page.png")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason=f"Chromium not found at {CHROMIUM}; .ci/run installs it"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def server(app, runner) -> Iterator[str]:
    """The app with the demo clinic, served over real HTTP from a background thread."""
    with app.app_context():
        assert runner.invoke(args=["demo"]).exit_code == 0
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(timeout=10)
    httpd.server_close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_plan_and_book_in_a_real_browser(browser, server, api, javascript):
    expect = playwright.expect
    context = browser.new_context(java_script_enabled=javascript,
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(server + "/")  # anonymous: sent to sign in, then back
        expect(page).to_have_url(re.compile(r"/sign-in\?next="))
        page.get_by_label("Email").fill("mara.runner@athletes.example")
        page.get_by_label("Password").fill("athlete-demo-2027")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Plan a race")).to_be_visible()
        page.get_by_label("Race or ride").fill("Spring 10K")
        page.get_by_label("Date").fill("2027-03-14")
        page.get_by_label("Start time").fill("10:00")
        page.get_by_label("Finish time").fill("11:00")
        page.get_by_label("Time zone").select_option("Europe/Berlin")
        page.get_by_label("Sport").select_option("running")
        page.get_by_role("button", name="Find slots").click()

        expect(page).to_have_url(re.compile(r"/events/\d+$"))
        event_id = int(page.url.rsplit("/", 1)[1])
        expect(page.get_by_role("heading", name="Spring 10K")).to_be_visible()
        pre = page.locator("section.window--pre")
        expect(pre).to_contain_text("Thu 11 Mar 00:00 – Sat 13 Mar 00:00 (Europe/Berlin)")
        expect(page.locator("section.window--post")).to_contain_text(
            "Sun 14 Mar 12:00 – Thu 18 Mar 00:00 (Europe/Berlin)")

        proposals = api.get(f"/api/v1/events/{event_id}/proposals?limit=8").get_json()
        forms = page.locator("form.slot__form")
        shown = [(f.locator("input[name=kind]").input_value(),
                  int(f.locator("input[name=therapist_id]").input_value()),
                  f.locator("input[name=start]").input_value()) for f in forms.all()]
        assert shown == [(s["kind"], s["therapist_id"], s["start"])
                         for s in proposals["pre"] + proposals["post"]]
        assert proposals["pre"] and proposals["post"]
        if javascript:
            page.screenshot(path=str(SCREENSHOT), full_page=True)

        first = pre.locator("li.slot").first
        when = first.locator(".slot__time").inner_text().replace("BEST", "").strip()
        who = first.locator(".slot__who").inner_text().removeprefix("with ").strip()
        first.get_by_role("button", name=re.compile(r"^Book")).click()

        expect(page).to_have_url(re.compile(r"/bookings/\d+$"))
        expect(page.get_by_role("heading", name="Your pre-race session is booked")).to_be_visible()
        details = page.locator("dl.details")
        expect(details).to_contain_text(when)
        expect(details).to_contain_text(who)
        expect(page.get_by_text("No strenuous activity for 24–48 hours")).to_be_visible()
        if javascript:
            page.screenshot(path=str(SCREENSHOT.with_name("page_booked.png")), full_page=True)

        booking_id = int(page.url.rsplit("/", 1)[1])
        booking = api.get(f"/api/v1/bookings/{booking_id}").get_json()
        assert (booking["event_id"], booking["kind"], booking["start"]) == (
            event_id, "pre", proposals["pre"][0]["start"])
    finally:
        context.close()
