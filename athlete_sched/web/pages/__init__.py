"""Server-rendered pages: plan a race, see its windows and the best slots, book one.

Until sign-in arrives, the pages act for the athlete whose email is DEMO_ATHLETE_EMAIL
(`flask --app wsgi demo` creates it; services/overview.py). Plain HTML forms with
POST-redirect-GET, so every page works without JavaScript; forms carry a Flask-WTF CSRF
token. Each view is one unit of work (services/unit_of_work.py): a POST that answers an
error page changes nothing.

The views, by area: home.py (the athlete's races and sessions, the plan-a-race form),
race.py (a race's windows and slots, booking one), session.py (a booked session and its
invite); format.py formats times and zones for all of them.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_wtf.csrf import CSRFError

bp = Blueprint("pages", __name__)


@bp.errorhandler(CSRFError)
def _csrf_error(_exc: CSRFError):
    message = ("This form has expired or did not come from this site. "
               "Go back, reload the page and try again.")
    return render_template("error.html", status=400, message=message, fields={}), 400
