"""The proposals answer written out (web/schemas/scheduling.proposals_bytes) is the very
document the generic path sends: json_bytes(proposals_json(...)), byte for byte."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from athlete_sched.core.intervals import Interval
from athlete_sched.core.proposals import Slot
from athlete_sched.core.windows import Windows
from athlete_sched.services.proposals import Proposals, Reason
from athlete_sched.web.http import json_bytes
from athlete_sched.web.schemas.scheduling import proposals_bytes, proposals_json

START = datetime(2027, 4, 16, 13, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def _slot(hours: int, kind: str, therapist_id: int = 3, site_id: int | None = None) -> Slot:
    start = START + timedelta(hours=hours)
    return Slot(therapist_id, start, start + timedelta(minutes=45), kind, site_id)


def _windows() -> Windows:
    return Windows(Interval(START - timedelta(days=3), START - timedelta(days=1)),
                   Interval(START + timedelta(hours=5), START + timedelta(days=3)))


CASES = {
    "empty, with reasons": Proposals(7, _windows(), {"pre": [], "post": []}, {}, {
        "pre": Reason("past", "the pre-race window is over"),
        "post": Reason("travel", 'travel "leaves" no time \u2013 at home')}),
    "slots, one shared, sites": Proposals(
        12, _windows(),
        {"pre": [_slot(-70, "pre"), _slot(-69, "pre", 4, 2)],
         "post": [_slot(6, "post", 5, None), _slot(30, "post", 11, 9)]},
        {_slot(30, "post", 11, 9): 40}),
    "a kind not asked": Proposals(1, _windows(), {"pre": [], "post": [_slot(8, "post")]}),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_same_bytes_as_the_generic_path(app, case: Proposals) -> None:
    with app.app_context():
        assert proposals_bytes(case) == json_bytes(proposals_json(case))


def test_instants_in_another_zone_are_written_in_utc(app) -> None:
    local = START.astimezone(BERLIN)
    slot = Slot(3, local, local + timedelta(minutes=30), "post", None)
    answer = Proposals(2, _windows(), {"pre": [], "post": [slot]})
    with app.app_context():
        written = proposals_bytes(answer)
        assert written == json_bytes(proposals_json(answer))
    assert b'"start": "2027-04-16T13:00:00Z"' in written


def test_a_repeated_local_hour_is_written_as_its_own_instant(app) -> None:
    """The texts kept for slots and instants (base._UTC_TEXTS, scheduling._SLOT_TEXTS) never
    answer for a local time of the hour a zone repeats: fold 0 and fold 1 are equal
    datetimes an hour apart."""
    first = datetime(2027, 10, 31, 2, 30, tzinfo=BERLIN)  # CEST, then again as CET
    texts = []
    for local in (first, first.replace(fold=1), first):
        slot = Slot(3, local, local + timedelta(minutes=30), "post", None)
        answer = Proposals(2, _windows(), {"pre": [], "post": [slot, slot]})
        with app.app_context():
            written = proposals_bytes(answer)
            assert written == json_bytes(proposals_json(answer))
        texts.append(written)
    assert b'"start": "2027-10-31T00:30:00Z"' in texts[0]
    assert b'"start": "2027-10-31T01:30:00Z"' in texts[1]
    assert texts[2] == texts[0]
