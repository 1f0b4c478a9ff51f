"""Request ids and the access log, as WSGI middleware around the app (so they cover
every answer: views, errors, static files, the server's 404s and 405s).

- **Request id.** The client's `X-Request-ID` when it is sane (1-128 characters of
  letters, digits and `-_.:@/+=`), else a new random one; it is on every log record
  written during the request (logs.request_id) and echoed in the answer's `X-Request-ID`.
- **Access log.** One record per request on the `athlete_sched.access` logger, written
  when the answer has been sent: method, path, status, duration_ms (until the last byte),
  bytes (of the body), remote_addr (the WSGI server's, after any ProxyFix), user_id
  (when the request was signed in or sent a token), user_agent. Secrets never reach it:
  a path argument that is a credential (the feed token of `/feeds/<token>.ics`, the
  reset and invitation links) is written as `[redacted]`, and so is the value of any
  query parameter whose name suggests a secret.

Under gunicorn this replaces gunicorn's own access log: leave `--access-logfile` unset
(its default), so each request is logged once (README, "Operations").
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import Flask, g, request

from .. import logs

log = logging.getLogger("athlete_sched.access")
SANE_ID = re.compile(r"[A-Za-z0-9\-_.:@/+=]{1,128}")
REDACTED = "[redacted]"
SECRET_ARGUMENTS = frozenset({"token"})  # URL rule arguments that are credentials
SECRET_QUERY = re.compile(r"token|secret|password|passwd|key|code|signature|sig|auth", re.I)
_USER = "athlete_sched.user_id"  # environ: who sent it (set while the app still knows)
_PATH = "athlete_sched.path"  # environ: the path as logged (credentials redacted)

StartResponse = Callable[..., Any]


def install(app: Flask) -> None:
    """Wrap the app's WSGI callable; note who asked and the path to log at the end of
    each request, while the app still knows them."""
    app.wsgi_app = AccessLog(app.wsgi_app)  # type: ignore[method-assign]
    app.teardown_request(_note_request)


def _note_request(_error: BaseException | None) -> None:
    request.environ[_PATH] = logged_path()
    request.environ[_USER] = _user_id()


def _user_id() -> int | None:
    """The signed-in user's or the token's user id, if the request already knows it (this
    reads no session nor token that the request did not read itself)."""
    caller = g.get("caller") or getattr(g.get("_login_user"), "caller", None)
    return getattr(caller, "user_id", None)


def logged_path() -> str:
    """The request's path with its credentials redacted (rule arguments named in
    SECRET_ARGUMENTS), and the query string without secret values."""
    path = request.path
    rule, values = request.url_rule, request.view_args or {}
    if rule is not None and SECRET_ARGUMENTS & values.keys():
        path = _build(rule.rule, values)
    return path + _query(request.query_string.decode("latin-1"))


def _build(rule: str, values: dict[str, Any]) -> str:
    """The rule's path with each argument's value, or REDACTED for a credential."""
    def argument(match: re.Match[str]) -> str:
        name = match.group(1).rpartition(":")[2]
        return REDACTED if name in SECRET_ARGUMENTS else str(values.get(name, ""))

    return re.sub(r"<([^>]+)>", argument, rule)


def _query(query: str) -> str:
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    return "?" + urlencode([(k, REDACTED if SECRET_QUERY.search(k) else v) for k, v in pairs],
                           safe="[]/")


def _request_id(environ: dict[str, Any]) -> str:
    given = environ.get("HTTP_X_REQUEST_ID", "")
    return given if SANE_ID.fullmatch(given) else uuid.uuid4().hex


def _fallback_path(environ: dict[str, Any]) -> str:
    """The path when the app never saw the request (a crash before routing): only its
    first segment, as anything after it might be a credential."""
    segment = environ.get("PATH_INFO", "/").split("/")[1:2]
    return "/" + (segment[0] + "/…" if segment and segment[0] else "")


class AccessLog:
    """The middleware (see the module docstring)."""

    def __init__(self, app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]]):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        rid = _request_id(environ)
        token = logs.request_id.set(rid)
        started, answer = time.perf_counter(), {}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer["status"] = int(status.split(" ", 1)[0])
            headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"]
            headers.append(("X-Request-ID", rid))
            return start_response(status, headers, exc_info)

        try:
            body = self.app(environ, start)
        except BaseException:
            _write(environ, rid, started, 500, 0)
            raise
        finally:
            logs.request_id.reset(token)
        return Body(body, lambda sent: _write(environ, rid, started,
                                              answer.get("status", 500), sent))


class Body:
    """The answer's body, passed through: counts its bytes, and writes the access line when
    the server closes it (after the last byte, or when the client went away)."""

    def __init__(self, body: Iterable[bytes], done: Callable[[int], None]) -> None:
        self.body, self.done, self.sent = body, done, 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.body:
            self.sent += len(chunk)
            yield chunk

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.done(self.sent)


def _write(environ: dict[str, Any], rid: str, started: float, status: int,
           sent: int) -> None:
    method = environ.get("REQUEST_METHOD", "")
    path = environ.get(_PATH) or _fallback_path(environ)
    fields = {"request_id": rid, "method": method, "path": path, "status": status,
              "duration_ms": round((time.perf_counter() - started) * 1000, 1),
              "bytes": sent, "remote_addr": environ.get("REMOTE_ADDR"),
              "user_id": environ.get(_USER),
              "user_agent": environ.get("HTTP_USER_AGENT", "")[:256] or None}
    log.info("%s %s %s %s ms %s B from %s user %s", method, path, status,
             fields["duration_ms"], sent, fields["remote_addr"], fields["user_id"] or "-",
             extra={**fields, "_in_message": True})
