"""Half-open interval arithmetic: overlaps, contains, merge, subtract."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from athlete_sched.core.errors import InvalidPeriod
from athlete_sched.core.intervals import Interval, contains, merge, overlaps, pieces, subtract


def z(text: str) -> datetime:
    """A literal UTC instant: '10:00' on 2027-05-17, or a full ISO string with Z."""
    if len(text) == 5:
        text = f"2027-05-17T{text}:00Z"
    return datetime.fromisoformat(text)


def iv(start: str, end: str) -> Interval:
    return Interval(z(start), z(end))


def ivs(*pairs: str) -> list[Interval]:
    """ivs("09:00-10:00", "11:00-12:00")"""
    return [iv(*pair.split("-")) for pair in pairs]


@pytest.mark.parametrize(("a", "b", "expected"), [
    pytest.param("09:00-10:00", "09:30-10:30", True, id="partial overlap"),
    pytest.param("09:00-10:00", "10:00-11:00", False, id="touching is not overlapping"),
    pytest.param("09:00-12:00", "10:00-11:00", True, id="nested"),
    pytest.param("09:00-10:00", "11:00-12:00", False, id="apart"),
    pytest.param("09:00-10:00", "09:00-10:00", True, id="identical"),
    pytest.param("09:30-09:30", "09:00-10:00", False, id="empty overlaps nothing"),
])
def test_overlaps(a: str, b: str, expected: bool) -> None:
    (first,), (second,) = ivs(a), ivs(b)
    assert overlaps(first, second) is expected
    assert overlaps(second, first) is expected


@pytest.mark.parametrize(("outer", "inner", "expected"), [
    pytest.param("09:00-12:00", "10:00-11:00", True, id="strictly inside"),
    pytest.param("09:00-12:00", "09:00-12:00", True, id="contains itself"),
    pytest.param("09:00-12:00", "11:15-12:00", True, id="ends at the end"),
    pytest.param("09:00-12:00", "11:30-12:15", False, id="runs past the end"),
    pytest.param("09:00-12:00", "08:45-09:30", False, id="starts before"),
])
def test_contains(outer: str, inner: str, expected: bool) -> None:
    (o,), (i,) = ivs(outer), ivs(inner)
    assert contains(o, i) is expected


@pytest.mark.parametrize(("given", "expected"), [
    pytest.param([], [], id="nothing"),
    pytest.param(["11:00-12:00", "09:00-10:00"], ["09:00-10:00", "11:00-12:00"], id="sorts"),
    pytest.param(["09:00-10:00", "10:00-11:00"], ["09:00-11:00"], id="touching coalesce"),
    pytest.param(["09:00-10:30", "10:00-11:00"], ["09:00-11:00"], id="overlapping coalesce"),
    pytest.param(["09:00-12:00", "10:00-11:00"], ["09:00-12:00"], id="nested vanish"),
    pytest.param(["10:00-10:00", "09:00-09:30"], ["09:00-09:30"], id="empty dropped"),
    pytest.param(["13:00-14:00", "09:00-09:30", "09:15-10:00", "08:00-09:00"],
                 ["08:00-10:00", "13:00-14:00"], id="unsorted chain"),
])
def test_merge(given: list[str], expected: list[str]) -> None:
    assert merge(ivs(*given)) == ivs(*expected)


@pytest.mark.parametrize(("base", "cuts", "expected"), [
    pytest.param(["09:00-12:00"], [], ["09:00-12:00"], id="no cuts"),
    pytest.param(["09:00-12:00"], ["10:00-10:30"], ["09:00-10:00", "10:30-12:00"], id="hole"),
    pytest.param(["09:00-12:00"], ["08:00-09:30"], ["09:30-12:00"], id="cut over the start"),
    pytest.param(["09:00-12:00"], ["11:30-13:00"], ["09:00-11:30"], id="cut over the end"),
    pytest.param(["09:00-12:00"], ["08:00-13:00"], [], id="cut swallows all"),
    pytest.param(["09:00-12:00"], ["12:00-13:00", "08:00-09:00"], ["09:00-12:00"],
                 id="touching cuts leave it whole"),
    pytest.param(["09:00-12:00", "13:00-18:00"], ["11:00-14:00", "09:30-10:00"],
                 ["09:00-09:30", "10:00-11:00", "14:00-18:00"], id="cut spans two bases"),
    pytest.param(["13:00-14:00", "09:00-10:00"], ["09:30-13:30"],
                 ["09:00-09:30", "13:30-14:00"], id="unsorted base"),
])
def test_subtract(base: list[str], cuts: list[str], expected: list[str]) -> None:
    assert subtract(ivs(*base), ivs(*cuts)) == ivs(*expected)


def test_interval_of_refuses_a_reversed_or_empty_period() -> None:
    with pytest.raises(InvalidPeriod):
        Interval.of(z("10:00"), z("10:00"))
    with pytest.raises(InvalidPeriod):
        Interval.of(z("10:00"), z("09:00"))


@pytest.mark.parametrize(("span", "hours", "expected"), [
    pytest.param("09:00-10:00", 2, ["09:00-10:00"], id="shorter than a piece: whole"),
    pytest.param("09:00-11:00", 2, ["09:00-11:00"], id="exactly a piece: whole"),
    pytest.param("09:00-14:30", 2, ["09:00-11:00", "11:00-13:00", "13:00-14:30"],
                 id="longer: pieces from the start, the last one shorter"),
    pytest.param("09:00-09:00", 2, [], id="empty: no pieces"),
])
def test_pieces_touch_and_cover_exactly_the_interval(span: str, hours: int,
                                                     expected: list[str]) -> None:
    (interval,) = ivs(span)
    found = pieces(interval, timedelta(hours=hours))
    assert found == ivs(*expected)
    assert merge(found) == ([interval] if expected else [])


def test_pieces_need_a_positive_length() -> None:
    with pytest.raises(ValueError, match="positive"):
        pieces(iv("09:00", "10:00"), timedelta(0))
