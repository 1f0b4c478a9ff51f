"""core/ical_split.py: a calendar imported in batches of whole series gives exactly the busy
intervals (or the error) of the same calendar parsed whole, no app. Batches are made tiny
here (BATCH_CHARS of 1: one UID group each) so that every fixture is split everywhere it
can be; the real fixtures, and the same mutated line by line as in test_fuzz_import.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from athlete_sched.core import ical_import, ical_split
from athlete_sched.core.errors import DomainError
from athlete_sched.core.intervals import Interval

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "ics").glob("*.ics"))
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2027, 1, 4, tzinfo=UTC)
HORIZON = Interval(NOW - timedelta(days=1), NOW + timedelta(days=400))


def outcome(data: bytes) -> list[Interval] | tuple[str, str]:
    try:
        return ical_import.busy_intervals(data, BERLIN, HORIZON)
    except DomainError as exc:
        return type(exc).__name__, exc.message


def whole(data: bytes, monkeypatch: pytest.MonkeyPatch) -> list[Interval] | tuple[str, str]:
    with monkeypatch.context() as patch:
        patch.setattr(ical_split, "plan", lambda text: None)
        return outcome(data)


def batched(data: bytes, monkeypatch: pytest.MonkeyPatch) -> list[Interval] | tuple[str, str]:
    with monkeypatch.context() as patch:
        patch.setattr(ical_split, "BATCH_CHARS", 1)
        patch.setattr(ical_split.Plan.batches, "__defaults__", (1,))
        return outcome(data)


def text_of(data: bytes) -> str:
    return ical_import._prepared_text(data.decode("utf-8", errors="replace").lstrip("\ufeff"))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_every_fixture_is_split_and_gives_the_same_intervals(path, monkeypatch):
    data = path.read_bytes()
    plan = ical_split.plan(text_of(data))
    assert plan is not None
    events = sum(batch.events for _, batch in plan.batches(1))
    assert events == plan.events == data.count(b"BEGIN:VEVENT")
    assert len(list(plan.batches(1))) > 1
    assert batched(data, monkeypatch) == whole(data, monkeypatch)


def test_a_series_and_its_overrides_stay_in_one_batch():
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0"]
    for uid in ("a", "b", "a", "c", "a"):
        lines += ["BEGIN:VEVENT", f"UID:{uid}", "DTSTART:20270601T090000Z", "END:VEVENT"]
    plan = ical_split.plan("\r\n".join([*lines, "END:VCALENDAR", ""]))
    assert plan is not None
    texts = [batch.text for _, batch in plan.batches(1)]
    assert [t.count("UID:a") for t in texts] == [3, 0, 0]
    assert all(t.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") for t in texts)


@pytest.mark.parametrize("text", [
    "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VCALENDAR\r\n",  # no END:VEVENT
    "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\nX-STRAY:1\r\n",  # a line outside a calendar
    "BEGIN:VEVENT\r\nEND:VEVENT\r\n",  # not a VCALENDAR
    "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nUID:b\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\n\n\n\tfolded\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n",  # a fold icalendar still unfolds
], ids=["unclosed", "stray line", "no calendar", "two UIDs", "fold left"])
def test_irregular_text_is_parsed_whole(text):
    assert ical_split.plan(text) is None


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    lines = draw(st.sampled_from(FIXTURES)).read_bytes().splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(("drop", "double", "swap", "cut", "case")))
        if how == "drop":
            del lines[i]
        elif how == "double":
            lines.insert(i, lines[i])
        elif how == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif how == "cut":
            lines[i] = lines[i][:draw(st.integers(0, len(lines[i])))]
        else:
            lines[i] = lines[i].lower()
        if not lines:
            break
    return b"".join(lines)


def test_mutated_calendars_give_the_same_outcome_batched_and_whole(monkeypatch):
    @settings(max_examples=60, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(mutated())
    def same(data: bytes) -> None:
        assert batched(data, monkeypatch) == whole(data, monkeypatch)

    same()
