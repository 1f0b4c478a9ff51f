"""The request line and header sizes, checked by the app itself so that a refusal under
/api/ is the contract's JSON like every other error (414 URI too long, 431 header fields
too large; a readable page elsewhere).

gunicorn refuses oversized request lines and header fields on its own, with an HTML
page, before the app is asked. So the app's limits sit below gunicorn's: the app checks
REQUEST_LINE_LIMIT (4094 bytes, gunicorn's default), REQUEST_FIELD_LIMIT (8190 bytes per
header line) and REQUEST_FIELDS_LIMIT (100 headers), and gunicorn is started with
larger limits (athlete_sched/web/gunicorn_limits.py: `gunicorn -c` it, or give
`--limit-request-line 8190 --limit-request-field_size 16380 --limit-request-fields 200`),
so that everything between the two gets JSON. Past gunicorn's own limits (and its hard
maximum of 8190 bytes for a request line) gunicorn still answers in HTML; a reverse
proxy in front (deploy/) refuses such requests before they reach it.

This is WSGI middleware around the whole app (outside Flask, ProxyFix included), so it
costs one pass over the environ and never reads the body.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from html import escape
from typing import Any

from flask import Flask

from .security import DATA_CSP, PAGE_CSP, SAME_FOR_ALL

StartResponse = Callable[..., Any]
Environ = dict[str, Any]


def _request_line(environ: Environ) -> int:
    """The length of the request line as the client sent it (gunicorn's RAW_URI, the
    development server's REQUEST_URI, else rebuilt from the path and query)."""
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if target is None:
        query = environ.get("QUERY_STRING", "")
        target = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "") + (
            f"?{query}" if query else "")
    protocol = environ.get("SERVER_PROTOCOL", "HTTP/1.1")
    return len(environ.get("REQUEST_METHOD", "GET")) + 1 + len(target) + 1 + len(protocol)


def _header_lines(environ: Environ) -> Iterable[int]:
    """The length of each header line ("Name: value")."""
    for key, value in environ.items():
        if key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = key[5:] if key.startswith("HTTP_") else key
            yield len(name) + 2 + len(str(value))


class RequestLimits:
    """WSGI middleware: 414 for a request line over `line`, 431 for a header line over
    `field` or more than `fields` headers; JSON under /api/, a short page elsewhere."""

    def __init__(self, app: Callable, line: int, field: int, fields: int) -> None:
        self.app, self.line, self.field, self.fields = app, line, field, fields

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        refusal = self.refusal(environ)
        if refusal is None:
            return self.app(environ, start_response)
        return _refuse(environ, start_response, *refusal)

    def refusal(self, environ: Environ) -> tuple[int, str, str, str] | None:
        if _request_line(environ) > self.line:
            return (414, "URI Too Long", "uri-too-long",
                    f"the request line is longer than {self.line} bytes")
        lines = list(_header_lines(environ))
        if len(lines) > self.fields:
            return (431, "Request Header Fields Too Large", "header-fields-too-large",
                    f"the request has more than {self.fields} header fields")
        if lines and max(lines) > self.field:
            return (431, "Request Header Fields Too Large", "header-fields-too-large",
                    f"a header field is longer than {self.field} bytes")
        return None


def _refuse(environ: Environ, start_response: StartResponse, status: int, reason: str,
            code: str, message: str) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "")
    if path.startswith("/api/"):
        body = (json.dumps({"error": {"code": code, "message": message, "fields": {}}},
                           separators=(",", ":"))
                + "\n").encode()
        kind, csp = "application/json", DATA_CSP
    else:
        body = (f"<!doctype html>\n<html lang=\"en\"><title>{status} {reason}</title>\n"
                f"<h1>{reason}</h1>\n<p>{escape(message[:1].upper() + message[1:])}.</p>\n"
                "</html>\n").encode()
        kind, csp = "text/html; charset=utf-8", PAGE_CSP
    headers = [("Content-Type", kind), ("Content-Length", str(len(body))),
               ("Content-Security-Policy", csp), ("Cache-Control", "no-store"),
               *SAME_FOR_ALL.items()]
    start_response(f"{status} {reason}", headers)
    return [body]


def register(app: Flask) -> None:
    """Wrap the app (outermost: call after anything else wraps app.wsgi_app)."""
    config = app.config
    app.wsgi_app = RequestLimits(  # type: ignore[method-assign]
        app.wsgi_app, config["REQUEST_LINE_LIMIT"], config["REQUEST_FIELD_LIMIT"],
        config["REQUEST_FIELDS_LIMIT"])
