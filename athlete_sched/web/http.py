"""Request parsing, bearer-token auth, answers and pagination for the JSON API."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, get_origin

from flask import after_this_request, current_app, g, jsonify, request, url_for
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from ..services import access, accounts
from ..services.access import Caller
from .errors import ApiError, validation_fields

M = TypeVar("M", bound=BaseModel)


def body_limit(config_key: str) -> Callable[[F], F]:
    """Let this view's request body grow to the config value `config_key` (a calendar
    upload, API or page); `raise_body_limit` applies it before anything reads the body."""

    def decorate(view: F) -> F:
        view.body_limit = config_key  # type: ignore[attr-defined]
        return view

    return decorate


def raise_body_limit() -> None:
    """Before every request, ahead of the CSRF check that reads a page's form: the view's
    own body limit where it has one (`body_limit`), else MAX_CONTENT_LENGTH."""
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "body_limit", None):
        request.max_content_length = current_app.config[view.body_limit]  # type: ignore[union-attr]
    _buffer_undeclared_body()


def _buffer_undeclared_body() -> None:
    """A body sent without Content-Length (chunked): read it now, up to one byte over the
    limit, and 413 when it is longer. werkzeug would cut it at the limit without a word,
    and the view would see a truncated body (a 400 for JSON cut in half)."""
    limit = request.max_content_length
    environ = request.environ
    if (limit is None or request.content_length is not None
            or not environ.get("wsgi.input_terminated")
            or "chunked" not in request.headers.get("Transfer-Encoding", "").lower()):
        return
    body = environ["wsgi.input"].read(limit + 1)
    if len(body) > limit:
        raise RequestEntityTooLarge()
    environ["wsgi.input"] = io.BytesIO(body)


def refuse_large_body() -> None:
    """413 for a declared body over the request's limit (MAX_CONTENT_LENGTH unless the
    view raised it), on every route (also those that read no body); an undeclared
    (chunked) one was measured before (`raise_body_limit`)."""
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read_json() -> Any:
    """The JSON body: 415 for another content type, 400 when it does not parse (NaN and
    Infinity included: Python's json accepts them, JSON does not)."""
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported-media-type",
                       "send the body as JSON with Content-Type: application/json")
    raw = request.get_data(cache=True)  # over MAX_CONTENT_LENGTH: 413 from werkzeug
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ApiError(400, "malformed-json", f"the body is not valid JSON: {exc}") from None


def parse_body(model: type[M], *, wrap: str | None = None) -> M:
    """Parse and validate a JSON object body. `wrap` also accepts a bare list as {wrap: list}."""
    data = read_json()
    if wrap is not None and isinstance(data, list):
        data = {wrap: data}
    if not isinstance(data, dict):
        raise ApiError(400, "malformed-body", "the body must be a JSON object")
    return _validated(model, data)


def json_bytes(value: Any) -> bytes:
    """`value` as the bytes jsonify would send (for answers a service keeps in a cache)."""
    return f"{current_app.json.dumps(value)}\n".encode()


def parse_query(model: type[M]) -> M:
    """The query string as `model`: a list field takes every value of a repeated parameter
    (`?site_id=1&site_id=2`), any other field the first."""
    data: dict[str, Any] = request.args.to_dict()
    for name, field in model.model_fields.items():
        if get_origin(field.annotation) is list:
            key = field.alias or name
            if key in request.args:
                data[key] = request.args.getlist(key)
    return _validated(model, data)


def _validated(model: type[M], data: dict) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid", "some values are not valid",
                       validation_fields(exc)) from None


def authenticate(on_unknown: Callable[[], None] | None = None) -> Caller:
    """The bearer token's caller; 401 without one, and for an unknown one (after calling
    `on_unknown`, which counts the failure: web/limits.py)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "send Authorization: Bearer <token>")
    checked = accounts.check_token(token.strip())
    if checked is None:
        if on_unknown is not None:
            on_unknown()
        raise ApiError(401, "unauthorized", "unknown token")
    if checked.note_use:
        after_this_request(_noting(checked.token_id))
    return checked.caller


def _noting(token_id: int) -> Callable[[Any], Any]:
    """An after-request hook that notes the token's use once the request's own unit of work
    has ended (its transaction is over, so the short write cannot wait on it)."""

    def note(response: Any) -> Any:
        try:
            accounts.note_token_use(token_id)
        except Exception:  # noqa: BLE001 - a busy database must not fail the answer
            current_app.logger.warning("could not note the use of API token %s", token_id,
                                       exc_info=True)
        return response

    return note


def current_caller() -> Caller:
    """Who sent this API request (web/api.py's guard authenticated them)."""
    return g.caller


F = TypeVar("F", bound=Callable[..., Any])


def roles(*allowed: str) -> Callable[[F], F]:
    """Only these roles may call the view: refused before the body is read (the services
    check again; this says it in the OpenAPI document too)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            access.require_role(current_caller(), allowed)
            return view(*args, **kwargs)

        wrapper.__dict__.setdefault("openapi", {})["roles"] = allowed
        return wrapper  # type: ignore[return-value]

    return decorate


def answer(body: dict | None, status: int = 200):
    """The JSON answer (no body: no content type either)."""
    if body is not None:
        return jsonify(body), status
    empty = current_app.response_class(status=status)
    del empty.headers["Content-Type"]
    return empty


def page(rows: list, limit: int, serialize: Callable[[Any], dict],
         id_of: Callable[[Any], int] = lambda row: row.id) -> dict:
    """The list envelope {items, next}. Callers fetch up to `limit + 1` rows: the extra one
    only says that there is more, so `next` (a URL with after_id) is null on the last page."""
    shown = rows[:limit]
    next_url = None
    if len(rows) > limit and shown:
        query = {k: v for k, v in request.args.items() if k not in ("after_id", "limit")}
        next_url = url_for(request.endpoint, **(request.view_args or {}), **query,
                           after_id=id_of(shown[-1]), limit=limit, _external=True)
    return {"items": [serialize(row) for row in shown], "next": next_url}


def ics(invite: Any):
    """An invite as a calendar file to download (services.calendars.Invite)."""
    response = current_app.response_class(invite.body)
    response.headers["Content-Type"] = f"text/calendar; charset=utf-8; method={invite.method}"
    response.headers["Content-Disposition"] = f'attachment; filename="{invite.filename}"'
    return response
