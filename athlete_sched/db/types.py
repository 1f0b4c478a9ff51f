"""Column types. Instants go in and come out as aware UTC datetimes, on every backend."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """An instant. Binds only aware datetimes; always returns aware UTC.

    PostgreSQL stores `timestamptz`. SQLite has no time zone type, so the value is stored
    as UTC text (SQLAlchemy's `YYYY-MM-DD HH:MM:SS.ffffff`); this type is the one place
    that reads it back as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored as an instant")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite, aware datetime -> stored UTC text in one C call (`isoformat`, the
        very text of SQLAlchemy's DATETIME format, YYYY-MM-DD HH:MM:SS.ffffff:
        tests/test_types.py) instead of process_bind_param and then the format of
        SQLite's DATETIME type: a proposals request binds about thirty instants."""
        if dialect.name == "sqlite":
            return _sqlite_text
        return super().bind_processor(dialect)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # SQLite: stored as UTC text by bind above
        return value.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
        """On SQLite, text -> aware UTC in one C call: `fromisoformat` of the stored text
        with its offset appended is about 7x faster than parsing it naive and attaching
        the zone with `replace` (measured: 0.2 against 1.5 us a value), and window queries
        read hundreds of instants per request. PostgreSQL sessions run in UTC
        (extensions.configure_postgresql), so psycopg returns timestamptz already in
        `datetime.UTC` and the value is kept as it is; any other zone is converted."""
        if dialect.name == "sqlite":
            return _sqlite_instant
        if dialect.name == "postgresql":
            return _utc_instant
        return super().result_processor(dialect, coltype)


def _sqlite_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not UTC:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored as an instant")
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value + "+00:00")


def _utc_instant(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo is UTC else value.astimezone(UTC)
