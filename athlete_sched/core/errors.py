"""Domain errors that carry data. No HTTP status codes here: `web/errors.py` maps them."""

from __future__ import annotations

from datetime import datetime
from typing import Any


class DomainError(Exception):
    """Base of every rule the domain refuses. `code` is a stable slug; `field` names the input."""

    code = "domain-error"
    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None, **data: Any) -> None:
        super().__init__(message)
        self.message = message
        if field is not None:
            self.field = field
        self.data = data


# --- invalid values (the request can never succeed as sent) -------------------------------


class InvalidValue(DomainError):
    code = "invalid-value"


class InvalidPeriod(InvalidValue):
    """A period whose end is not after its start."""

    code = "invalid-period"

    def __init__(self, start: object, end: object, *, field: str | None = "end") -> None:
        super().__init__(f"the end ({end}) must be after the start ({start})",
                         field=field, start=start, end=end)


class UnknownTimezone(InvalidValue):
    code = "unknown-timezone"

    def __init__(self, name: object, *, field: str | None = "timezone") -> None:
        super().__init__(f"{name!r} is not an IANA time zone name such as 'Europe/Berlin'",
                         field=field, name=name)


class OutsideWindow(InvalidValue):
    code = "outside-window"

    def __init__(self, kind: str, start: datetime, window: object) -> None:
        super().__init__(f"a {kind} session cannot start at {start:%Y-%m-%dT%H:%M:%SZ}: "
                         f"it must lie inside the {kind} window {window}",
                         field="start", kind=kind, start=start, window=window)


class OutsideWorkingHours(InvalidValue):
    code = "outside-working-hours"

    def __init__(self, therapist_id: int, start: datetime, end: datetime) -> None:
        super().__init__("the session does not fit inside one of the therapist's working periods",
                         field="start", therapist_id=therapist_id, start=start, end=end)


class WrongSite(InvalidValue):
    code = "wrong-site"

    def __init__(self, site_id: int | None, start: datetime) -> None:
        where = "a therapist without a site" if site_id is None else f"site {site_id}"
        super().__init__(f"the session at {start:%Y-%m-%dT%H:%M:%SZ} would be at {where}, "
                         f"where the athlete is not then (their home site before departure "
                         f"and after return, the venue's site while away)",
                         field="start", site_id=site_id, start=start)


class TooSoon(InvalidValue):
    code = "too-soon"

    def __init__(self, start: datetime, earliest: datetime) -> None:
        super().__init__(f"sessions need notice: the earliest start now is "
                         f"{earliest:%Y-%m-%dT%H:%M:%SZ}",
                         field="start", start=start, earliest=earliest)


# --- conflicts (the request was fine, but the state of the world says no) ----------------


class Conflict(DomainError):
    code = "conflict"


class SlotTaken(Conflict):
    code = "slot-taken"

    def __init__(self, therapist_id: int, start: datetime) -> None:
        super().__init__("the therapist is not free at that time (bookings keep a buffer; "
                         "time off and calendar entries block too)",
                         field="start", therapist_id=therapist_id, start=start)


class SlotHeld(Conflict):
    """The therapist's time is held for another athlete of the waiting list until their
    offer expires (only that athlete can book it meanwhile)."""

    code = "held"

    def __init__(self, therapist_id: int, start: datetime) -> None:
        super().__init__("that time is held for an athlete of the waiting list until their "
                         "offer expires", field="start", therapist_id=therapist_id, start=start)


class AthleteBusy(Conflict):
    code = "athlete-busy"

    def __init__(self, athlete_id: int, start: datetime) -> None:
        super().__init__("the athlete already has a session or an event at that time",
                         field="start", athlete_id=athlete_id, start=start)


class AlreadyBooked(Conflict):
    code = "already-booked"

    def __init__(self, athlete_id: int, event_id: int, kind: str) -> None:
        super().__init__(f"the athlete already has a confirmed {kind} session for this event",
                         field="kind", athlete_id=athlete_id, event_id=event_id, kind=kind)


class TooLate(Conflict):
    """An athlete or coach changing a session later than the clinic's cancellation notice
    before its start (only a therapist or an admin still can)."""

    code = "too-late"

    def __init__(self, booking_id: int, start: datetime, deadline: datetime) -> None:
        super().__init__(f"this session can no longer be cancelled or moved online: changes "
                         f"are possible until {deadline:%Y-%m-%dT%H:%M:%SZ}; "
                         "please contact the clinic",
                         booking_id=booking_id, start=start, deadline=deadline)


class Started(Conflict):
    """A session that has started (or is over) can no longer be cancelled or moved."""

    code = "started"

    def __init__(self, booking_id: int, start: datetime) -> None:
        super().__init__(f"this session started at {start:%Y-%m-%dT%H:%M:%SZ}: it can no "
                         "longer be cancelled or moved", booking_id=booking_id, start=start)


class ScreeningNotCleared(Conflict):
    """The athlete's latest screening decision is "not cleared": nobody can book them a
    session (or move one) until a therapist clears their current answers."""

    code = "screening-not-cleared"

    def __init__(self, athlete_id: int) -> None:
        super().__init__("a therapist has not cleared this athlete for dry needling: no "
                         "session can be booked or moved until a therapist reviews their "
                         "screening answers and clears them", athlete_id=athlete_id)


class NobodyPlaced(Conflict):
    """A team booking of a fresh plan that places nobody: nothing to book, and why each
    member is out (`unplaced_reasons`: [{athlete_id, reason}], the plan's reasons)."""

    code = "nobody-placed"
    exposed = ("unplaced_reasons",)

    def __init__(self, event_id: int, unplaced: dict[int, str]) -> None:
        super().__init__("the plan places no athlete, so nothing was booked; "
                         "`unplaced_reasons` says why each member is out",
                         event_id=event_id, unplaced_reasons=[
                             {"athlete_id": a, "reason": r} for a, r in unplaced.items()])


# --- access and lookups --------------------------------------------------------------------


class Forbidden(DomainError):
    """The caller may see this but may not do it (their role, or whose it is, says no)."""

    code = "forbidden"

    def __init__(self, message: str = "your role may not do this", **data: Any) -> None:
        super().__init__(message, **data)



class NotFound(DomainError):
    code = "not-found"

    def __init__(self, entity: str, ident: object, *, field: str | None = None) -> None:
        super().__init__(f"no {entity} with id {ident}", field=field, entity=entity, ident=ident)


# --- calendar import (core/ical_import.py) ---------------------------------------------------


class CalendarUnparsable(InvalidValue):
    """The body of a busy-calendar import is not iCalendar data that can be read."""

    code = "calendar-unparsable"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="body")


class CalendarTooComplex(InvalidValue):
    """A busy-calendar import passes one of the limits that keep an import quick."""

    code = "calendar-too-complex"

    def __init__(self, message: str) -> None:
        super().__init__(f"the calendar is too complex to import: {message}", field="body")
