"""The JSON API's blueprint (/api/v1): its guard (body limit, bearer token) and the
routes of the API itself (its OpenAPI document, the caller, users). The routes of each
area live in the api_*.py modules, which add them to `bp`; web/__init__.py imports
them before it registers the blueprint.

Every view reads: parse -> one service call -> serialize. The unit of work around it
(services/unit_of_work.py) commits once at its end, or rolls back on an error.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request

from ..services import accounts
from . import limits, openapi
from .http import answer, authenticate, current_caller, parse_body, refuse_large_body, roles
from .schemas import clinic as sc

bp = Blueprint("api", __name__, url_prefix="/api/v1")
doc = openapi.doc


@bp.before_request
def _guard() -> None:
    """Every route: 413 for an oversized body (over the view's own limit where it has one:
    http.body_limit), then the bearer token (401). An address whose wrong tokens used up
    RATELIMIT_BAD_TOKEN gets 429 before its token is looked at (web/limits.py)."""
    refuse_large_body()
    if not openapi.is_public(current_app.view_functions.get(request.endpoint or "")):
        limits.check("RATELIMIT_BAD_TOKEN", limits.address())
        g.caller = authenticate(on_unknown=lambda: limits.failed("RATELIMIT_BAD_TOKEN",
                                                                 limits.address()))


@bp.get("/openapi.json")
@doc(summary="This OpenAPI document (public: no token needed)", public=True)
def openapi_json():
    return jsonify(openapi.build(current_app))


@bp.get("/me")
@doc(summary="The caller: user, and the therapist or athlete profile it acts as",
     response=sc.UserOut)
def me():
    return jsonify(sc.user_json(current_caller()))


@bp.post("/users")
@roles("admin")
@doc(summary="Create a user; the token is shown once", body=sc.UserIn,
     response=sc.UserCreated, status=201)
def create_user():
    data = parse_body(sc.UserIn)
    user, token = accounts.create_user_for(current_caller(), data.email, data.role, data.name)
    return answer({**sc.dump(sc.UserOut, user), "token": token}, 201)
