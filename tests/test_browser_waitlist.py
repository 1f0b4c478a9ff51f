"""The waiting list in a real browser (Debian's Chromium, Playwright) against the app under
a real HTTP server: a site of its own beside the demo clinic's, with one therapist and one
slot in the Rennsteig Marathon's pre window, taken by another athlete. The athlete finds
no free slot on her race's page and joins the waiting list (her place shown); the admin
sees her in the clinic's waiting lists; the other session is cancelled; a round of the
background work holds the slot for her; the email's link (the race page) leads through
sign-in to the offer with its expiry; she books it with one button, and the window shows
the booked session. Every page is checked (axe, a 360-px phone without sideways scroll,
a screenshot)."""

from __future__ import annotations

import re

from api.helpers import created, ok
from browser import *  # noqa: F403
from browser import PHONE, as_role, check_page, expect, sideways_overflow
from conftest import NOW, PASSWORD

pytestmark = browser_marks  # noqa: F405

EMAIL = "wanda.waiting@athletes.example"
HOURS = [{"day": "wed", "start": "08:00", "end": "08:45"}]  # one slot: Wed 12 May 08:00


def checked(page, name: str) -> None:
    check_page(page, name)
    assert sideways_overflow(page) == 0


def sign_in_here(page, server: str) -> None:
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_join_an_offer_after_a_cancellation_and_book_it(browser, server, api, app, make_user):
    from athlete_sched.services import waitlist

    site = created(api.post("/api/v1/sites", {"name": "Potsdam", "timezone": "Europe/Berlin"}))
    therapist = created(api.post("/api/v1/therapists", {
        "name": "Tomas Berg", "email": "tomas.berg@clinic.example",
        "timezone": "Europe/Berlin", "working_hours": HOURS, "site_id": site["id"]}))
    wanda = created(api.post("/api/v1/athletes", {
        "name": "Wanda Waiting", "email": EMAIL, "sport": "running",
        "timezone": "Europe/Berlin", "home_site_id": site["id"]}))
    other = created(api.post("/api/v1/athletes", {
        "name": "Otto Other", "email": "otto.other@athletes.example", "sport": "running",
        "timezone": "Europe/Berlin", "home_site_id": site["id"]}))
    make_user("athlete", EMAIL, password=PASSWORD)
    race = {"name": "Rennsteig Marathon", "sport": "running", "timezone": "Europe/Berlin",
            "start": "2027-05-15T08:00", "end": "2027-05-15T12:30"}
    event = created(api.post("/api/v1/events", {**race, "athlete_id": wanda["id"]}))
    taken = created(api.post("/api/v1/bookings", {
        "event_id": created(api.post("/api/v1/events", {**race, "athlete_id": other["id"]}))[
            "id"], "kind": "pre", "therapist_id": therapist["id"],
        "start": "2027-05-12T08:00"}))
    race_url = f"{server}/events/{event['id']}"

    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        page.goto(race_url)  # not signed in: the sign-in form, then back here
        sign_in_here(page, server)
        expect(page.get_by_role("heading", name="Rennsteig Marathon", level=1)).to_be_visible()
        pre = page.locator("section.window--pre")
        expect(pre).to_contain_text("No free slots in this window")
        pre.get_by_role("button", name="Join the waiting list for the pre-race session").click()
        expect(pre).to_contain_text("You are number 1 on the waiting list for this window")
        checked(page, "waitlist-joined")
    finally:
        context.close()

    with as_role(browser, server, "admin", viewport=PHONE) as page:
        page.goto(server + "/waitlist")
        line = page.locator("section.waitlist-line")
        expect(line).to_contain_text("Rennsteig Marathon: Pre-race session")
        expect(line).to_contain_text("Wanda Waiting")
        expect(line).to_contain_text("waiting")
        checked(page, "waitlist-clinic")

    ok(api.post(f"/api/v1/bookings/{taken['id']}/cancel", {}))
    with app.app_context():
        assert waitlist.run(NOW) == 1
        link = waitlist.offer_link(event["id"])
    assert link == f"/events/{event['id']}"  # PUBLIC_URL unset: the path alone

    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        page.goto(server + link)  # the email's link: sign in first, then the offer
        sign_in_here(page, server)
        pre = page.locator("section.window--pre")
        offer = pre.locator(".waitlist__offer")
        expect(offer).to_contain_text("A slot is held for you")
        expect(offer).to_contain_text("Wed 12 May 2027 08:00–08:45 with Tomas Berg")
        expect(offer).to_contain_text("Only you can book it until Mon 4 Jan 2027 01:30")
        checked(page, "waitlist-offer")
        offer.get_by_role("button", name=re.compile(r"^Book the held slot")).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("is booked")
        checked(page, "waitlist-booked")
        page.goto(race_url)
        pre = page.locator("section.window--pre")
        expect(pre).to_contain_text(
            "Booked: Wed 12 May 2027 08:00–08:45 (Europe/Berlin) with Tomas Berg")
        expect(pre.locator(".waitlist")).to_have_count(0)
    finally:
        context.close()
    assert ok(api.get(f"/api/v1/events/{event['id']}/waitlist"))["items"] == []
