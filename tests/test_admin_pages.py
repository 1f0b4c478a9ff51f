"""The admin's pages through the Flask test client, on SQLite and PostgreSQL: only admins
open them; therapists, athletes and coaches added with their invitation (handed over with
mail off, emailed with mail on); search and pages; teams and their coach; roles and reset
links; the clinic's settings, which take effect on the next request (the name on every
page, the booking notice in the proposals, the cancellation notice in the policy). Bad
input comes back with what was typed and saves nothing; every list costs the same
statements for a few rows or many."""

from __future__ import annotations

import re

import pytest
from pageutil import Page, csrf, post, scalar, sign_in, text
from test_mail import serve
from test_one_road import statements

ADMIN_GETS = ["/admin", "/admin/therapists", "/admin/athletes", "/admin/teams",
              "/admin/users", "/admin/settings"]
ADMIN_POSTS = ["/admin/therapists", "/admin/athletes", "/admin/therapists/1/invite",
               "/admin/athletes/1/invite", "/admin/teams", "/admin/teams/1/coach",
               "/admin/users", "/admin/users/1/role", "/admin/users/1/reset",
               "/admin/settings"]
THERAPIST = {"name": "Lena Vogt", "email": "lena.vogt@clinic.test", "timezone": "Europe/Vienna",
             "session_minutes": "50"}
ATHLETE = {"name": "Tomás Rivera", "email": "tomas@athletes.test", "sport": "mtb",
           "timezone": "America/Denver"}




def form_values(response, action: str) -> dict[str, str | None]:
    """The fields of the page's last form posting to `action` (a search form may come
    first with the same action)."""
    return [f["fields"] for f in Page(response.get_data(as_text=True)).forms
            if f["action"] == action][-1]


def handed_over(response) -> str:
    """The invitation or reset link the page shows to pass on (mail off)."""
    found = re.search(r'id="handover-link">http://localhost(/[^<]+)<', response.get_data(
        as_text=True))
    assert found, text(response)
    return found.group(1)


@pytest.fixture
def admin(page_as):
    return page_as("admin", "boss@clinic.test")


# --- who may open them ----------------------------------------------------------------------

@pytest.mark.parametrize("role", ["athlete", "coach", "therapist"])
def test_other_roles_are_refused_every_admin_page_and_form(app, page_as, role):
    client = page_as(role)
    for url in ADMIN_GETS:
        assert client.get(url).status_code == 403, url
    token = csrf(client, "/account")
    for url in ADMIN_POSTS:
        answer = client.post(url, data={"csrf_token": token, "name": "X", "email": "x@y.test",
                                        "role": "admin", "clinic_name": "Taken over"})
        assert answer.status_code == 403, url
    assert scalar(app, "SELECT count(*) FROM clinic_settings") == 0
    assert scalar(app, "SELECT count(*) FROM user_account WHERE email = 'x@y.test'") == 0


def test_anonymous_visitors_are_sent_to_sign_in(client):
    for url in [*ADMIN_GETS, "/docs/api"]:
        answer = client.get(url)
        assert answer.status_code == 302 and "/sign-in?next=" in answer.location, url


def test_the_overview_counts_the_clinic(admin, make_therapist, make_athlete):
    make_therapist()
    make_athlete(), make_athlete()
    page = text(admin.get("/admin"))
    assert "1 therapist " in page and "2 athletes" in page and "0 teams" in page


# --- therapists and athletes ----------------------------------------------------------------

def test_a_therapist_is_added_with_an_invitation_to_pass_on(app, admin):
    added = post(admin, "/admin/therapists", THERAPIST)
    assert added.status_code == 303 and added.location == "/admin/therapists"
    page = admin.get("/admin/therapists")
    assert "Lena Vogt is added as a therapist." in text(page) and "invited" in text(page)
    link = handed_over(page)
    assert "handover-link" not in admin.get("/admin/therapists").get_data(as_text=True)
    assert scalar(app, "SELECT timezone || ' ' || session_minutes FROM therapist "
                  "WHERE email = 'lena.vogt@clinic.test'") == "Europe/Vienna 50"
    assert scalar(app, "SELECT role FROM user_account WHERE email = 'lena.vogt@clinic.test'"
                  ) == "therapist"
    newcomer = app.test_client()
    assert post(newcomer, link, {"password": "lena password 1", "confirm": "lena password 1"}
                ).status_code == 303
    assert sign_in(newcomer, "lena.vogt@clinic.test", "lena password 1").status_code == 303
    assert newcomer.get("/").location == "/week"


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"name": ""}, "name", "Give their name."),
    ({"email": "not-an-email"}, "email", "Not an email address."),
    ({"timezone": "Mars/Olympus"}, "timezone", "not a time zone we know"),
    ({"session_minutes": "2"}, "session_minutes", "5 to 480 minutes"),
    ({"session_minutes": "forty"}, "session_minutes", "integer"),
])
def test_a_refused_therapist_keeps_what_was_typed_and_saves_nothing(app, admin, change, field,
                                                                    message):
    answer = post(admin, "/admin/therapists", {**THERAPIST, **change})
    assert answer.status_code == 422
    assert message.lower() in text(answer).lower()
    assert field in Page(answer.get_data(as_text=True)).invalid
    typed = form_values(answer, "/admin/therapists")
    for name in ("name", "email", "session_minutes"):
        assert typed[name] == {**THERAPIST, **change}[name] or (not typed[name] and
                                                                  not change.get(name))
    assert scalar(app, "SELECT count(*) FROM therapist") == 0
    assert scalar(app, "SELECT count(*) FROM user_account") == 1  # the admin


def test_an_email_in_use_is_refused_and_nothing_half_saved(app, admin, make_user):
    make_user("coach", "lena.vogt@clinic.test")
    answer = post(admin, "/admin/therapists", THERAPIST)
    assert answer.status_code == 422 and "already exists" in text(answer)
    assert form_values(answer, "/admin/therapists")["email"] == THERAPIST["email"]
    assert scalar(app, "SELECT count(*) FROM therapist") == 0  # the profile was rolled back
    assert scalar(app, "SELECT count(*) FROM sign_in_link") == 0


def test_an_athlete_added_with_mail_on_gets_the_invitation_by_email(app, admin):
    with serve() as smtp:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_TIMEOUT=5)
        added = post(admin, "/admin/athletes", ATHLETE)
        assert added.status_code == 303
        page = admin.get("/admin/athletes")
        [mail] = smtp.take()
    assert "Tomás Rivera is added as an athlete." in text(page)
    assert "The invitation link is on its way to tomas@athletes.test." in text(page)
    assert "handover-link" not in page.get_data(as_text=True)
    assert mail.rcpt == ["tomas@athletes.test"] and "as an athlete" in mail.text
    assert scalar(app, "SELECT sport FROM athlete WHERE email = 'tomas@athletes.test'") == "mtb"


def test_athletes_are_searched_and_paged(app, admin, make_athlete):
    for n in range(53):
        make_athlete(name=f"Runner {n:02d}", email=f"runner{n:02d}@athletes.test")
    make_athlete(name="Mara 100%_Runner", email="mara@athletes.test")
    first = admin.get("/admin/athletes")
    assert "Runner 00" in text(first) and "Runner 49" in text(first)
    assert "Runner 50" not in text(first)
    next_url = re.search(r'href="(/admin/athletes\?after=\d+)" rel="next"',
                         first.get_data(as_text=True)).group(1)
    second = admin.get(next_url)
    assert "Runner 50" in text(second) and "Mara 100%_Runner" in text(second)
    assert "Runner 00" not in text(second) and 'rel="next"' not in second.get_data(as_text=True)
    found = admin.get("/admin/athletes?q=%25_r")  # LIKE's wildcards are searched as text
    assert "Mara 100%_Runner" in text(found) and "Runner 01" not in text(found)
    assert "Runner 07" in text(admin.get("/admin/athletes?q=RUNNER07@"))
    assert "No athlete's name or email contains" in text(admin.get("/admin/athletes?q=zz"))
    assert admin.get("/admin/athletes?q=" + "x" * 101).status_code == 422


# --- teams, users and roles -----------------------------------------------------------------

def test_a_team_is_created_and_given_a_coach(app, admin, make_user, page_as):
    make_user("coach", "carla@coaches.test", "Carla Brandt")
    refused = post(admin, "/admin/teams", {"name": "Havelland RC",
                                           "coach_email": "nobody@coaches.test"})
    assert refused.status_code == 422 and "Only a coach can coach a team" in text(refused)
    assert form_values(refused, "/admin/teams")["name"] == "Havelland RC"
    assert scalar(app, "SELECT count(*) FROM team") == 0
    assert post(admin, "/admin/teams", {"name": "Havelland RC", "coach_email": ""}
                ).status_code == 303
    team_id = scalar(app, "SELECT id FROM team")
    assert "none yet" in text(admin.get("/admin/teams"))
    given = post(admin, f"/admin/teams/{team_id}/coach", {"coach_email": "carla@coaches.test"},
                 page="/admin/teams")
    assert given.status_code == 303
    assert "Carla Brandt (carla@coaches.test)" in text(admin.get("/admin/teams"))
    assert scalar(app, "SELECT coach_email FROM team") == "carla@coaches.test"
    wrong = post(admin, f"/admin/teams/{team_id}/coach", {"coach_email": "boss@clinic.test"},
                 page="/admin/teams")
    assert wrong.status_code == 422 and "boss@clinic.test is not one" in text(wrong)
    assert scalar(app, "SELECT coach_email FROM team") == "carla@coaches.test"


def test_a_role_change_holds_from_the_users_next_request(app, admin, make_user):
    from pageutil import sign_in as sign_in_form

    make_user("coach", "nia@coaches.test", "Nia", password="nia password 1")
    nia = app.test_client()
    assert sign_in_form(nia, "nia@coaches.test", "nia password 1").status_code == 303
    assert nia.get("/admin").status_code == 403
    user_id = scalar(app, "SELECT id FROM user_account WHERE email = 'nia@coaches.test'")
    changed = post(admin, f"/admin/users/{user_id}/role", {"role": "admin"}, page="/admin/users")
    assert changed.status_code == 303
    assert "nia@coaches.test is now admin." in text(admin.get("/admin/users"))
    assert nia.get("/admin").status_code == 200
    bad = post(admin, f"/admin/users/{user_id}/role", {"role": "owner"}, page="/admin/users")
    assert bad.status_code == 422 and "The role must be one of" in text(bad)
    me = scalar(app, "SELECT id FROM user_account WHERE email = 'boss@clinic.test'")
    own = post(admin, f"/admin/users/{me}/role", {"role": "coach"}, page="/admin/users")
    assert own.status_code == 422 and "cannot change your own role" in text(own)
    assert scalar(app, "SELECT role FROM user_account WHERE id = :i", i=me) == "admin"


def test_users_are_filtered_by_role_and_a_coach_is_invited(app, admin):
    invited = post(admin, "/admin/users", {"name": "Nia", "email": "Nia@Coaches.test",
                                           "role": "coach"})
    assert invited.status_code == 303
    page = admin.get("/admin/users")
    assert "nia@coaches.test is invited as coach." in text(page)
    assert handed_over(page).startswith("/invitation/")
    coaches = text(admin.get("/admin/users?role=coach"))
    assert "nia@coaches.test · since" in coaches and "boss@clinic.test · since" not in coaches
    again = post(admin, "/admin/users", {"name": "Nia", "email": "nia@coaches.test",
                                         "role": "coach"})
    assert again.status_code == 422 and "already exists" in text(again)
    assert form_values(again, "/admin/users")["email"] == "nia@coaches.test"
    therapist = post(admin, "/admin/users", {"email": "t@clinic.test", "role": "therapist"})
    assert therapist.status_code == 422
    assert scalar(app, "SELECT count(*) FROM user_account") == 2


def test_a_reset_link_is_handed_over_and_sets_a_new_password(app, admin, make_user):
    make_user("athlete", "ana@athletes.test", "Ana", password="old password 1")
    user_id = scalar(app, "SELECT id FROM user_account WHERE email = 'ana@athletes.test'")
    assert post(admin, f"/admin/users/{user_id}/reset", {}, page="/admin/users"
                ).status_code == 303
    link = handed_over(admin.get("/admin/users"))
    ana = app.test_client()
    assert post(ana, link, {"password": "new password 1", "confirm": "new password 1"}
                ).status_code == 303
    assert sign_in(ana, "ana@athletes.test", "new password 1").status_code == 303
    assert post(admin, "/admin/users/999999/reset", {}, page="/admin/users").status_code == 404


# --- the clinic's settings ------------------------------------------------------------------

SETTINGS = {"clinic_name": "Spree Valley Physio", "booking_notice_minutes": "",
            "cancel_notice_hours": "48", "recovery_gap_minutes": "90"}


@pytest.mark.parametrize(("change", "field"), [
    ({"cancel_notice_hours": "two days"}, "cancel_notice_hours"),
    ({"cancel_notice_hours": "-1"}, "cancel_notice_hours"),
    ({"booking_notice_minutes": "20000"}, "booking_notice_minutes"),
    ({"recovery_gap_minutes": "721"}, "recovery_gap_minutes"),
    ({"clinic_name": "x" * 121}, "clinic_name"),
])
def test_refused_settings_keep_what_was_typed_and_change_nothing(app, admin, change, field):
    answer = post(admin, "/admin/settings", {**SETTINGS, **change})
    assert answer.status_code == 422 and "The settings were not saved." in text(answer)
    assert field in Page(answer.get_data(as_text=True)).invalid
    assert form_values(answer, "/admin/settings") | {"csrf_token": None} == \
        {**SETTINGS, **change} | {"csrf_token": None}
    assert scalar(app, "SELECT count(*) FROM clinic_settings") == 0


def test_saved_settings_take_effect_on_the_next_request(app, admin, page_as):
    from athlete_sched.services.common import policy

    athlete = page_as("coach")
    assert "athlete_sched demo clinic" in text(athlete.get("/account"))
    assert post(admin, "/admin/settings", SETTINGS).status_code == 303
    assert "<title>Your account · Spree Valley Physio</title>" in \
        athlete.get("/account").get_data(as_text=True)
    assert "Spree Valley Physio ·" in text(athlete.get("/account"))  # the footer
    shown = text(admin.get("/admin/settings"))
    assert "48 hours" in shown and "90 minutes" in shown and "120 minutes" in shown
    with app.test_request_context():
        rules = policy()
        assert (rules.cancel_notice.total_seconds(), rules.recovery_gap.total_seconds(),
                rules.notice.total_seconds()) == (48 * 3600, 90 * 60, 120 * 60)
    emptied = {name: "" for name in SETTINGS}
    assert post(admin, "/admin/settings", emptied).status_code == 303
    assert "athlete_sched demo clinic" in text(athlete.get("/account"))
    with app.test_request_context():
        assert policy().cancel_notice.total_seconds() == 24 * 3600


def test_the_booking_notice_changes_the_proposals_at_once(app, api, admin, make_therapist,
                                                          make_athlete, make_event):
    """A race on Sat 9 Jan 2027: its pre window (Wed 6 and Thu 7 Jan) is two days off.
    With a notice of a week, no pre slot is left; the cached answer is not served."""
    make_therapist()
    race = make_event(make_athlete()["id"], start="2027-01-09T09:00", end="2027-01-09T12:00")
    url = f"/api/v1/events/{race['id']}/proposals?kind=pre"
    assert api.get(url).get_json()["pre"]
    settings = {**{name: "" for name in SETTINGS}, "booking_notice_minutes": "10080"}
    assert post(admin, "/admin/settings", settings).status_code == 303
    assert api.get(url).get_json()["pre"] == []


# --- bounded lists --------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/admin", "/admin/therapists", "/admin/athletes?q=a",
                                 "/admin/teams", "/admin/users"])
def test_each_admin_list_costs_the_same_statements_for_few_rows_or_many(
        app, api, admin, make_therapist, make_athlete, make_user, url):
    def grow(n: int) -> None:
        for i in range(n):
            make_therapist()
            athlete = make_athlete()
            make_user("coach", f"c{i}-{athlete['id']}@coaches.test")
            api.post("/api/v1/teams", {"name": f"Team {athlete['id']}",
                                       "coach_email": f"c{i}-{athlete['id']}@coaches.test"})
            api.post("/api/v1/teams", {"name": f"Team {athlete['id']}"})

    grow(1)
    assert admin.get(url).status_code == 200
    with statements(app) as few:
        assert admin.get(url).status_code == 200
    grow(6)
    with statements(app) as many:
        assert admin.get(url).status_code == 200
    assert len(many) == len(few) <= 5, "\n".join(many)


def test_someone_without_a_sign_in_is_invited_from_the_list(app, admin, make_therapist,
                                                           make_athlete):
    therapist, athlete = make_therapist(), make_athlete()
    listed = admin.get("/admin/therapists")
    action = f"/admin/therapists/{therapist['id']}/invite"
    assert "no sign-in" in text(listed) and action in listed.get_data(as_text=True)
    assert post(admin, action, {}, page="/admin/therapists").status_code == 303
    page = admin.get("/admin/therapists")
    assert handed_over(page).startswith("/invitation/") and "invited" in text(page)
    assert action not in page.get_data(as_text=True)  # invited: no second button
    assert scalar(app, "SELECT role FROM user_account WHERE email = :e",
                  e=therapist["email"]) == "therapist"
    assert post(admin, f"/admin/athletes/{athlete['id']}/invite", {},
                page="/admin/athletes").status_code == 303
    assert scalar(app, "SELECT role FROM user_account WHERE email = :e",
                  e=athlete["email"]) == "athlete"
    again = post(admin, action, {}, page="/admin/therapists")
    assert again.status_code == 409  # a user with that email exists now
    assert post(admin, "/admin/athletes/999999/invite", {}, page="/admin/athletes"
                ).status_code == 404
