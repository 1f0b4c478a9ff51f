"""The coach's pages: teams and rosters, team events, the plan as a board, book all."""

from __future__ import annotations

from flask import render_template

from ..auth import page_caller, signed_in
from . import bp


@bp.get("/teams")
@signed_in("coach", "admin")
def teams():
    return render_template("placeholder.html", title="Your teams", caller=page_caller())
