"""JSON API v1: one's own API tokens (list, create with an optional expiry, revoke) and an
admin's switch that disables or re-enables a user."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import jsonify

from ..services import accounts
from .api import bp, doc
from .http import answer, current_caller, page, parse_body, parse_query, roles
from .schemas import accounts as sc
from .schemas.base import PageQuery, dump, page_of


def token_json(token: Any) -> dict:
    return dump(sc.TokenOut, {**_fields(token), "expired": accounts.token_expired(token)})


def _fields(token: Any) -> dict:
    return {name: getattr(token, name)
            for name in ("id", "name", "created_at", "expires_at", "last_used_at")}


@bp.get("/me/tokens")
@doc(summary="The caller's own API tokens: name, created, expires, last used (never the "
     "token itself)", query=PageQuery, response=page_of(sc.TokenOut))
def list_tokens():
    q = parse_query(PageQuery)
    found = accounts.tokens_for(current_caller(), q.after_id, q.limit + 1)
    return jsonify(page(found, q.limit, token_json))


@bp.post("/me/tokens")
@doc(summary="A new API token of the caller's own, optionally expiring; the token is "
     "shown once", body=sc.TokenIn, response=sc.TokenCreated, status=201)
def create_token():
    data = parse_body(sc.TokenIn)
    at = data.expires_at
    if isinstance(at, datetime) and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)  # a token has no zone of its own: naive is UTC
    made, token = accounts.create_token_for(current_caller(), data.name,
                                            data.expires_in_days, at)
    return answer({**token_json(made), "token": token}, 201)


@bp.delete("/me/tokens/<int:token_id>")
@doc(summary="Revoke one of the caller's tokens: it answers 401 from now on", status=204)
def revoke_token(token_id: int):
    accounts.revoke_token_for(current_caller(), token_id)
    return answer(None, 204)


@bp.patch("/users/<int:user_id>")
@roles("admin")
@doc(summary="Disable a user (no sign-in; their sessions and tokens stop at once) or "
     "enable them again (admins; not oneself)", body=sc.UserPatch, response=sc.UserStatusOut)
def patch_user(user_id: int):
    data = parse_body(sc.UserPatch)
    user = accounts.set_disabled_for(current_caller(), user_id, data.disabled)
    return answer(dump(sc.UserStatusOut, user))
