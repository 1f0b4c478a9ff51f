"""What the tuned reads share: the bounds that keep a window read short, and the bound
values and filters for reading several spans with one statement.

Statements are built once per shape and reused with bound values: building a select and
computing its cache key costs about as much as running it on a warm database. Results
are fetched with .all() (one fetchall) rather than row by row.

Several spans (a proposal's pre and post windows) share one statement: the index is read
once, from the first span's start to the last one's reach, and a filter keeps the rows
that touch a span. The spans of one event lie days apart, so the range is short, and each
row comes once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, any_, bindparam, or_
from sqlalchemy.types import ARRAY

from ...core.intervals import Interval

# Events longer than this are refused at input, so a bounded look-back finds every event
# that can touch a span.
MAX_EVENT_DAYS = 60
# The longest blocked range [start, block_end) of a booking: a session of at most 480
# minutes (the API's limit) plus a buffer of at most 240 (CHECK on therapist). Migration
# 0002 makes the database refuse longer ones, so the bound cannot miss a booking.
MAX_BOOKING_SPAN = timedelta(minutes=480 + 240)
# The longest busy interval row: imports store longer ones as pieces (services/busy.py),
# and migration 0008 makes the database refuse longer rows.
MAX_BUSY_SPAN = timedelta(days=7)


def span_params(spans: Sequence[Interval], prefix: str = "") -> dict[str, datetime]:
    """Bound values per span (lo<i>, hi<i>) and for the range read: lo (the earliest start),
    hi (the latest end), reach (hi + MAX_BOOKING_SPAN); each name led by `prefix`."""
    params: dict[str, datetime] = {}
    for i, span in enumerate(spans):
        params.update({f"{prefix}lo{i}": span.start, f"{prefix}hi{i}": span.end})
    params[f"{prefix}lo"] = min(span.start for span in spans)
    params[f"{prefix}hi"] = max(span.end for span in spans)
    params[f"{prefix}reach"] = params[f"{prefix}hi"] + MAX_BOOKING_SPAN
    return params


def touching(start: Any, end: Any, spans: int, prefix: str = "") -> list[ColumnElement[bool]]:
    """[start, end) overlaps the read range, and (for several spans) one of the spans."""
    def bound(name: str) -> Any:
        return bindparam(prefix + name)

    clauses = [end > bound("lo"), start < bound("hi")]
    if spans > 1:
        clauses.append(or_(*(and_(end > bound(f"lo{i}"), start < bound(f"hi{i}"))
                             for i in range(spans))))
    return clauses


def one_of(column: Any, name: str, array: bool) -> ColumnElement[bool]:
    """`column` is one of the ids bound as `name`. PostgreSQL (`array`): `= ANY(array)`, one
    parameter however many ids; an IN list of 50 parameters made the server spend about
    2 ms more on a proposals query (planning it and probing the index per value). SQLite:
    an expanded IN list, which it reads as cheaply."""
    if array:
        return column == any_(bindparam(name, type_=ARRAY(Integer)))
    return column.in_(bindparam(name, expanding=True))
