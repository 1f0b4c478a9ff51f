"""Signing in to the pages (Flask-Login): who a page request comes from, and which roles
may open a page.

The session (Flask's signed cookie) and the remember-me cookie hold the user's session id
"<user id>.<login_version>" (services/accounts.py): a new password or "sign out
everywhere" ends them all. Cookies are HttpOnly and SameSite=Lax, and Secure whenever the
request came over HTTPS (behind a proxy: with TRUSTED_PROXIES set, see the README). Every
page except sign-in, password reset and accepting an invitation needs a signed-in user;
the API keeps its bearer tokens (web/http.py) and never reads these cookies.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, Response, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, UserMixin, current_user

from ..core.errors import Forbidden
from ..services import accounts
from ..services.access import Caller

login_manager = LoginManager()
login_manager.login_view = "pages.sign_in"
login_manager.login_message = "Please sign in to open that page."
login_manager.login_message_category = "info"

F = TypeVar("F", bound=Callable[..., Any])


class SignedIn(UserMixin):
    """Flask-Login's user: the caller the session belongs to."""

    def __init__(self, caller: Caller) -> None:
        self.caller = caller

    def get_id(self) -> str:
        return accounts.session_id(self.caller)

    name = property(lambda self: self.caller.name or self.caller.email)
    role = property(lambda self: self.caller.role)


@login_manager.user_loader
def _load(session_id: str) -> SignedIn | None:
    caller = accounts.caller_for_session(session_id)
    return None if caller is None else SignedIn(caller)


def page_caller() -> Caller:
    """Who sent this page request (the view is `signed_in`)."""
    return current_user.caller


def signed_in(*allowed: str) -> Callable[[F], F]:
    """The view needs a signed-in user (anonymous: the sign-in page, then back here) of one
    of these roles (any role when none is named; another role: 403 page)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if allowed and current_user.role not in allowed:
                raise Forbidden("this page is for another role: sign in as "
                                + " or ".join(allowed) + " to open it")
            return view(*args, **kwargs)

        wrapper.signed_in = allowed or ("any",)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def public(view: F) -> F:
    """A page anyone may open (sign-in, reset, invitations): said, so that a test can tell
    every other page needs sign-in."""
    view.signed_in = ()  # type: ignore[attr-defined]
    return view


class _SessionCookie(SecureCookieSessionInterface):
    """Flask's signed-cookie session, Secure whenever the request came over HTTPS (the
    session is saved after every after_request hook, so the hook below cannot do it)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


def _secure_cookies(response: Response) -> Response:
    """Mark every cookie set so far Secure when the request came over HTTPS (the
    remember-me cookie)."""
    if request.is_secure:
        cookies = response.headers.getlist("Set-Cookie")
        if cookies:
            response.headers.setlist("Set-Cookie", [
                c if "; secure" in c.lower() else c + "; Secure" for c in cookies])
    return response


def register(app: Flask) -> None:
    app.session_interface = _SessionCookie()
    app.after_request(_secure_cookies)  # first in, so it runs last: after the remember cookie
    login_manager.init_app(app)
