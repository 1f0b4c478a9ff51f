"""What the models share: the column checks' values and the row stamp."""

from __future__ import annotations

from datetime import UTC, datetime

from ...core.kinds import WINDOW_KINDS
from ...core.screening import DECISIONS
from ...core.season import PRIORITIES as PRIORITIES  # an event's priority

ROLES = ("admin", "therapist", "coach", "athlete")
LINK_PURPOSES = ("reset", "invite")  # one-time sign-in links
SPORTS = ("running", "mtb", "cycling", "triathlon", "other")
STATUSES = ("confirmed", "cancelled")
SCREENING_DECISIONS = DECISIONS
CALENDAR_KINDS = ("upload", "url")
MAIL_METHODS = ("REQUEST", "CANCEL", "SUMMARY", "NOTICE")
# SUMMARY: a coach's team summary; NOTICE: a plain message of the background work (a
# reminder, a check-in, a waiting-list offer, a new race), no calendar part


def in_(column: str, values: tuple[str, ...]) -> str:
    """A CHECK that `column` holds one of `values`."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# One confirmed session of each window kind per athlete and event (a course has several).
ONCE_KINDS_WHERE = f"status = 'confirmed' AND {in_('kind', WINDOW_KINDS)}"


def stamp() -> datetime:
    """When a row changes: the real clock, whole seconds (services.common.stamp)."""
    return datetime.now(UTC).replace(microsecond=0)
