"""The API's documentation: GET /docs/api renders the app's own OpenAPI document
(/api/v1/openapi.json, built from the schemas that validate requests) with Swagger UI,
served from this app's static files (static/vendor/swagger-ui/, see its VENDORED.md) and
started by static/api-docs.js: no other host is asked for anything.

Signed-in users of any role may open it, though the JSON document itself is public (the
contract: every /api/v1 route but openapi.json needs a bearer token). The issue's rule is
that no page shows anything without sign-in but sign-in, password reset, invitations and
the feeds, and a page for people is a page; machines read the JSON directly. Every role
has its API token on the account page, which this page tells them how to use.
"""

from __future__ import annotations

from flask import render_template, url_for

from ..auth import signed_in
from . import bp


@bp.get("/docs/api")
@signed_in()
def api_docs():
    return render_template("docs/api.html", spec_url=url_for("api.openapi_json"))
