"""What the tuned reads share: the bounds that keep a window read short, and the bound
values and filters for reading several spans with one statement.

Statements are built once per shape and reused with bound values: building a select and
computing its cache key costs about as much as running it on a warm database. Results
are fetched with .all() (one fetchall) rather than row by row.

Several spans (a proposal's pre and post windows) share one statement: the index is read
once, from the first span's start to the last one's reach, and a filter keeps the rows
that touch a span. The spans of one event lie days apart, so the range is short, and each
row comes once.

The plans must not depend on the statistics (tests/test_query_plans.py checks them with
none, after ANALYZE, and with tables that were empty when analyzed):
- SQLite reads each big table through the index its hint names (`indexed`; `first` also
  makes it read one table before the one joined to it). Its
  statistics can mislead it badly: with no team in the clinic every event has the same
  team_id (NULL), so ANALYZE records that a lookup by team_id finds every event, and the
  team events were then read through a scan of event (6 -> 100 ms a proposals request at
  1,000,000 bookings).
- PostgreSQL takes no hints. The reads for several therapists, and the team events, are
  LATERAL joins (`each`: one index read per therapist or team, which no estimate can turn
  into one read of the whole table), and events are read by a range of the indexed
  occupied_end (db/queries/events.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, literal_column, or_
from sqlalchemy.sql.selectable import Lateral

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


def indexed(query: Select, model: Any, index: str) -> Select:
    """`query` reading `model`'s table through `index` on SQLite (INDEXED BY, rendered by
    the compiler of db/engine.py), whatever its statistics say: the statement fails
    rather than scanning if the index cannot serve it. Other backends ignore it."""
    return query.with_hint(model, f"INDEXED BY {index}", "sqlite")


def first(query: Select, model: Any, index: str) -> Select:
    """As `indexed`, and on SQLite `model`'s table is read before the table joined to it
    (`query` selects from `model` and joins one table): the hint ends in CROSS, so the join
    renders as `team_member INDEXED BY ... CROSS JOIN event ... ON ...`, and SQLite keeps
    the order of a CROSS JOIN whatever its statistics say (db/guard.py does the same in
    SQL). Other backends ignore it."""
    return query.with_hint(model, f"INDEXED BY {index} CROSS", "sqlite")


def each(query: Select) -> Lateral:
    """PostgreSQL: `query` (which refers to a table before it) as a LATERAL subquery read
    once for each row before it. `OFFSET 0` keeps it one: the planner pulls a plain
    subquery up into the join, free again to read its table once whole (a hash join, or a
    materialized scan), and it does not pull up a subquery with OFFSET."""
    return query.offset(literal_column("0")).lateral()
