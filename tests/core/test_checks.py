"""check_bookable, as tables. (Whether the therapist and the athlete are free is the
booking guard's question, asked of the database: tests/test_guard.py.)"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from athlete_sched.core.availability import TherapistSchedule, WorkingPeriod
from athlete_sched.core.checks import check_bookable
from athlete_sched.core.errors import (
    DomainError,
    InvalidPeriod,
    OutsideWindow,
    OutsideWorkingHours,
    TooSoon,
)
from athlete_sched.core.intervals import Interval

THERAPIST = TherapistSchedule(
    therapist_id=7, tz=ZoneInfo("Europe/Berlin"),
    working_hours=(WorkingPeriod(0, time(8), time(12)), WorkingPeriod(0, time(13), time(18))),
    session_minutes=45, buffer_minutes=10, slot_step_minutes=15)
# Monday 2027-05-17 in Berlin (UTC+2): mornings 06:00Z-10:00Z, afternoons 11:00Z-16:00Z.
WINDOW = Interval(datetime.fromisoformat("2027-05-16T22:00Z"),
                  datetime.fromisoformat("2027-05-17T15:00Z"))
NOW = datetime.fromisoformat("2027-05-16T12:00Z")
NOTICE = timedelta(hours=2)
SESSION = timedelta(minutes=45)


def z(hhmm: str, day: str = "2027-05-17") -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}Z")


def session(start: str, end: str) -> Interval:
    return Interval(z(start), z(end))


@pytest.mark.parametrize(("start", "now", "raises"), [
    pytest.param("07:00", NOW, None, id="on the grid, inside everything"),
    pytest.param("07:07", NOW, None, id="off-grid starts are allowed for bookings"),
    pytest.param("09:15", NOW, None, id="ends exactly at the end of the morning"),
    pytest.param("06:00", NOW, None, id="starts exactly at 08:00 local"),
    pytest.param("07:00", z("06:00"), TooSoon, id="less than 2 h notice"),
    pytest.param("08:00", z("06:00"), None, id="exactly 2 h notice"),
    pytest.param("05:00", z("04:00"), TooSoon, id="too soon wins over outside hours"),
    pytest.param("14:30", z("13:00"), TooSoon, id="too soon wins over outside the window"),
    pytest.param("14:30", NOW, OutsideWindow, id="runs past the window's end"),
    pytest.param("15:30", NOW, OutsideWindow,
                 id="outside the window is checked before working hours"),
    pytest.param("09:30", NOW, OutsideWorkingHours, id="crosses the lunch break"),
    pytest.param("05:30", NOW, OutsideWorkingHours, id="starts before 08:00 local"),
    pytest.param("10:15", NOW, OutsideWorkingHours, id="wholly in the lunch break"),
])
def test_check_bookable(start: str, now: datetime, raises: type[DomainError] | None) -> None:
    if raises is None:
        assert check_bookable(THERAPIST, "pre", WINDOW, z(start), SESSION, now, NOTICE) == \
            Interval(z(start), z(start) + SESSION)
    else:
        with pytest.raises(raises) as caught:
            check_bookable(THERAPIST, "pre", WINDOW, z(start), SESSION, now, NOTICE)
        assert caught.value.data["start"] == z(start)


def test_check_bookable_carries_the_data_the_api_reports() -> None:
    with pytest.raises(TooSoon) as too_soon:
        check_bookable(THERAPIST, "pre", WINDOW, z("07:00"), SESSION, z("06:00"), NOTICE)
    assert too_soon.value.data["earliest"] == z("08:00")
    with pytest.raises(OutsideWindow) as outside:
        check_bookable(THERAPIST, "post", WINDOW, z("14:30"), SESSION, NOW, NOTICE)
    assert outside.value.data["kind"] == "post"
    assert outside.value.data["window"] == WINDOW
    with pytest.raises(OutsideWorkingHours) as off_hours:
        check_bookable(THERAPIST, "pre", WINDOW, z("09:30"), SESSION, NOW, NOTICE)
    assert off_hours.value.data == {"therapist_id": 7, "start": z("09:30"), "end": z("10:15")}


def test_check_bookable_refuses_a_session_without_length() -> None:
    with pytest.raises(InvalidPeriod):
        check_bookable(THERAPIST, "pre", WINDOW, z("07:00"), timedelta(0), NOW, NOTICE)

