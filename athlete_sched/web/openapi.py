"""The OpenAPI 3.1 document, generated from the routes and the pydantic schemas that
validate them (web/schemas.py): there is no hand-kept copy to drift."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .schemas.base import Out

ERROR_SCHEMA = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message", "fields"],
                             "properties": {"code": {"type": "string"},
                                            "message": {"type": "string"},
                                            "fields": {"type": "object",
                                                       "additionalProperties":
                                                           {"type": "string"}},
                                            "affected": {
                                                "type": "array", "items": {"type": "integer"},
                                                "description": "409 sessions-affected: the "
                                                "booking ids the change would strand"}}}},
}
ERRORS = {"400": "malformed JSON or body", "401": "missing or unknown token",
          "403": "not allowed for this role", "404": "not found", "409": "conflict",
          "413": "body too large", "415": "not JSON", "422": "invalid values",
          "503": "database-unavailable: the database is out of reach for a moment, or "
                 "imports-busy: every calendar-import slot is taken; try again after "
                 "Retry-After seconds",
          "507": "storage-full: the database's disk is full; nothing was saved",
          "429": "too many requests (too-many-requests): an abuse limit, see Retry-After"}


def doc(*, summary: str, body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None, response: type[BaseModel] | None = None,
        status: int = 200, content: str = "application/json", wrap: str | None = None,
        public: bool = False, produces: str | None = None,
        errors: dict[int, str] | None = None) -> Callable:
    """Attach OpenAPI metadata to a view; the same `body`/`query` models parse the request.

    `wrap`: the body may also be the bare value of this field of `body` (see
    http.parse_body). `public`: no bearer token needed (the API's guard reads this flag).
    `produces`: the media type of a success answer that is not JSON (e.g. text/calendar).
    `errors`: what an error status means for this route (its codes), in place of the
    generic text.
    """

    def decorate(view: Callable) -> Callable:
        view.__dict__.setdefault("openapi", {}).update(
            summary=summary, body=body, query=query, response=response, status=status,
            content=content, wrap=wrap, public=public, produces=produces,
            errors={str(code): text for code, text in (errors or {}).items()},
            heavy=getattr(view, "heavy", False))
        return view

    return decorate


def is_public(view: Callable | None) -> bool:
    """True for a view documented as public (no bearer token)."""
    return bool(getattr(view, "openapi", {}).get("public"))


def _path(rule: str) -> tuple[str, list[tuple[str, dict[str, str]]]]:
    """The OpenAPI path of a Flask rule, and each path parameter with its schema: an
    integer for <int:...>, else a string (a <date> parameter: an ISO 8601 date)."""
    params = [(name, {"type": "integer"} if converter == "int" else
               {"type": "string", "format": "date"} if name == "date" else {"type": "string"})
              for converter, name in re.findall(r"<(?:([^:<>]+):)?([^<>]+)>", rule)]
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule), params


def build(app: Flask) -> dict[str, Any]:
    views = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        meta = getattr(app.view_functions[rule.endpoint], "openapi", None)
        if rule.rule.startswith("/api/v1") and meta and "summary" in meta:
            views.append((rule, meta))
    models = {m for _, meta in views for m in (meta["body"], meta["query"], meta["response"]) if m}
    modes = [(m, _mode(m)) for m in models]
    refs, schemas = models_json_schema(sorted(modes, key=lambda x: x[0].__name__),
                                       ref_template="#/components/schemas/{model}")
    paths: dict[str, dict] = {}
    components = schemas.get("$defs", {})
    components["Error"] = ERROR_SCHEMA
    for rule, meta in views:
        path, params = _path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(meta, params, refs,
                                                                    components, method)
    return {
        "openapi": "3.1.0",
        "info": {"title": "athlete_sched API", "version": "1",
                 "description": "Plan dry-needling sessions around races and rides."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    }


def _body_schema(meta: dict, refs: dict, components: dict) -> dict[str, Any]:
    """The request body's schema; with `wrap`, also the bare value of that field."""
    ref = refs[(meta["body"], _mode(meta["body"]))]
    if not meta.get("wrap"):
        return ref
    name = ref["$ref"].rsplit("/", 1)[-1]
    return {"anyOf": [ref, components[name]["properties"][meta["wrap"]]]}


def _mode(model: type[BaseModel]) -> str:
    return "serialization" if issubclass(model, Out) else "validation"


def _operation(meta: dict, params: list[tuple[str, dict[str, str]]], refs: dict,
               components: dict, method: str) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": meta["summary"], "parameters": [
        {"name": name, "in": "path", "required": True, "schema": schema}
        for name, schema in params]}
    if meta.get("roles"):
        op["description"] = "Roles: " + ", ".join(meta["roles"])
    if meta.get("public"):
        op["security"] = []
    if meta["query"]:
        schema = meta["query"].model_json_schema()
        for name, prop in schema.get("properties", {}).items():
            op["parameters"].append({"name": name, "in": "query", "required": False,
                                     "schema": prop})
    if meta["body"]:
        op["requestBody"] = {"required": True, "content": {meta["content"]: {
            "schema": _body_schema(meta, refs, components)}}}
    ok: dict[str, Any] = {"description": "success"}
    if meta.get("produces"):
        ok["content"] = {meta["produces"]: {"schema": {"type": "string"}}}
    if meta["response"]:
        ok["content"] = {"application/json": {
            "schema": refs[(meta["response"], _mode(meta["response"]))]}}
    op["responses"] = {str(meta["status"]): ok}
    for code, text in ERRORS.items():
        if _may_answer(code, meta, params, method):
            described = meta.get("errors", {}).get(code, text)
            op["responses"][code] = {"description": described, "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return op


def _may_answer(code: str, meta: dict, params: list, method: str) -> bool:
    """Whether an operation can answer this error status at all."""
    if code in ("400", "415"):
        return meta["body"] is not None
    if code in ("401", "403"):
        return not meta.get("public")
    if code == "404":
        return bool(params) or meta["body"] is not None
    if code == "422":  # a body, a query, a date in the path, or said by the route
        return (meta["body"] is not None or meta["query"] is not None
                or any(schema.get("format") == "date" for _, schema in params)
                or code in meta.get("errors", {}))
    if code in ("409", "507"):
        return method != "GET"
    return code in ("413", "503") or not meta.get("public")
