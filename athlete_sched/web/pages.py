"""Server-rendered pages."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    return "athlete_sched"
