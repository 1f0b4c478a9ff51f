"""The therapist's pages: the week, hours, time off, the busy calendar, the feed."""

from __future__ import annotations

from flask import render_template

from ..auth import page_caller, signed_in
from . import bp


@bp.get("/week")
@signed_in("therapist")
def week():
    return render_template("placeholder.html", title="Your week", caller=page_caller())
