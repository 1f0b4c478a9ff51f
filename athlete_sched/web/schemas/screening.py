"""Request and response schemas of the screening routes (web/api_screening.py), built from
the list in core/screening.py so that the keys, the validation and the OpenAPI document
all come from one place."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, RootModel, create_model

from ...core import screening as core
from ...services.screening import answers_of
from . import base as s

Note = Annotated[str, Field(max_length=core.MAX_NOTE_LENGTH)]
Decision = Literal["cleared", "not-cleared"]
State = Literal["not-answered", "awaiting-review", "cleared", "not-cleared"]


class _AnswersIn(s.In):
    """Strict like every body, and unlike them no unknown key: a misspelt consideration
    must not pass as "not answered"."""

    model_config = ConfigDict(strict=True, extra="forbid")


def _answer_fields(required: bool) -> dict[str, Any]:
    default = ... if required else None
    return {c.key: (bool | None, Field(default, description=c.label))
            for c in core.CONSIDERATIONS}


ScreeningAnswersIn = create_model(
    "ScreeningAnswersIn", __base__=_AnswersIn,
    __doc__="Consideration key -> true (applies: flagged for the therapist), false (does "
            "not apply) or null; a key left out is not answered (null). Unknown keys: 422.",
    **_answer_fields(required=False))
ScreeningAnswersOut = create_model(
    "ScreeningAnswersOut", __base__=s.Out,
    __doc__="Every consideration key with its answer: true, false or null (not answered).",
    **_answer_fields(required=True))


class ScreeningIn(s.In):
    """The whole screening (PUT replaces it): keys left out of `answers` are not answered.
    A change of the answers or the note clears the therapist's decision."""

    answers: ScreeningAnswersIn  # type: ignore[valid-type]
    note: Note = Field("", description="anything else the therapist should know")


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("give the answered_at value as the screening showed it (UTC, Z)")
    return value


class ReviewIn(s.In):
    decision: Decision
    note: Note = ""
    answered_at: Annotated[s.DateTimeIn, AfterValidator(_aware)] | None = Field(
        None, description="the answered_at of the screening reviewed: if the answers "
        "changed since, 409 stale and nothing is recorded")


class ScreeningReviewOut(s.Out):
    therapist_id: int | None = Field(description="who reviewed; null: an admin")
    decision: Decision
    note: str
    reviewed_at: s.Instant


class ScreeningOut(s.Out):
    athlete_id: int
    answers: ScreeningAnswersOut  # type: ignore[valid-type]
    note: str
    flagged: list[str] = Field(description="keys answered true, in the list's order")
    flagged_labels: list[str]
    unanswered: list[str] = Field(description="keys with no answer")
    answered_at: s.Instant = Field(description="when the answers or the note last changed")
    review: ScreeningReviewOut | None = Field(
        description="the therapist's decision on these answers; null until reviewed (and "
        "again after the answers change)")


class ScreeningStateOut(s.Out):
    """What a coach reads: the state alone, never an answer or a note."""

    athlete_id: int
    state: State = Field(description="not-answered, awaiting-review, cleared or not-cleared")


class ScreeningReadOut(RootModel[ScreeningOut | ScreeningStateOut]):
    """GET: the whole screening (the athlete, an admin, a therapist who has or had a
    booking with them), or the state alone (their coach)."""

    model_config = ConfigDict(json_schema_extra=lambda schema: schema.update(
        oneOf=schema.pop("anyOf")))


def read_json(read: Any) -> dict[str, Any]:
    """A screening as the caller may read it (services.screening.ScreeningRead)."""
    if read.row is None:
        return s.dump(ScreeningStateOut, {"athlete_id": read.athlete_id, "state": read.state})
    return screening_json(read.row)


def screening_json(row: Any) -> dict[str, Any]:
    """A screening row with its flags and the therapist's review."""
    answers = answers_of(row)
    flagged = core.flagged(answers)
    review = None
    if row.decision is not None:
        review = {"therapist_id": row.reviewed_by_therapist_id, "decision": row.decision,
                  "note": row.review_note or "", "reviewed_at": row.reviewed_at}
    return s.dump(ScreeningOut, {
        "athlete_id": row.athlete_id, "answers": answers, "note": row.note,
        "flagged": flagged, "flagged_labels": core.labels(flagged),
        "unanswered": core.unanswered(answers), "answered_at": row.answered_at,
        "review": review})
