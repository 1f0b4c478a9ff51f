"""Reminders on and off through the pages' forms (without a browser: the refusals and what
is saved); tests/test_browser_reminders.py walks the same pages in Chromium."""

from __future__ import annotations

from pageutil import post, scalar, text


def test_the_athlete_turns_them_off_and_a_bad_value_changes_nothing(
        app, make_athlete, page_as):
    athlete = make_athlete(email="mara@athletes.test")
    me = page_as("athlete", "mara@athletes.test")
    assert "Reminders are on " in text(me.get("/account"))
    answer = post(me, "/account/reminders", {"reminders": "off"}, "/account")
    assert answer.status_code == 303
    assert scalar(app, "SELECT reminders FROM athlete WHERE id = :id",
                  id=athlete["id"]) in (False, 0)
    assert "Reminders are off " in text(me.get("/account"))
    refused = post(me, "/account/reminders", {"reminders": "maybe"}, "/account")
    assert refused.status_code == 422
    assert "Choose whether you want reminders" in text(refused)
    assert scalar(app, "SELECT reminders FROM athlete WHERE id = :id",
                  id=athlete["id"]) in (False, 0)


def test_the_admin_turns_them_off_for_an_athlete(app, make_athlete, page_as):
    athlete = make_athlete(name="Mara Runner")
    admin = page_as("admin")
    assert "reminders on" in text(admin.get("/admin/athletes"))
    answer = post(admin, f"/admin/athletes/{athlete['id']}/reminders", {"reminders": "off"},
                  "/admin/athletes")
    assert answer.status_code == 303
    assert "Reminders for Mara Runner are off." in text(admin.get("/admin/athletes"))
    assert scalar(app, "SELECT reminders FROM athlete WHERE id = :id",
                  id=athlete["id"]) in (False, 0)


def test_other_roles_see_no_reminders_card(page_as):
    assert "Reminders by email" not in text(page_as("coach").get("/account"))
