"""`GET /healthz`: for load balancers, monitors and people. No sign-in; figures only, no
personal data (services/health.py has the checks). 200 with `{"status": "ok", "checks":
{...}}` when every check passes, 503 with `"status": "fail"` when one does; never cached.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app

from ..services import health as service

bp = Blueprint("health", __name__)


def _check(check: service.Check) -> dict[str, Any]:
    status = "not-run" if check.ok is None else "ok" if check.ok else "fail"
    return {"status": status, **check.facts}


@bp.get("/healthz")
def healthz():
    found = service.health()
    body = {"status": "ok" if found.ok else "fail",
            "checks": {name: _check(check) for name, check in found.checks.items()}}
    response = current_app.json.response(body)
    response.status_code = 200 if found.ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response
