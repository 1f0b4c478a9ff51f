"""JSON API v1: a therapist's one-day changes of working hours (a date with its own
periods, or closed, in place of the weekly hours on that local date). The therapist
themself or an admin, as for the weekly hours."""

from __future__ import annotations

from datetime import date as Date
from datetime import timedelta

from flask import jsonify, url_for
from pydantic import ValidationError

from ..services import working_days
from .api import bp, doc
from .errors import ApiError, validation_fields
from .http import answer, current_caller, parse_body, parse_query
from .schemas import working_days as sc
from .schemas.clinic import AffectedQuery

ONE_DAY = timedelta(days=1)


def _day(text: str) -> Date:
    """The {date} of the path, an ISO 8601 date (422 otherwise)."""
    try:
        return sc.DateOnly.model_validate({"date": text}).date  # type: ignore[return-value]
    except ValidationError as exc:
        raise ApiError(422, "invalid", "some values are not valid",
                       validation_fields(exc)) from None


@bp.get("/therapists/<int:therapist_id>/working-days")
@doc(summary="The therapist's one-day changes of working hours, by date (from and to "
     "included)", query=sc.WorkingDaysQuery, response=sc.WorkingDayPage)
def list_working_days(therapist_id: int):
    q = parse_query(sc.WorkingDaysQuery)
    found = working_days.list_for(current_caller(), therapist_id, q.from_, q.to, q.limit + 1)
    shown, more = found[:q.limit], len(found) > q.limit
    next_url = None
    if more:
        after = (shown[-1].day + ONE_DAY).isoformat()
        args = {"from": after, "limit": q.limit, **({"to": q.to.isoformat()} if q.to else {})}
        next_url = url_for(".list_working_days", therapist_id=therapist_id, **args,
                           _external=True)
    return jsonify({"items": [sc.working_day_json(d) for d in shown], "next": next_url})


@bp.put("/therapists/<int:therapist_id>/working-days/<date>")
@doc(summary="Give one local date its own working periods, or close it (replaces an "
     "earlier change of that date)", body=sc.WorkingDayIn, query=AffectedQuery,
     response=sc.WorkingDayOut)
def put_working_day(therapist_id: int, date: str):
    day = _day(date)
    on_affected = parse_query(AffectedQuery).affected
    data = parse_body(sc.WorkingDayIn)
    row = working_days.set_for(current_caller(), therapist_id, day, data.closed, data.minutes(),
                               on_affected, data.site_id)
    return answer(sc.working_day_json(row))


@bp.delete("/therapists/<int:therapist_id>/working-days/<date>")
@doc(summary="Remove a date's change: the weekly hours again", status=204)
def delete_working_day(therapist_id: int, date: str):
    working_days.remove_for(current_caller(), therapist_id, _day(date))
    return answer(None, 204)
