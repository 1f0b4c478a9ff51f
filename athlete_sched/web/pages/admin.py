"""The clinic's admin pages: therapists, athletes, teams, users and roles, settings."""

from __future__ import annotations

from flask import render_template

from ..auth import page_caller, signed_in
from . import bp


@bp.get("/admin")
@signed_in("admin")
def admin_home():
    return render_template("placeholder.html", title="The clinic", caller=page_caller())
