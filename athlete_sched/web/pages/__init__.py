"""Server-rendered pages for every role, behind sign-in (web/auth.py).

Plain HTML forms with POST-redirect-GET, so every page works without JavaScript; forms
carry a Flask-WTF CSRF token. Each view is one unit of work (services/unit_of_work.py): a
POST that answers an error page changes nothing.

The views, by area (each module here joins the blueprint by being here):
- everyone: auth.py (sign in and out, password reset, invitations), account.py (one's
  password and API tokens, with expiry and last use), docs.py (the API's documentation, Swagger UI);
- athlete: home.py (my season, plan a race) with athlete_timeline.py (the SVG timeline),
  race.py (a race's windows and slots, booking one), session.py (a session: move, cancel,
  add to calendar via calendar_links.py), athlete_screening.py (the questionnaire);
- coach: coach.py (teams, rosters, invitations, team events, the feed), coach_board.py
  (a team event's plan as a board, book all), coach_forms.py;
- therapist: therapist.py (the week, screening reviews, the feed), therapist_hours.py,
  day_changes.py, therapist_time_off.py, therapist_busy.py (the busy calendar),
  waitlists.py (the clinic's waiting lists, also for admins);
- admin: admin.py (therapists, athletes, teams, users and roles), admin_clinic.py (the
  overview and the clinic's settings; users: roles, reset links, disable and enable),
  admin_sites.py (the clinic's sites), admin_jobs.py (the background work);
format.py formats times and zones for all of them. Templates: one folder per area, a
stylesheet per area in static/.
"""

from __future__ import annotations

import importlib
import pkgutil

from flask import Blueprint, current_app, render_template
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from ...services.accounts import MIN_PASSWORD
from ...services.common import clinic_name

bp = Blueprint("pages", __name__)

# The navigation of each role: (endpoint, label). An endpoint not there yet is left out.
NAV = {
    "athlete": (("pages.season", "My season"), ("pages.screening", "Screening")),
    "coach": (("pages.teams", "Teams"),),
    "therapist": (("pages.week", "My week"), ("pages.hours", "Hours"),
                  ("pages.day_changes", "Day changes"), ("pages.time_off", "Time off"),
                  ("pages.busy", "Busy calendar"), ("pages.waitlists", "Waiting lists")),
    "admin": (("pages.admin_home", "Clinic"), ("pages.admin_therapists", "Therapists"),
              ("pages.admin_athletes", "Athletes"), ("pages.admin_teams", "Teams"),
              ("pages.admin_users", "Users"), ("pages.admin_sites", "Sites"),
              ("pages.admin_settings", "Settings"), ("pages.waitlists", "Waiting lists"),
              ("pages.admin_jobs", "Background work")),
}
ROLE_HOME = {"athlete": "pages.season", "coach": "pages.teams", "therapist": "pages.week",
             "admin": "pages.admin_home"}


@bp.app_context_processor
def _navigation() -> dict:
    def nav() -> list[tuple[str, str]]:
        if not current_user.is_authenticated:
            return []
        views = current_app.view_functions
        return [(e, label) for e, label in NAV.get(current_user.role, ()) if e in views]

    def has_page(endpoint: str) -> bool:
        return endpoint in current_app.view_functions

    return {"nav": nav, "has_page": has_page, "role_home": ROLE_HOME,
            "min_password": MIN_PASSWORD, "clinic_name": clinic_name}


@bp.errorhandler(CSRFError)
def _csrf_error(_exc: CSRFError):
    message = ("This form has expired or did not come from this site. "
               "Go back, reload the page and try again.")
    return render_template("error.html", status=400, message=message, fields={}), 400


def _import_views() -> None:
    """Import every module of this package so that its routes join the blueprint: a new
    page module needs no registration anywhere else."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


_import_views()
