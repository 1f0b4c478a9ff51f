"""Request and answer schemas of a therapist's one-day changes of working hours
(GET/PUT/DELETE /therapists/{id}/working-days[/{date}])."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from .base import ClockIn, In, Out, dump

MAX_PERIODS = 20


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError("not an ISO 8601 date such as 2027-05-15") from None


DateIn = Annotated[str, Field(max_length=10), AfterValidator(_date),
                   WithJsonSchema({"type": "string", "format": "date",
                                   "examples": ["2027-05-15"]})]


class DateOnly(BaseModel):
    """A date of a path ({date}), validated as the bodies' dates are."""

    date: DateIn


class DayPeriodIn(In):
    start: ClockIn
    end: ClockIn

    @model_validator(mode="after")
    def _ordered(self) -> DayPeriodIn:
        if not self.end > self.start:  # type: ignore[operator]
            raise ValueError("end must be after start")
        return self


def _apart(periods: list[DayPeriodIn]) -> list[DayPeriodIn]:
    ordered = sorted(periods, key=lambda p: p.start)
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.start < before.end:  # type: ignore[operator]
            raise ValueError("the working periods of the day overlap")
    return periods


class WorkingDayIn(In):
    """A date's own working hours, local wall-clock in the therapist's zone: `closed`, or
    at least one period."""

    closed: bool = False
    periods: Annotated[list[DayPeriodIn], Field(max_length=MAX_PERIODS),
                       AfterValidator(_apart)] = []
    site_id: Annotated[int, Field(ge=1)] | None = Field(None, description=(
        "the site of the day's periods when it is not the therapist's own (a race-weekend "
        "tent)"))

    @model_validator(mode="after")
    def _closed_or_open(self) -> WorkingDayIn:
        if self.closed and self.periods:
            raise ValueError("a closed day has no periods: send closed: false, or no periods")
        if not self.closed and not self.periods:
            raise ValueError("send at least one period, or closed: true")
        return self

    def minutes(self) -> list[tuple[int, int]]:
        return [(p.start, p.end) for p in self.periods]  # type: ignore[misc]


class WorkingDaysQuery(BaseModel):
    """Query string of GET /therapists/{id}/working-days: dates from and to (both included)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    from_: DateIn | None = Field(default=None, alias="from")
    to: DateIn | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


class DayPeriodOut(Out):
    start: str
    end: str


class WorkingDayOut(Out):
    therapist_id: int
    date: str = Field(json_schema_extra={"format": "date"})
    closed: bool
    periods: list[DayPeriodOut]
    site_id: int | None = Field(None, description="present when the day is at another site")


class WorkingDayPage(Out):
    items: list[WorkingDayOut]
    next: str | None = None


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def working_day_json(row: Any) -> dict[str, Any]:
    """A stored change (db WorkingDay) as the API answers it."""
    body = dump(WorkingDayOut, {
        "therapist_id": row.therapist_id, "date": row.day.isoformat(), "closed": row.closed,
        "periods": [{"start": _hhmm(p.start_minute), "end": _hhmm(p.end_minute)}
                    for p in row.periods]})
    del body["site_id"]
    return body if row.site_id is None else {**body, "site_id": row.site_id}
