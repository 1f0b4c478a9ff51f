"""Every error leaves as the contract's JSON under /api/ (a readable page elsewhere). The
unit of work (services/unit_of_work.py) has rolled the request's changes back by then:
nothing half done is ever committed.

The database's own faults: out of reach -> 503 `database-unavailable` with Retry-After,
a full disk -> 507 `storage-full` (their pages, templates/fault.html, read nothing from
the database). An HTTP error keeps its headers under /api/ too (a 405's Allow)."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, current_app, jsonify, render_template, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.exceptions import NotFound as HttpNotFound

from ..core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidValue,
    NotFound,
    ScreeningNotCleared,
    Started,
    TooLate,
)
from ..services import unit_of_work
from ..services.unit_of_work import DatabaseFault
from .access_log import logged_path

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error decided in the web layer (auth, parsing) with its HTTP status."""

    def __init__(self, status: int, code: str, message: str,
                 fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.fields = fields or {}


def error_body(code: str, message: str, fields: dict[str, str] | None = None,
               **extra: Any) -> dict[str, Any]:
    """The contract's error; `extra`: more members of `error` (e.g. `affected`)."""
    return {"error": {"code": code, "message": message, "fields": fields or {}, **extra}}


# The first class that matches decides (the contract's "Changes and cancellations": a change
# too late or a session started is 409 `too-late` / `started`; "Screening": a booking of a
# not-cleared athlete is 409 `screening-not-cleared`).
STATUSES: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, 404), (Forbidden, 403), (TooLate, 409), (Started, 409),
    (ScreeningNotCleared, 409), (Conflict, 409),
    (InvalidValue, 422))


def domain_status(exc: DomainError) -> int:
    return next((status for kind, status in STATUSES if isinstance(exc, kind)), 422)


def validation_fields(exc: ValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for err in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in err["loc"] if part not in ("function-after",))
        fields[loc or "body"] = re.sub(r"^Value error, ", "", err["msg"])
    return fields


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _respond(status: int, code: str, message: str, fields: dict[str, str] | None = None,
             **extra: Any):
    if _is_api():
        return jsonify(error_body(code, message, fields, **extra)), status
    page = render_template("error.html", status=status, message=message, fields=fields or {})
    return page, status


def _fault(exc: DatabaseFault):
    """503 / 507 with the fault's message; under /api/ JSON, elsewhere a page that needs
    no database (no signed-in user, no clinic name)."""
    status = 507 if isinstance(exc, unit_of_work.StorageFull) else 503
    if _is_api():
        response = jsonify(error_body(exc.code, exc.message))
    else:
        # rendered without the context processors: Flask-Login's loads the signed-in user
        page = current_app.jinja_env.get_template("fault.html").render(
            status=status, message=exc.message,
            again=request.full_path if request.query_string else request.path)
        response = current_app.response_class(page, mimetype="text/html")
    response.status_code = status
    if exc.retry_after:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


class NoSuchId(HttpNotFound):
    """A path id outside what the database stores (web/__init__.py's IdConverter)."""


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return _respond(exc.status, exc.code, exc.message, exc.fields)

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        fields = {exc.field: exc.message} if exc.field else {}
        # a domain error names the data it exposes (`exposed`), e.g. sessions-affected's ids
        extra = {name: exc.data[name] for name in getattr(exc, "exposed", ())}
        return _respond(domain_status(exc), exc.code, exc.message, fields, **extra)

    @app.errorhandler(ValidationError)
    def _validation_error(exc: ValidationError):
        return _respond(422, "invalid", "some values are not valid", validation_fields(exc))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if isinstance(exc, NoSuchId) and not _is_api():  # as any missing page of ours
            return _respond(404, "not-found", exc.description or "not found")
        if not _is_api():
            return exc
        if isinstance(exc, RequestEntityTooLarge):
            limit = request.max_content_length or 0
            return _respond(413, "body-too-large",
                            f"the body is larger than the limit of {limit} bytes")
        response, status = _respond(exc.code or 500, _slug(exc.name),
                                    exc.description or exc.name)
        for name, value in exc.get_headers():  # Allow (405), Retry-After, WWW-Authenticate
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, status

    @app.errorhandler(DatabaseFault)
    def _database_fault(exc: DatabaseFault):
        return _fault(exc)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        found = unit_of_work.fault(exc)  # raised outside a view's unit (a before_request)
        if found is not None:
            log.error("database fault (%s) on %s %s: %s", found.code, request.method,
                      logged_path(), exc)  # no token
            return _fault(found)
        log.exception("unhandled error on %s %s", request.method, logged_path())  # no token
        return _respond(500, "internal-error", "something went wrong on our side; it was logged")
