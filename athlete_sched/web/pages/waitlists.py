"""The clinic's waiting lists, for its therapists and admins: every line, in order, with
each athlete's place and the offer held for them."""

from __future__ import annotations

from itertools import groupby

from flask import render_template

from ...core.zones import load_zone
from ...services import waitlist
from ..auth import page_caller, signed_in
from . import bp
from .format import KIND_TITLES, span, when


@bp.get("/waitlist")
@signed_in("therapist", "admin")
def waitlists():
    found = waitlist.everything_for(page_caller())
    lines = []
    for (event, kind), entries in groupby(found, key=lambda row: (row[0], row[2].entry.kind)):
        tz = load_zone(event.timezone)
        lines.append({"event": event, "kind": kind, "title": KIND_TITLES[kind], "entries": [
            {"position": view.position, "athlete": athlete,
             "offer": view.offer and span(view.offer.slot.start, view.offer.slot.end, tz),
             "expires": view.offer and when(view.offer.expires, tz)}
            for _, athlete, view in entries]})
    return render_template("therapist/waitlist.html", lines=lines)
