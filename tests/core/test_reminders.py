"""When reminders and check-ins are due (core/reminders.py): local hours across
daylight-saving changes, the day before and the second day after, and the candidate
ranges the reads use never missing a due notice."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from athlete_sched.core import reminders as rules

BERLIN, DENVER, KIRITIMATI = (ZoneInfo("Europe/Berlin"), ZoneInfo("America/Denver"),
                              ZoneInfo("Pacific/Kiritimati"))
H = timedelta(hours=1)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(("start", "zone", "due"), [
    # Berlin spring forward on Sun 28 Mar 2027: 09:00 local is 08:00Z on Sat, 07:00Z on Sun
    (utc(2027, 3, 28, 8, 0), BERLIN, utc(2027, 3, 27, 8, 0)),   # Sun 10:00 CEST
    (utc(2027, 3, 29, 8, 0), BERLIN, utc(2027, 3, 28, 7, 0)),   # Mon 10:00 CEST
    # Berlin fall back on Sun 31 Oct 2027: 09:00 is 07:00Z on Sat, 08:00Z on Sun
    (utc(2027, 10, 31, 9, 0), BERLIN, utc(2027, 10, 30, 7, 0)),
    (utc(2027, 11, 1, 9, 0), BERLIN, utc(2027, 10, 31, 8, 0)),
    # the session's day is the athlete's: 23:30Z on 11 May is 12 May 01:30 in Berlin
    (utc(2027, 5, 11, 23, 30), BERLIN, utc(2027, 5, 11, 7, 0)),
    (utc(2027, 5, 12, 3, 0), DENVER, utc(2027, 5, 10, 15, 0)),  # 11 May 21:00 in Denver
    (utc(2027, 5, 12, 3, 0), KIRITIMATI, utc(2027, 5, 10, 19, 0)),  # UTC+14: 12 May 17:00
])
def test_the_reminder_is_due_at_9_local_on_the_day_before(start, zone, due):
    assert rules.reminder_due(start, zone, 9) == due


@pytest.mark.parametrize(("start", "due"), [
    (utc(2027, 3, 26, 16, 0), utc(2027, 3, 28, 7, 0)),   # Fri -> Sun, the short day: CEST
    (utc(2027, 10, 29, 16, 0), utc(2027, 10, 31, 8, 0)),  # Fri -> Sun, the long day: CET
    (utc(2027, 5, 17, 21, 59), utc(2027, 5, 19, 7, 0)),   # 23:59 local on the 17th
    (utc(2027, 5, 17, 22, 0), utc(2027, 5, 20, 7, 0)),    # 00:00 local on the 18th
])
def test_the_check_in_is_due_at_9_local_on_the_second_day_after(start, due):
    assert rules.check_in_due(start, BERLIN, 9) == due


def test_an_hour_the_spring_change_skips_lands_after_the_gap():
    # 02:00 does not exist in Berlin on 28 Mar 2027: fold=0 reads it with CET's offset
    assert rules.local_instant(date(2027, 3, 28), 2, BERLIN) == utc(2027, 3, 28, 1)


START = utc(2027, 5, 12, 7, 0)  # Wed 12 May 09:00 Berlin; reminder due Tue 11 May 07:00Z
DUE = utc(2027, 5, 11, 7, 0)
EARLY = utc(2027, 5, 1)


@pytest.mark.parametrize(("now", "written", "sent"), [
    (DUE - timedelta(seconds=1), EARLY, False),  # not yet
    (DUE, EARLY, True),
    (START - timedelta(seconds=1), EARLY, True),  # late, but before the session
    (START, EARLY, False),  # started: no reminder any more
    (DUE + H, DUE, True),  # booked at the very instant: still the reminder
    (DUE + H, DUE + timedelta(seconds=1), False),  # booked after it: the invite just went
])
def test_a_reminder_goes_out_from_its_time_until_the_session(now, written, sent):
    assert rules.reminder_is_due(START, written, BERLIN, 9, now) is sent


CHECK_IN = utc(2027, 5, 14, 7, 0)


@pytest.mark.parametrize(("now", "sent"), [
    (CHECK_IN - timedelta(seconds=1), False), (CHECK_IN, True),
    (CHECK_IN + timedelta(hours=23, minutes=59), True), (CHECK_IN + timedelta(days=1), False),
])
def test_a_check_in_goes_out_within_a_day_of_its_time(now, sent):
    assert rules.check_in_is_due(START, BERLIN, 9, now) is sent


ZONES = [ZoneInfo(z) for z in ("Europe/Berlin", "America/Denver", "Pacific/Kiritimati",
                               "Pacific/Pago_Pago", "Australia/Lord_Howe", "Asia/Kathmandu",
                               "America/St_Johns", "UTC")]


def within(span, instant: datetime) -> bool:
    return span.start <= instant < span.end


@pytest.mark.parametrize("hour", [0, 9, 23])
def test_the_candidate_ranges_hold_every_due_notice(hour):
    """Every session, every 20 minutes over a spring and an autumn change, in zones from
    UTC-11 to UTC+14: whenever its reminder or check-in is due, its start lies in the
    range the read asks for."""
    for first in (utc(2027, 3, 24), utc(2027, 10, 27)):
        for zone in ZONES:
            for step in range(0, 7 * 72):
                start = first + step * timedelta(minutes=20)
                due = rules.reminder_due(start, zone, hour)
                for now in (due, start - timedelta(seconds=1)):
                    if rules.reminder_is_due(start, EARLY, zone, hour, now):
                        assert within(rules.reminder_starts(now, hour), start), (zone, now)
                after = rules.check_in_due(start, zone, hour)
                for now in (after, after + timedelta(hours=23, minutes=59)):
                    assert within(rules.check_in_starts(now, hour), start), (zone, now)


def test_the_notice_key_names_the_booking_and_the_start():
    assert rules.notice_key(31, START) == "booking:31:20270512T070000Z"
    assert rules.notice_key(31, START + H) != rules.notice_key(31, START)
