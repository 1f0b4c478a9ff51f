"""IANA time zone names -> ZoneInfo, refusing anything that is not a real zone name."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from .errors import UnknownTimezone


@lru_cache(maxsize=1)
def _known() -> frozenset[str]:
    return frozenset(available_timezones())


def load_zone(name: object, *, field: str = "timezone") -> ZoneInfo:
    """Return the ZoneInfo for an IANA name such as 'Europe/Berlin'; raise UnknownTimezone.

    Only names in the tz database are accepted: no file paths, no 'localtime', no offsets.
    """
    if not isinstance(name, str) or name not in _known():
        raise UnknownTimezone(name, field=field)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:  # pragma: no cover - listed but unloadable
        raise UnknownTimezone(name, field=field) from exc
