"""The board of a team event: each athlete × pre and post, booked or proposed, with the
therapist and the time in the event's zone (and the therapist's own where it differs);
the athletes the plan leaves out with the reason; "Book all" in one POST."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, url_for

from ...core.errors import DomainError
from ...core.zones import load_zone
from ...services import board, roster, unit_of_work
from ..auth import page_caller, signed_in
from ..errors import domain_status
from ..limits import limited
from . import bp
from .event_form import SPORTS
from .format import KIND_TITLES, day_name, event_when, iso

REASONS = {
    "already-booked": "Already has a session for this event (shown in the row).",
    "screening": "Not cleared at the screening review: no session can be booked until a "
                 "therapist clears them.",
    "own-conflict": "Their own events or sessions leave no free slot in a window.",
    "no-capacity": "No therapist has a free slot left for them in a window.",
    "site": "No therapist works at a site where they are (their home site, or the site "
            "near the venue) in a window.",
    "travel": "Their travel leaves no time in a window at a site where they are: they "
              "have left home, and have not reached the venue yet (or have left it).",
}
BOOKING_MESSAGES = {
    "slot-taken": "A slot of the plan was taken a moment ago, so nothing was booked. The "
                  "board below is up to date: book all again.",
    "screening-not-cleared": "An athlete is not cleared at screening, so nothing was booked.",
}


def spanned(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """'Thu 12 May 2027, 09:00–09:45 Europe/Berlin' (both days named across midnight)."""
    a, b = start.astimezone(tz), end.astimezone(tz)
    if a.date() == b.date():
        return f"{day_name(a.date())}, {a:%H:%M}–{b:%H:%M} {tz.key}"
    return f"{day_name(a.date())} {a:%H:%M} – {day_name(b.date())} {b:%H:%M} {tz.key}"


@dataclass(frozen=True)
class CellView:
    """A board cell as shown: booked, proposed, or empty ("none")."""

    title: str
    state: str
    therapist: str = ""
    local: str = ""
    therapist_local: str | None = None  # only where the therapist's zone differs
    start: str = ""
    site: str = ""  # where the session is (its site's name), where known


def cell_view(cell: board.Cell, tz: ZoneInfo, sites: Mapping[int, Any]) -> CellView:
    title = KIND_TITLES[cell.kind]
    chosen = cell.booking or cell.slot
    if chosen is None or cell.therapist is None:
        return CellView(title, "none")
    own = load_zone(cell.therapist.timezone)
    other = None if own.key == tz.key else spanned(chosen.start, chosen.end, own)
    site = sites.get(chosen.site_id) if chosen.site_id is not None else None
    return CellView(title, "booked" if cell.booking else "proposed", cell.therapist.name,
                    spanned(chosen.start, chosen.end, tz), other, iso(chosen.start),
                    site.name if site else "")


def render_board(team_id: int, event_id: int, status: int = 200, error: str | None = None):
    found = board.board_for(page_caller(), team_id, event_id)
    tz = load_zone(found.view.event.timezone)
    rows = [(row, [cell_view(c, tz, found.sites) for c in row.cells]) for row in found.rows]
    return render_template(
        "coach/board.html", board=found, team=found.team, event=found.view.event,
        when=event_when(found.view), sport=SPORTS.get(found.view.event.sport, ""), rows=rows,
        reasons=REASONS, screening=roster.screening_words(), error=error), status


@bp.get("/teams/<int:team_id>/events/<int:event_id>/board")
@signed_in("coach", "admin")
@limited("RATELIMIT_PLANS")
def team_board(team_id: int, event_id: int):
    return render_board(team_id, event_id)


@bp.post("/teams/<int:team_id>/events/<int:event_id>/book-all")
@signed_in("coach", "admin")
@limited("RATELIMIT_PLANS")
def team_book_all(team_id: int, event_id: int):
    try:
        booked = board.book_all(page_caller(), team_id, event_id)
    except DomainError as exc:
        unit_of_work.rollback()
        message = BOOKING_MESSAGES.get(exc.code, exc.message[:1].upper() + exc.message[1:])
        return render_board(team_id, event_id, domain_status(exc), message)
    athletes = len({b.athlete_id for b in booked})
    if booked:
        flash(f"Booked {len(booked)} sessions for {athletes} athletes. They see them on "
              "their pages and in their calendars.", "success")
    else:
        flash("Nothing new to book: every athlete the plan can place is booked.", "info")
    return redirect(url_for(".team_board", team_id=team_id, event_id=event_id), 303)
