"""Abuse limits (Flask-Limiter) and the cap on heavy calendar imports.

Flask-Limiter holds the configuration and the storage: RATELIMIT_STORAGE_URI (memory://
per process by default; redis://host:6379 when several workers or hosts must share one
count), RATELIMIT_STRATEGY, RATELIMIT_KEY_PREFIX and RATELIMIT_ENABLED (on unless
TESTING). Each limit is a rule below, named by its config key, whose value is a
Flask-Limiter limit string ("10 per 15 minutes; 50 per day"). The views check them
explicitly, because what must be counted is not always the request:

- `take(rule, key)`: count this request, refuse (429) when it goes over;
- `check(rule, key)` before the work, `failed(rule, key)` after a failure: only failures
  count (wrong passwords, wrong bearer, link and feed tokens), so valid traffic is never
  counted; once they are used up, the address is refused before its secret is even
  looked at (a guess after the limit learns nothing).

A refusal is a 429 with Retry-After (seconds until the window frees a request): the
contract's JSON under /api/, else a readable page (the sign-in and password forms show
it on the form, keeping what was typed).

Heavy imports (a calendar upload, a subscription synced now) run under `heavy`: at most
HEAVY_IMPORTS_MAX at a time on one host (slots are lock files in the instance folder,
shared by every worker process and thread; no cap under TESTING unless set); when all are
taken the request waits up to HEAVY_IMPORT_WAIT_SECONDS, then gets a 503 with
Retry-After, so imports never take every worker from the other requests.
"""

from __future__ import annotations

import fcntl
import logging
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, has_request_context, request
from flask_limiter import Limiter
from flask_login import current_user
from limits import RateLimitItem, parse_many

from .errors import ApiError

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger(__name__)

# rule -> what it counts (README, "Configuration"; the defaults are in config.py)
RULES = {
    "RATELIMIT_SIGN_IN_ACCOUNT": "failed sign-ins per account email",
    "RATELIMIT_SIGN_IN_ADDRESS": "failed sign-ins per client address",
    "RATELIMIT_PASSWORD_RESET_ACCOUNT": "password-reset requests per account email",
    "RATELIMIT_PASSWORD_RESET_ADDRESS": "password-reset requests per client address",
    "RATELIMIT_INVITATIONS": "invitations and reset links made, per signed-in user",
    "RATELIMIT_BAD_TOKEN": "wrong bearer tokens and one-time links per client address",
    "RATELIMIT_FEED": "fetches of one calendar feed (per feed token)",
    "RATELIMIT_BAD_FEED_TOKEN": "fetches with a wrong feed token per client address",
    "RATELIMIT_CALENDAR_UPLOADS": "calendar uploads, subscriptions and syncs per user",
    "RATELIMIT_PLANS": "team plans and team bookings per user",
}


REDIS_TIMEOUTS = {"socket_connect_timeout": 1, "socket_timeout": 1}


class TooManyRequests(ApiError):
    """A limit is used up: 429, and Retry-After says when to come back."""

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(429, "too-many-requests", message or (
            f"too many requests of this kind; try again in {wait_words(retry_after)}"))
        self.retry_after = retry_after


class ImportsBusy(ApiError):
    """Every heavy-import slot is taken: 503, and Retry-After."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(503, "imports-busy", "the server is busy importing other calendars; "
                         f"try again in {wait_words(retry_after)}")
        self.retry_after = retry_after


def wait_words(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


# --- the limiter ---------------------------------------------------------------------------

def _limiter() -> Limiter | None:
    limiter = current_app.extensions.get("athlete_sched.limiter")
    return limiter if limiter is not None and limiter.enabled else None


def _items(rule: str) -> list[RateLimitItem]:
    value = current_app.config.get(rule)
    return parse_many(value) if value else []


def _ids(rule: str, key: str) -> tuple[str, ...]:
    return (current_app.config.get("RATELIMIT_KEY_PREFIX") or "athlete_sched", rule, key)


def _retry_after(limiter: Limiter, item: RateLimitItem, ids: tuple[str, ...]) -> int:
    reset = limiter.limiter.get_window_stats(item, *ids).reset_time
    return max(1, math.ceil(reset - time.time()))


def _refuse(limiter: Limiter, item: RateLimitItem, ids: tuple[str, ...]) -> TooManyRequests:
    seconds = _retry_after(limiter, item, ids)
    if has_request_context():
        g.retry_after = seconds
    return TooManyRequests(seconds)


def _apply(rule: str, key: str, step: str, refuse: bool) -> None:
    """`step` ("test" or "hit") each of the rule's limits for `key`; with `refuse`, raise
    TooManyRequests at the first one used up. A store that cannot be reached (Redis down)
    lets the request through and logs it: the limits fail open, the app stays up."""
    limiter = _limiter()
    if limiter is None:
        return
    ids = _ids(rule, key)
    try:
        for item in _items(rule):
            if not getattr(limiter.limiter, step)(item, *ids) and refuse:
                raise _refuse(limiter, item, ids)
    except TooManyRequests:
        raise
    except Exception:  # noqa: BLE001 - whatever the store raises, the request goes on
        log.exception("abuse limit %s not applied: its store (%s) failed", rule,
                      current_app.config.get("RATELIMIT_STORAGE_URI"))


def check(rule: str, key: str) -> None:
    """Refuse (TooManyRequests) if `rule` is used up for `key`; counts nothing."""
    _apply(rule, key, "test", refuse=True)


def take(rule: str, key: str) -> None:
    """Count this request against `rule` for `key`; refuse (TooManyRequests) when over."""
    _apply(rule, key, "hit", refuse=True)


def failed(rule: str, key: str) -> None:
    """Count a failure against `rule` for `key` (a later `check` refuses when used up)."""
    _apply(rule, key, "hit", refuse=False)


def refusal(rule: str, key: str | None = None) -> str | None:
    """For a page form: count this request against `rule` (per user by default); None when
    it may go on, else the sentence to show on the form (Retry-After is set: answer 429)."""
    try:
        take(rule, key or user_key())
    except TooManyRequests as refused:
        return (f"Too many of these in a short time: try again in "
                f"{wait_words(refused.retry_after)}. Nothing was saved.")
    return None


def address() -> str:
    """The client's address (the proxy's own when one is in front and not trusted)."""
    return request.remote_addr or "unknown"


def account(email: str | None) -> str:
    return (email or "").strip().lower()[:254]


def user_key() -> str:
    """The signed-in user (API: the bearer token's; pages: the session's), else the address."""
    caller = g.get("caller")
    if caller is None and current_user and current_user.is_authenticated:
        caller = current_user.caller
    if caller is None:
        return f"address:{address()}"
    return f"user:{caller.user_id or caller.email}"


def limited(rule: str, key: Callable[[], str] = user_key) -> Callable[[F], F]:
    """The view counts against `rule` (by default per user) and answers 429 when over."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            take(rule, key())
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


# --- heavy imports -------------------------------------------------------------------------

def _slot_dir(app: Flask) -> Path:
    folder = Path(app.config.get("HEAVY_IMPORT_SLOTS_DIR")
                  or Path(app.instance_path) / "import-slots")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only instance folder: the host's temporary folder instead
        folder = Path(tempfile.gettempdir()) / f"athlete_sched-import-slots-{os.getuid()}"
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def _try_slot(folder: Path, slots: int) -> int | None:
    """An open, exclusively locked slot file's descriptor, or None when all are taken."""
    for number in range(slots):
        fd = os.open(folder / f"slot-{number}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return fd
    return None


@contextmanager
def import_slot() -> Iterator[None]:
    """Hold one of the host's HEAVY_IMPORTS_MAX slots (ImportsBusy when none frees up in
    HEAVY_IMPORT_WAIT_SECONDS). flock() locks belong to an open file, so threads of one
    process and other processes exclude each other alike; a dead worker's lock goes with it."""
    config = current_app.config
    slots = int(config.get("HEAVY_IMPORTS_MAX") or 0)
    if slots <= 0:
        yield
        return
    folder = _slot_dir(current_app)
    deadline = time.monotonic() + float(config.get("HEAVY_IMPORT_WAIT_SECONDS") or 0)
    fd = _try_slot(folder, slots)
    while fd is None and time.monotonic() < deadline:
        time.sleep(0.05)  # a lock file cannot be waited on for "any of N"; poll briefly
        fd = _try_slot(folder, slots)
    if fd is None:
        g.retry_after = int(config.get("HEAVY_IMPORT_RETRY_AFTER") or 10)
        raise ImportsBusy(g.retry_after)
    try:
        yield
    finally:
        os.close(fd)  # closing the file releases its lock


def heavy(view: F) -> F:
    """The view imports a calendar: it runs in one of the host's import slots."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with import_slot():
            return view(*args, **kwargs)

    wrapper.heavy = True  # type: ignore[attr-defined]  # openapi.doc documents its 503
    return wrapper  # type: ignore[return-value]


# --- wiring --------------------------------------------------------------------------------

def _retry_after_header(response: Response) -> Response:
    """Retry-After on every answer refused by a limit or by the import cap."""
    seconds = g.get("retry_after")
    if seconds is not None and response.status_code in (429, 503):
        response.headers["Retry-After"] = str(seconds)
    return response


def register(app: Flask) -> None:
    """One Flask-Limiter per app (it keeps its storage on the instance): on unless TESTING
    when RATELIMIT_ENABLED is unset (so is the import cap); the views check the rules."""
    if app.config.get("RATELIMIT_ENABLED") is None:
        app.config["RATELIMIT_ENABLED"] = not app.testing
    if app.config.get("HEAVY_IMPORTS_MAX") is None:
        app.config["HEAVY_IMPORTS_MAX"] = 0 if app.testing else 2
    for rule in RULES:  # a typo in a limit fails at start, not on the first request
        if app.config.get(rule):
            parse_many(app.config[rule])
    if str(app.config.get("RATELIMIT_STORAGE_URI", "")).startswith("redis"):
        # a Redis that is down or unreachable costs each request at most a second
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", REDIS_TIMEOUTS)
    limiter = Limiter(key_func=address, default_limits=[], headers_enabled=False)
    limiter.init_app(app)
    app.extensions["athlete_sched.limiter"] = limiter
    app.after_request(_retry_after_header)
