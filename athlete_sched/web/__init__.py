"""The web layer: parse a request, make one service call, serialize the answer.

- api.py: the JSON API's blueprint (/api/v1) and its guard; api_*.py add the routes of
  each area to it (accounts: own tokens and disabling users, clinic, scheduling, team,
  screening, busy calendars, calendars);
- feeds.py: the public calendar feeds (/feeds/<token>.ics);
- health.py: `GET /healthz` (public); access_log.py: request ids and the access log;
- pages/: the server-rendered pages, behind sign-in (auth.py: Flask-Login);
- schemas/: the pydantic models that validate requests, serialize answers and make the
  OpenAPI document (openapi.py); http.py: parsing, auth, answers; errors.py: the mapping
  of every error to the contract's JSON or a readable page.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

# The largest id the database stores (a 32-bit INTEGER on PostgreSQL): a path id outside
# 1..ID_MAX names no row, and without this bound PostgreSQL refused the query ("integer
# out of range": a 422 where the answer is 404; tests/test_fuzz_api.py found it).
ID_MAX = 2**31 - 1


class IdConverter(IntegerConverter):
    """`<int:...>` in a route: a row id; a number outside 1..ID_MAX is a 404 whatever the
    method (as a bound on the rule it would match no rule, and another method's rule of the
    same path would make it a 405)."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if not 1 <= number <= ID_MAX:
            from .errors import NoSuchId

            raise NoSuchId(f"nothing has the id {number}: ids run from 1 to {ID_MAX}")
        return number


def register(app: Flask) -> None:
    """Add every blueprint and error handler to the app (the route modules add their
    routes to their blueprint when imported, so they are imported first)."""
    from . import (  # noqa: F401 - imported for their routes
        access_log,
        api,
        api_accounts,
        api_busy,
        api_calendars,
        api_clinic,
        api_race_calendars,
        api_scheduling,
        api_screening,
        api_team,
        api_waitlist,
        api_working_days,
        auth,
        errors,
        feeds,
        health,
        http,
        limits,
        pages,
        request_limits,
        security,
    )

    app.url_map.converters["int"] = IdConverter  # before any route is added
    app.before_request(http.raise_body_limit)  # first: before CSRF reads a page's form
    errors.register(app)
    limits.register(app)  # abuse limits and the import cap (Flask-Limiter)
    auth.register(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(feeds.bp)  # GET /feeds/<token>.ics (public)
    app.register_blueprint(pages.bp)
    app.register_blueprint(health.bp)  # GET /healthz (public, figures only)
    security.register(app)  # security headers (after_request) and TRUSTED_PROXIES
    request_limits.register(app)  # WSGI layer: 414 / 431 as JSON under /api/
    # Last, so outermost: request ids and the access log around every other layer (the
    # 414 / 431 answers included; it reads REMOTE_ADDR after them, as ProxyFix has set it).
    access_log.install(app)
