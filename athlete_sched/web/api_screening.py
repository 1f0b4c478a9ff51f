"""JSON API v1: an athlete's screening (the special considerations) and its review. Who may
do what: services/screening.py. Nothing of this is ever written into an .ics file, a feed
or an email."""

from __future__ import annotations

from flask import jsonify

from ..services import screening
from .api import bp, doc
from .http import answer, current_caller, parse_body
from .schemas import screening as sc


@bp.put("/athletes/<int:athlete_id>/screening")
@doc(summary="Answer the screening (the special considerations; replaces the answers: a "
     "key left out is not answered). A change clears the therapist's decision (and alone "
     "never lifts a not-cleared one). The athlete or an admin (a coach or a therapist: "
     "403). Never written into any .ics, feed or email",
     body=sc.ScreeningIn, response=sc.ScreeningOut)
def put_screening(athlete_id: int):
    data = parse_body(sc.ScreeningIn)
    row = screening.answer_for(current_caller(), athlete_id, data.answers.model_dump(),
                               data.note)
    return answer(sc.screening_json(row))


@bp.get("/athletes/<int:athlete_id>/screening")
@doc(summary="The athlete's screening: answers, flagged considerations, the therapist's "
     "review (404 until answered): the athlete, an admin, or a therapist who has or had "
     "a booking with them. Their coach gets {athlete_id, state} only (also before any "
     "answer)", response=sc.ScreeningReadOut)
def get_screening(athlete_id: int):
    return jsonify(sc.read_json(screening.read_for(current_caller(), athlete_id)))


@bp.post("/athletes/<int:athlete_id>/screening/review")
@doc(summary="Record the therapist's decision on the current answers (cleared or "
     "not-cleared): a therapist with a confirmed booking with the athlete, or an admin. "
     "Only this decision, never a flag, blocks: while not-cleared, every booking path "
     "for the athlete is 409 screening-not-cleared and a team plan leaves them out",
     body=sc.ReviewIn, response=sc.ScreeningOut)
def review_screening(athlete_id: int):
    data = parse_body(sc.ReviewIn)
    row = screening.review_for(current_caller(), athlete_id, data.decision, data.note,
                               data.answered_at)
    return answer(sc.screening_json(row))
