"""Counts the calendars this process parses, for the tests that prove a proposal or an
unchanged import never parses one. The product keeps no counter: this module wraps the
core's parse step (`athlete_sched.core.ical_import.parse_calendars`, looked up by
`busy_intervals` at each call) once, when first imported."""

from __future__ import annotations

import threading

from athlete_sched.core import ical_import

_lock = threading.Lock()
_parses = [0]
_parse = ical_import.parse_calendars


def _counted(data: bytes):  # type: ignore[no-untyped-def]
    with _lock:
        _parses[0] += 1
    return _parse(data)


ical_import.parse_calendars = _counted


def parse_count() -> int:
    """How many calendar bodies were parsed since this module was imported."""
    return _parses[0]
