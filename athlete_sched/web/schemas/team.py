"""Request and answer schemas of the team routes (plan, book-team) and the season."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .base import DateOrDateTimeIn, DateTimeIn, Id, In, Instant, Kind, Out, utc
from .scheduling import (
    BookingOut,
    EventOut,
    IntervalOut,
    SlotOut,
    bookings_json,
    event_json,
    slot_json,
)

MAX_ASSIGNMENTS = 2000


class PlanSlotIn(In):
    """A slot of a plan sent back: who and when (`kind` and `end` may come along, as the
    plan answered them; the kind is the field's, the end the therapist's session length)."""

    therapist_id: Id
    start: DateTimeIn
    kind: Kind | None = None
    end: Any = None


class AssignmentIn(In):
    athlete_id: Id
    pre: PlanSlotIn | None = None
    post: PlanSlotIn | None = None


class BookTeamIn(In):
    assignments: Annotated[list[AssignmentIn], Field(max_length=MAX_ASSIGNMENTS)]


class AssignmentOut(Out):
    athlete_id: int
    pre: SlotOut | None
    post: SlotOut | None


class UnplacedOut(Out):
    athlete_id: int
    reason: Literal["no-capacity", "own-conflict", "screening", "already-booked", "site",
                     "travel"] | str


class PlanOut(Out):
    event_id: int
    assignments: list[AssignmentOut]
    placed: int = Field(description="athletes with both a pre and a post session")
    unplaced: list[int]
    unplaced_reasons: list[UnplacedOut] = Field(
        description="why each unplaced athlete is out: no-capacity (not enough free "
        "therapist time for everyone), own-conflict (the athlete's own commitments), "
        "screening (a therapist's decision), already-booked (has a session of this event), "
        "site (no slot at a site where the athlete is), travel (the travel span leaves no "
        "time at a site where the athlete is)")


class BookTeamOut(Out):
    bookings: list[BookingOut]


def plan_json(answer: Any) -> dict[str, Any]:
    """A team plan (services.team.TeamPlan)."""
    def slot(value: Any) -> dict[str, Any] | None:
        return None if value is None else slot_json(value)

    found = answer.plan
    return {
        "event_id": answer.event_id,
        "assignments": [{"athlete_id": a.athlete_id, "pre": slot(a.pre), "post": slot(a.post)}
                        for a in found.assignments],
        "placed": found.placed,
        "unplaced": sorted(found.unplaced),
        "unplaced_reasons": [{"athlete_id": athlete_id, "reason": reason}
                             for athlete_id, reason in sorted(found.unplaced.items())],
    }



# --- the season ---------------------------------------------------------------------------

class SeasonQuery(BaseModel):
    """Query string of GET /athletes/{id}/season (strings from the URL, hence not strict).
    `from`/`to`: dates or date-times, naive ones in the athlete's zone; default from now
    for 26 weeks."""

    model_config = ConfigDict(extra="ignore")
    from_: DateOrDateTimeIn | None = Field(default=None, alias="from")
    to: DateOrDateTimeIn | None = None
    course_sessions: Annotated[int, Field(ge=0, le=12)] = 0
    tune_up_weeks: Annotated[int, Field(ge=0, le=26)] = 3
    slots: Annotated[int, Field(ge=0, le=20)] = 3


class SuggestedSlotOut(Out):
    therapist_id: int
    start: Instant
    end: Instant
    site_id: int | None = Field(None, description="the site of the working period it lies in")


class SuggestionOut(Out):
    kind: Literal["pre", "post", "shared", "course", "tune-up"]
    event_ids: list[int] = Field(description="the events served: two for a shared session "
                                 "(the first's post, the second's pre), none for a tune-up")
    window: IntervalOut
    label: str
    slots: list[SuggestedSlotOut] = Field(description="the best free slots in the window")


class SeasonOut(Out):
    athlete_id: int
    start: Instant
    end: Instant
    events: list[EventOut]
    bookings: list[BookingOut]
    suggestions: list[SuggestionOut]


def season_json(view: Any) -> dict[str, Any]:
    """An athlete's season (services.season.SeasonView)."""
    span = view.span
    return {
        "athlete_id": view.athlete_id, "start": utc(span.start), "end": utc(span.end),
        "events": [event_json(e) for e in view.events],
        "bookings": bookings_json(view.bookings),
        "suggestions": [{
            "kind": s.kind, "event_ids": list(s.event_ids),
            "window": {"start": utc(s.window.start), "end": utc(s.window.end)},
            "label": s.label,
            "slots": [{"therapist_id": x.therapist_id, "start": utc(x.start),
                       "end": utc(x.end), "site_id": x.site_id} for x in slots]}
            for s, slots in view.suggestions],
    }
