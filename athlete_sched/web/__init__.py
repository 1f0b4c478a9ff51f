"""The web layer: parse a request, make one service call, serialize the answer.

- api.py: the JSON API's blueprint (/api/v1) and its guard; api_*.py add the routes of
  each area to it (accounts: own tokens and disabling users, clinic, scheduling, team,
  screening, busy calendars, calendars);
- feeds.py: the public calendar feeds (/feeds/<token>.ics);
- pages/: the server-rendered pages, behind sign-in (auth.py: Flask-Login);
- schemas/: the pydantic models that validate requests, serialize answers and make the
  OpenAPI document (openapi.py); http.py: parsing, auth, answers; errors.py: the mapping
  of every error to the contract's JSON or a readable page.
"""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Add every blueprint and error handler to the app (the route modules add their
    routes to their blueprint when imported, so they are imported first)."""
    from . import (  # noqa: F401 - imported for their routes
        api,
        api_accounts,
        api_busy,
        api_calendars,
        api_clinic,
        api_scheduling,
        api_screening,
        api_team,
        api_working_days,
        auth,
        errors,
        feeds,
        http,
        pages,
    )

    app.before_request(http.raise_body_limit)  # first: before CSRF reads a page's form
    errors.register(app)
    auth.register(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(feeds.bp)  # GET /feeds/<token>.ics (public)
    app.register_blueprint(pages.bp)
