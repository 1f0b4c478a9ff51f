"""Security headers on every answer, and the proxies the app trusts.

- **Content-Security-Policy.** Pages load scripts, styles, fonts and images from this app
  only (`'self'`), no inline script or style attribute (the templates have none), no
  plugin, no `<base>`, forms post back here, and no other site may frame a page
  (`frame-ancestors 'none'`, with `X-Frame-Options: DENY` for older browsers). The API
  docs page runs the vendored Swagger UI, which draws its icons from `data:` images; that
  page alone adds `img-src data:`. JSON, calendars and feeds get `default-src 'none'`:
  nothing in them is ever run or shown as a page.
- `X-Content-Type-Options: nosniff`; `Referrer-Policy: same-origin`: a page's address
  (an invitation's or a password reset's secret link, a feed's token on a team page's
  link) never goes to another site, while a form posted back here still carries it, as
  Flask-WTF's CSRF check demands over HTTPS (`no-referrer` would refuse every form
  there); `Cross-Origin-Opener-Policy: same-origin`; a Permissions-Policy that turns off
  what the app never uses.
- **HSTS** only on an answer that went out over HTTPS (`request.is_secure`; behind a
  proxy that needs TRUSTED_PROXIES, below): a plain-HTTP answer cannot set it anyway.
- **Cache-Control: no-store** on every answer that sets no caching of its own, but static
  files: the pages and the API carry personal and medical data, and must stay out of
  shared and browser caches. The feeds set their own (`private, no-cache` with an ETag).
- **Proxies** (TRUSTED_PROXIES = the number of reverse proxies in front, 0 by default):
  werkzeug's ProxyFix takes the client address, scheme, host and port from the
  X-Forwarded-* headers of that many hops, so that `request.is_secure` tells an HTTPS
  client behind nginx (Secure cookies, HSTS). Never set it higher than the proxies really
  in front: a client could forge the headers.

Cookies: web/auth.py marks them Secure on HTTPS; HttpOnly and SameSite=Lax come from
config.py.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

PAGE_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# Swagger UI (static/vendor/swagger-ui) draws its icons and arrows as data: images.
DOCS_POLICY = {**PAGE_POLICY, "img-src": "'self' data:"}
DATA_POLICY = {"default-src": "'none'", "frame-ancestors": "'none'", "base-uri": "'none'",
               "form-action": "'none'"}
DOCS_ENDPOINT = "pages.api_docs"
SAME_FOR_ALL = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


def policy_text(policy: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}" for name, value in policy.items())


PAGE_CSP, DOCS_CSP, DATA_CSP = (policy_text(p) for p in (PAGE_POLICY, DOCS_POLICY, DATA_POLICY))


def _policy(response: Response) -> str:
    if request.endpoint == DOCS_ENDPOINT:
        return DOCS_CSP
    if response.mimetype in ("text/html", "image/svg+xml"):
        return PAGE_CSP
    return DATA_CSP


def add_headers(response: Response) -> Response:
    """Every answer's security headers (see the module docstring)."""
    response.headers.setdefault("Content-Security-Policy", _policy(response))
    for name, value in SAME_FOR_ALL.items():
        response.headers.setdefault(name, value)
    seconds = current_app.config["HSTS_SECONDS"]
    if request.is_secure and seconds:
        response.headers["Strict-Transport-Security"] = f"max-age={int(seconds)}"
    if "Cache-Control" not in response.headers and request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    return response


def trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies: take the client's address, scheme, host,
    port and prefix from their X-Forwarded-* headers (werkzeug's ProxyFix)."""
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops,  # type: ignore[method-assign]
                                x_host=hops, x_port=hops, x_prefix=hops)


def register(app: Flask) -> None:
    app.after_request(add_headers)
    trust_proxies(app)
