"""JSON API v1: an athlete's screening (the special considerations) and its review.

Who may do what (the 403/404 rule of web/access.py: someone who may not see the athlete's
screening at all gets 404, someone who may see it but not do this gets 403):
- read: the athlete, their coaches, admins, and a therapist who has or had a booking with
  the athlete (any status);
- answer (PUT): the athlete, their coaches, admins;
- review: a therapist with a confirmed booking with the athlete, or an admin.

Nothing of this is ever written into an .ics file, a feed or an email.
"""

from __future__ import annotations

from flask import jsonify

from ..core.errors import NotFound
from ..db.models import Athlete, Therapist, User
from ..services import accounts, clinic
from ..services import screening as service
from . import access
from . import schemas_screening as sc
from .api import bp, doc, done
from .http import current_user, parse_body


def _own_therapist(user: User) -> Therapist | None:
    return accounts.therapist_of(user) if user.role == "therapist" else None


def _readable(athlete_id: int) -> tuple[User, Athlete]:
    """The athlete, if the caller may read their screening; else 404 as if none existed."""
    user, athlete = current_user(), clinic.get(Athlete, athlete_id, "athlete")
    if access.acts_for_athlete(user, athlete.id):
        return user, athlete
    therapist = _own_therapist(user)
    if therapist is not None and service.has_booking_with(therapist.id, athlete.id):
        return user, athlete
    raise NotFound("athlete", athlete.id)


def _answerable(athlete_id: int) -> Athlete:
    user, athlete = _readable(athlete_id)
    if not access.acts_for_athlete(user, athlete.id):
        raise access.forbidden("only the athlete, their coach or an admin answers the "
                               "screening")
    return athlete


def _reviewer(athlete_id: int) -> tuple[Athlete, int | None]:
    """The athlete and the reviewing therapist's id (None for an admin)."""
    user, athlete = _readable(athlete_id)
    if user.role == "admin":
        return athlete, None
    therapist = _own_therapist(user)
    if therapist is None or not service.has_booking_with(therapist.id, athlete.id,
                                                         confirmed_only=True):
        raise access.forbidden("only a therapist with a booking with the athlete, or an "
                               "admin, records a screening decision")
    return athlete, therapist.id


@bp.put("/athletes/<int:athlete_id>/screening")
@doc(summary="Answer the screening (the special considerations; replaces the answers: a "
     "key left out is not answered). A change clears the therapist's decision. The "
     "athlete, their coach or an admin. Never written into any .ics or email",
     body=sc.ScreeningIn, response=sc.ScreeningOut)
def put_screening(athlete_id: int):
    data = parse_body(sc.ScreeningIn)
    athlete = _answerable(athlete_id)
    row = service.save_answers(athlete.id, data.answers.model_dump(), data.note)
    return done(sc.screening_json(row))


@bp.get("/athletes/<int:athlete_id>/screening")
@doc(summary="The athlete's screening: answers, flagged considerations, the therapist's "
     "review (404 until answered). The athlete, their coach, an admin, or a therapist "
     "who has or had a booking with them", response=sc.ScreeningOut)
def get_screening(athlete_id: int):
    _, athlete = _readable(athlete_id)
    row = service.screening_of(athlete.id)
    if row is None:
        raise service.NoScreening(athlete.id)
    return jsonify(sc.screening_json(row))


@bp.post("/athletes/<int:athlete_id>/screening/review")
@doc(summary="Record the therapist's decision on the current answers (cleared or "
     "not-cleared): a therapist with a confirmed booking with the athlete, or an admin. "
     "Only this decision, never a flag, keeps an athlete out of a team plan",
     body=sc.ReviewIn, response=sc.ScreeningOut)
def review_screening(athlete_id: int):
    data = parse_body(sc.ReviewIn)
    athlete, therapist_id = _reviewer(athlete_id)
    row = service.record_review(athlete.id, therapist_id, data.decision, data.note,
                                data.answered_at)
    return done(sc.screening_json(row))
