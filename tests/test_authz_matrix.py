"""The authorization matrix (issue 14): every route of the app, API and pages, read from the
URL map, against every role, anonymous callers, a revoked token and a disabled user, on
the caller's own objects and on someone else's. `TABLE` says who may; a rule in the URL
map that the table does not name fails, and so does a table row with no rule.

- Allowed: the answer is not a refusal (no 401, 403, 404 and no redirect to sign-in; a
  409 or 422 for the body sent is fine) and not a 500.
- Refused: the API answers 401 to no, an unknown, a revoked or a disabled user's token
  (and to a page session's cookie alone), 403 or 404 to a role that may not; a page
  sends anonymous visitors (a bearer token alone, a disabled user's session) to sign-in
  and answers 403 or 404 to a role that may not. A refused write changes no row.
- What athletes write and the medical answers (tests/authz_world.py, MARKERS) are looked
  for in every answer: every page and JSON answer per role, every `.ics`, every feed and
  every email queued.

Actors: `admin` (on someone else's objects: an admin owns none, but for its own API
tokens, where `admin*` is the admin on someone else's), `therapist`, `athlete`, `coach` on
their own objects, and `therapist*`, `athlete*`, `coach*` on someone else's (run where the
route names an object); `anon`, `revoked` and `disabled` always refused
unless the row names them (`everyone`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from api.helpers import snapshot
from authz_world import ANSWER_KEY, ANSWER_LABEL, BUSY_ICS, MARKERS, World, build

SIGNED_IN = ("admin", "therapist", "athlete", "coach")
ALL = "admin therapist athlete coach"
ALL_ANY = "admin therapist therapist* athlete athlete* coach coach*"
EVERYONE = ALL_ANY + " anon revoked disabled"
SKIPPED_METHODS = {"HEAD", "OPTIONS"}
SKIPPED_ENDPOINTS = {"static"}
_n = itertools.count()


def uniq() -> int:
    return next(_n)


def pick(i: dict, own: bool, mine: str, theirs: str) -> Any:
    return i[mine] if own else i[theirs]


@dataclass(frozen=True)
class Rule:
    """Who may (`allow`, actors as in the module's docstring), with what: `ids` maps a path
    parameter to the world's keys (own, someone else's) where the default does not fit;
    `body(ids, own)` is the JSON (API) or form (pages); `query` is formatted with the
    path's values. `objects`: run the * actors even without an object in the path (the
    object is in the body). `public`: a 404 is the answer to a bad link, not a refusal.
    `late`: runs after every other write (it cancels, signs out); `fresh`: sent from a
    session of its own, signed in for it (it signs that session out)."""

    allow: str
    ids: dict[str, tuple[str, str]] = field(default_factory=dict)
    body: Callable[[dict, bool], Any] | None = None
    query: str = ""
    objects: bool = False
    public: bool = False
    late: bool = False
    ics_body: bool = False
    fresh: bool = False  # a new session each time (signs out)
    admin_own: bool = False  # the admin's own object (a token): someone else's is refused


# Path parameters: the world's key of the caller's own object, and of someone else's.
# {role} is the caller's role; a value that is no key of the world is used as it is.
DEFAULT_IDS = {
    "athlete_id": ("a1", "a2"), "therapist_id": ("t1", "t2"), "booking_id": ("b1", "b2"),
    "event_id": ("e1", "e2"), "team_id": ("x", "y"), "time_off_id": ("off_t1", "off_t2"),
    "subscription_id": ("sub_t1", "sub_t2"), "site_id": ("site", "site"),
    "user_id": ("victim", "victim"), "token_id": ("spare1_{role}", "spare_a2"),
    "date": ("2027-03-02", "2027-03-02"), "day": ("2027-03-03", "2027-03-03"),
    "token": ("feed_token", "feed_token"), "profile_id": ("a2", "a2"),
}
THERAPIST_Q = "therapist_id={t}"
A = "/api/v1"


def _athlete_in(i, own):
    return {"name": "New", "email": f"new{uniq()}@authz.test", "sport": "mtb",
            "timezone": "UTC", "team_id": pick(i, own, "x", "y")}


def _booking_in(i, own):
    return {"event_id": pick(i, own, "e1", "e2"), "therapist_id": pick(i, own, "t1", "t2"),
            "kind": "post", "start": "2027-05-18T10:00" if own else "2027-05-18T11:00"}


def _event_in(i, own):
    return {"athlete_id": pick(i, own, "a1", "a2"), "name": f"Race {uniq()}",
            "timezone": "Europe/Berlin", "start": "2027-07-01"}


def _day(_i, _own):
    return {"closed": True}


TABLE: dict[tuple[str, str], Rule] = {
    # --- API: athletes, screening -------------------------------------------------------
    ("api.create_athlete", "POST"): Rule("admin coach", body=_athlete_in, objects=True),
    ("api.list_athletes", "GET"): Rule(ALL),
    ("api.get_athlete", "GET"): Rule("admin athlete coach"),
    ("api.patch_athlete", "PATCH"): Rule("admin athlete coach",
                                         body=lambda i, o: {"sport": "mtb"}),
    ("api.athlete_feed", "GET"): Rule("admin athlete"),
    ("api.rotate_athlete_feed", "POST"): Rule("admin athlete"),
    ("api.put_race_calendar", "PUT"): Rule("admin athlete coach", ics_body=True),
    ("api.subscribe_race_calendar", "POST"): Rule("admin athlete coach", body=lambda i, o: {
        "url": f"https://127.0.0.1:9/races{uniq()}.ics"}),
    ("api.get_race_subscription", "GET"): Rule("admin athlete coach"),
    ("api.sync_race_subscription", "POST"): Rule("admin athlete coach"),
    ("api.delete_race_subscription", "DELETE"): Rule("admin athlete coach", late=True),
    ("api.put_screening", "PUT"): Rule("admin athlete", body=lambda i, o: {
        "answers": {"pacemaker": True}, "note": ""}),
    ("api.get_screening", "GET"): Rule("admin therapist athlete coach"),
    ("api.review_screening", "POST"): Rule("admin therapist",
                                           body=lambda i, o: {"decision": "cleared"}),
    ("api.athlete_season", "GET"): Rule("admin athlete coach"),
    # --- API: bookings, events ------------------------------------------------------------
    ("api.create_booking", "POST"): Rule("admin athlete coach", body=_booking_in,
                                         objects=True),
    ("api.list_bookings", "GET"): Rule(ALL),
    ("api.get_booking", "GET"): Rule("admin therapist athlete coach"),
    ("api.patch_booking", "PATCH"): Rule("admin therapist athlete coach", body=lambda i, o: {
        "start": "2027-05-12T10:00"}),
    ("api.cancel_booking", "POST"): Rule("admin therapist athlete coach",
                                         ids={"booking_id": ("b1c", "b2c")}, late=True),
    ("api.booking_invite", "GET"): Rule("admin therapist athlete coach"),
    ("api.create_event", "POST"): Rule("admin athlete coach", body=_event_in, objects=True),
    ("api.get_event", "GET"): Rule("admin athlete coach"),
    ("api.patch_event", "PATCH"): Rule("admin athlete coach",
                                       body=lambda i, o: {"priority": "B"}),
    ("api.book_team", "POST"): Rule("admin coach", ids={"event_id": ("tx", "ty")}),
    ("api.event_invites", "GET"): Rule("admin athlete coach"),
    ("api.plan_team", "POST"): Rule("admin coach", ids={"event_id": ("tx", "ty")}),
    ("api.list_proposals", "GET"): Rule("admin athlete coach", query="limit=1"),
    # --- API: the waiting list ------------------------------------------------------------
    ("api.join_waitlist", "POST"): Rule("admin athlete coach",
                                        body=lambda i, o: {"kind": "pre"}),
    ("api.get_waitlist", "GET"): Rule("admin therapist therapist* athlete coach"),
    ("api.leave_waitlist", "DELETE"): Rule("admin athlete coach",
                                           ids={"entry_id": ("w_{role}", "w2")}),
    # --- API: me, tokens, users, sites, teams ---------------------------------------------
    ("api.me", "GET"): Rule(ALL),
    ("api.list_tokens", "GET"): Rule(ALL),
    ("api.create_token", "POST"): Rule(ALL, body=lambda i, o: {"name": "more"}),
    ("api.revoke_token", "DELETE"): Rule(ALL, admin_own=True),
    ("api.openapi_json", "GET"): Rule(EVERYONE),
    ("api.create_user", "POST"): Rule("admin", body=lambda i, o: {
        "email": f"u{uniq()}@authz.test", "role": "coach"}),
    ("api.patch_user", "PATCH"): Rule("admin", body=lambda i, o: {"disabled": True}),
    ("api.create_site", "POST"): Rule("admin", body=lambda i, o: {
        "name": f"Site {uniq()}", "timezone": "UTC"}),
    ("api.list_sites", "GET"): Rule(ALL),
    ("api.get_site", "GET"): Rule(ALL),
    ("api.patch_site", "PATCH"): Rule("admin", body=lambda i, o: {"address": "Here 1"}),
    ("api.create_team", "POST"): Rule("admin coach", body=lambda i, o: {"name": "New"}),
    ("api.get_team", "GET"): Rule("admin athlete coach"),
    ("api.team_feed", "GET"): Rule("admin coach"),
    ("api.rotate_team_feed", "POST"): Rule("admin coach"),
    ("api.add_team_member", "POST"): Rule("admin coach",
                                          body=lambda i, o: {"athlete_id": i["a1"]}),
    # --- API: therapists and their schedules ---------------------------------------------
    ("api.create_therapist", "POST"): Rule("admin", body=lambda i, o: {
        "name": "New", "email": f"t{uniq()}@authz.test", "timezone": "UTC"}),
    ("api.list_therapists", "GET"): Rule(ALL),
    ("api.get_therapist", "GET"): Rule(ALL_ANY),
    ("api.patch_therapist", "PATCH"): Rule("admin", body=lambda i, o: {"name": "Renamed"}),
    ("api.put_busy_calendar", "PUT"): Rule("admin therapist", ics_body=True),
    ("api.get_busy_calendar", "GET"): Rule("admin therapist"),
    ("api.add_subscription", "POST"): Rule("admin therapist", body=lambda i, o: {
        "url": f"https://127.0.0.1:9/new{uniq()}.ics"}),
    ("api.list_subscriptions", "GET"): Rule("admin therapist"),
    ("api.delete_subscription", "DELETE"): Rule("admin therapist"),
    ("api.therapist_feed", "GET"): Rule("admin therapist"),
    ("api.rotate_therapist_feed", "POST"): Rule("admin therapist"),
    ("api.add_time_off", "POST"): Rule("admin therapist", body=lambda i, o: {
        "start": "2027-02-15", "end": "2027-02-16"}, query="affected=keep"),
    ("api.list_time_off", "GET"): Rule("admin therapist"),
    ("api.delete_time_off", "DELETE"): Rule("admin therapist"),
    ("api.list_working_days", "GET"): Rule("admin therapist"),
    ("api.put_working_day", "PUT"): Rule("admin therapist", body=_day, query="affected=keep",
                                         ids={"date": ("2027-03-04", "2027-03-04")}),
    ("api.delete_working_day", "DELETE"): Rule("admin therapist"),
    ("api.put_working_hours", "PUT"): Rule("admin therapist", body=lambda i, o: [
        {"day": "mon", "start": "08:00", "end": "18:00"}], query="affected=keep"),
    # --- pages: everyone ------------------------------------------------------------------
    ("health.healthz", "GET"): Rule(EVERYONE),
    ("feeds.feed", "GET"): Rule(EVERYONE),
    ("pages.sign_in", "GET"): Rule(EVERYONE, public=True),
    ("pages.sign_in", "POST"): Rule(EVERYONE, public=True, body=lambda i, o: {
        "email": "nobody@authz.test", "password": "wrong"}),
    ("pages.forgot_password", "GET"): Rule(EVERYONE, public=True),
    ("pages.forgot_password", "POST"): Rule(EVERYONE, public=True, body=lambda i, o: {
        "email": "nobody@authz.test"}),
    ("pages.accept_invitation", "GET"): Rule(EVERYONE, public=True),
    ("pages.accept_invitation", "POST"): Rule(EVERYONE, public=True),
    ("pages.reset_password", "GET"): Rule(EVERYONE, public=True),
    ("pages.reset_password", "POST"): Rule(EVERYONE, public=True),
    ("pages.index", "GET"): Rule(ALL),
    ("pages.api_docs", "GET"): Rule(ALL),
    ("pages.account", "GET"): Rule(ALL),
    ("pages.change_password", "POST"): Rule(ALL, body=lambda i, o: {
        "current": "not the password", "new": "a new long password", "confirm":
        "a new long password"}),
    ("pages.create_token", "POST"): Rule(ALL, body=lambda i, o: {"name": "page token"}),
    ("pages.revoke_token", "POST"): Rule(ALL, ids={"token_id": ("spare2_{role}",
                                                                "spare_a2")}, admin_own=True),
    ("pages.sign_out", "POST"): Rule(ALL, late=True, fresh=True),
    ("pages.sign_out_everywhere", "POST"): Rule(ALL, late=True, fresh=True),
    # --- pages: athlete -------------------------------------------------------------------
    ("pages.season", "GET"): Rule("athlete"),
    ("pages.race_calendar", "GET"): Rule("athlete"),
    ("pages.upload_races", "POST"): Rule("athlete"),
    ("pages.subscribe_races", "POST"): Rule("athlete", body=lambda i, o: {
        "url": f"https://127.0.0.1:9/races{uniq()}.ics", "interval": "360"}),
    ("pages.sync_races", "POST"): Rule("athlete"),
    ("pages.unsubscribe_races", "POST"): Rule("athlete", late=True),
    ("pages.set_home_site", "POST"): Rule("athlete", body=lambda i, o: {
        "home_site_id": i["site"]}),
    ("pages.plan_race", "POST"): Rule("athlete", body=lambda i, o: {
        "name": "Page race", "date": "2027-08-01", "timezone": "Europe/Berlin"}),
    ("pages.event_page", "GET"): Rule("athlete"),
    ("pages.book_slot", "POST"): Rule("athlete", body=lambda i, o: {
        "kind": "post", "therapist_id": pick(i, o, "t1", "t2"),
        "start": "2027-05-18T12:00:00+00:00"}),
    ("pages.booking_page", "GET"): Rule("athlete"),
    ("pages.booking_invite", "GET"): Rule("athlete"),
    ("pages.reschedule", "POST"): Rule("athlete", body=lambda i, o: {
        "kind": "pre", "therapist_id": pick(i, o, "t1", "t2"),
        "start": "2027-05-12T11:00:00+00:00"}),
    ("pages.cancel", "POST"): Rule("athlete", ids={"booking_id": ("b1c", "b2c")},
                                   late=True),
    ("pages.rotate_my_feed", "POST"): Rule("athlete"),
    ("pages.set_my_reminders", "POST"): Rule("athlete", body=lambda i, o: {
        "reminders": "on"}),
    ("pages.join_waitlist", "POST"): Rule("athlete", body=lambda i, o: {"kind": "pre"}),
    ("pages.leave_waitlist", "POST"): Rule("athlete", ids={"entry_id": ("wp_athlete", "w2p")}),
    ("pages.screening", "GET"): Rule("athlete"),
    ("pages.screening", "POST"): Rule("athlete", body=lambda i, o: {
        "pacemaker": "yes", "note": ""}),
    # --- pages: coach ---------------------------------------------------------------------
    ("pages.teams", "GET"): Rule("admin coach"),
    ("pages.team_create", "POST"): Rule("admin coach", body=lambda i, o: {"name": "Paged"}),
    ("pages.team_page", "GET"): Rule("admin coach"),
    ("pages.team_plan_event", "POST"): Rule("admin coach", body=lambda i, o: {
        "event-name": "Team race", "event-date": "2027-09-04",
        "event-timezone": "Europe/Berlin"}),
    ("pages.team_board", "GET"): Rule("admin coach", ids={"event_id": ("tx", "ty")}),
    ("pages.team_book_all", "POST"): Rule("admin coach", ids={"event_id": ("tx", "ty")}),
    ("pages.team_feed_rotate", "POST"): Rule("admin coach"),
    ("pages.team_invite", "POST"): Rule("admin coach", body=lambda i, o: {
        "invite-name": "Invited", "invite-email": f"inv{uniq()}@authz.test",
        "invite-sport": "running", "invite-timezone": "Europe/Berlin"}),
    ("pages.team_add_member", "POST"): Rule("admin coach", body=lambda i, o: {
        "add-email": "a1@authz.test"}),
    ("pages.team_remove_member", "POST"): Rule("admin coach",
                                               ids={"athlete_id": ("x2", "a2")}, late=True),
    # --- pages: therapist (an admin names the therapist: ?therapist_id=) -------------------
    ("pages.week", "GET"): Rule("admin therapist", query=THERAPIST_Q + "&start=2027-05-10",
                                objects=True),
    ("pages.rotate_feed", "POST"): Rule("admin therapist", query=THERAPIST_Q, objects=True),
    ("pages.record_review", "POST"): Rule("admin therapist", body=lambda i, o: {
        f"review-{pick(i, o, 'a1', 'a2')}-decision": "cleared"}),
    ("pages.hours", "GET"): Rule("admin therapist", query=THERAPIST_Q, objects=True),
    ("pages.save_hours", "POST"): Rule("admin therapist", query=THERAPIST_Q, objects=True,
                                       body=lambda i, o: {
                                           "session_minutes": "45", "buffer_minutes": "0",
                                           "slot_step_minutes": "15"}),
    ("pages.time_off", "GET"): Rule("admin therapist", query=THERAPIST_Q, objects=True),
    ("pages.add_time_off", "POST"): Rule("admin therapist", query=THERAPIST_Q,
                                         objects=True, body=lambda i, o: {
                                             "first": "2027-02-22"}),
    ("pages.remove_time_off", "POST"): Rule("admin therapist", query=THERAPIST_Q,
                                            ids={"time_off_id": ("off_t1p", "off_t2p")}),
    ("pages.busy", "GET"): Rule("admin therapist", query=THERAPIST_Q, objects=True),
    ("pages.upload_busy", "POST"): Rule("admin therapist", query=THERAPIST_Q, objects=True),
    ("pages.remove_busy_upload", "POST"): Rule("admin therapist", query=THERAPIST_Q,
                                               objects=True),
    ("pages.subscribe_busy", "POST"): Rule("admin therapist", query=THERAPIST_Q,
                                           objects=True, body=lambda i, o: {
                                               "url": f"https://127.0.0.1:9/p{uniq()}.ics",
                                               "interval": "60"}),
    ("pages.unsubscribe_busy", "POST"): Rule("admin therapist", query=THERAPIST_Q,
                                             ids={"subscription_id": ("sub_t1p", "sub_t2p")}),
    ("pages.sync_busy", "POST"): Rule("admin therapist", query=THERAPIST_Q,
                                      ids={"subscription_id": ("sub_t1p", "sub_t2p")}),
    ("pages.day_changes", "GET"): Rule("therapist"),
    ("pages.waitlists", "GET"): Rule("admin therapist"),
    ("pages.add_day_change", "POST"): Rule("therapist", body=lambda i, o: {
        "day": "2027-03-05", "hours": "closed"}),
    ("pages.remove_day_change", "POST"): Rule("therapist"),
    # --- pages: admin ---------------------------------------------------------------------
    ("pages.admin_home", "GET"): Rule("admin"),
    ("pages.admin_athletes", "GET"): Rule("admin"),
    ("pages.admin_add_athlete", "POST"): Rule("admin", body=lambda i, o: {
        "name": "Paged", "email": f"pa{uniq()}@authz.test", "timezone": "UTC",
        "sport": "running"}),
    ("pages.admin_invite_athlete", "POST"): Rule("admin"),
    ("pages.admin_set_reminders", "POST"): Rule("admin", body=lambda i, o: {
        "reminders": "on"}),
    ("pages.admin_therapists", "GET"): Rule("admin"),
    ("pages.admin_add_therapist", "POST"): Rule("admin", body=lambda i, o: {
        "name": "Paged", "email": f"pt{uniq()}@authz.test", "timezone": "UTC",
        "session_minutes": "45"}),
    ("pages.admin_invite_therapist", "POST"): Rule("admin", ids={"profile_id": ("t2", "t2")}),
    ("pages.admin_move_therapist", "POST"): Rule("admin", ids={"profile_id": ("t2", "t2")},
                                                 body=lambda i, o: {"site_id": i["site"]}),
    ("pages.admin_teams", "GET"): Rule("admin"),
    ("pages.admin_create_team", "POST"): Rule("admin", body=lambda i, o: {"name": "Paged"}),
    ("pages.admin_assign_coach", "POST"): Rule("admin", body=lambda i, o: {
        "coach_email": "coach2@authz.test"}, ids={"team_id": ("y", "y")}),
    ("pages.admin_users", "GET"): Rule("admin"),
    ("pages.admin_invite_user", "POST"): Rule("admin", body=lambda i, o: {
        "email": f"pu{uniq()}@authz.test", "role": "coach"}),
    ("pages.admin_set_disabled", "POST"): Rule("admin", body=lambda i, o: {
        "disabled": "1"}),
    ("pages.admin_send_reset", "POST"): Rule("admin"),
    ("pages.admin_change_role", "POST"): Rule("admin", body=lambda i, o: {"role": "coach"}),
    ("pages.admin_settings", "GET"): Rule("admin"),
    ("pages.admin_jobs", "GET"): Rule("admin"),
    ("pages.admin_run_jobs", "POST"): Rule("admin"),
    ("pages.admin_save_settings", "POST"): Rule("admin", body=lambda i, o: {
        "clinic_name": "Authz Clinic"}),
    ("pages.admin_sites", "GET"): Rule("admin"),
    ("pages.admin_add_site", "POST"): Rule("admin", body=lambda i, o: {
        "name": f"Paged {uniq()}", "timezone": "UTC"}),
    ("pages.admin_site", "GET"): Rule("admin"),
    ("pages.admin_save_site", "POST"): Rule("admin", body=lambda i, o: {
        "name": "Berlin", "timezone": "Europe/Berlin", "address": "Seestr. 1"}),
}


# --- the URL map ----------------------------------------------------------------------------

def url_map_cells(app) -> dict[tuple[str, str], Any]:
    """(endpoint, method) -> the rule, for every route but static files."""
    cells = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED_ENDPOINTS:
            continue
        for method in sorted(rule.methods - SKIPPED_METHODS):
            cells[(rule.endpoint, method)] = rule
    return cells


@pytest.fixture(scope="module")
def bare_app():
    from athlete_sched import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True,
                       "SECRET_KEY": "test"})


def uncovered(app) -> tuple[list, list]:
    """The routes with no row in TABLE, and the rows with no route."""
    cells = url_map_cells(app)
    return sorted(set(cells) - set(TABLE)), sorted(set(TABLE) - set(cells))


def test_the_table_names_every_route_and_only_routes(bare_app):
    missing, stale = uncovered(bare_app)
    assert not missing, f"routes with no row in the authorization table: {missing}"
    assert not stale, f"table rows for routes that no longer exist: {stale}"


def test_a_new_route_or_a_dropped_one_is_caught(monkeypatch):
    from athlete_sched import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True,
                      "SECRET_KEY": "test"})
    app.add_url_rule("/new/<int:thing_id>", "pages.new_thing", lambda thing_id: "",
                     methods=["GET", "POST"])
    monkeypatch.setitem(TABLE, ("api.gone", "GET"), Rule("admin"))
    missing, stale = uncovered(app)
    assert missing == [("pages.new_thing", "GET"), ("pages.new_thing", "POST")]
    assert stale == [("api.gone", "GET")]


def test_every_table_row_is_read_right():
    actors = set(EVERYONE.split())
    for cell, rule in TABLE.items():
        assert set(rule.allow.split()) <= actors, cell
        assert rule.allow.split(), cell


# --- running one cell ---------------------------------------------------------------------

@dataclass
class Cell:
    endpoint: str
    method: str
    actor: str  # an actor of the table, or anon/revoked/disabled
    url: str
    own: bool
    rule: Rule
    api: bool
    channel: str = ""  # which credential: token, cookie, page, bearer, none


def _ids_of(rule: Rule, param: str) -> tuple[str, str]:
    return rule.ids.get(param) or DEFAULT_IDS[param]


def _value(world: World, key: str, role: str) -> Any:
    key = key.format(role=role)
    return world.ids.get(key, key)


def _url(world: World, werk_rule, rule: Rule, role: str, own: bool) -> str:
    values = {}
    for param in werk_rule.arguments:
        mine, theirs = _ids_of(rule, param)
        values[param] = _value(world, mine if own else theirs, role)
    path = werk_rule.build(values, append_unknown=False)[1]
    t = world.ids["t1" if own else "t2"]
    query = rule.query.format(t=t, **values)
    return path + ("?" + query if query else "")


def _has_objects(werk_rule, rule: Rule) -> bool:
    return rule.objects or any(_ids_of(rule, p)[0] != _ids_of(rule, p)[1]
                               for p in werk_rule.arguments)


def cells_of(world: World, endpoint: str, method: str, werk_rule) -> list[Cell]:
    rule = TABLE[(endpoint, method)]
    api = werk_rule.rule.startswith("/api/")
    found = []
    for role in SIGNED_IN:
        runs = [True, False] if role != "admin" or rule.admin_own else [False]
        if not _has_objects(werk_rule, rule):
            runs = runs[:1]
        for own in runs:
            actor = role if own or (role == "admin" and not rule.admin_own) else role + "*"
            found.append(Cell(endpoint, method, actor, _url(world, werk_rule, rule, role, own),
                              own, rule, api))
    url = _url(world, werk_rule, rule, "athlete", True)
    strangers = [("anon", "none"), ("anon", "cookie" if api else "bearer"),
                 ("disabled", "token" if api else "page")]
    if api:
        strangers.append(("revoked", "token"))
    found += [Cell(endpoint, method, actor, url, True, rule, api, channel)
              for actor, channel in strangers]
    return found


def send(world: World, cell: Cell):
    role = cell.actor.rstrip("*")
    kwargs: dict[str, Any] = {}
    body = cell.rule.body(world.ids, cell.own) if cell.rule.body else None
    if cell.rule.ics_body:
        kwargs = {"data": BUSY_ICS, "content_type": "text/calendar"}
    elif body is not None:
        kwargs = {"json": body} if cell.api else {"data": body}
    if cell.actor in SIGNED_IN or cell.actor.endswith("*"):
        if cell.api:
            return world.call(world.tokens[role], cell.method, cell.url, **kwargs)
        if not cell.rule.fresh:
            return world.pages[role].open(cell.url, method=cell.method, **kwargs)
        client = world.sign_in(world.emails[role])
        response = client.open(cell.url, method=cell.method, **kwargs)
        assert to_sign_in(client.get("/account")), f"{cell.url} left {role} signed in"
        return response
    if cell.channel == "none":
        return world.app.test_client().open(cell.url, method=cell.method, **kwargs)
    if cell.channel == "cookie":  # a signed-in page session is no API credential
        return world.pages["admin"].open(cell.url, method=cell.method, **kwargs)
    if cell.channel == "page":
        return world.pages["disabled"].open(cell.url, method=cell.method, **kwargs)
    token = world.tokens["admin" if cell.channel == "bearer" else cell.actor]
    return world.call(token, cell.method, cell.url, **kwargs)


def to_sign_in(response) -> bool:
    return response.status_code in (302, 303) and "/sign-in" in response.location


def allowed(cell: Cell) -> bool:
    return cell.actor in cell.rule.allow.split()


def verdict(cell: Cell, response) -> str | None:
    """None if the answer is what the table says, else what is wrong."""
    status = response.status_code
    if status >= 500:
        return f"{status} server error"
    if allowed(cell):
        if status in (401, 403) or (status == 404 and not cell.rule.public):
            return f"allowed but refused with {status}"
        if to_sign_in(response) and not cell.rule.fresh:
            return "allowed but sent to sign-in"
        return None
    if cell.actor in ("anon", "revoked", "disabled"):
        wanted = status == 401 if cell.api else to_sign_in(response)
        return None if wanted else f"refused stranger answered {status}"
    return None if status in (403, 404) else f"refused but answered {status}"


# --- the world per test (each test builds its own: writes change it) ----------------------

@pytest.fixture
def app_config(app_config):
    return {**app_config, "WTF_CSRF_ENABLED": False, "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": 9, "MAIL_TIMEOUT": 1, "CALENDAR_FETCH_TIMEOUT": 1}


@pytest.fixture
def world(app, monkeypatch) -> World:
    """The clinic, with a cheap password hash (argon2's defaults cost over half a second a
    sign-in on this machine; what is checked here is who may, not the hash)."""
    from argon2 import PasswordHasher

    from athlete_sched.services import accounts

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=64,
                                                            parallelism=1))
    return build(app)


def _run(world: World, methods: set[str], late: bool | None = None
         ) -> tuple[list[str], list[tuple[Cell, Any]]]:
    problems, answers = [], []
    cells = url_map_cells(world.app)
    order = sorted(cells.items(), key=lambda c: (TABLE[c[0]].fresh, c[0]))
    for (endpoint, method), werk_rule in order:
        rule = TABLE[(endpoint, method)]
        if method not in methods or (late is not None and rule.late != late):
            continue
        found = sorted(cells_of(world, endpoint, method, werk_rule), key=allowed)
        refused = [c for c in found if not allowed(c)]
        # refused first: together they must leave every row as it was
        before = snapshot(world.app) if method != "GET" and refused else None
        for cell in [*found, None]:
            if before is not None and (cell is None or allowed(cell)):
                if snapshot(world.app) != before:
                    problems.append(f"{method} {endpoint}: refused as "
                                    f"{sorted({c.actor for c in refused})}, but data changed")
                before = None
            if cell is None:
                break
            response = send(world, cell)
            wrong = verdict(cell, response)
            if wrong:
                problems.append(f"{method} {cell.url} as {cell.actor}/{cell.channel or '-'}: "
                                f"{wrong}: {response.get_data(as_text=True)[:160]!r}")
            answers.append((cell, response))
    return problems, answers


def test_writes_answer_as_the_table_says_and_refused_ones_change_nothing(world):
    writes = {"POST", "PUT", "PATCH", "DELETE"}
    problems, _ = _run(world, writes, late=False)
    late, _ = _run(world, writes, late=True)
    assert not problems + late, "\n".join(problems + late)
    # every email those writes queued (moves, cancellations, team bookings, invitations,
    # resets) keeps what athletes wrote and the answers out too
    assert len(world.mails()) > 8
    assert not mail_leaks(world), "\n".join(mail_leaks(world))


# --- what athletes write and the medical answers, in every channel -------------------------

# Who may read each marker: the people (actor without its *: the same user either way).
READERS = {
    "a1_booking_note": {"admin", "therapist", "athlete"},
    "a1_screening_note": {"admin", "therapist", "athlete"},
    "a1_review_note": {"admin", "therapist", "athlete"},
    "a2_booking_note": {"admin"},
    "a2_screening_note": {"admin"},
}


def _text(response) -> str:
    return response.get_data(as_text=True)


def _has_answer(response) -> bool:
    """The answer names the medical consideration a1 and a2 answered yes."""
    if response.is_json:
        found = []

        def walk(value: Any) -> None:
            if isinstance(value, dict):
                found.extend(k for k, v in value.items() if k == ANSWER_KEY and v is True)
                for v in value.values():
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)

        walk(response.get_json())
        return bool(found)
    return ANSWER_LABEL in _text(response)


def test_reads_answer_as_the_table_says_and_athlete_text_reaches_only_its_readers(world):
    """Every GET cell as the table says; then, in those answers, every feed and every email
    queued, the markers and the medical answer only where READERS allow."""
    problems, answers = _run(world, {"GET"})
    assert not problems, "\n".join(problems)
    seen: dict[str, set[str]] = {name: set() for name in MARKERS}
    for cell, response in answers:
        if response.status_code >= 300:
            continue
        body, person = _text(response), cell.actor.rstrip("*")
        calendar = response.mimetype == "text/calendar"
        for name, marker in MARKERS.items():
            if marker in body:
                seen[name].add(person)
                if calendar or person not in READERS[name]:
                    problems.append(f"{name} in {cell.url} ({response.mimetype}) "
                                    f"as {cell.actor}")
        if person in ("coach", "anon", "revoked", "disabled") and _has_answer(response):
            problems.append(f"a medical answer in {cell.url} as {cell.actor}")
        if calendar and ANSWER_LABEL in body:
            problems.append(f"a medical answer in the calendar {cell.url}")
    for name, readers in READERS.items():  # each marker is found where it belongs
        assert seen[name] & readers, f"{name} was found nowhere: the check could not fail"
    for key, path in world.feeds.items():
        feed = world.app.test_client().get(path)
        assert feed.status_code == 200 and feed.mimetype == "text/calendar", path
        for name, marker in MARKERS.items():
            if marker in _text(feed):
                problems.append(f"{name} in the feed of {key}")
        assert ANSWER_LABEL not in _text(feed)
    coach_reads = world.ok(world.tokens["coach"], "GET",
                           f"{A}/athletes/{world.ids['a1']}/screening")
    assert coach_reads == {"athlete_id": world.ids["a1"], "state": "cleared"}, coach_reads
    assert world.mails(), "the bookings queued no email: the check could not fail"
    problems += mail_leaks(world)
    assert not problems, "\n".join(problems)


def mail_leaks(world: World) -> list[str]:
    """What every email queued so far holds of the markers and the medical answer."""
    problems = []
    for text in world.mails():
        for name, marker in MARKERS.items():
            if marker in text:
                problems.append(f"{name} in an email: {text[:200]!r}")
        if ANSWER_LABEL in text or re.search(rf"\b{ANSWER_KEY}\b", text):
            problems.append(f"a medical answer in an email: {text[:200]!r}")
    return problems


# --- regressions the matrix found -----------------------------------------------------------

def test_rotating_the_feed_from_another_athletes_session_page_is_a_404(
        app, api, make_user, make_therapist, make_athlete, make_event):
    """POST /bookings/<id>/feed/rotate rotated the caller's feed whatever the booking was
    (and sent them to another athlete's session): now someone else's session is a 404 and
    nothing rotates."""
    from conftest import PASSWORD

    therapist, mine, theirs = make_therapist(), make_athlete(), make_athlete()
    booking = api.post("/api/v1/bookings", json={
        "event_id": make_event(theirs["id"])["id"], "therapist_id": therapist["id"],
        "kind": "pre", "start": "2027-05-12T09:00"}).get_json()
    make_user("athlete", mine["email"], password=PASSWORD)
    signed = app.test_client()
    assert signed.post("/sign-in", data={"email": mine["email"],
                                         "password": PASSWORD}).status_code == 303
    api.get(f"/api/v1/athletes/{mine['id']}/feed")  # the feed exists
    before = snapshot(app)
    assert signed.post(f"/bookings/{booking['id']}/feed/rotate").status_code == 404
    assert snapshot(app) == before
