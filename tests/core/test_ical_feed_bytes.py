"""A feed put together from its entries' memoized bytes (core/ical.feed) is byte for byte
the calendar icalendar writes with every entry added as a component, for any sessions
(cancelled ones left out, long and odd summaries folded) and races, timed and all-day,
and any name (one with a line break once broke the feed: NAME and X-WR-CALNAME are
written on one line); and it is still a calendar icalendar reads back with every entry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import icalendar
from hypothesis import given, settings
from hypothesis import strategies as st

from athlete_sched.core import ical

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=120)
INSTANTS = st.datetimes(min_value=datetime(2020, 1, 1),  # noqa: DTZ001 (naive bounds,
                        max_value=datetime(2035, 1, 1),  # noqa: DTZ001 hypothesis's rule)
                        timezones=st.just(UTC))


@st.composite
def sessions(draw: st.DrawFn) -> ical.Session:
    start = draw(INSTANTS)
    return ical.Session(uid=f"booking-{draw(st.integers(1, 10**6))}@clinic.test",
                        sequence=draw(st.integers(0, 50)), stamp=draw(INSTANTS), start=start,
                        end=start + timedelta(minutes=draw(st.integers(15, 240))),
                        cancelled=draw(st.booleans()), summary=draw(TEXT),
                        location=draw(TEXT))


@st.composite
def races(draw: st.DrawFn) -> ical.Race:
    uid, stamp, summary = f"event-{draw(st.integers(1, 10**6))}@x", draw(INSTANTS), draw(TEXT)
    if draw(st.booleans()):
        first = draw(st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 1, 1)))
        return ical.Race(uid, stamp, summary, first,
                         first + timedelta(days=draw(st.integers(1, 9))))
    start = draw(INSTANTS)
    return ical.Race(uid, stamp, summary, start, start + timedelta(hours=draw(
        st.integers(1, 30))))


def whole(name: str, found: list[ical.Session], shown: list[ical.Race]) -> bytes:
    """The feed as icalendar writes it with every entry added to the calendar."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", ical.PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add("name", ical._one_line(name))
    calendar.add("x-wr-calname", ical._one_line(name))
    calendar.add("refresh-interval", ical.FEED_REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", icalendar.vDuration(ical.FEED_REFRESH))
    for session in found:
        if not session.cancelled:
            calendar.add_component(ical._vevent(session))
    for race in shown:
        calendar.add_component(ical._race_vevent(race))
    return calendar.to_ical()


@settings(max_examples=200, deadline=None)
@given(TEXT, st.lists(sessions(), max_size=8), st.lists(races(), max_size=4))
def test_the_feed_is_the_bytes_icalendar_writes(name, found, shown):
    body = ical.feed(name, found, shown)
    assert body == whole(name, found, shown)
    assert ical.feed(name, found, shown) == body  # from the memo: the same again
    parsed = icalendar.Calendar.from_ical(body)
    assert len(parsed.walk("VEVENT")) == sum(not s.cancelled for s in found) + len(shown)
