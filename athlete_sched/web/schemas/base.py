"""What every schema shares: the input types (strict, with the contract's rules), the
bases of request and answer models, UTC instants, list envelopes. The same pydantic models
validate requests and generate the OpenAPI document (web/openapi.py), so the two cannot
drift."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    create_model,
    field_validator,
)

from ...core.errors import UnknownTimezone
from ...core.kinds import SESSION_KINDS, WINDOW_KINDS
from ...core.memo import Memo
from ...core.zones import load_zone
from ...services.access import ROLES
from ...services.common import FIRST_YEAR, LAST_YEAR, MAX_ID

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# --- input types --------------------------------------------------------------------------

def _email(value: str) -> str:
    value = value.strip()
    if not EMAIL_RE.match(value):
        raise ValueError("not an email address")
    return value.lower()


def _zone(value: str) -> str:
    try:
        load_zone(value)
    except UnknownTimezone as exc:
        raise ValueError(exc.message) from None
    return value


def _in_range(value: date) -> None:
    """Refuse years the clinic never plans for (and whose windows would overflow)."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"the year must lie between {FIRST_YEAR} and {LAST_YEAR}")


def _datetime(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("not an ISO 8601 date-time such as 2027-05-15T08:00 or "
                         "2027-05-15T08:00:00+02:00") from None
    _in_range(parsed)
    return parsed


def _date_or_datetime(value: str) -> date | datetime:
    if "T" in value or " " in value:
        return _datetime(value)
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise ValueError("not an ISO 8601 date (2027-05-15) or date-time "
                         "(2027-05-15T08:00)") from None
    _in_range(parsed)
    return parsed


def _clock(value: str) -> int:
    """'HH:MM' -> minutes after local midnight."""
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise ValueError("not a wall-clock time HH:MM (00:00 to 23:59)")
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


Email = Annotated[str, Field(max_length=254), AfterValidator(_email),
                  WithJsonSchema({"type": "string", "format": "email", "maxLength": 254})]
Name = Annotated[str, Field(min_length=1, max_length=200)]
TimeZoneName = Annotated[str, Field(max_length=64), AfterValidator(_zone),
                         WithJsonSchema({"type": "string", "description": "IANA time zone name",
                                         "examples": ["Europe/Berlin"]})]
DateTimeIn = Annotated[str, Field(max_length=40), AfterValidator(_datetime),
                       WithJsonSchema({"type": "string", "format": "date-time",
                                       "description": "ISO 8601; a naive value is local to the "
                                       "resource's time zone"})]
DateOrDateTimeIn = Annotated[str, Field(max_length=40), AfterValidator(_date_or_datetime),
                             WithJsonSchema({"type": "string", "description": "ISO 8601 date "
                                             "(all-day) or date-time (naive = event's zone)",
                                             "examples": ["2027-05-15", "2027-05-15T08:00"]})]
ClockIn = Annotated[str, AfterValidator(_clock),
                    WithJsonSchema({"type": "string", "pattern": r"^\d\d:\d\d$",
                                    "examples": ["08:00"]})]
Sport = Literal["running", "mtb", "cycling", "triathlon", "other"]
Role = Literal[ROLES]  # type: ignore[valid-type]
Kind = Literal[WINDOW_KINDS]  # type: ignore[valid-type]  # core/kinds.py
BookingKind = Literal[SESSION_KINDS]  # type: ignore[valid-type]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
AfterId = Annotated[int, Field(ge=0, le=MAX_ID)]


class In(BaseModel):
    """Base of request bodies: strict types (no "5" for 5), unknown keys ignored, and no
    NUL character in any text (PostgreSQL cannot store one)."""

    model_config = ConfigDict(strict=True, extra="ignore")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("text must not contain the NUL character")
        return value


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    after_id: AfterId = 0


# --- output types -------------------------------------------------------------------------

def utc(value: datetime) -> str:
    """An aware instant as 2027-04-16T13:00:00Z (whole seconds). The texts of UTC instants
    are kept (`_UTC_TEXTS`): an answer's slots and windows repeat across requests."""
    if value.tzinfo is UTC:
        text = _UTC_TEXTS.get(value)
        if text is None:
            text = _UTC_TEXTS.keep(value, _utc_text(value))
        return text
    return _utc_text(value.astimezone(UTC))


# Only instants in UTC itself are kept: two equal datetimes of one other zone may differ
# in `fold` (a repeated local hour) and so in the instant. Emptied when full.
_UTC_TEXTS: Memo[datetime, str] = Memo(16_384)


def _utc_text(value: datetime) -> str:
    return f"{value.replace(tzinfo=None).isoformat(timespec='seconds')}Z"


Instant = Annotated[datetime, PlainSerializer(utc, return_type=str),
                    WithJsonSchema({"type": "string", "format": "date-time",
                                    "examples": ["2027-04-16T13:00:00Z"]})]


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def page_of(item: type[BaseModel]) -> type[BaseModel]:
    """The list envelope {items, next} for one item schema."""
    return create_model(f"{item.__name__}Page", __base__=Out,
                        items=(list[item], ...), next=(str | None, None))  # type: ignore[valid-type]


def dump(model: type[BaseModel], obj: Any) -> dict[str, Any]:
    return model.model_validate(obj).model_dump(mode="json")


