"""The instant column type (db/types.py) on SQLite: what its one-step bind writes is the
text of the generic path (process_bind_param, then SQLAlchemy's DATETIME format), and it
reads back the same instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import DateTime
from sqlalchemy.dialects import sqlite

from athlete_sched.db.types import UTCDateTime

DIALECT = sqlite.dialect()
BERLIN = ZoneInfo("Europe/Berlin")
INSTANTS = {
    "utc, whole minute": datetime(2027, 4, 16, 13, 0, tzinfo=UTC),
    "microseconds": datetime(2027, 4, 16, 13, 0, 5, 123, tzinfo=UTC),
    "berlin, summer": datetime(2027, 7, 1, 8, 30, tzinfo=BERLIN),
    "berlin, the hour that repeats (fold 1)": datetime(2027, 10, 31, 2, 30, fold=1,
                                                        tzinfo=BERLIN),
    "fixed offset, day before in utc": datetime(2027, 1, 1, 0, 15,
                                                tzinfo=timezone(timedelta(hours=5))),
    "year 999": datetime(999, 3, 1, 1, 2, 3, tzinfo=UTC),
    "none": None,
}


def _generic(value: datetime | None) -> str | None:
    """process_bind_param, then the SQLite DATETIME type's own bind processor."""
    naive = UTCDateTime().process_bind_param(value, DIALECT)
    return DateTime().dialect_impl(DIALECT).bind_processor(DIALECT)(naive)


@pytest.mark.parametrize("value", INSTANTS.values(), ids=INSTANTS.keys())
def test_sqlite_bind_writes_the_generic_text_and_reads_back(value) -> None:
    column = UTCDateTime().dialect_impl(DIALECT)
    written = column.bind_processor(DIALECT)(value)
    assert written == _generic(value)
    read = column.result_processor(DIALECT, None)(written)
    # (In UTC: PEP 495 makes an instant in a repeated hour unequal to any other zone's.)
    assert read == (value if value is None else value.astimezone(UTC))
    assert read is None or read.tzinfo is UTC


def test_sqlite_bind_refuses_a_naive_datetime() -> None:
    bind = UTCDateTime().dialect_impl(DIALECT).bind_processor(DIALECT)
    with pytest.raises(ValueError, match="naive datetime"):
        bind(datetime(2027, 4, 16, 13, 0))  # noqa: DTZ001
